//! The rows of the read models, typed: what the folds produce and both stores write.
//!
//! Each row type names its table and key ([`TableRow`]); its serde field names are the
//! table's column names, so the SQL store binds a row by name (checked against the schema:
//! `sql::schema`) and the MongoDB store writes it with `bson::to_document`. Flags are stored
//! as 0/1 integers in both ([`flag`]), as they always were.
//!
//! Beside them, the shapes readers get back ([`InboxItem`], [`FeedEntry`], [`TimelineEntry`]):
//! the part of a row a query answers with.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A row of one read-model table.
pub trait TableRow: Serialize + DeserializeOwned + Send + 'static {
    /// The table (SQL) or collection (MongoDB) it lives in.
    const TABLE: &'static str;
    /// The key columns, in order: the SQL primary key, and the parts of MongoDB's `_id`.
    const KEY: &'static [&'static str];
}

/// Flags as 0/1 integers, the representation both stores have always held.
pub mod flag {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &bool, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(i64::from(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(i64::deserialize(d)? != 0)
    }
}

macro_rules! table_row {
    ($row:ty, $table:literal, [$($key:literal),+]) => {
        impl TableRow for $row {
            const TABLE: &'static str = $table;
            const KEY: &'static [&'static str] = &[$($key),+];
        }
    };
}

/// Where a projection stopped in one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointRow {
    pub projection: String,
    pub partition_no: i64,
    pub next_offset: i64,
}
table_row!(CheckpointRow, "erp_checkpoints", ["projection", "partition_no"]);

/// A stream's guard in one projection: the version and hash applied, and the folded state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamGuardRow {
    pub projection: String,
    pub stream_id: String,
    pub version: i64,
    pub hash: String,
    /// The folded aggregate, as JSON; `None` when the projection's own row holds the same
    /// JSON (an approval's `approvals.document`), so a document is stored once, not twice.
    pub state: Option<String>,
}
table_row!(StreamGuardRow, "erp_streams", ["projection", "stream_id"]);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmployeeRow {
    pub id: Option<String>,
    pub name: String,
    pub email: String,
    pub department: Option<String>,
    pub position_title: Option<String>,
    pub position_rank: i64,
    pub manager: Option<String>,
    /// snake_case role names, comma-separated.
    pub roles: String,
    #[serde(with = "flag")]
    pub active: bool,
    /// The stream version the row reflects (readers' ETags).
    pub version: i64,
}
table_row!(EmployeeRow, "employees", ["id"]);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepartmentRow {
    pub id: Option<String>,
    pub name: String,
    pub code: String,
    pub parent: Option<String>,
    pub head: Option<String>,
    #[serde(with = "flag")]
    pub closed: bool,
    pub version: i64,
    /// Its own work schedule ([`domain::attendance::WorkSchedule`]) as JSON.
    pub schedule: Option<String>,
}
table_row!(DepartmentRow, "departments", ["id"]);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationRow {
    pub id: Option<String>,
    pub principal: Option<String>,
    pub proxy: Option<String>,
    /// RFC 3339.
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    #[serde(with = "flag")]
    pub revoked: bool,
    pub version: i64,
}
table_row!(DelegationRow, "delegations", ["id"]);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveBalanceRow {
    pub employee: Option<String>,
    /// Decimal days.
    pub balance: String,
    pub used: String,
    pub version: i64,
}
table_row!(LeaveBalanceRow, "leave_balances", ["employee"]);

/// One entry of an employee's leave ledger, written once per event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveEntryRow {
    pub employee: String,
    pub version: i64,
    /// `granted`, `debited`, `adjusted`, `reserved`, `released`.
    pub kind: String,
    pub days: String,
    /// The approval document that moved the days, if any.
    pub document: Option<String>,
    pub reason: Option<String>,
    pub at: String,
}
table_row!(LeaveEntryRow, "leave_entries", ["employee", "version"]);

/// An approval document's list row and its folded document.
/// One employee's work day as its recorded schedule judges it (근태). Times are RFC 3339
/// UTC; `state` is `working` (a shift is open), `done`, or `absent` (no shift; a day in the
/// table has had a check-in, so only a correction leaves it without one).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttendanceDayRow {
    pub employee: String,
    /// `YYYY-MM-DD`, company-local.
    pub day: String,
    pub first_in: Option<String>,
    pub last_out: Option<String>,
    pub regular_minutes: i64,
    pub overtime_minutes: i64,
    pub night_minutes: i64,
    pub late_minutes: i64,
    pub early_leave_minutes: i64,
    pub state: String,
    pub version: i64,
}
table_row!(AttendanceDayRow, "attendance_days", ["employee", "day"]);

