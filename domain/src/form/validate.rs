//! Body validation against a form version, and the derived figures (amount, leave days) that
//! rules and the leave ledger read.

use super::{Body, FieldKind, FieldValue, FormKind, FormTemplate};
use crate::attendance::Shift;
use chrono::{FixedOffset, NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Why one field is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum FieldError {
    #[error("{field}: required")]
    Required { field: String },
    #[error("{field}: not a field of this form")]
    Unknown { field: String },
    #[error("{field}: expected a {expected} value")]
    WrongType { field: String, expected: String },
    #[error("{field}: longer than {max_len} characters")]
    TooLong { field: String, max_len: u32 },
    #[error("{field}: out of range")]
    OutOfRange { field: String },
    #[error("{field}: not one of the options")]
    NotAnOption { field: String },
    #[error("{field}: end date before start date")]
    EndBeforeStart { field: String },
    #[error("{field}: must come after {after}")]
    NotAfter { field: String, after: String },
    #[error("{field}: line items need a description, positive quantity and non-negative price")]
    BadLineItem { field: String },
}

/// A body that does not fit its form; lists every problem, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("body does not match form: {}", .errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct FormError {
    pub errors: Vec<FieldError>,
}

/// Largest money value or price a form takes (₩1,000조): far above any real document, far
/// below where decimal arithmetic would overflow.
pub const MAX_MONEY: Decimal = Decimal::from_parts(0xA4C6_8000, 0x38D7E, 0, false, 0);
/// Largest quantity of one line item, and largest plain number.
pub const MAX_QUANTITY: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);
/// Most line items in one field.
pub const MAX_LINE_ITEMS: usize = 200;

impl FormTemplate {
    /// Checks a body against this form version.
    pub fn validate(&self, body: &Body) -> Result<(), FormError> {
        let mut errors = Vec::new();
        for key in body.keys() {
            if self.field(key).is_none() {
                errors.push(FieldError::Unknown { field: key.clone() });
            }
        }
        for def in &self.fields {
            match body.get(&def.key) {
                None if def.required => errors.push(FieldError::Required { field: def.key.clone() }),
                None => {}
                Some(value) => {
                    if let Err(e) = check(&def.key, &def.kind, value, def.required) {
                        errors.push(e);
                    }
                }
            }
        }
        if self.kind == FormKind::AttendanceCorrection {
            errors.extend(correction_errors(body));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(FormError { errors })
        }
    }

    /// What a 근태 정정 body asks for: the work day and its one corrected shift, in UTC by
    /// the company's `offset`. `None` for other forms or a body that does not say it.
    pub fn correction(&self, body: &Body, offset: FixedOffset) -> Option<(NaiveDate, Shift)> {
        if self.kind != FormKind::AttendanceCorrection {
            return None;
        }
        let Some(FieldValue::Date(day)) = body.get("work_day") else {
            return None;
        };
        let (start, end) = (time_of(body, "check_in")?, time_of(body, "check_out")?);
        let utc = |time: NaiveTime| {
            day.and_time(time)
                .and_local_timezone(offset)
                .single()
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        (end > start).then_some(())?;
        Some((*day, Shift::closed(utc(start)?, utc(end)?)))
    }

    /// The document amount, if this form has one: a money value or the sum of line items.
    pub fn amount(&self, body: &Body) -> Option<Decimal> {
        match body.get(self.amount_field.as_deref()?)? {
            FieldValue::Money(m) | FieldValue::Number(m) => Some(*m),
            FieldValue::LineItems(items) => {
                Some(items.iter().fold(Decimal::ZERO, |sum, i| sum.saturating_add(i.total())))
            }
            _ => None,
        }
    }

    /// Requested leave days, if this is a leave form.
    pub fn leave_days(&self, body: &Body) -> Option<Decimal> {
        match body.get(self.leave_days_field.as_deref()?)? {
            FieldValue::Number(d) => Some(*d),
            _ => None,
        }
    }
}

/// A `HH:MM` text field as a time of day.
fn time_of(body: &Body, key: &str) -> Option<NaiveTime> {
    match body.get(key)? {
        FieldValue::Text(s) => NaiveTime::parse_from_str(s.trim(), "%H:%M").ok(),
        _ => None,
    }
}

/// A 근태 정정 body's times: each present one is `HH:MM`, and the check-out follows the
/// check-in (a shift past midnight is not corrected by this form).
fn correction_errors(body: &Body) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for key in ["check_in", "check_out"] {
        if matches!(body.get(key), Some(FieldValue::Text(s)) if !s.trim().is_empty()) && time_of(body, key).is_none() {
            errors.push(FieldError::WrongType {
                field: key.to_owned(),
                expected: "time of day (HH:MM)".to_owned(),
            });
        }
    }
    if let (Some(start), Some(end)) = (time_of(body, "check_in"), time_of(body, "check_out")) {
        if end <= start {
            errors.push(FieldError::NotAfter {
                field: "check_out".to_owned(),
                after: "check_in".to_owned(),
            });
        }
    }
    errors
}

