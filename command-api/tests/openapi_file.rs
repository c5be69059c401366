//! The OpenAPI document is a contract with the web client, whose REST types are generated
//! from the committed copy (`npm run codegen` in web/): a change to the routes or their
//! bodies must come with the file.

#[test]
fn the_committed_openapi_document_matches_the_routes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let document = serde_json::to_string_pretty(&command_api::openapi_document()).expect("serialises") + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &document).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == document,
        "command-api/openapi.json is out of date: run `UPDATE_OPENAPI=1 cargo test -p command-api --test openapi_file` and commit it"
    );
}

/// Every `$ref` in `value`, as the schema name it points at.
fn references(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(|r| r.as_str()) {
                out.push(target.trim_start_matches("#/components/schemas/").to_owned());
            }
            map.values().for_each(|v| references(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

#[test]
fn every_schema_the_document_refers_to_is_in_it() {
    let document = command_api::openapi_document();
    let mut referred = Vec::new();
    references(&document, &mut referred);
    let schemas = &document["components"]["schemas"];
    let dangling: Vec<_> = referred
        .iter()
        .filter(|name| schemas[name.as_str()].is_null())
        .collect();
    assert!(dangling.is_empty(), "references without a schema: {dangling:?}");
}
