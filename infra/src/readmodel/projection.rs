//! The projections: each folds one stream type into its own tables, under its own name
//! (checkpoints, stream guards, `erp replay --projection`).

use crate::eventlog::streams;

/// One projection of the employee read model: its name, the stream type it consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Projection {
    Employees,
    Departments,
    Delegations,
    Leave,
    /// 근태: one row per employee per work day.
    Attendance,
    /// 퀘스트: one row per quest and one per participant.
    Quests,
    /// 알림 읽음: one row per reader, what they have read of their feed.
    FeedReads,
    /// Approval documents with their timeline, inbox entries and notification feeds.
    Approvals,
}

impl Projection {
    pub const ALL: [Projection; 8] = [
        Self::Employees,
        Self::Departments,
        Self::Delegations,
        Self::Leave,
        Self::Attendance,
        Self::Quests,
        Self::FeedReads,
        Self::Approvals,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Employees => "org.employees",
            Self::Departments => "org.departments",
            Self::Delegations => "org.delegations",
            Self::Leave => "org.leave",
            Self::Attendance => "org.attendance",
            Self::Quests => "org.quests",
            Self::FeedReads => "org.feed_reads",
            Self::Approvals => "approval.views",
        }
    }

    /// The tables holding this projection's rows, besides its guard (`erp_streams`) and
    /// checkpoint (`erp_checkpoints`) rows; a replay swaps exactly these.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Self::Employees => &["employees"],
            Self::Departments => &["departments"],
            Self::Delegations => &["delegations"],
            Self::Leave => &["leave_balances", "leave_entries", "leave_notices"],
            Self::Attendance => &["attendance_days", "attendance_notices"],
            Self::Quests => &["quests", "quest_participants", "quest_notices"],
            Self::FeedReads => &["feed_reads"],
            Self::Approvals => &["approvals", "approval_timeline", "inbox", "notifications"],
        }
    }

    /// The projection called `name` (as `erp replay --projection` takes it).
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn stream_type(self) -> &'static str {
        match self {
            Self::Employees => streams::EMPLOYEE,
            Self::Departments => streams::DEPARTMENT,
            Self::Delegations => streams::DELEGATION,
            Self::Leave => streams::LEAVE,
            Self::Attendance => streams::ATTENDANCE,
            Self::Quests => streams::QUEST,
            Self::FeedReads => streams::FEED,
            Self::Approvals => streams::APPROVAL,
        }
    }
}

/// Which projections fold a stream type (a read-your-writes wait waits for each).
pub fn projections_of(stream_type: &str) -> impl Iterator<Item = Projection> + '_ {
    Projection::ALL
        .into_iter()
        .filter(move |p| p.stream_type() == stream_type)
}
