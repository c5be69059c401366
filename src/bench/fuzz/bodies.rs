//! Request bodies for the fuzzer: built from the route's JSON schema (or a form's fields),
//! then mutated — fields dropped, added and retyped, huge, deep or broken JSON.

use super::corpus::Corpus;
use super::rng::Rng;
use serde_json::{json, Map, Value};

/// A body: from the route's schema, mutated or not; or raw junk.
pub(super) fn body(rng: &mut Rng, schema: Option<&str>, corpus: &Corpus) -> Vec<u8> {
    let structured = match schema {
        Some(name) if rng.chance(85) => from_schema(
            rng,
            &json!({ "$ref": format!("#/components/schemas/{name}") }),
            corpus,
            0,
        ),
        _ if rng.chance(50) => json!({}),
        _ => random_value(rng, 0),
    };
    let mut value = structured;
    if let Some(object) = value.as_object_mut().filter(|o| o.contains_key("body")) {
        if !corpus.forms.is_empty() && rng.chance(70) {
            let form = rng.pick(&corpus.forms);
            if object.contains_key("form") {
                object.insert("form".into(), form["id"].clone());
            }
            object.insert("body".into(), form_body(rng, form));
        }
    }
    for _ in 0..rng.below(4) {
        mutate(rng, &mut value, 0);
    }
    let text = value.to_string();
    match rng.below(20) {
        0 => text.as_bytes()[..rng.below(text.len().max(1))].to_vec(),
        1 => vec![0xFF, 0xFE, b'{', 0x80, b'}'],
        2 => format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        3 => Vec::new(),
        4 => format!("{text}{text}").into_bytes(),
        _ => text.into_bytes(),
    }
}

/// A value that fits a JSON schema (as utoipa writes them), resolving `$ref`s.
fn from_schema(rng: &mut Rng, schema: &Value, corpus: &Corpus, depth: usize) -> Value {
    if depth > 8 {
        return Value::Null;
    }
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        return match corpus.schemas.get(name) {
            Some(s) => from_schema(rng, s, corpus, depth + 1),
            None => Value::Null,
        };
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array().filter(|o| !o.is_empty()) {
            let option = rng.pick(options);
            return from_schema(rng, option, corpus, depth + 1);
        }
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(o) = from_schema(rng, part, corpus, depth + 1) {
                merged.extend(o);
            }
        }
        return Value::Object(merged);
    }
    if let Some(options) = schema["enum"].as_array().filter(|o| !o.is_empty()) {
        return rng.pick(options).clone();
    }
    if let Some(constant) = schema.get("const") {
        return constant.clone();
    }
    let kind = match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null" || rng.chance(10))
            .unwrap_or("null")
            .to_owned(),
        _ if schema["properties"].is_object() => "object".into(),
        _ => return random_value(rng, depth),
    };
    match kind.as_str() {
        "object" => {
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut object = Map::new();
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                if required.contains(&name.as_str()) || rng.chance(60) {
                    object.insert(name.clone(), from_schema(rng, property, corpus, depth + 1));
                }
            }
            Value::Object(object)
        }
        "array" => Value::Array(
            (0..rng.below(4))
                .map(|_| from_schema(rng, &schema["items"], corpus, depth + 1))
                .collect(),
        ),
        "string" => match schema["format"].as_str() {
            Some("uuid") => json!(rng.pick(&corpus.ids)),
            Some("date-time") => json!(chrono::Utc::now() + chrono::Duration::hours(rng.below(48) as i64 - 24)),
            Some("date") => json!(format!("2026-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))),
            // Decimals travel as strings: sometimes one from the edge of the range.
            _ if rng.chance(30) => decimal(rng),
            _ => json!(rng
                .pick(&["결재", "x", "50000", "1.5", "general", "expense", "2026-03-02", ""])
                .to_string()),
        },
        "integer" => json!(rng.below(2030) as i64 - 5),
        "number" => json!(rng.below(100_000) as f64 / 10.0),
        "boolean" => json!(rng.chance(50)),
        _ => Value::Null,
    }
}

