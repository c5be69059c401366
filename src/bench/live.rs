//! `erp bench live`: holds N subscribed graphql-ws connections on a child `erp up` and
//! measures what they cost and how fast a command reaches them: the server's resident memory
//! per connection (from `/proc/<pid>/status`) and command → push latency p50/p99 on a probe
//! connection while every other connection stays subscribed.

use anyhow::Context;
use futures::{SinkExt, StreamExt, TryStreamExt};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::Message;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const FEED: &str = "subscription { myNotifications { kind documentId position } }";

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")
}

/// CPU time a process has used (user and system), in clock ticks (`/proc/<pid>/stat`).
fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) close with ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("no ')' in stat")?
        .1
        .split_whitespace()
        .collect();
    let at = |i: usize| -> anyhow::Result<u64> { Ok(fields.get(i).context("short stat")?.parse()?) };
    // utime and stime are fields 14 and 15 of stat; here, after the state (field 3), 11 and 12.
    Ok(at(11)? + at(12)?)
}

/// Clock ticks per second as `/proc` counts them (the kernel's USER_HZ, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// Connects, authenticates and subscribes to the feed.
pub(crate) async fn subscribed(url: &str, token: &str) -> anyhow::Result<Socket> {
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    let init = json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } });
    ws.send(Message::Text(init.to_string().into())).await?;
    match ws.next().await {
        Some(Ok(Message::Text(t))) if t.contains("connection_ack") => {}
        other => anyhow::bail!("no connection_ack: {other:?}"),
    }
    let subscribe = json!({ "id": "feed", "type": "subscribe", "payload": { "query": FEED } });
    ws.send(Message::Text(subscribe.to_string().into())).await?;
    Ok(ws)
}

/// Reads until a `next` for `doc` arrives (answering pings).
pub(crate) async fn until_pushed(ws: &mut Socket, doc: &str) -> anyhow::Result<()> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
            Err(_) => anyhow::bail!("no push for {doc} within 10 s"),
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t)?;
                if v["type"] == "ping" {
                    ws.send(Message::Text(json!({ "type": "pong" }).to_string().into()))
                        .await?;
                } else if v["payload"]["data"]["myNotifications"]["documentId"] == doc {
                    return Ok(());
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => anyhow::bail!("the server closed the connection: {frame:?}"),
            Ok(Some(Ok(_))) => {}
            Ok(other) => anyhow::bail!("connection ended: {other:?}"),
        }
    }
}

/// This process's limit on open files (`Max open files` in `/proc/self/limits`): every held
/// connection takes one here and one in the server.
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

