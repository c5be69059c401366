//! A document's typed body from the JSON a client sends: each field by the kind the form
//! declares (decimals as strings or numbers, dates as `YYYY-MM-DD`, line items whose total
//! must stay within the decimal range), every misfit collected into one `invalid_body`.

use super::dto::ContentDto;
use crate::error::ApiError;
use chrono::NaiveDate;
use domain::approval::{ApprovalLine, Attachment, Content};
use domain::form::{Body as FormBody, FieldError, FieldKind, FieldValue, FormError, FormTemplate, LineItem};
use domain::ids::AttachmentId;
use rust_decimal::Decimal;
use serde_json::{Map, Value};
use uuid::Uuid;

/// Converts an untyped JSON body into typed field values, per the form's field kinds.
pub fn parse_body(form: &FormTemplate, raw: &Map<String, Value>) -> Result<FormBody, ApiError> {
    let mut body = FormBody::new();
    let mut errors = Vec::new();
    for (key, value) in raw {
        let Some(field) = form.field(key) else {
            errors.push(FieldError::Unknown { field: key.clone() });
            continue;
        };
        if value.is_null() {
            continue;
        }
        match typed(&field.kind, value) {
            Some(v) => {
                body.insert(key.clone(), v);
            }
            None => errors.push(FieldError::WrongType {
                field: key.clone(),
                expected: kind_name(&field.kind).into(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(domain::approval::ApprovalError::InvalidBody(FormError { errors }).into())
    }
}

fn kind_name(kind: &FieldKind) -> &'static str {
    match kind {
        FieldKind::Text { .. } => "text",
        FieldKind::Number { .. } => "number",
        FieldKind::Money { .. } => "money",
        FieldKind::Date => "date",
        FieldKind::DateRange => "date_range",
        FieldKind::Select { .. } => "select",
        FieldKind::LineItems => "line_items",
    }
}

fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.to_string().parse().ok(),
        _ => None,
    }
}

fn date(value: &Value) -> Option<NaiveDate> {
    value.as_str()?.parse().ok()
}

fn typed(kind: &FieldKind, value: &Value) -> Option<FieldValue> {
    Some(match kind {
        FieldKind::Text { .. } => FieldValue::Text(value.as_str()?.to_owned()),
        FieldKind::Number { .. } => FieldValue::Number(decimal(value)?),
        FieldKind::Money { .. } => FieldValue::Money(decimal(value)?),
        FieldKind::Date => FieldValue::Date(date(value)?),
        FieldKind::DateRange => FieldValue::DateRange {
            start: date(value.get("start")?)?,
            end: date(value.get("end")?)?,
        },
        FieldKind::Select { .. } => FieldValue::Select(value.as_str()?.to_owned()),
        FieldKind::LineItems => {
            let items = value
                .as_array()?
                .iter()
                .map(|item| {
                    Some(LineItem {
                        description: item.get("description")?.as_str()?.to_owned(),
                        quantity: decimal(item.get("quantity")?)?,
                        unit_price: decimal(item.get("unit_price")?)?,
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            // The amount is Σ quantity × unit price: a total beyond the decimal range is bad input.
            items.iter().try_fold(Decimal::ZERO, |sum, i| {
                sum.checked_add(i.quantity.checked_mul(i.unit_price)?)
            })?;
            FieldValue::LineItems(items)
        }
    })
}

pub(super) fn content(form: &FormTemplate, dto: ContentDto) -> Result<(Content, ApprovalLine), ApiError> {
    let body = parse_body(form, &dto.body)?;
    let attachments = dto
        .attachments
        .into_iter()
        .map(|a| Attachment {
            id: AttachmentId(a.id.unwrap_or_else(Uuid::now_v7)),
            name: a.name,
            size: a.size,
            content_type: a.content_type,
            sha256: a.sha256,
        })
        .collect();
    Ok((
        Content {
            title: dto.title,
            body,
            attachments,
        },
        dto.line.try_into()?,
    ))
}