/// A document body for `form`, each field typed by its kind, with extreme values now and then.
fn form_body(rng: &mut Rng, form: &Value) -> Value {
    let mut body = Map::new();
    for field in form["fields"].as_array().into_iter().flatten() {
        if !field["required"].as_bool().unwrap_or(false) && rng.chance(30) {
            continue;
        }
        let kind = &field["kind"];
        let value = match kind["type"].as_str().unwrap_or_default() {
            "number" | "money" => decimal(rng),
            "date" => json!(format!("2026-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))),
            "date_range" => json!({ "start": "2026-03-02", "end": format!("2026-03-{:02}", 1 + rng.below(28)) }),
            "select" => match kind["options"].as_array().filter(|o| !o.is_empty()) {
                Some(options) if rng.chance(80) => rng.pick(options).clone(),
                _ => json!("not-an-option"),
            },
            "line_items" => Value::Array(
                (0..rng.below(4))
                    .map(|_| json!({ "description": "품목", "quantity": decimal(rng), "unit_price": decimal(rng) }))
                    .collect(),
            ),
            _ => json!(rng.pick(&["본문", "", "x"]).to_string()),
        };
        body.insert(field["key"].as_str().unwrap_or("x").to_owned(), value);
    }
    Value::Object(body)
}

/// A decimal as the API takes it (string or number), from ordinary to the edge of the range.
fn decimal(rng: &mut Rng) -> Value {
    const DECIMALS: &[&str] = &[
        "1",
        "0",
        "-1",
        "0.5",
        "50000",
        "3",
        "1e5",
        " 7 ",
        "-0",
        "0.0000000000000000000000000001",
        "12345678901234.5678",
        "9999999999999999999999999999",
        "79228162514264337593543950335",
        "79228162514264337593543950336",
    ];
    match rng.below(4) {
        0 => json!(rng.below(1_000_000)),
        1 => json!(1e30),
        _ => json!(rng.pick(DECIMALS).to_string()),
    }
}

/// Any JSON value, sometimes extreme.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 8 } else { 10 }) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.pick(&[0i64, -1, i64::MAX, i64::MIN, 1 << 53])),
        3 => json!(rng.pick(&[0.5f64, -1e308, 1e308, 1e-300])),
        4 => json!(rng
            .pick(&[
                "",
                " ",
                "\u{0}",
                "😀",
                "가".repeat(2000).as_str(),
                "<script>",
                "1e999",
                "NaN"
            ])
            .to_string()),
        5 => json!(uuid::Uuid::now_v7()),
        6 => json!("9".repeat(1 + rng.below(400))),
        7 => json!(format!("2026-{:02}-31", rng.below(14))),
        8 => Value::Array((0..rng.below(5)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => {
            let mut object = Map::new();
            for i in 0..rng.below(5) {
                object.insert(format!("k{i}"), random_value(rng, depth + 1));
            }
            Value::Object(object)
        }
    }
}

/// Drops, adds or replaces something somewhere in `value`.
fn mutate(rng: &mut Rng, value: &mut Value, depth: usize) {
    match value {
        Value::Object(object) if !object.is_empty() && depth < 6 => {
            let key = rng.pick(&object.keys().cloned().collect::<Vec<_>>()).clone();
            match rng.below(4) {
                0 => {
                    object.remove(&key);
                }
                1 => {
                    object.insert(format!("unknown_{}", rng.below(9)), random_value(rng, 0));
                }
                2 => {
                    object.insert(key, random_value(rng, 0));
                }
                _ => {
                    if let Some(inner) = object.get_mut(&key) {
                        mutate(rng, inner, depth + 1);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() && depth < 6 => {
            let i = rng.below(items.len());
            if rng.chance(30) {
                items.remove(i);
            } else if rng.chance(30) {
                let copy = items[i].clone();
                items.extend(std::iter::repeat_n(copy, 1 + rng.below(60)));
            } else {
                mutate(rng, &mut items[i], depth + 1);
            }
        }
        other => *other = random_value(rng, depth),
    }
}
