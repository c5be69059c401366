//! What an operator meets when something is missing: a Kafka broker that does not answer
//! fails within a bound naming the address tried, the projector without Redis says it needs
//! Redis and which setting points to it, `--help` names the stores a command needs, and
//! `erp settings` prints the table the docs carry.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::process::Output;
use std::time::{Duration, Instant};

const ERP: &str = env!("CARGO_BIN_EXE_erp");

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `erp args` with a clean ERP_* environment plus `env`; kills it after `bound`.
async fn erp(args: &[&str], env: &[(&str, String)], bound: Duration) -> (Output, Duration) {
    let mut command = tokio::process::Command::new(ERP);
    command.args(args).env("ERP_LOG", "warn").kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("ERP_") && !key.starts_with("ERP_TEST_") {
            command.env_remove(key);
        }
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let started = Instant::now();
    let output = tokio::time::timeout(bound, command.output())
        .await
        .unwrap_or_else(|_| panic!("erp {args:?} still silent after {bound:?}"))
        .unwrap();
    (output, started.elapsed())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn an_unreachable_kafka_broker_fails_within_its_bound_naming_the_address() {
    let broker = format!("127.0.0.1:{}", closed_port());
    let (output, took) = erp(
        &["verify"],
        &[
            ("ERP_KAFKA_BROKERS", broker.clone()),
            ("ERP_KAFKA_CONNECT_TIMEOUT_MS", "2000".into()),
        ],
        Duration::from_secs(30),
    )
    .await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(
        err.contains(&broker) && err.contains("ERP_KAFKA_BROKERS") && err.contains("ERP_KAFKA_CONNECT_TIMEOUT_MS"),
        "{err}"
    );
}

#[tokio::test]
async fn the_projector_without_redis_says_it_needs_redis_and_which_setting() {
    let redis = format!("redis://127.0.0.1:{}", closed_port());
    let (output, _) = erp(&["projector"], &[("ERP_REDIS_URL", redis)], Duration::from_secs(30)).await;
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("projector") && err.contains("needs Redis") && err.contains("ERP_REDIS_URL"),
        "{err}"
    );
}

#[tokio::test]
async fn replay_diff_help_names_the_stores_it_needs() {
    let (output, _) = erp(&["replay", "diff", "--help"], &[], Duration::from_secs(30)).await;
    let help = String::from_utf8_lossy(&output.stdout);
    for needed in ["MySQL", "ERP_MYSQL_URL", "MongoDB", "ERP_MONGO_URL", "--data-dir"] {
        assert!(help.contains(needed), "{needed} missing from:\n{help}");
    }
}

#[tokio::test]
async fn config_help_points_to_the_example_and_the_settings_docs() {
    for role in ["command-api", "projector", "query-api", "notifier"] {
        let (output, _) = erp(&[role, "--help"], &[], Duration::from_secs(30)).await;
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(
            help.contains("docs/erp.toml") && help.contains("docs/operations.md"),
            "{role}:\n{help}"
        );
    }
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/operations.md")).unwrap();
    assert!(docs.contains("\n## Settings\n"), "the section --help points to");
    let (output, _) = erp(&["settings"], &[], Duration::from_secs(30)).await;
    assert!(docs.contains(String::from_utf8_lossy(&output.stdout).as_ref()));
}

/// A bounded slice of `erp bench live`: more connections than the six demo employees may
/// hold under the default per-employee bound (20 each), so the bench must lift it for its
/// server, and it reports the cost per connection and the push latency.
#[tokio::test]
async fn the_live_benchmark_holds_more_connections_than_the_per_employee_bound() {
    let (output, _) = erp(
        &["bench", "live", "--connections", "300", "--samples", "3"],
        &[],
        Duration::from_secs(120),
    )
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", stderr(&output));
    assert!(stdout.contains("300 subscribed connections opened"), "{stdout}");
    assert!(
        stdout.contains("KiB per connection") && stdout.contains("command → push"),
        "{stdout}"
    );
}

/// A benchmark cluster of more command instances than the partitions its writer group divides
/// is refused at once with the reason: the instances past the count would own nothing, and
/// the cluster used to wait its whole 90 s for a division that could never come.
#[tokio::test]
async fn a_benchmark_cluster_larger_than_its_partitions_is_refused_at_once() {
    let started = std::time::Instant::now();
    let (output, _) = erp(
        &[
            "bench",
            "commands",
            "--kafka",
            &format!("127.0.0.1:{}", closed_port()),
            "--instances",
            "1,61",
            "--rates",
            "100",
            "--seconds",
            "1",
        ],
        &[],
        Duration::from_secs(60),
    )
    .await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("61 command instances: the writer group divides 60 partitions"),
        "{}",
        stderr(&output)
    );
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

/// A log written to a pipe or a file (a collector, `erp up 2> log`) is plain text: no
/// terminal colour codes around the time, level and target.
#[tokio::test]
async fn a_log_read_through_a_pipe_carries_no_terminal_colour_codes() {
    use tokio::io::AsyncBufReadExt;
    let data = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(ERP)
        .args(["up", "--port", &closed_port().to_string()])
        .env("ERP_LOG", "info")
        .env("ERP_DATA_DIR", data.path())
        .current_dir(data.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let seeded = line.contains("seeded the demo company");
            seen.push(line);
            if seeded {
                return true;
            }
        }
        false
    })
    .await;
    child.kill().await.unwrap();
    assert_eq!(found, Ok(true), "{seen:#?}");
    assert!(seen.iter().all(|l| !l.contains('\u{1b}')), "{seen:#?}");
    assert!(seen.iter().any(|l| l.contains(" INFO ")), "{seen:#?}");
}
