//! Stream types: one topic (or embedded directory) per aggregate type. Defined once here so
//! the command side, projectors and audit tools agree on the names.

/// 결재 문서
pub const APPROVAL: &str = "approval";
/// 사원
pub const EMPLOYEE: &str = "employee";
/// 부서
pub const DEPARTMENT: &str = "department";
/// 대결자 지정
pub const DELEGATION: &str = "delegation";
/// 연차 원장
pub const LEAVE: &str = "leave";
/// 문서번호 순번
pub const NUMBERING: &str = "numbering";
/// 전결 규정 (company policy: the delegation-of-authority table)
pub const POLICY: &str = "policy";

/// 근태: one employee's work day (`{employee}/{YYYY-MM-DD}`)
pub const ATTENDANCE: &str = "attendance";

/// 퀘스트: one quest, its participants and their verifications
pub const QUEST: &str = "quest";

/// 알림 읽음: what one employee has read of their notification feed (`{employee}`)
pub const FEED: &str = "feed";

/// Every stream type, in creation order.
pub const ALL: [&str; 10] = [
    APPROVAL, EMPLOYEE, DEPARTMENT, DELEGATION, LEAVE, NUMBERING, POLICY, ATTENDANCE, QUEST, FEED,
];
