//! 알림 읽음: what an employee has read of their notification feed.
//!
//! The feed itself is a fold of other streams (a document's notices, the HR side's), so it
//! holds no state of its reader's. Marking a notification read is a fact of its own, decided
//! here and kept in the reader's stream, so a replay of the log rebuilds read and unread
//! exactly; no read model is written to directly.
//!
//! A notification is read when it was marked read by id, or when it happened at or before the
//! last "mark all read" (`read_through`). Each mark carries the notification's time, so a
//! later "mark all read" can forget the marks it covers: the state holds only the marks newer
//! than `read_through`, whatever the length of the feed.

use crate::actor::Actor;
use crate::aggregate::{Aggregate, EventType};
use crate::ids::EmployeeId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// At most this many notifications are marked read by one command.
pub const MAX_MARKS: usize = 200;
/// How far a client's or another node's clock may run ahead of the deciding one: a mark or a
/// "read through" later than the command's time by more than this is refused (marks dated in
/// the future would never be forgotten by "mark all read").
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// A notification id is at most this long (ids are built from a stream, a version, a
/// recipient and a kind; this leaves room).
pub const MAX_ID_LEN: usize = 200;

/// One notification marked read: its id and when it happened (the feed entry's `at`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub id: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FeedCommand {
    /// Marks these notifications read.
    MarkRead {
        reader: EmployeeId,
        by: Actor,
        marks: Vec<Mark>,
        at: DateTime<Utc>,
    },
    /// Marks every notification that happened at or before `through` read: the newest the
    /// reader saw, so one that arrives while they click stays unread.
    MarkAllRead {
        reader: EmployeeId,
        by: Actor,
        through: DateTime<Utc>,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum FeedEvent {
    #[serde(rename = "feed.read")]
    Read {
        reader: EmployeeId,
        marks: Vec<Mark>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "feed.all_read")]
    AllRead {
        reader: EmployeeId,
        through: DateTime<Utc>,
        at: DateTime<Utc>,
    },
}

impl EventType for FeedEvent {
    fn event_type(&self) -> &'static str {
        match self {
            Self::Read { .. } => "feed.read",
            Self::AllRead { .. } => "feed.all_read",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// 403: a feed is marked by its own reader only.
    #[error("only the recipient marks their notifications read")]
    NotReader,
    /// 422
    #[error("name at least one notification to mark read")]
    NoMarks,
    /// 422
    #[error("at most {MAX_MARKS} notifications are marked read at once")]
    TooManyMarks,
    /// 422
    #[error("a notification id is 1 to {MAX_ID_LEN} printable characters")]
    BadId,
    /// 422
    #[error("`through` is later than now")]
    ThroughInFuture,
    /// 422
    #[error("a notification's time is later than now")]
    MarkInFuture,
    /// 409: a stream holds one reader's marks.
    #[error("this feed belongs to another reader")]
    OtherReader,
}

impl crate::Refusal for FeedError {
    fn refusal(&self) -> (crate::RefusalKind, &'static str) {
        use crate::RefusalKind::*;
        use FeedError as E;
        match self {
            E::NotReader => (Forbidden, "not_reader"),
            E::NoMarks => (Invalid, "no_notifications"),
            E::TooManyMarks => (Invalid, "too_many_notifications"),
            E::BadId => (Invalid, "bad_notification_id"),
            E::ThroughInFuture => (Invalid, "through_in_future"),
            E::MarkInFuture => (Invalid, "notification_in_future"),
            E::OtherReader => (Conflict, "other_reader"),
        }
    }
}

/// One reader's read state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedReads {
    pub reader: Option<EmployeeId>,
    /// Everything at or before this is read.
    pub read_through: Option<DateTime<Utc>>,
    /// Notifications after `read_through` marked read one by one: id → when it happened.
    pub marks: BTreeMap<String, DateTime<Utc>>,
}

impl FeedReads {
    /// Whether the notification `id`, which happened at `at`, is read.
    pub fn is_read(&self, id: &str, at: DateTime<Utc>) -> bool {
        self.read_through.is_some_and(|through| at <= through) || self.marks.contains_key(id)
    }

    fn check_reader(&self, reader: EmployeeId, by: &Actor) -> Result<(), FeedError> {
        if by.id != reader {
            return Err(FeedError::NotReader);
        }
        match self.reader {
            Some(owner) if owner != reader => Err(FeedError::OtherReader),
            _ => Ok(()),
        }
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && !id.chars().any(char::is_control)
}

impl Aggregate for FeedReads {
    type Command = FeedCommand;
    type Event = FeedEvent;
    type Error = FeedError;

    fn decide(&self, command: &FeedCommand) -> Result<Vec<FeedEvent>, FeedError> {
        match command {
            FeedCommand::MarkRead { reader, by, marks, at } => {
                self.check_reader(*reader, by)?;
                if marks.is_empty() {
                    return Err(FeedError::NoMarks);
                }
                if marks.len() > MAX_MARKS {
                    return Err(FeedError::TooManyMarks);
                }
                if !marks.iter().all(|m| valid_id(&m.id)) {
                    return Err(FeedError::BadId);
                }
                if marks.iter().any(|m| m.at > *at + CLOCK_SKEW) {
                    return Err(FeedError::MarkInFuture);
                }
                // Marking what is already read changes nothing and records nothing.
                let mut new: Vec<Mark> = Vec::new();
                for mark in marks {
                    if !self.is_read(&mark.id, mark.at) && !new.iter().any(|n| n.id == mark.id) {
                        new.push(mark.clone());
                    }
                }
                if new.is_empty() {
                    return Ok(Vec::new());
                }
                Ok(vec![FeedEvent::Read {
                    reader: *reader,
                    marks: new,
                    at: *at,
                }])
            }
            FeedCommand::MarkAllRead {
                reader,
                by,
                through,
                at,
            } => {
                self.check_reader(*reader, by)?;
                if *through > *at + CLOCK_SKEW {
                    return Err(FeedError::ThroughInFuture);
                }
                if self.read_through.is_some_and(|before| *through <= before) {
                    return Ok(Vec::new());
                }
                Ok(vec![FeedEvent::AllRead {
                    reader: *reader,
                    through: *through,
                    at: *at,
                }])
            }
        }
    }

    fn evolve(&mut self, event: &FeedEvent) {
        match event {
            FeedEvent::Read { reader, marks, .. } => {
                self.reader = Some(*reader);
                for mark in marks {
                    if self.read_through.is_none_or(|through| mark.at > through) {
                        self.marks.insert(mark.id.clone(), mark.at);
                    }
                }
            }
            FeedEvent::AllRead { reader, through, .. } => {
                self.reader = Some(*reader);
                let through = self.read_through.map_or(*through, |before| before.max(*through));
                self.read_through = Some(through);
                self.marks.retain(|_, at| *at > through);
            }
        }
    }
}
