// Korean by default, English on request; every visible string goes through `t`.
import { createContext, useContext } from "react";
import type { ApprovalStatus, InboxBox, NotificationKind, StepState } from "./gql/graphql";

export type Lang = "ko" | "en";

const ko = {
  appTitle: "전자결재",
  login: "로그인",
  loginAs: "데모 사용자로 로그인",
  logout: "로그아웃",
  inbox: "결재함",
  compose: "기안하기",
  admin: "조직·휴가",
  search: "제목 검색",
  more: "더 보기",
  empty: "문서가 없습니다",
  approveSelected: "선택 승인",
  approve: "승인",
  approveFinal: "전결",
  proxyApprove: "대결",
  reject: "반려",
  withdraw: "회수",
  cancelApproval: "결재 취소",
  hold: "보류",
  release: "보류 해제",
  comment: "의견",
  resubmit: "재상신",
  revision: "차수",
  submit: "상신",
  saveDraft: "임시저장",
  reason: "사유",
  title: "제목",
  form: "양식",
  line: "결재선",
  suggested: "추천 결재선",
  addApprover: "결재자 추가",
  addCc: "참조 추가",
  remove: "빼기",
  timeline: "이력",
  comments: "의견",
  asOf: "시점 보기",
  now: "현재",
  drafter: "기안자",
  status: "상태",
  cc: "참조",
  receivers: "수신",
  conflict: "다른 사람이 먼저 처리했습니다. 최신 상태로 다시 불러왔습니다.",
  notFound: "문서를 찾을 수 없거나 볼 권한이 없습니다.",
  done: "처리되었습니다",
  failed: "실패",
  employees: "직원",
  leave: "휴가 잔여",
  used: "사용",
  myProxy: "나의 대결자",
  proxy: "대결자",
  until: "종료일",
  save: "저장",
  actingFor: "대결 중",
  register: "직원 등록",
  name: "이름",
  email: "이메일",
  department: "부서",
  positionTitle: "직위",
  manager: "상사",
  adjustLeave: "휴가 조정",
  days: "일수",
  language: "English",
  live: "실시간",
  authorityRule: "전결 규정",
  rankAtLeast: "전결 직급",
  finalAuthority: "전결권",
  requiredByRule: "전결 규정상 필수",
} as const;

export type Key = keyof typeof ko;

const en: Record<Key, string> = {
  appTitle: "E-Approval",
  login: "Log in",
  loginAs: "Log in as a demo user",
  logout: "Log out",
  inbox: "Inbox",
  compose: "New document",
  admin: "People & leave",
  search: "Search titles",
  more: "More",
  empty: "No documents",
  approveSelected: "Approve selected",
  approve: "Approve",
  approveFinal: "Approve as final",
  proxyApprove: "Approve as proxy",
  reject: "Reject",
  withdraw: "Withdraw",
  cancelApproval: "Cancel my approval",
  hold: "Hold",
  release: "Release",
  comment: "Comment",
  resubmit: "Resubmit",
  revision: "revision",
  submit: "Submit",
  saveDraft: "Save draft",
  reason: "Reason",
  title: "Title",
  form: "Form",
  line: "Approval line",
  suggested: "Suggested line",
  addApprover: "Add approver",
  addCc: "Add cc",
  remove: "Remove",
  timeline: "History",
  comments: "Comments",
  asOf: "As of",
  now: "Now",
  drafter: "Drafter",
  status: "Status",
  cc: "Cc",
  receivers: "Receiving departments",
  conflict: "Someone acted first. The document was reloaded.",
  notFound: "The document does not exist or is not yours to see.",
  done: "Done",
  failed: "Failed",
  employees: "Employees",
  leave: "Leave balance",
  used: "used",
  myProxy: "My proxy",
  proxy: "Proxy",
  until: "Until",
  save: "Save",
  actingFor: "Acting for",
  register: "Register an employee",
  name: "Name",
  email: "Email",
  department: "Department",
  positionTitle: "Title",
  manager: "Manager",
  adjustLeave: "Adjust leave",
  days: "Days",
  language: "한국어",
  live: "Live",
  authorityRule: "Delegation of authority",
  rankAtLeast: "final approval from rank",
  finalAuthority: "final authority",
  requiredByRule: "required by the rules",
};

