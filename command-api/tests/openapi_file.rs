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

/// The schema of `operation`'s answer `status` as JSON, if it names one.
fn answer_schema<'a>(operation: &'a serde_json::Value, status: &str, media: &str) -> Option<&'a serde_json::Value> {
    operation["responses"][status]["content"][media]["schema"]
        .as_object()
        .map(|_| &operation["responses"][status]["content"][media]["schema"])
}

#[test]
fn every_route_documents_its_success_body_and_its_problems() {
    let document = command_api::openapi_document();
    let paths = document["paths"].as_object().expect("paths");
    let mut gets = 0;
    for (path, item) in paths {
        for (verb, operation) in item.as_object().expect("a path item") {
            let success = if operation["responses"]["201"].is_object() {
                "201"
            } else {
                "200"
            };
            let schema = answer_schema(operation, success, "application/json")
                .or_else(|| answer_schema(operation, success, "application/octet-stream"));
            assert!(schema.is_some(), "{verb} {path}: no {success} response schema");
            if verb == "get" {
                gets += 1;
                assert_eq!(success, "200", "{verb} {path}");
            }
            let problem = answer_schema(operation, "400", "application/problem+json");
            assert_eq!(
                problem.and_then(|p| p["$ref"].as_str()),
                Some("#/components/schemas/Problem"),
                "{verb} {path}: refusals are problem documents"
            );
        }
    }
    assert!(gets >= 8, "every GET route is in the document ({gets})");
    let problem = &document["components"]["schemas"]["Problem"];
    for member in ["type", "title", "status", "code", "detail"] {
        assert!(problem["properties"][member].is_object(), "Problem.{member}");
    }
}
