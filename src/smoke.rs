//! `erp smoke --url URL`: the demo flow through one origin, checking every role on the way —
//! the web app is served; the dev login signs two demo users in; a subscription opens; a
//! document is drafted, submitted and approved (command API, across instances behind a
//! gateway); the approval is pushed on the subscription (projector → change bus → notifier);
//! the query API shows it approved and numbered (process manager, read model). It prints one
//! line per step and exits 1 at the first that fails, saying which.
//!
//! `scripts/up-distributed --check` runs it against the gateway in front of the distributed
//! roles; it works as well against `erp up`.

use anyhow::Context;
use command_api::seed::{DEV_KANG, PLATFORM_LEAD};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How long the read side may take to show what the command side acknowledged.
const SETTLE: Duration = Duration::from_secs(30);

pub async fn run(url: &str, web_app: bool) -> anyhow::Result<()> {
    let url = url.trim_end_matches('/');
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(40))
        .build()
        .context("building the HTTP client")?;
    let started = Instant::now();
    let step = |what: &str| println!("  ok  {:>6.2} s  {what}", started.elapsed().as_secs_f64());
    println!("smoke check of {url}");

    if web_app {
        let page = http.get(format!("{url}/")).send().await.context("GET /")?;
        anyhow::ensure!(page.status().is_success(), "GET / answered {}", page.status());
        let page = page.text().await?;
        anyhow::ensure!(page.contains("<div id=\"root\""), "GET / is not the web app");
        step("web app served at /");
    }

    let drafter = crate::bench::harness::login(&http, url, DEV_KANG.0)
        .await
        .context("dev login of the drafter")?;
    let approver = crate::bench::harness::login(&http, url, PLATFORM_LEAD.0)
        .await
        .context("dev login of the approver")?;
    step("two demo users signed in (dev login)");

    let ws_url = format!("{}/graphql/ws", url.replacen("http", "ws", 1));
    let mut feed = crate::bench::live::subscribed(&ws_url, &drafter)
        .await
        .context("subscribing to myNotifications over /graphql/ws")?;
    step("subscribed to the drafter's notifications (notifier)");

    let draft = json!({ "form": "general", "title": "스모크 점검", "body": { "content": "smoke" },
                        "line": { "steps": [{ "kind": "approval", "approver": PLATFORM_LEAD.0 }] } });
    let drafted: Value = command(&http, url, "/api/approvals", &drafter, None, &draft).await?;
    let id = drafted["id"].as_str().context("the draft's id")?.to_owned();
    command(
        &http,
        url,
        &format!("/api/approvals/{id}/submit"),
        &drafter,
        Some(1),
        &json!({}),
    )
    .await?;
    step("drafted and submitted (command API)");
    let approved = command(
        &http,
        url,
        &format!("/api/approvals/{id}/approve"),
        &approver,
        Some(2),
        &json!({}),
    )
    .await?;
    step("approved by the next approver (command API)");

    crate::bench::live::until_pushed(&mut feed, &id)
        .await
        .context("waiting for the approval on the subscription")?;
    step("approval pushed to the drafter (projector → bus → notifier)");

    let position = approved["position"].as_str().map(str::to_owned);
    let deadline = Instant::now() + SETTLE;
    loop {
        let shown = approval(&http, url, &approver, &id, position.as_deref()).await?;
        if shown["status"] == "APPROVED" && shown["number"].is_string() {
            step(&format!(
                "query API shows it approved, numbered {} (read model, process manager)",
                shown["number"].as_str().unwrap_or_default()
            ));
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the query API still shows {shown} {} s after the approval",
            SETTLE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!("smoke check passed in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// A command; `If-Match` when `version` is given. Anything but 2xx fails with the problem.
async fn command(
    http: &reqwest::Client,
    url: &str,
    path: &str,
    token: &str,
    version: Option<u64>,
    body: &Value,
) -> anyhow::Result<Value> {
    let mut request = http.post(format!("{url}{path}")).bearer_auth(token).json(body);
    if let Some(v) = version {
        request = request.header("if-match", format!("\"{v}\""));
    }
    let answer = request.send().await.with_context(|| format!("POST {path}"))?;
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(status.is_success(), "POST {path} answered {status}: {body}");
    Ok(body)
}

async fn approval(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    id: &str,
    position: Option<&str>,
) -> anyhow::Result<Value> {
    let query = format!("{{ approval(id: \"{id}\") {{ status number version }} }}");
    let mut request = http
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query }));
    if let Some(position) = position {
        request = request.header("x-erp-position", position);
    }
    let answer: Value = request.send().await.context("POST /graphql")?.json().await?;
    anyhow::ensure!(
        answer["errors"].is_null(),
        "the query API refused: {}",
        answer["errors"]
    );
    Ok(answer["data"]["approval"].clone())
}
