//! One stretch of work, the unit both a day's record and its assessment speak of.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One stretch of work: from a check-in to its check-out (open until then).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
}

impl Shift {
    pub fn closed(start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self { start, end: Some(end) }
    }

    pub fn is_open(&self) -> bool {
        self.end.is_none()
    }
}
