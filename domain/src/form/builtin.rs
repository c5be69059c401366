//! The five built-in forms every company starts with. Version 1 of each; companies add
//! versions rather than edit these.

use super::{FieldDef, FieldKind, FormId, FormKind, FormTemplate};
use rust_decimal::Decimal;

fn field(key: &str, ko: &str, en: &str, kind: FieldKind, required: bool) -> FieldDef {
    FieldDef {
        key: key.into(),
        label_ko: ko.into(),
        label_en: en.into(),
        kind,
        required,
    }
}

fn text(max_len: u32, multiline: bool) -> FieldKind {
    FieldKind::Text { max_len, multiline }
}

fn krw() -> FieldKind {
    FieldKind::Money { currency: "KRW".into() }
}

fn template(id: &str, kind: FormKind, prefix: &str, ko: &str, en: &str) -> FormTemplate {
    FormTemplate {
        id: FormId(id.into()),
        version: 1,
        kind,
        prefix: prefix.into(),
        name_ko: ko.into(),
        name_en: en.into(),
        fields: Vec::new(),
        amount_field: None,
        leave_days_field: None,
    }
}

/// 일반기안: free text.
pub fn general_form() -> FormTemplate {
    FormTemplate {
        fields: vec![field("content", "내용", "Content", text(20_000, true), true)],
        ..template("general", FormKind::General, "GEN", "일반기안", "General")
    }
}

/// 지출결의: an expense with line items; the amount is their total.
pub fn expense_form() -> FormTemplate {
    FormTemplate {
        fields: vec![
            field("purpose", "지출 목적", "Purpose", text(500, false), true),
            field("spent_on", "지출일", "Date spent", FieldKind::Date, true),
            field("items", "지출 내역", "Items", FieldKind::LineItems, true),
            field("note", "비고", "Note", text(2_000, true), false),
        ],
        amount_field: Some("items".into()),
        ..template("expense", FormKind::Expense, "EXP", "지출결의서", "Expense report")
    }
}

/// 휴가신청: leave type, period and days (half days allowed).
pub fn leave_form() -> FormTemplate {
    FormTemplate {
        fields: vec![
            field(
                "leave_type",
                "휴가 종류",
                "Leave type",
                FieldKind::Select {
                    options: ["annual", "half_am", "half_pm", "sick", "family_event"]
                        .map(String::from)
                        .to_vec(),
                },
                true,
            ),
            field("period", "기간", "Period", FieldKind::DateRange, true),
            field(
                "days",
                "일수",
                "Days",
                FieldKind::Number {
                    min: Some(Decimal::new(5, 1)),
                    max: Some(Decimal::from(60)),
                    step: Some(Decimal::new(5, 1)),
                },
                true,
            ),
            field("reason", "사유", "Reason", text(1_000, true), false),
        ],
        leave_days_field: Some("days".into()),
        ..template("leave", FormKind::Leave, "LEV", "휴가신청서", "Leave request")
    }
}

/// 구매요청: a purchase with vendor and line items.
pub fn purchase_form() -> FormTemplate {
    FormTemplate {
        fields: vec![
            field("vendor", "거래처", "Vendor", text(200, false), true),
            field("needed_by", "필요일", "Needed by", FieldKind::Date, false),
            field("items", "구매 품목", "Items", FieldKind::LineItems, true),
            field("total", "합계", "Total", krw(), false),
            field("reason", "구매 사유", "Reason", text(2_000, true), true),
        ],
        amount_field: Some("items".into()),
        ..template("purchase", FormKind::Purchase, "PUR", "구매요청서", "Purchase request")
    }
}

/// 근태 정정: the work day, and the check-in and check-out it should have had (`HH:MM`,
/// company-local); the final approval replaces the day's shifts with that one.
pub fn attendance_correction_form() -> FormTemplate {
    FormTemplate {
        fields: vec![
            field("work_day", "근무일", "Work day", FieldKind::Date, true),
            field(
                "check_in",
                "출근 시각 (HH:MM)",
                "Check-in (HH:MM)",
                text(5, false),
                true,
            ),
            field(
                "check_out",
                "퇴근 시각 (HH:MM)",
                "Check-out (HH:MM)",
                text(5, false),
                true,
            ),
            field("reason", "정정 사유", "Reason", text(1_000, true), true),
        ],
        ..template(
            "attendance_correction",
            FormKind::AttendanceCorrection,
            "ATT",
            "근태정정신청서",
            "Attendance correction",
        )
    }
}

/// Every built-in form, latest versions.
pub fn builtin_forms() -> Vec<FormTemplate> {
    vec![
        general_form(),
        expense_form(),
        leave_form(),
        purchase_form(),
        attendance_correction_form(),
    ]
}