export const dictionaries: Record<Lang, Record<Key, string>> = { ko, en };

/** Box names as the domain calls them. */
export const boxLabels: Record<Lang, Record<InboxBox, string>> = {
  ko: {
    PENDING: "대기",
    UPCOMING: "예정",
    IN_PROGRESS: "진행",
    COMPLETED: "완료",
    REJECTED: "반려",
    CC: "참조",
    RECEIVED: "수신",
    DRAFTS: "임시저장",
  },
  en: {
    PENDING: "Pending",
    UPCOMING: "Upcoming",
    IN_PROGRESS: "In progress",
    COMPLETED: "Completed",
    REJECTED: "Rejected",
    CC: "Cc",
    RECEIVED: "Received",
    DRAFTS: "Drafts",
  },
};

export const statusLabels: Record<Lang, Record<ApprovalStatus, string>> = {
  ko: {
    DRAFT: "임시저장",
    IN_PROGRESS: "진행",
    ON_HOLD: "보류",
    APPROVED: "완료",
    REJECTED: "반려",
    WITHDRAWN: "회수",
    DISCARDED: "삭제",
  },
  en: {
    DRAFT: "Draft",
    IN_PROGRESS: "In progress",
    ON_HOLD: "On hold",
    APPROVED: "Approved",
    REJECTED: "Rejected",
    WITHDRAWN: "Withdrawn",
    DISCARDED: "Discarded",
  },
};

/** Where a step of the line stands. */
export const stepLabels: Record<Lang, Record<StepState, string>> = {
  ko: { DONE: "완료", CURRENT: "결재 중", UPCOMING: "대기", SKIPPED: "전결로 생략", NOT_REACHED: "미도달" },
  en: { DONE: "done", CURRENT: "deciding now", UPCOMING: "upcoming", SKIPPED: "skipped (final approval)", NOT_REACHED: "not reached" },
};

/** Timeline actions (event types without their `approval.` prefix). */
export const actionLabels: Record<Lang, Record<string, string>> = {
  ko: {
    drafted: "기안", draft_saved: "임시저장", draft_discarded: "삭제", submitted: "상신", approved: "승인", approved_as_final: "전결",
    proxy_approved: "대결", rejected: "반려", disagreed: "합의 반대", withdrawn: "회수", approval_cancelled: "결재 취소",
    held: "보류", released: "보류 해제", resubmitted: "재상신", commented: "의견", numbered: "문서번호 부여",
  },
  en: {
    drafted: "drafted", draft_saved: "saved", draft_discarded: "discarded", submitted: "submitted", approved: "approved",
    approved_as_final: "approved as final", proxy_approved: "approved as proxy", rejected: "rejected",
    disagreed: "disagreed", withdrawn: "withdrawn", approval_cancelled: "approval cancelled", held: "held",
    released: "released", resubmitted: "resubmitted", commented: "commented", numbered: "numbered",
  },
};

/** Why a notification was sent. */
export const noticeLabels: Record<Lang, Record<NotificationKind, string>> = {
  ko: {
    APPROVAL_REQUESTED: "결재 요청",
    APPROVED: "최종 승인",
    REJECTED: "반려",
    WITHDRAWN: "회수",
    CC_ADDED: "참조",
    RETURNED: "이전 단계로 반려",
    HELD: "보류",
    COMMENTED: "의견",
  },
  en: {
    APPROVAL_REQUESTED: "approval requested",
    APPROVED: "approved",
    REJECTED: "rejected",
    WITHDRAWN: "withdrawn",
    CC_ADDED: "for your information",
    RETURNED: "returned to your step",
    HELD: "on hold",
    COMMENTED: "commented",
  },
};

export const LangContext = createContext<Lang>("ko");

export function useT(): (key: Key) => string {
  const lang = useContext(LangContext);
  return (key) => dictionaries[lang][key];
}
