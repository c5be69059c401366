//! A document's body, attachments and line, and the forms' field definitions, as GraphQL
//! objects shaped like the domain's types rather than JSON blobs: clients get their types from
//! the SDL, and a change to a domain shape shows up as a change to the committed schema.

use async_graphql::{Enum, SimpleObject, Union};
use chrono::NaiveDate;
use domain::approval::{ApprovalLine, Attachment, Quorum, Step};
use domain::form::{Body, FieldDef, FieldKind, FieldValue, FormKind};
use rust_decimal::Decimal;

fn decimal(d: Decimal) -> String {
    d.normalize().to_string()
}

/// One value of a document body, under its form field's key, in the form's field order.
#[derive(SimpleObject)]
pub struct BodyField {
    pub key: String,
    pub value: FieldValueOut,
}

/// A typed field value: one member per field type.
#[derive(Union)]
#[graphql(name = "FieldValue")]
pub enum FieldValueOut {
    Text(TextValue),
    Number(NumberValue),
    Money(MoneyValue),
    Date(DateValue),
    DateRange(DateRangeValue),
    Select(SelectValue),
    LineItems(LineItemsValue),
}

#[derive(SimpleObject)]
pub struct TextValue {
    pub text: String,
}

#[derive(SimpleObject)]
pub struct NumberValue {
    /// Decimal.
    pub number: String,
}

#[derive(SimpleObject)]
pub struct MoneyValue {
    /// Decimal, in the field's currency.
    pub amount: String,
}

#[derive(SimpleObject)]
pub struct DateValue {
    pub date: NaiveDate,
}

