//! Monitoring as an operator sets it up: a real Prometheus scrapes a running `erp up` every
//! second, and a series the process recorded comes back through Prometheus's query API with
//! the value the requests made. Also every role's `/metrics` of `erp up` on one page, and its
//! HTTP series labelled by route template.
//!
//! Prometheus is the Debian package's binary (`scripts/services` `ensure_prometheus`, which
//! sets ERP_TEST_PROMETHEUS), else `prometheus` on the PATH.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};

mod support;

use support::up;

/// The Prometheus binary: ERP_TEST_PROMETHEUS, else `prometheus` on the PATH.
fn prometheus_binary() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("ERP_TEST_PROMETHEUS") {
        return path.into();
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("prometheus"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "no prometheus binary: set ERP_TEST_PROMETHEUS or run scripts/test (it installs Debian's prometheus)"
            )
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A Prometheus scraping `target` every second, on a free loopback port, killed on drop.
struct Prometheus {
    base: String,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

async fn prometheus(target: &str) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: erp-up\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = tokio::process::Command::new(prometheus_binary())
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus starts");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        if let Ok(reply) = http.get(format!("{base}/-/ready")).send().await {
            if reply.status().is_success() {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "prometheus not ready within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Prometheus {
        base,
        _child: child,
        _dir: dir,
    }
}

impl Prometheus {
    /// The value of an instant query's first series, once Prometheus has one.
    async fn value(&self, query: &str, wanted: impl Fn(f64) -> bool) -> f64 {
        let http = reqwest::Client::new();
        let started = Instant::now();
        let mut last = Value::Null;
        while started.elapsed() < Duration::from_secs(60) {
            let reply: Value = http
                .get(format!("{}/api/v1/query", self.base))
                .query(&[("query", query)])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(reply["status"], "success", "{reply}");
            let value = reply["data"]["result"][0]["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok());
            if let Some(value) = value.filter(|v| wanted(*v)) {
                return value;
            }
            last = reply;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("{query}: no wanted value within 60 s; last answer {last}");
    }
}

/// Whether `text` has a sample of `name` whose labels include all of `labels`.
fn series(text: &str, name: &str, labels: &[&str]) -> bool {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .any(|l| labels.iter().all(|label| l.contains(label)))
}

#[tokio::test]
async fn prometheus_scrapes_erp_up_and_answers_a_series_with_the_requests_made() {
    let up = up(&[]).await;
    let prometheus = prometheus(&format!("127.0.0.1:{}", up.port())).await;
    let http = reqwest::Client::new();
    // Three commands without a token: each is answered 401 and counted by its code.
    for _ in 0..3 {
        let reply = http
            .post(up.url("/api/approvals"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), reqwest::StatusCode::UNAUTHORIZED);
    }
    assert_eq!(prometheus.value("up{job=\"erp-up\"}", |v| v == 1.0).await, 1.0);
    let commands = prometheus
        .value(
            "erp_commands_total{job=\"erp-up\",command=\"POST /api/approvals\",code=\"unauthenticated\"}",
            |v| v >= 3.0,
        )
        .await;
    assert_eq!(commands, 3.0);
    let timed = prometheus
        .value(
            "sum(erp_http_request_duration_seconds_count{job=\"erp-up\",role=\"command-api\",route=\"/api/approvals\",status=\"401\"})",
            |v| v >= 3.0,
        )
        .await;
    assert_eq!(timed, 3.0);
}

#[tokio::test]
async fn erp_up_shows_every_roles_series_on_one_metrics_page_by_route_template() {
    let up = up(&[]).await;
    let http = reqwest::Client::new();
    let id = uuid::Uuid::now_v7();
    let reply = http.get(up.url(&format!("/api/approvals/{id}"))).send().await.unwrap();
    assert_eq!(reply.status(), reqwest::StatusCode::UNAUTHORIZED);
    let graphql = http
        .post(up.url("/graphql"))
        .json(&serde_json::json!({ "query": "query Whoami { me { name } }" }))
        .send()
        .await
        .unwrap();
    assert!(graphql.status().is_success());
    let ready = http.get(up.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    let not_upgraded = http.get(up.url("/graphql/ws")).send().await.unwrap();
    assert!(not_upgraded.status().is_client_error());
    let lag = http.get(up.url("/api/projections")).send().await.unwrap();
    assert!(lag.status().is_success());

    // The projections run in the background: wait until they have been scraped once.
    let started = Instant::now();
    let text = loop {
        let text = http.get(up.url("/metrics")).send().await.unwrap().text().await.unwrap();
        if text.contains("erp_projection_lag_events{projection=\"approval.views\"}") {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no projection lag in\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for (name, labels) in [
        // command-api: by route template, never the raw path
        (
            "erp_http_request_duration_seconds_bucket",
            &[
                "role=\"command-api\"",
                "route=\"/api/approvals/{id}\"",
                "method=\"GET\"",
                "status=\"401\"",
            ][..],
        ),
        // query-api
        (
            "erp_http_requests_total",
            &["role=\"query-api\"", "route=\"/graphql\"", "status=\"200\""],
        ),
        ("erp_graphql_request_duration_seconds_count", &["operation=\"Whoami\""]),
        // notifier: a plain GET is no WebSocket upgrade, and is refused
        (
            "erp_http_requests_total",
            &["role=\"notifier\"", "route=\"/graphql/ws\""],
        ),
        // projector
        ("erp_projection_lag_seconds", &["projection=\"approval.views\""]),
        ("erp_projection_partitions", &["projection=\"org.employees\""]),
        (
            "erp_http_requests_total",
            &["role=\"projector\"", "route=\"/api/projections\""],
        ),
    ] {
        assert!(series(&text, name, labels), "{name} {labels:?} in\n{text}");
    }
    assert!(!text.contains(&id.to_string()), "a raw path became a label:\n{text}");
    assert!(
        text.contains("# TYPE erp_http_request_duration_seconds histogram"),
        "{text}"
    );
}
