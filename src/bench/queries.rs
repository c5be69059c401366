//! `erp bench queries`: the GraphQL API under open-loop load (see [`super`]).

use super::harness::{hello_floor, load_client, login, one_rate, primary_key_floor, start_up_child};
use command_api::seed::PLATFORM_LEAD;
use serde_json::json;
use std::time::Duration;

pub(crate) async fn queries(url: Option<String>, rates: &[u32], seconds: u64) -> anyhow::Result<()> {
    let (url, server) = match url {
        Some(url) => (url, None),
        None => {
            let (url, server) = start_up_child(&[]).await?;
            (url, Some(server))
        }
    };
    let http = load_client()?;
    let lead = login(&http, &url, PLATFORM_LEAD.0).await?;
    let graphql = |query: &str| {
        http.post(format!("{url}/graphql"))
            .bearer_auth(&lead)
            .json(&json!({ "query": query }))
    };
    // Wait for the seeded documents to be projected, then pick the ones the lead sees.
    let mut ids = Vec::new();
    for _ in 0..100 {
        let reply: serde_json::Value = graphql("{ approvals(first: 20) { edges { node { id } } } }")
            .send()
            .await?
            .json()
            .await?;
        ids = reply["data"]["approvals"]["edges"]
            .as_array()
            .map(|edges| {
                edges
                    .iter()
                    .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if !ids.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::ensure!(!ids.is_empty(), "no documents visible to the platform lead on {url}");
    let approval = |i: usize| {
        format!(
            "{{ approval(id: \"{}\") {{ title status version drafter {{ name }} steps {{ state members {{ employee {{ name }} decision {{ verdict }} }} }} timeline {{ action at actor {{ name }} }} }} }}",
            ids[i % ids.len()]
        )
    };
    let inbox = "{ inbox(box: PENDING, first: 20) { counts { inbox count } entries { edges { node { title drafter { name } updatedAt } } } } }";
    println!(
        "GraphQL open-loop benchmark — {url}, {} documents, {seconds} s per rate\n",
        ids.len()
    );
    println!(
        "{:<14} {:>7} {:>7} {:>7} {:>7} {:>10} {:>10} {:>10} {:>12}",
        "query", "rate/s", "sent", "ok", "shed", "p50 ms", "p99 ms", "held/s", "shed p99 ms"
    );
    for (name, kind) in [("approval(id)", 0), ("inbox(PENDING)", 1)] {
        for &rate in rates {
            let row = one_rate(rate, seconds, |i| {
                if kind == 0 {
                    graphql(&approval(i))
                } else {
                    graphql(inbox)
                }
            })
            .await;
            println!(
                "{:<14} {:>7} {:>7} {:>7} {:>7} {:>10.2} {:>10.2} {:>10.0} {:>12.2}",
                name,
                row.rate,
                row.sent,
                row.ok,
                row.shed,
                row.p50.as_secs_f64() * 1e3,
                row.p99.as_secs_f64() * 1e3,
                row.achieved,
                row.shed_p99.as_secs_f64() * 1e3
            );
            row.queue_note().into_iter().for_each(|note| println!("{note}"));
            if row.p99 > Duration::from_millis(500) {
                break;
            }
        }
    }
    hello_floor(rates, seconds).await?;
    if let Some(server) = &server {
        let (p50, p99, rate) = primary_key_floor(&server.dir().join("read.db"), 20_000).await?;
        println!(
            "floor, same run: raw SELECT of one employee by primary key on the read model, one connection on the calling thread: p50 {:.1} µs, p99 {:.1} µs, {rate:.0} reads/s",
            p50.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
        );
    }
    Ok(())
}