pub async fn run(connections: usize, samples: usize, employees: usize) -> anyhow::Result<()> {
    if let Some(limit) = open_files_limit() {
        anyhow::ensure!(
            connections + 256 <= limit,
            "{connections} connections need {connections} open files in this process and as many in the server, \
             plus a few hundred of their own; the limit here is {limit} (ulimit -n): ask for at most {}",
            limit.saturating_sub(256)
        );
    }
    // Five demo employees may hold every connection, so the per-employee bound is lifted.
    let per_user = connections.to_string();
    let (url, server) =
        super::harness::start_up_child(&[("ERP_NOTIFIER_MAX_CONNECTIONS_PER_USER", per_user.as_str())]).await?;
    let pid = server.pid().context("child pid")?;
    let http = reqwest::Client::new();
    let kang = super::harness::login(&http, &url, command_api::seed::DEV_KANG.0).await?;
    let lead = super::harness::login(&http, &url, command_api::seed::PLATFORM_LEAD.0).await?;
    // Who holds the connections: the drafter and four colleagues, or hired employees.
    let tokens = if employees == 0 {
        let mut tokens = vec![kang.clone()];
        for who in [
            command_api::seed::DEV_YOON,
            command_api::seed::DEV_CHO,
            command_api::seed::SALES_OH,
            command_api::seed::FIN_LIM,
        ] {
            tokens.push(super::harness::login(&http, &url, who.0).await?);
        }
        tokens
    } else {
        hired(&http, &url, employees).await?
    };
    let drafters_share = if employees == 0 {
        connections.div_ceil(tokens.len())
    } else {
        0
    };
    let ws_url = format!("{}/graphql/ws", url.replace("http://", "ws://"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kib(pid)?;
    let started = Instant::now();
    let mut held = Vec::with_capacity(connections);
    let mut opening = futures::stream::iter(0..connections)
        .map(|i| {
            let (ws_url, token) = (ws_url.clone(), tokens[i % tokens.len()].clone());
            async move { subscribed(&ws_url, &token).await }
        })
        .buffer_unordered(256);
    while let Some(socket) = opening.next().await {
        held.push(socket.context("opening a subscribed connection")?);
    }
    drop(opening);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid)?;
    println!("live-update benchmark — {url}");
    println!(
        "{connections} subscribed connections opened in {:.1} s; server RSS {} MiB → {} MiB: {:.1} KiB per connection",
        started.elapsed().as_secs_f64(),
        before / 1024,
        after / 1024,
        after.saturating_sub(before) as f64 / connections as f64
    );
    println!(
        "at that cost 100,000 idle connections would take {} MiB above the server's base of {} MiB",
        after.saturating_sub(before) * 100_000 / connections.max(1) as u64 / 1024,
        before / 1024
    );
    // Idle, the server still re-reads every connected employee every few seconds.
    let (cpu_before, idle) = (cpu_ticks(pid)?, Instant::now());
    tokio::time::sleep(Duration::from_secs(10)).await;
    let busy = (cpu_ticks(pid)? - cpu_before) as f64 / USER_HZ / idle.elapsed().as_secs_f64();
    println!(
        "idle for 10 s with every connection open: the server used {:.1} % of a core",
        busy * 100.0
    );
    // The probe: KANG's own connection; the command is the lead's approval of KANG's document.
    let (kang, lead) = (&kang, &lead);
    let mut probe = subscribed(&ws_url, kang).await?;
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples {
        let draft = json!({ "form": "general", "title": format!("지연 측정 {i}"), "body": { "content": "x" },
                            "line": { "steps": [{ "kind": "approval", "approver": command_api::seed::PLATFORM_LEAD.0 }] } });
        let reply: Value = http
            .post(format!("{url}/api/approvals"))
            .bearer_auth(kang)
            .json(&draft)
            .send()
            .await?
            .json()
            .await?;
        let id = reply["id"].as_str().context("draft id")?.to_owned();
        http.post(format!("{url}/api/approvals/{id}/submit"))
            .bearer_auth(kang)
            .header("if-match", "\"1\"")
            .json(&json!({}))
            .send()
            .await?
            .error_for_status()?;
        let sent = Instant::now();
        http.post(format!("{url}/api/approvals/{id}/approve"))
            .bearer_auth(lead)
            .header("if-match", "\"2\"")
            .json(&json!({}))
            .send()
            .await?
            .error_for_status()?;
        until_pushed(&mut probe, &id).await?;
        latencies.push(sent.elapsed());
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "command → push ({samples} approvals, each pushed to {} of the drafter's connections): p50 {:.1} ms, p99 {:.1} ms",
        drafters_share + 1,
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    );
    drop(held);
    Ok(())
}

/// Hires `count` employees into the development department and signs each in: their tokens.
async fn hired(http: &reqwest::Client, url: &str, count: usize) -> anyhow::Result<Vec<String>> {
    let hr = super::harness::login(http, url, command_api::seed::HR.0).await?;
    let started = Instant::now();
    let ids: Vec<uuid::Uuid> = (0..count).map(|_| uuid::Uuid::now_v7()).collect();
    futures::stream::iter(ids.iter().enumerate())
        .map(|(i, id)| hire(http, url, &hr, i, *id))
        .buffer_unordered(8)
        .try_collect::<()>()
        .await?;
    let tokens: Vec<String> = futures::stream::iter(ids)
        .map(|id| signed_in(http, url, id))
        .buffered(32)
        .try_collect()
        .await?;
    println!(
        "{count} employees hired and signed in in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(tokens)
}

/// Registers bench employee `i` as `id`, again after a moment while the server sheds load.
async fn hire(http: &reqwest::Client, url: &str, hr: &str, i: usize, id: uuid::Uuid) -> anyhow::Result<()> {
    let body = json!({ "id": id, "name": format!("직원{i}"), "email": format!("bench{i}@example.com"),
                       "department": command_api::seed::DEV.0, "position": { "title": "사원", "rank": 1 } });
    loop {
        let reply = http
            .post(format!("{url}/api/employees"))
            .bearer_auth(hr)
            .json(&body)
            .send()
            .await?;
        if reply.status() != reqwest::StatusCode::SERVICE_UNAVAILABLE {
            reply.error_for_status().context("hiring a bench employee")?;
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `who`'s token, once the employee read model knows them (the projection fills it just
/// after the hire).
async fn signed_in(http: &reqwest::Client, url: &str, who: uuid::Uuid) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match super::harness::login(http, url, who).await {
            Ok(token) => return Ok(token),
            Err(e) if Instant::now() > deadline => return Err(e.context("signing in a hired employee")),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}
