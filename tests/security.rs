//! The binary's edge, as an operator starts it: `erp up`'s dev login only on loopback, its
//! Host allowlist (DNS rebinding), security headers on the SPA and the GraphQL console, an
//! owner-only data directory; distributed roles that refuse to trust tokens without a proper
//! JWKS URL; and a seeded fuzz of the command API that must find no panic and no 5xx.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use std::time::Duration;

mod support;

use support::{up, ERP};

async fn erp_fails(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = tokio::process::Command::new(ERP);
    command.args(args).env("ERP_LOG", "warn").env_remove("ERP_CONFIG");
    for key in ["ERP_JWKS_URL", "ERP_INTERNAL_TOKEN", "ERP_ADVERTISED_URL"] {
        command.env_remove(key);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("erp exits")
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{args:?} should refuse to run");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn erp_up_refuses_the_dev_login_on_a_non_loopback_address() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let stderr = erp_fails(&["up", "--bind", "0.0.0.0", "--port", "0", "--data-dir", data], &[]).await;
    assert!(stderr.contains("--no-dev-login"), "{stderr}");
}

#[tokio::test]
async fn erp_up_says_the_dev_login_is_on_and_for_demos_only() {
    let up = up(&[]).await;
    assert!(up.banner.contains("DEV LOGIN IS ON"), "{}", up.banner);
    assert!(up.banner.contains("demos"), "{}", up.banner);
}

#[tokio::test]
async fn erp_up_with_no_dev_login_serves_any_address_without_it() {
    let up = up(&["--no-dev-login", "--bind", "0.0.0.0"]).await;
    assert!(!up.banner.contains("DEV LOGIN IS ON"), "{}", up.banner);
    let http = reqwest::Client::new();
    let login = http
        .post(format!("{}/auth/dev-login", up.base))
        .json(&serde_json::json!({ "employee_id": uuid::Uuid::now_v7() }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), reqwest::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_request_with_a_foreign_host_header_is_refused() {
    let up = up(&["--allowed-host", "erp.test"]).await;
    let port = up.base.rsplit(':').next().unwrap().to_owned();
    let http = reqwest::Client::new();
    let with_host = |host: String| http.get(format!("{}/healthz", up.base)).header("host", host).send();
    for foreign in [
        format!("attacker.example:{port}"),
        "127.0.0.1:1".into(),
        format!("erp.test.evil:{port}"),
    ] {
        let refused = with_host(foreign.clone()).await.unwrap();
        assert_eq!(refused.status(), reqwest::StatusCode::MISDIRECTED_REQUEST, "{foreign}");
        assert_eq!(refused.headers()["content-type"], "application/problem+json");
        let body: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(body["code"], "host_not_allowed", "{foreign}");
    }
    for ours in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        "erp.test".into(),
        format!("ERP.test:{port}"),
    ] {
        assert_eq!(
            with_host(ours.clone()).await.unwrap().status(),
            reqwest::StatusCode::OK,
            "{ours}"
        );
    }
}

#[tokio::test]
async fn the_spa_and_the_graphql_console_carry_security_headers_and_load_nothing_from_elsewhere() {
    let up = up(&[]).await;
    let http = reqwest::Client::new();
    for path in [
        "/",
        "/inbox/some/client/route",
        "/graphiql",
        "/graphiql.js",
        "/docs",
        "/healthz",
        "/metrics",
    ] {
        let response = http.get(format!("{}{path}", up.base)).send().await.unwrap();
        let headers = response.headers();
        let csp = headers
            .get("content-security-policy")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp:?}"
        );
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff", "{path}");
        assert_eq!(headers.get("x-frame-options").unwrap(), "DENY", "{path}");
        assert!(headers.get("referrer-policy").is_some(), "{path}");
    }
    let graphql = http
        .post(format!("{}/graphql", up.base))
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert!(graphql.headers().get("content-security-policy").is_some());
    let console = http
        .get(format!("{}/graphiql", up.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(console.contains(r#"<script src="/graphiql.js">"#), "{console}");
    for external in ["http://", "https://", "//cdn", "unpkg", "jsdelivr"] {
        assert!(!console.contains(external), "the console loads {external}…");
    }
    assert!(
        !console.contains("<script>"),
        "no inline script under script-src 'self'"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_the_signing_key_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let up = up(&[]).await;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&up.data_dir), 0o700);
    assert_eq!(mode(&up.data_dir.join("keys")), 0o700);
    assert_eq!(mode(&up.data_dir.join("keys/ed25519.seed")), 0o600);
}

#[tokio::test]
async fn distributed_roles_refuse_to_start_without_a_jwks_url() {
    for role in ["command-api", "query-api", "notifier"] {
        let stderr = erp_fails(&[role], &[]).await;
        assert!(stderr.contains("ERP_JWKS_URL"), "{role}: {stderr}");
    }
    let stderr = erp_fails(&["query-api"], &[("ERP_JWKS_URL", "http://idp.example.com/jwks.json")]).await;
    assert!(stderr.contains("https"), "{stderr}");
}

#[tokio::test]
async fn a_zero_request_or_append_timeout_is_refused_with_its_name() {
    for (name, value) in [("ERP_REQUEST_TIMEOUT_SECS", "0"), ("ERP_KAFKA_APPEND_TIMEOUT_MS", "0")] {
        let stderr = erp_fails(&["command-api"], &[(name, value)]).await;
        assert!(stderr.contains("must be positive"), "{name}: {stderr}");
    }
    let stderr = erp_fails(&["command-api"], &[("ERP_REQUEST_TIMEOUT_SECS", "soon")]).await;
    assert!(stderr.contains("ERP_REQUEST_TIMEOUT_SECS=soon"), "{stderr}");
}

#[tokio::test]
async fn the_command_role_refuses_an_empty_internal_token() {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        "internal_token = \"\"\n[auth]\njwks_url = \"http://127.0.0.1:9/jwks.json\"\n",
    )
    .unwrap();
    let stderr = erp_fails(&["command-api", "--config", config.path().to_str().unwrap()], &[]).await;
    assert!(
        stderr.contains("internal_token") && stderr.contains("empty"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_command_api_answers_a_seeded_fuzz_without_a_panic_or_a_5xx() {
    let output = tokio::process::Command::new(ERP)
        .args([
            "bench",
            "fuzz",
            "--requests",
            "2000",
            "--seed",
            "7",
            "--concurrency",
            "8",
        ])
        .env("ERP_LOG", "error")
        .current_dir(std::env::temp_dir())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("requests sent  2000"), "{stdout}");
    assert!(
        stdout.contains("panics         0") && stdout.contains("5xx            0"),
        "{stdout}"
    );
}
