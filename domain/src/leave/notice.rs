//! The notices of 연차 사용 촉진 (근로기준법 제61조) a ledger records.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The notices of 제61조.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// 사용 시기 지정 촉구: the unused days, and a request to choose when to use them.
    Request,
    /// 사용 시기 지정 통보: the employer designates when.
    Designation,
    /// First-year leave that arose after the request: its own request.
    LateRequest,
    /// First-year leave that arose after the request: its own designation.
    LateDesignation,
}

impl NoticeKind {
    /// The notice that must have gone out before this one.
    pub fn follows(self) -> Option<NoticeKind> {
        match self {
            Self::Request => None,
            Self::Designation | Self::LateRequest => Some(Self::Request),
            Self::LateDesignation => Some(Self::LateRequest),
        }
    }

    pub(super) fn is_late(self) -> bool {
        matches!(self, Self::LateRequest | Self::LateDesignation)
    }
}

/// A notice the ledger recorded as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentNotice {
    pub period_end: NaiveDate,
    pub notice: NoticeKind,
    pub unused: Decimal,
    /// Company-local date it was sent.
    pub on: NaiveDate,
    pub at: DateTime<Utc>,
}