/// One quest as posted, with how many have taken it on. Times are RFC 3339 UTC; `audience` is
/// `team`, `department` (with `department`) or `company`; `reward_kind` is `leave_hours` or
/// `points`; `kind` is `task` or `attendance` (with `goal`, e.g. `on_time_every_work_day 2026-12`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestRow {
    pub id: String,
    pub title: String,
    pub description: String,
    pub poster: String,
    pub audience: String,
    pub department: Option<String>,
    pub reward_kind: String,
    pub reward_amount: i64,
    pub capacity: i64,
    /// Participants not returned for good: everyone who took it on (a returned one may
    /// resubmit, so they still hold a place).
    pub taken: i64,
    pub deadline: String,
    pub kind: String,
    pub goal: Option<String>,
    #[serde(with = "flag")]
    pub cancelled: bool,
    pub version: i64,
}
table_row!(QuestRow, "quests", ["id"]);

/// Where one participant of a quest stands: `accepted`, `submitted`, `returned` or `verified`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestParticipantRow {
    pub quest: String,
    pub employee: String,
    pub status: String,
    pub accepted_at: String,
    pub returned_reason: Option<String>,
    /// The reward earned, once verified (in the quest's reward kind); 0 before.
    pub earned: i64,
    pub version: i64,
}
table_row!(QuestParticipantRow, "quest_participants", ["quest", "employee"]);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRow {
    pub id: String,
    pub title: String,
    /// snake_case status.
    pub status: String,
    pub drafter: String,
    /// `form@version`.
    pub form: String,
    pub revision: i64,
    pub number: Option<String>,
    /// Employee ids, comma-separated.
    pub current_approvers: String,
    pub amount: Option<String>,
    pub submitted_at: Option<String>,
    pub completed_at: Option<String>,
    pub updated_at: String,
    /// The folded document, as JSON text (MongoDB stores it as a subdocument).
    pub document: String,
    pub version: i64,
}
table_row!(ApprovalRow, "approvals", ["id"]);

/// One event of a document's timeline, written once.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineRow {
    pub doc: String,
    pub version: i64,
    pub revision: i64,
    pub event_type: String,
    pub actor: String,
    pub on_behalf_of: Option<String>,
    pub at: String,
    pub note: Option<String>,
}
table_row!(TimelineRow, "approval_timeline", ["doc", "version"]);

/// A document in one box of a principal (`emp:<id>` or `dept:<id>`); a document's rows are
/// replaced whole on each of its commits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxRow {
    pub principal: String,
    #[serde(rename = "box")]
    pub inbox: String,
    pub doc: String,
    pub title: String,
    pub status: String,
    pub drafter: String,
    pub updated_at: String,
}
table_row!(InboxRow, "inbox", ["principal", "box", "doc"]);

/// One notification of a recipient's feed, with a deterministic id (a redelivered event
/// rewrites its notifications, never adds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRow {
    pub id: String,
    pub recipient: String,
    pub doc: String,
    pub kind: String,
    pub title: String,
    pub at: String,
    #[serde(with = "flag")]
    pub is_read: bool,
}
table_row!(NotificationRow, "notifications", ["id"]);

/// What one reader has read of their feed ([`domain::feed::FeedReads`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedReadRow {
    pub reader: String,
    /// Everything that happened at or before this (RFC 3339) is read.
    pub read_through: Option<String>,
    /// The notifications after `read_through` marked read one by one: a JSON object of id →
    /// when it happened.
    pub marks: String,
    pub version: i64,
}
table_row!(FeedReadRow, "feed_reads", ["reader"]);

/// One row of an inbox box, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxItem {
    pub doc: String,
    pub title: String,
    pub status: String,
    pub drafter: String,
    pub updated_at: String,
}

impl From<InboxRow> for InboxItem {
    fn from(row: InboxRow) -> Self {
        Self {
            doc: row.doc,
            title: row.title,
            status: row.status,
            drafter: row.drafter,
            updated_at: row.updated_at,
        }
    }
}

/// One entry of a notification feed, as read and as pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedEntry {
    pub id: String,
    pub doc: String,
    pub kind: String,
    pub title: String,
    pub at: String,
    pub read: bool,
}

impl From<NotificationRow> for FeedEntry {
    fn from(row: NotificationRow) -> Self {
        Self {
            id: row.id,
            doc: row.doc,
            kind: row.kind,
            title: row.title,
            at: row.at,
            read: row.is_read,
        }
    }
}

/// One entry of a document's timeline, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    pub version: u64,
    pub event_type: String,
    pub actor: String,
    pub at: String,
    pub note: Option<String>,
}

impl From<TimelineRow> for TimelineEntry {
    fn from(row: TimelineRow) -> Self {
        Self {
            version: row.version as u64,
            event_type: row.event_type,
            actor: row.actor,
            at: row.at,
            note: row.note,
        }
    }
}
