//! Document numbers (문서번호), e.g. `EXP-2026-000042`: assigned at final approval, gap-free
//! per (form prefix, year).
//!
//! Gap-freedom comes from a dedicated [`NumberSequence`] stream per (prefix, year): a number
//! exists only once the sequence stream has recorded `NumberAssigned`, each assignment takes
//! exactly `last + 1`, and the event log's expected-version check serialises concurrent
//! assignments. A document is assigned at most one number (a retry returns no new event), and
//! the document stream then records it with `approval.numbered`.

use crate::aggregate::{Aggregate, EventType};
use crate::ids::{ApprovalId, EmployeeId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A document number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DocumentNumber {
    pub prefix: String,
    pub year: i32,
    pub seq: u64,
}

impl fmt::Display for DocumentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{:06}", self.prefix, self.year, self.seq)
    }
}

/// The (prefix, year) a sequence counts for; its stream id is `PREFIX-YEAR`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SequenceKey {
    pub prefix: String,
    pub year: i32,
}

impl SequenceKey {
    pub fn stream_id(&self) -> String {
        format!("{}-{}", self.prefix, self.year)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberCommand {
    Assign {
        key: SequenceKey,
        document: ApprovalId,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum NumberEvent {
    #[serde(rename = "numbering.assigned")]
    NumberAssigned {
        number: DocumentNumber,
        document: ApprovalId,
        by: EmployeeId,
        at: DateTime<Utc>,
    },
}

impl EventType for NumberEvent {
    fn event_type(&self) -> &'static str {
        "numbering.assigned"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// 422: one stream counts one (prefix, year).
    #[error("this sequence counts {expected:?}, not {got:?}")]
    WrongSequence { expected: SequenceKey, got: SequenceKey },
    /// 422: prefixes are 1..=8 upper-case ASCII letters.
    #[error("invalid document-number prefix")]
    InvalidPrefix,
}

impl crate::Refusal for NumberError {
    fn refusal(&self) -> (crate::RefusalKind, &'static str) {
        use crate::RefusalKind::*;
        use NumberError as E;
        match self {
            E::WrongSequence { .. } => (Invalid, "numbering"),
            E::InvalidPrefix => (Invalid, "numbering"),
        }
    }
}

/// One (prefix, year) counter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumberSequence {
    pub key: Option<SequenceKey>,
    pub last: u64,
    pub assigned: BTreeMap<ApprovalId, DocumentNumber>,
}

impl NumberSequence {
    pub fn number_of(&self, document: ApprovalId) -> Option<&DocumentNumber> {
        self.assigned.get(&document)
    }
}

impl Aggregate for NumberSequence {
    type Command = NumberCommand;
    type Event = NumberEvent;
    type Error = NumberError;

    fn decide(&self, command: &NumberCommand) -> Result<Vec<NumberEvent>, NumberError> {
        let NumberCommand::Assign { key, document, by, at } = command;
        let valid =
            !key.prefix.is_empty() && key.prefix.len() <= 8 && key.prefix.bytes().all(|b| b.is_ascii_uppercase());
        if !valid {
            return Err(NumberError::InvalidPrefix);
        }
        if let Some(expected) = &self.key {
            if expected != key {
                return Err(NumberError::WrongSequence {
                    expected: expected.clone(),
                    got: key.clone(),
                });
            }
        }
        if self.assigned.contains_key(document) {
            return Ok(Vec::new());
        }
        let number = DocumentNumber {
            prefix: key.prefix.clone(),
            year: key.year,
            seq: self.last + 1,
        };
        Ok(vec![NumberEvent::NumberAssigned {
            number,
            document: *document,
            by: *by,
            at: *at,
        }])
    }

    fn evolve(&mut self, event: &NumberEvent) {
        let NumberEvent::NumberAssigned { number, document, .. } = event;
        self.key = Some(SequenceKey {
            prefix: number.prefix.clone(),
            year: number.year,
        });
        self.last = number.seq;
        self.assigned.insert(*document, number.clone());
    }
}
