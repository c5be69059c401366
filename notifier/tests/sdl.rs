//! The subscription schema is a contract with the web client (its types are generated from
//! this file): a change to the schema must come with the file.

#[test]
fn the_committed_sdl_matches_the_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let sdl = notifier::sdl();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).expect("write schema.graphql");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sdl,
        "notifier/schema.graphql is out of date: run `UPDATE_SCHEMA=1 cargo test -p notifier --test sdl` and commit it"
    );
}

/// The block `enum <name> { … }` of an SDL, descriptions included.
fn enum_block<'a>(sdl: &'a str, name: &str) -> Option<&'a str> {
    let start = sdl.find(&format!("enum {name} {{"))?;
    let end = start + sdl[start..].find('}')?;
    // Include the description above it, if any.
    let before = &sdl[..start];
    let described = before
        .strip_suffix("\"\"\"\n")
        .and_then(|b| b.rfind("\"\"\""))
        .unwrap_or(start);
    Some(&sdl[described..=end])
}

#[test]
fn statuses_boxes_and_notification_kinds_are_the_query_apis_own_enums() {
    let (notifier, query) = (notifier::sdl(), query_api::sdl());
    for name in ["ApprovalStatus", "InboxBox", "NotificationKind"] {
        let mine = enum_block(&notifier, name).unwrap_or_else(|| panic!("the notifier's SDL has no enum {name}"));
        assert_eq!(
            Some(mine),
            enum_block(&query, name),
            "{name} differs between the two schemas"
        );
    }
}
