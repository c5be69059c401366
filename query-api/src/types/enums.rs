//! The schema's enums, one Rust type each for both schemas, and how a stored instant decodes.

use super::*;

/// Document status (문서 상태).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ApprovalStatus {
    /// 임시저장
    Draft,
    /// 진행
    InProgress,
    /// 보류
    OnHold,
    /// 완료
    Approved,
    /// 반려
    Rejected,
    /// 회수
    Withdrawn,
    Discarded,
}

impl From<Status> for ApprovalStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Draft => Self::Draft,
            Status::InProgress => Self::InProgress,
            Status::OnHold => Self::OnHold,
            Status::Approved => Self::Approved,
            Status::Rejected => Self::Rejected,
            Status::Withdrawn => Self::Withdrawn,
            Status::Discarded => Self::Discarded,
        }
    }
}

impl ApprovalStatus {
    /// From the stored (snake_case) name the read models keep.
    pub fn from_stored(name: &str) -> async_graphql::Result<Self> {
        serde_json::from_value::<Status>(serde_json::Value::String(name.to_owned()))
            .map(Self::from)
            .map_err(|e| error::internal("stored status does not decode", e))
    }

    /// The stored (snake_case) name.
    pub fn stored(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::InProgress => "in_progress",
            Self::OnHold => "on_hold",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
            Self::Discarded => "discarded",
        }
    }
}

/// The boxes of a personal inbox (결재함).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum InboxBox {
    /// 대기: waiting for my decision.
    Pending,
    /// 예정: I am on a later step.
    Upcoming,
    /// 진행: mine or decided by me, still in progress.
    InProgress,
    /// 완료
    Completed,
    /// 반려
    Rejected,
    /// 참조
    Cc,
    /// 수신: my department receives it.
    Received,
    /// 임시저장
    Drafts,
}

impl From<InboxBox> for Inbox {
    fn from(b: InboxBox) -> Self {
        match b {
            InboxBox::Pending => Inbox::Pending,
            InboxBox::Upcoming => Inbox::Upcoming,
            InboxBox::InProgress => Inbox::InProgress,
            InboxBox::Completed => Inbox::Completed,
            InboxBox::Rejected => Inbox::Rejected,
            InboxBox::Cc => Inbox::Cc,
            InboxBox::Received => Inbox::Received,
            InboxBox::Drafts => Inbox::Drafts,
        }
    }
}

impl From<Inbox> for InboxBox {
    fn from(b: Inbox) -> Self {
        match b {
            Inbox::Pending => InboxBox::Pending,
            Inbox::Upcoming => InboxBox::Upcoming,
            Inbox::InProgress => InboxBox::InProgress,
            Inbox::Completed => InboxBox::Completed,
            Inbox::Rejected => InboxBox::Rejected,
            Inbox::Cc => InboxBox::Cc,
            Inbox::Received => InboxBox::Received,
            Inbox::Drafts => InboxBox::Drafts,
        }
    }
}

/// Why a notification was sent.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum NotificationKind {
    /// 결재 요청: it is your turn.
    ApprovalRequested,
    /// 참조: you were put in cc.
    CcAdded,
    /// 완료: your document was finally approved.
    Approved,
    /// 반려: your document was rejected.
    Rejected,
    /// Returned to you (rejected to the previous step).
    Returned,
    /// 보류: your document was put on hold.
    Held,
    /// 회수: a document waiting for you was withdrawn.
    Withdrawn,
    /// 의견: a new comment on a document you are involved in.
    Commented,
    /// 연차 사용 촉진: unused leave will expire; choose when to use it (subject: you).
    LeaveUsePromotion,
    /// Someone took on your quest (subject: the quest).
    QuestAccepted,
    /// A participant submitted your quest as done: verify or return it.
    QuestSubmitted,
    /// Your quest work was verified; the reward follows.
    QuestVerified,
    /// Your quest work was returned, with a reason.
    QuestReturned,
    /// A quest you took on was cancelled.
    QuestCancelled,
    /// 주 52시간: a week reached 48 hours or passed 52 (subject: the employee; to them and
    /// their department head).
    WeeklyHoursWarning,
}

