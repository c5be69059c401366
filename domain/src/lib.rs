//! # domain — the rules of 전자결재 (electronic approval), pure
//!
//! Aggregates decide commands into events and fold events into state. Nothing here performs
//! I/O, reads a clock or draws a random number: ids and times arrive in commands, and anything
//! a decision needs from another stream (a delegation, a form template, a leave balance) is
//! looked up by the caller and carried in the command. Every other part of the system — the
//! command API, projections, time travel, audit replay — folds the events defined here.
//!
//! ## Glossary (용어집)
//!
//! | Korean | English | Type |
//! |---|---|---|
//! | 결재 문서 | approval document | [`approval::Approval`], [`approval::ApprovalDocument`] |
//! | 기안 | draft (create) | [`approval::ApprovalCommand::Draft`] → `approval.drafted` |
//! | 임시저장 | save draft | [`approval::ApprovalCommand::SaveDraft`] → `approval.draft_saved` |
//! | 상신 | submit | [`approval::ApprovalCommand::Submit`] → `approval.submitted` |
//! | 승인 | approve | [`approval::ApprovalCommand::Approve`] → `approval.approved` |
//! | 반려 | reject (to drafter or previous step) | [`approval::ApprovalCommand::Reject`] → `approval.rejected` |
//! | 회수 | withdraw | [`approval::ApprovalCommand::Withdraw`] → `approval.withdrawn` |
//! | 결재 취소 | cancel my approval | [`approval::ApprovalCommand::CancelApproval`] → `approval.approval_cancelled` |
//! | 전결 | approve as final by delegated authority | [`approval::ApprovalCommand::ApproveAsFinal`] → `approval.approved_as_final` |
//! | 대결 | approve as proxy | `Approve { proxy: Some(..) }` → `approval.proxy_approved` |
//! | 보류 | hold / release | [`approval::ApprovalCommand::Hold`], [`approval::ApprovalCommand::Release`] |
//! | 재상신 | resubmit as the next revision | [`approval::ApprovalCommand::Resubmit`] → `approval.resubmitted` |
//! | 의견 | comment | [`approval::ApprovalCommand::Comment`] → `approval.commented` |
//! | 결재선 | approval line | [`approval::ApprovalLine`] |
//! | 결재 (단계) | sequential approval step | [`approval::Step::Approval`] |
//! | 합의 | agreement (parallel group, all or M-of-N) | [`approval::Step::Agreement`], [`approval::Quorum`] |
//! | 참조 | cc (reads, is notified) | [`approval::ApprovalLine::cc`] |
//! | 수신 | receiving department | [`approval::ApprovalLine::receivers`] |
//! | 전결권 | delegated final authority | recorded at 상신 from the table: [`authority::AuthorityDecision`] |
//! | 전결 규정 | delegation-of-authority table (form × amount → rank) | [`authority::AuthorityTable`] |
//! | 대결자 | proxy (delegate) | [`org::Delegation`] |
//! | 결재 양식 | form template | [`form::FormTemplate`] |
//! | 일반기안 / 지출결의 / 휴가신청 / 구매요청 | general / expense / leave / purchase | [`form::builtin_forms`] |
//! | 문서번호 | document number | [`numbering::DocumentNumber`] |
//! | 연차 | annual leave ledger | [`leave::LeaveLedger`] |
//! | 연차 발생 (근로기준법 제60조) | accrual by law, booked by key as a lot | [`leave::accrual`], [`leave::accrual_schedule`] → `leave.accrued` |
//! | 연차 소멸 | expiry of what is left of a lot | [`leave::LeaveCommand::Expire`] → `leave.lot_expired` |
//! | 연차 사용 촉진 (제61조) | leave-use promotion notices | [`leave::promotion_notices_due`] → `leave.promotion_notice_sent` |
//! | 반차 / 반반차 | half day / quarter day | [`leave::LeaveUnit`] |
//! | 근태 / 출근 / 퇴근 | attendance / check-in / check-out | [`attendance::AttendanceDay`] → `attendance.checked_in`, `attendance.checked_out` |
//! | 근태 정정 | correction by approved document | [`attendance::AttendanceCommand::Correct`] → `attendance.day_corrected` |
//! | 근무 일정 / 코어타임 | work schedule / core hours | [`attendance::WorkSchedule`], [`attendance::DepartmentSchedules`] |
//! | 지각 / 조퇴 / 결근 | late / early leave / absence | [`attendance::assess_day`] |
//! | 연장·야간 근로 | overtime / night work | [`attendance::WorkedMinutes`] |
//! | 주 52시간 | the 52-hour week, reported at the check-out that nears or passes it | [`attendance::weekly_hours`] → `attendance.weekly_hours_reported` |
//! | 알림 (인사) | HR notices: quests, 사용 촉진, the 52-hour week | [`notice::HrNotice`] |
//! | 알림 읽음 / 모두 읽음 | mark notifications read / mark all read, as events | [`feed::FeedReads`] → `feed.read`, `feed.all_read` |
//! | 퀘스트 | quest: posted by a manager, taken on, submitted, verified or returned | [`quest::Quest`] → `quest.*` |
//! | 사원 / 부서 / 부서장 / 직급 | employee / department / head / position | [`org`] |
//! | 대기 / 진행 / 완료 / 반려 | pending / in progress / approved / rejected | [`approval::Status`] |
//!
//! ## Map
//!
//! - [`aggregate`]: the `decide` / `evolve` contract and stable event type names.
//! - [`approval`]: the document aggregate and its line.
//! - [`org`]: employees, departments, delegations, and the org-chart snapshot.
//! - [`form`]: versioned templates with typed fields and body validation.
//! - [`authority`]: the 전결 규정 and what it requires of a submitted line.
//! - [`line_rule`]: line suggestion from the org chart, form and amount.
//! - [`numbering`]: gap-free document numbers per (prefix, year).
//! - [`leave`]: the leave ledger, accrual by law, lots and their expiry, 사용 촉진.
//! - [`attendance`]: check-in/out per employee per work day, schedules, day and week figures.
//! - [`quest`]: quests with leave or point rewards and attendance goals.
//! - [`notice`]: who HR events tell what (the notification feed of the HR side).
//! - [`feed`]: what a reader has read of their notification feed.
//! - [`process`]: pure process managers (final approval → number, leave debit; quest
//!   verification → leave credit).
//! - [`testkit`]: the given/when/then harness other crates' tests use too.

pub mod actor;
pub mod aggregate;
pub mod approval;
pub mod attendance;
pub mod authority;
pub mod feed;
pub mod form;
pub mod ids;
pub mod leave;
pub mod line_rule;
pub mod notice;
pub mod numbering;
pub mod org;
pub mod process;
pub mod quest;
pub mod refusal;
pub mod testkit;

pub use actor::{Actor, Role, Roles};
pub use aggregate::{Aggregate, EventType};
pub use refusal::{Refusal, RefusalKind};
