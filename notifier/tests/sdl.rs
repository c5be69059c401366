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
