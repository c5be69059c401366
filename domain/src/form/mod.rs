//! Forms (결재 양식): versioned templates with typed fields. A document records the form id
//! and version it was drafted on; its body is validated against exactly that version, so a
//! template can evolve without invalidating documents already in flight.

mod builtin;
mod validate;

pub use builtin::{attendance_correction_form, builtin_forms, expense_form, general_form, leave_form, purchase_form};
pub use validate::{FieldError, FormError, MAX_LINE_ITEMS, MAX_MONEY, MAX_QUANTITY};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Stable form identifier, e.g. `expense`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FormId(pub String);

impl fmt::Display for FormId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A pointer to one version of a form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FormRef {
    pub id: FormId,
    pub version: u32,
}

/// What the form is for; drives rules (thresholds, leave debits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    /// 일반기안
    General,
    /// 지출결의
    Expense,
    /// 휴가신청
    Leave,
    /// 구매요청
    Purchase,
    /// 근태 정정: the final approval amends the drafter's work day.
    AttendanceCorrection,
}

/// A versioned form template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormTemplate {
    pub id: FormId,
    pub version: u32,
    pub kind: FormKind,
    /// Document-number prefix, e.g. `EXP` in `EXP-2026-000042`.
    pub prefix: String,
    pub name_ko: String,
    pub name_en: String,
    pub fields: Vec<FieldDef>,
    /// The money field (or line items field) whose value is the document's amount.
    pub amount_field: Option<String>,
    /// The number field holding requested leave days.
    pub leave_days_field: Option<String>,
}

impl FormTemplate {
    pub fn form_ref(&self) -> FormRef {
        FormRef {
            id: self.id.clone(),
            version: self.version,
        }
    }

    pub fn field(&self, key: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.key == key)
    }
}

/// One field of a form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDef {
    pub key: String,
    pub label_ko: String,
    pub label_en: String,
    pub kind: FieldKind,
    pub required: bool,
}

/// The type of a field and its constraints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text {
        max_len: u32,
        multiline: bool,
    },
    Number {
        min: Option<Decimal>,
        max: Option<Decimal>,
        step: Option<Decimal>,
    },
    Money {
        currency: String,
    },
    Date,
    DateRange,
    Select {
        options: Vec<String>,
    },
    LineItems,
}

/// One row of a line-items field (품목).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
}

impl LineItem {
    /// Quantity × unit price, saturating instead of overflowing on values no valid body holds.
    pub fn total(&self) -> Decimal {
        self.quantity.saturating_mul(self.unit_price)
    }
}

/// A typed field value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum FieldValue {
    Text(String),
    Number(Decimal),
    Money(Decimal),
    Date(NaiveDate),
    DateRange { start: NaiveDate, end: NaiveDate },
    Select(String),
    LineItems(Vec<LineItem>),
}

/// A document body: field key → value.
pub type Body = BTreeMap<String, FieldValue>;