#[derive(SimpleObject)]
pub struct DateRangeValue {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

#[derive(SimpleObject)]
pub struct SelectValue {
    pub option: String,
}

#[derive(SimpleObject)]
pub struct LineItemsValue {
    pub items: Vec<LineItemOut>,
}

/// One row of a line-items field (품목).
#[derive(SimpleObject)]
#[graphql(name = "LineItem")]
pub struct LineItemOut {
    pub description: String,
    /// Decimal.
    pub quantity: String,
    /// Decimal.
    pub unit_price: String,
}

impl From<&FieldValue> for FieldValueOut {
    fn from(value: &FieldValue) -> Self {
        match value {
            FieldValue::Text(text) => Self::Text(TextValue { text: text.clone() }),
            FieldValue::Number(n) => Self::Number(NumberValue { number: decimal(*n) }),
            FieldValue::Money(a) => Self::Money(MoneyValue { amount: decimal(*a) }),
            FieldValue::Date(date) => Self::Date(DateValue { date: *date }),
            FieldValue::DateRange { start, end } => Self::DateRange(DateRangeValue {
                start: *start,
                end: *end,
            }),
            FieldValue::Select(option) => Self::Select(SelectValue { option: option.clone() }),
            FieldValue::LineItems(items) => Self::LineItems(LineItemsValue {
                items: items
                    .iter()
                    .map(|i| LineItemOut {
                        description: i.description.clone(),
                        quantity: decimal(i.quantity),
                        unit_price: decimal(i.unit_price),
                    })
                    .collect(),
            }),
        }
    }
}

/// A body's values: the form's fields first, in the form's order, then any key the form
/// (at the document's version) does not define, by key.
pub fn body_fields(body: &Body, fields: &[FieldDef]) -> Vec<BodyField> {
    let defined = fields.iter().filter_map(|f| body.get_key_value(&f.key));
    let other = body.iter().filter(|(k, _)| !fields.iter().any(|f| &f.key == *k));
    defined
        .chain(other)
        .map(|(key, value)| BodyField {
            key: key.clone(),
            value: value.into(),
        })
        .collect()
}

/// Attachment metadata (the bytes live in object storage).
#[derive(SimpleObject)]
#[graphql(name = "Attachment")]
pub struct AttachmentOut {
    pub id: String,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// SHA-256 of the content as the log recorded it (none for metadata from before uploads).
    /// The bytes: `GET /api/approvals/{documentId}/attachments/{id}` on the command API.
    pub sha256: Option<String>,
}

impl From<&Attachment> for AttachmentOut {
    fn from(a: &Attachment) -> Self {
        Self {
            id: a.id.to_string(),
            name: a.name.clone(),
            size: a.size,
            content_type: a.content_type.clone(),
            sha256: a.sha256.clone(),
        }
    }
}

/// The approval line (결재선) as the drafter wrote it and the command API takes it: steps in
/// order, 참조 and 수신.
#[derive(SimpleObject)]
#[graphql(name = "ApprovalLine")]
pub struct LineOut {
    pub steps: Vec<LineStep>,
    /// 참조: employee ids.
    pub cc_ids: Vec<String>,
    /// 수신: department ids.
    pub receiver_ids: Vec<String>,
}

/// One step of a line.
#[derive(Union)]
pub enum LineStep {
    Approval(LineApproval),
    Agreement(LineAgreement),
}

/// 결재: one approver, in sequence.
#[derive(SimpleObject)]
pub struct LineApproval {
    pub approver_id: String,
    /// 전결권, as granted at 상신 by the 전결 규정 (a drafter never sets it).
    pub final_authority: bool,
}

/// 합의: a parallel agreement group.
#[derive(SimpleObject)]
pub struct LineAgreement {
    pub member_ids: Vec<String>,
    /// How many members must agree; null: all of them.
    pub quorum: Option<u32>,
}

impl From<&ApprovalLine> for LineOut {
    fn from(line: &ApprovalLine) -> Self {
        Self {
            steps: line
                .steps
                .iter()
                .map(|step| match step {
                    Step::Approval {
                        approver,
                        final_authority,
                    } => LineStep::Approval(LineApproval {
                        approver_id: approver.to_string(),
                        final_authority: *final_authority,
                    }),
                    Step::Agreement { members, quorum } => LineStep::Agreement(LineAgreement {
                        member_ids: members.iter().map(ToString::to_string).collect(),
                        quorum: match quorum {
                            Quorum::All => None,
                            Quorum::AtLeast(m) => Some(u32::from(*m)),
                        },
                    }),
                })
                .collect(),
            cc_ids: line.cc.iter().map(ToString::to_string).collect(),
            receiver_ids: line.receivers.iter().map(ToString::to_string).collect(),
        }
    }
}

/// What a form is for (it drives thresholds and leave debits).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "FormKind")]
pub enum FormKindOut {
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

impl From<FormKind> for FormKindOut {
    fn from(k: FormKind) -> Self {
        match k {
            FormKind::General => Self::General,
            FormKind::Expense => Self::Expense,
            FormKind::Leave => Self::Leave,
            FormKind::Purchase => Self::Purchase,
            FormKind::AttendanceCorrection => Self::AttendanceCorrection,
        }
    }
}

/// The type of a form field.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum FieldType {
    Text,
    Number,
    Money,
    Date,
    DateRange,
    Select,
    LineItems,
}

/// One field of a form: its type and the constraints that type has (null for the others).
#[derive(SimpleObject)]
#[graphql(name = "FieldDef")]
pub struct FieldDefOut {
    pub key: String,
    pub label_ko: String,
    pub label_en: String,
    pub required: bool,
    #[graphql(name = "type")]
    pub field_type: FieldType,
    /// TEXT: most characters.
    pub max_length: Option<u32>,
    /// TEXT: several lines.
    pub multiline: Option<bool>,
    /// NUMBER: decimal bounds and step.
    pub min: Option<String>,
    pub max: Option<String>,
    pub step: Option<String>,
    /// MONEY: ISO currency code.
    pub currency: Option<String>,
    /// SELECT: the choices.
    pub options: Option<Vec<String>>,
}

impl From<&FieldDef> for FieldDefOut {
    fn from(f: &FieldDef) -> Self {
        let mut out = Self {
            key: f.key.clone(),
            label_ko: f.label_ko.clone(),
            label_en: f.label_en.clone(),
            required: f.required,
            field_type: FieldType::Text,
            max_length: None,
            multiline: None,
            min: None,
            max: None,
            step: None,
            currency: None,
            options: None,
        };
        match &f.kind {
            FieldKind::Text { max_len, multiline } => {
                out.max_length = Some(*max_len);
                out.multiline = Some(*multiline);
            }
            FieldKind::Number { min, max, step } => {
                out.field_type = FieldType::Number;
                out.min = min.map(decimal);
                out.max = max.map(decimal);
                out.step = step.map(decimal);
            }
            FieldKind::Money { currency } => {
                out.field_type = FieldType::Money;
                out.currency = Some(currency.clone());
            }
            FieldKind::Date => out.field_type = FieldType::Date,
            FieldKind::DateRange => out.field_type = FieldType::DateRange,
            FieldKind::Select { options } => {
                out.field_type = FieldType::Select;
                out.options = Some(options.clone());
            }
            FieldKind::LineItems => out.field_type = FieldType::LineItems,
        }
        out
    }
}

/// A search's words: split on white space, lowercased, at most 8 (more narrow nothing a user
/// types and only cost scanning).
pub fn search_terms(text: &str) -> Vec<String> {
    text.split_whitespace().take(8).map(str::to_lowercase).collect()
}

/// Whether each of `terms` appears in what the document says: its title, number, body (text,
/// choices, line-item descriptions) and attachment names. Substring matching, so a Korean
/// word is found inside its compounds and with its particles (회의 in 회의비를) without a
/// dictionary.
pub fn matches_terms(doc: &domain::approval::ApprovalDocument, terms: &[String]) -> bool {
    let mut text = doc.content.title.to_lowercase();
    if let Some(number) = &doc.number {
        text.push('\n');
        text.push_str(&number.to_string().to_lowercase());
    }
    for value in doc.content.body.values() {
        match value {
            FieldValue::Text(t) | FieldValue::Select(t) => {
                text.push('\n');
                text.push_str(&t.to_lowercase());
            }
            FieldValue::LineItems(items) => {
                for item in items {
                    text.push('\n');
                    text.push_str(&item.description.to_lowercase());
                }
            }
            _ => {}
        }
    }
    for attachment in &doc.content.attachments {
        text.push('\n');
        text.push_str(&attachment.name.to_lowercase());
    }
    terms.iter().all(|term| text.contains(term.as_str()))
}