impl From<HrNotice> for NotificationKind {
    fn from(n: HrNotice) -> Self {
        match n {
            HrNotice::LeaveUsePromotion => Self::LeaveUsePromotion,
            HrNotice::QuestAccepted => Self::QuestAccepted,
            HrNotice::QuestSubmitted => Self::QuestSubmitted,
            HrNotice::QuestVerified => Self::QuestVerified,
            HrNotice::QuestReturned => Self::QuestReturned,
            HrNotice::QuestCancelled => Self::QuestCancelled,
            HrNotice::WeeklyHoursWarning => Self::WeeklyHoursWarning,
        }
    }
}

/// What an HR change is about (`hrChanged`).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum HrTopic {
    /// 근태: a check-in, check-out, correction or weekly report.
    Attendance,
    /// 연차: the leave ledger.
    Leave,
    /// 퀘스트
    Quest,
}

impl HrTopic {
    /// From the stream type a change names.
    pub fn from_stored(name: &str) -> Option<Self> {
        match name {
            "attendance" => Some(Self::Attendance),
            "leave" => Some(Self::Leave),
            "quest" => Some(Self::Quest),
            _ => None,
        }
    }
}

impl From<Notice> for NotificationKind {
    fn from(n: Notice) -> Self {
        match n {
            Notice::ApprovalRequested => Self::ApprovalRequested,
            Notice::CcAdded => Self::CcAdded,
            Notice::Approved => Self::Approved,
            Notice::Rejected => Self::Rejected,
            Notice::Returned => Self::Returned,
            Notice::Held => Self::Held,
            Notice::Withdrawn => Self::Withdrawn,
            Notice::Commented => Self::Commented,
        }
    }
}

impl NotificationKind {
    /// From the stored (snake_case) name the feed keeps.
    pub fn from_stored(name: &str) -> Option<Self> {
        let name = serde_json::Value::String(name.to_owned());
        serde_json::from_value::<Notice>(name.clone())
            .ok()
            .map(Self::from)
            .or_else(|| serde_json::from_value::<HrNotice>(name).ok().map(Self::from))
    }

    /// Whether it is an HR notice (about a quest, leave or a week, not a document).
    pub fn is_hr(self) -> bool {
        matches!(
            self,
            Self::LeaveUsePromotion
                | Self::QuestAccepted
                | Self::QuestSubmitted
                | Self::QuestVerified
                | Self::QuestReturned
                | Self::QuestCancelled
                | Self::WeeklyHoursWarning
        )
    }
}

/// An action a viewer may take on a document (`viewerActions`), as the domain decides it.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ApprovalAction {
    /// 임시저장
    SaveDraft,
    /// 상신
    Submit,
    /// Delete a draft never submitted.
    Discard,
    /// 승인 (as proxy: 대결)
    Approve,
    /// 전결
    ApproveAsFinal,
    /// 반려 to the drafter (in an agreement group, a vote against).
    Reject,
    /// 반려 to the previous step.
    RejectToPreviousStep,
    /// 보류
    Hold,
    /// Release one's own hold.
    Release,
    /// 회수
    Withdraw,
    /// 결재 취소
    CancelApproval,
    /// 재상신
    Resubmit,
    /// 의견
    Comment,
}

impl From<Action> for ApprovalAction {
    fn from(a: Action) -> Self {
        match a {
            Action::SaveDraft => Self::SaveDraft,
            Action::Submit => Self::Submit,
            Action::Discard => Self::Discard,
            Action::Approve => Self::Approve,
            Action::ApproveAsFinal => Self::ApproveAsFinal,
            Action::Reject => Self::Reject,
            Action::RejectToPreviousStep => Self::RejectToPreviousStep,
            Action::Hold => Self::Hold,
            Action::Release => Self::Release,
            Action::Withdraw => Self::Withdraw,
            Action::CancelApproval => Self::CancelApproval,
            Action::Resubmit => Self::Resubmit,
            Action::Comment => Self::Comment,
        }
    }
}

/// An RFC 3339 instant as a read model stores it.
pub fn instant(stored: &str) -> async_graphql::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(stored)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| error::internal("stored instant does not decode", e))
}

impl InboxBox {
    pub const ALL: [InboxBox; 8] = [
        Self::Pending,
        Self::Upcoming,
        Self::InProgress,
        Self::Completed,
        Self::Rejected,
        Self::Cc,
        Self::Received,
        Self::Drafts,
    ];
}
