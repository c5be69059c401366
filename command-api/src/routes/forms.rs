//! Form templates as the API answers them (`GET /api/forms`, the 전결 규정's rows): the
//! domain's types mirrored field for field so that the OpenAPI document describes them, and
//! serialised exactly as the domain's own (a test compares the two).

use domain::form::{FieldDef, FieldKind, FormKind, FormTemplate};
use rust_decimal::Decimal;
use serde::Serialize;

/// What a form is for: it drives the rules (thresholds, leave debits).
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormKindView {
    /// 일반기안
    General,
    /// 지출결의
    Expense,
    /// 휴가신청
    Leave,
    /// 구매요청
    Purchase,
    /// 근태 정정: its final approval amends the drafter's work day.
    AttendanceCorrection,
}

impl From<FormKind> for FormKindView {
    fn from(kind: FormKind) -> Self {
        match kind {
            FormKind::General => Self::General,
            FormKind::Expense => Self::Expense,
            FormKind::Leave => Self::Leave,
            FormKind::Purchase => Self::Purchase,
            FormKind::AttendanceCorrection => Self::AttendanceCorrection,
        }
    }
}

/// One version of a form template.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FormView {
    /// Stable form id, e.g. `expense`.
    pub id: String,
    pub version: u32,
    pub kind: FormKindView,
    /// Document-number prefix, e.g. `EXP` in `EXP-2026-000042`.
    pub prefix: String,
    pub name_ko: String,
    pub name_en: String,
    pub fields: Vec<FieldView>,
    /// The money field (or line items field) whose value is the document's amount.
    pub amount_field: Option<String>,
    /// The number field holding requested leave days.
    pub leave_days_field: Option<String>,
}

impl From<FormTemplate> for FormView {
    fn from(form: FormTemplate) -> Self {
        Self {
            id: form.id.0,
            version: form.version,
            kind: form.kind.into(),
            prefix: form.prefix,
            name_ko: form.name_ko,
            name_en: form.name_en,
            fields: form.fields.into_iter().map(FieldView::from).collect(),
            amount_field: form.amount_field,
            leave_days_field: form.leave_days_field,
        }
    }
}

/// One field of a form.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldView {
    pub key: String,
    pub label_ko: String,
    pub label_en: String,
    pub kind: FieldKindView,
    pub required: bool,
}

impl From<FieldDef> for FieldView {
    fn from(field: FieldDef) -> Self {
        Self {
            key: field.key,
            label_ko: field.label_ko,
            label_en: field.label_en,
            kind: field.kind.into(),
            required: field.required,
        }
    }
}

/// The type of a field and its constraints; decimals are strings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKindView {
    Text {
        max_len: u32,
        multiline: bool,
    },
    Number {
        #[schema(value_type = Option<String>)]
        min: Option<Decimal>,
        #[schema(value_type = Option<String>)]
        max: Option<Decimal>,
        #[schema(value_type = Option<String>)]
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

impl From<FieldKind> for FieldKindView {
    fn from(kind: FieldKind) -> Self {
        match kind {
            FieldKind::Text { max_len, multiline } => Self::Text { max_len, multiline },
            FieldKind::Number { min, max, step } => Self::Number { min, max, step },
            FieldKind::Money { currency } => Self::Money { currency },
            FieldKind::Date => Self::Date,
            FieldKind::DateRange => Self::DateRange,
            FieldKind::Select { options } => Self::Select { options },
            FieldKind::LineItems => Self::LineItems,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_answers_exactly_as_the_domain_serialises_it() {
        for form in domain::form::builtin_forms() {
            let domain = serde_json::to_value(&form).expect("serialises");
            let view = serde_json::to_value(FormView::from(form)).expect("serialises");
            assert_eq!(view, domain);
        }
    }
}
