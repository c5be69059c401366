//! The settings list, the type, the docs and the example file agree; the environment layer
//! reads what an operator writes.

use super::*;
use std::collections::BTreeSet;

/// Every leaf key of a JSON object, dotted.
fn leaves(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&key, v, out);
            }
        }
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

fn listed() -> BTreeSet<String> {
    KEYS.iter().map(|k| k.key.to_owned()).collect()
}

fn example_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/erp.toml")
}

#[test]
fn every_field_of_settings_is_listed_once() {
    let mut fields = BTreeSet::new();
    leaves("", &serde_json::to_value(Settings::default()).unwrap(), &mut fields);
    assert_eq!(fields, listed());
    assert_eq!(KEYS.len(), listed().len(), "a key listed twice");
    let envs: BTreeSet<_> = KEYS.iter().map(|k| k.env).collect();
    assert_eq!(envs.len(), KEYS.len(), "an environment variable listed twice");
}

#[test]
fn the_docs_carry_the_settings_table_as_erp_settings_prints_it() {
    let docs =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/operations.md")).unwrap();
    assert!(
        docs.contains(&markdown_table()),
        "docs/operations.md must contain the table `erp settings` prints:\n{}",
        markdown_table()
    );
}

#[test]
fn the_example_file_sets_every_key_and_parses() {
    let text = std::fs::read_to_string(example_path()).unwrap();
    let value: toml::Value = toml::from_str(&text).unwrap();
    let mut keys = BTreeSet::new();
    leaves("", &serde_json::to_value(value).unwrap(), &mut keys);
    assert_eq!(keys, listed(), "docs/erp.toml must set every key, and only those");
    let settings = Settings::load_from(Some(&example_path()), |_| None).unwrap();
    assert_eq!(settings.kafka.brokers, "127.0.0.1:9092");
}

#[test]
fn environment_variables_override_the_file_and_keep_strings_strings() {
    let env = |key: &str| {
        match key {
            "ERP_INSTANCE_ID" => Some("7"),
            "ERP_KAFKA_PARTITIONS" => Some("3"),
            "ERP_CORS_ORIGINS" => Some("http://a.test, http://b.test"),
            "ERP_RATE_LIMIT_ENABLED" => Some("false"),
            "ERP_MYSQL_URL" => Some("mysql://u:hunter2@db/erp"),
            "ERP_JWT_AUDIENCE" => Some(""),
            _ => None,
        }
        .map(str::to_owned)
    };
    let s = Settings::load_from(Some(&example_path()), env).unwrap();
    assert_eq!(s.instance_id.as_deref(), Some("7"));
    assert_eq!(s.kafka.partitions, 3);
    assert_eq!(s.cors_origins, ["http://a.test", "http://b.test"]);
    assert!(!s.rate_limit.enabled);
    assert_eq!(s.read_model.mysql_url.expose_secret(), "mysql://u:hunter2@db/erp");
    // Empty is unset: the file's value stays.
    assert_eq!(s.auth.audience, "erp");
}

#[test]
fn bad_values_are_refused_with_their_key() {
    let e = Settings::load_from(None, |k| (k == "ERP_KAFKA_PARTITIONS").then(|| "many".to_owned())).unwrap_err();
    assert!(format!("{e:#}").contains("ERP_KAFKA_PARTITIONS=many"), "{e:#}");
    let e = Settings::load_from(None, |k| (k == "ERP_REQUEST_TIMEOUT_SECS").then(|| "0".to_owned())).unwrap_err();
    assert!(format!("{e:#}").contains("request_timeout_secs"), "{e:#}");
    let e = Settings::load_from(None, |k| {
        (k == "ERP_NOTIFIER_MAX_CONNECTIONS_PER_USER").then(|| "0".to_owned())
    })
    .unwrap_err();
    assert!(format!("{e:#}").contains("notifier.max_connections_per_user"), "{e:#}");
}

#[test]
fn secrets_never_show_in_debug_or_the_printed_settings() {
    let env = |key: &str| match key {
        "ERP_INTERNAL_TOKEN" => Some("tok-s3cret".to_owned()),
        "ERP_MYSQL_URL" => Some("mysql://u:hunter2@db/erp".to_owned()),
        _ => None,
    };
    let s = Settings::load_from(None, env).unwrap();
    let debug = format!("{s:?}");
    let shown = serde_json::to_string(&s).unwrap();
    for text in [debug, shown] {
        assert!(!text.contains("tok-s3cret") && !text.contains("hunter2"), "{text}");
    }
    assert_eq!(s.internal_token().unwrap().as_deref(), Some("tok-s3cret"));
}

#[test]
fn every_role_has_its_own_default_port() {
    let s = Settings::default();
    let mut ports: Vec<u16> = Role::ALL.iter().map(|&r| s.bind_for(r).port()).collect();
    // `erp up` (8080) and command-api's internal listener must not collide with them either.
    ports.extend([8080, s.internal_bind.port()]);
    let distinct: BTreeSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), ports.len(), "default ports collide: {ports:?}");
    // `bind` still overrides every role.
    let bound = Settings::load_from(None, |k| (k == "ERP_BIND").then(|| "127.0.0.1:9999".to_owned())).unwrap();
    assert!(Role::ALL.iter().all(|&r| bound.bind_for(r).port() == 9999));
}

#[test]
fn unset_admission_settings_keep_the_limits_of_how_the_role_spends_its_time() {
    use infra::admission::AdmissionLimits;
    let cpu_bound = AdmissionLimits::cpu_bound();
    let unset = Settings::load_from(None, |_| None).unwrap().admission;
    let limits = unset.limits(cpu_bound);
    assert_eq!(
        (limits.max_in_flight, limits.max_queue, limits.max_wait),
        (cpu_bound.max_in_flight, cpu_bound.max_queue, cpu_bound.max_wait),
        "erp up's CPU-bound line, not the I/O-bound default"
    );
    let set = Settings::load_from(None, |k| (k == "ERP_ADMISSION_MAX_QUEUE").then(|| "5".to_owned()))
        .unwrap()
        .admission
        .limits(cpu_bound);
    assert_eq!((set.max_in_flight, set.max_queue), (cpu_bound.max_in_flight, 5));
}