fn check(key: &str, kind: &FieldKind, value: &FieldValue, required: bool) -> Result<(), FieldError> {
    let field = || key.to_owned();
    let wrong = |expected: &str| FieldError::WrongType {
        field: field(),
        expected: expected.to_owned(),
    };
    match (kind, value) {
        (FieldKind::Text { max_len, .. }, FieldValue::Text(s)) => {
            if required && s.trim().is_empty() {
                Err(FieldError::Required { field: field() })
            } else if s.chars().count() > *max_len as usize {
                Err(FieldError::TooLong {
                    field: field(),
                    max_len: *max_len,
                })
            } else {
                Ok(())
            }
        }
        (FieldKind::Number { min, max, step }, FieldValue::Number(n)) => {
            let below = min.is_some_and(|m| *n < m) || *n < -MAX_MONEY;
            let above = max.is_some_and(|m| *n > m) || *n > MAX_MONEY;
            let off_step = step.is_some_and(|s| !s.is_zero() && !(*n % s).is_zero());
            if below || above || off_step {
                Err(FieldError::OutOfRange { field: field() })
            } else {
                Ok(())
            }
        }
        (FieldKind::Money { .. }, FieldValue::Money(m)) => {
            if m.is_sign_negative() || m.scale() > 2 || *m > MAX_MONEY {
                Err(FieldError::OutOfRange { field: field() })
            } else {
                Ok(())
            }
        }
        (FieldKind::Date, FieldValue::Date(_)) => Ok(()),
        (FieldKind::DateRange, FieldValue::DateRange { start, end }) => {
            if end < start {
                Err(FieldError::EndBeforeStart { field: field() })
            } else {
                Ok(())
            }
        }
        (FieldKind::Select { options }, FieldValue::Select(s)) => {
            if options.contains(s) {
                Ok(())
            } else {
                Err(FieldError::NotAnOption { field: field() })
            }
        }
        (FieldKind::LineItems, FieldValue::LineItems(items)) => {
            let bad = items.len() > MAX_LINE_ITEMS
                || items.iter().any(|i| {
                    i.description.trim().is_empty()
                        || i.description.chars().count() > 500
                        || i.quantity <= Decimal::ZERO
                        || i.quantity > MAX_QUANTITY
                        || i.unit_price.is_sign_negative()
                        || i.unit_price > MAX_MONEY
                });
            if bad || (required && items.is_empty()) {
                Err(FieldError::BadLineItem { field: field() })
            } else {
                Ok(())
            }
        }
        (FieldKind::Text { .. }, _) => Err(wrong("text")),
        (FieldKind::Number { .. }, _) => Err(wrong("number")),
        (FieldKind::Money { .. }, _) => Err(wrong("money")),
        (FieldKind::Date, _) => Err(wrong("date")),
        (FieldKind::DateRange, _) => Err(wrong("date_range")),
        (FieldKind::Select { .. }, _) => Err(wrong("select")),
        (FieldKind::LineItems, _) => Err(wrong("line_items")),
    }
}

impl FormTemplate {
    /// Checks a draft body: types and constraints of the fields present, but not `required`,
    /// since 임시저장 keeps unfinished work.
    pub fn validate_draft(&self, body: &Body) -> Result<(), FormError> {
        match self.validate(body) {
            Ok(()) => Ok(()),
            Err(FormError { errors }) => {
                let errors: Vec<_> = errors
                    .into_iter()
                    .filter(|e| match e {
                        FieldError::Required { field } => body.contains_key(field),
                        _ => true,
                    })
                    .collect();
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(FormError { errors })
                }
            }
        }
    }
}
