//! `erp bench commands`: the command API under open-loop load, in-process or as separate
//! processes on a broker (see the module docs of [`super`]).

use super::harness::{
    hello_floor, load_client, login, on_generator_runtime, one_rate, open_loop, start_server, told_to_wait, Outcome,
    Row, BENCH_PARTITIONS,
};
use anyhow::Context;
use command_api::seed::{DEV_KANG, HR, PLATFORM, PLATFORM_LEAD};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What `erp bench commands` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mix {
    /// Half 기안 (a new draft), half 의견 (a comment on a submitted document).
    Approvals,
    /// 출근 and 퇴근 in turn, by a couple of thousand employees.
    CheckIn,
}

/// Employees who check in and out in the check-in mix: each one's requests alternate in and
/// out, and are `PUNCHERS / rate` seconds apart, far above any held p99.
const PUNCHERS: usize = 2_000;

pub(crate) async fn commands(
    url: Option<String>,
    kafka: Option<String>,
    mix: Mix,
    rates: &[u32],
    seconds: u64,
) -> anyhow::Result<()> {
    let brokers = kafka.clone();
    let (url, dir, label) = match url {
        Some(url) => (url, None, "external server"),
        None => start_server(kafka).await?,
    };
    let owned_rates = rates.to_vec();
    let target = url.clone();
    on_generator_runtime(async move {
        command_rates(
            std::slice::from_ref(&target),
            &target,
            label,
            mix,
            &owned_rates,
            seconds,
        )
        .await
    })
    .await?;
    hello_floor(rates, seconds).await?;
    if let Some(brokers) = &brokers {
        raw_produce_rates(brokers, rates, seconds).await?;
        let (p50, p99) = raw_produce(brokers, 2_000).await?;
        println!(
            "floor, same run: raw produce on the same broker, one at a time, acks=all, idempotent: p50 {:.2} ms, p99 {:.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
    if let Some(dir) = &dir {
        let (p50, p99) = raw_fsync(dir.path(), 500)?;
        println!(
            "floor, same run: raw 4 KiB write + fdatasync in the log's directory p50 {:.2} ms, p99 {:.2} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
    println!("original system: 120 ms average latency, 250 requests/s");
    Ok(())
}

/// `--kafka B --instances 1,3`: the command side as separate processes on broker B, each count
/// in turn, beside the broker's own produce latency measured in the same run.
pub(crate) async fn spread_commands(
    brokers: &str,
    instances: &[usize],
    mix: Mix,
    rates: &[u32],
    seconds: u64,
) -> anyhow::Result<()> {
    for &n in instances {
        super::chaos::cluster::fits(n)?;
    }
    let raw = raw_produce(brokers, 2_000).await?;
    let mut summary = Vec::new();
    for &n in instances {
        let work = tempfile::tempdir()?;
        let mut cluster = super::chaos::cluster::Cluster::start(super::chaos::cluster::Layout {
            work: work.path().to_owned(),
            base_port: 29_700,
            broker: super::chaos::cluster::BrokerAt::Running(brokers.to_owned()),
            read_side: None,
            instances: n,
        })
        .await?;
        let label = format!("{n} erp command-api process(es) on kafka {brokers}, round robin");
        let rows = command_rates(&cluster.steady_urls(), &cluster.idp_url(), &label, mix, rates, seconds).await;
        cluster.stop_all().await;
        summary.push((n, rows?));
    }
    raw_produce_rates(brokers, rates, seconds).await?;
    println!("\nsummary (same broker, same run)");
    println!(
        "  raw produce, one at a time, acks=all, idempotent: p50 {:.2} ms, p99 {:.2} ms",
        raw.0.as_secs_f64() * 1e3,
        raw.1.as_secs_f64() * 1e3
    );
    for (n, rows) in &summary {
        let held = best_rate(rows).map_or("none".to_owned(), |r| format!("{r}/s"));
        let at = |rate: Option<u32>| rows.iter().find(|r| Some(r.rate) == rate);
        let first = at(rows.first().map(|r| r.rate));
        println!(
            "  {n} instance(s), {:.0}% forwarded: highest rate held with p99 ≤ 50 ms {held}; at {}/s p50 {:.2} ms p99 {:.2} ms",
            100.0 * (*n as f64 - 1.0) / *n as f64,
            first.map_or(0, |r| r.rate),
            first.map_or(0.0, |r| r.p50.as_secs_f64() * 1e3),
            first.map_or(0.0, |r| r.p99.as_secs_f64() * 1e3),
        );
    }
    Ok(())
}

/// The embedded log's floor: `count` appends of 4 KiB, each followed by `fdatasync`, timed one
/// by one in `dir` (the log's own file system); returns (p50, p99).
fn raw_fsync(dir: &std::path::Path, count: usize) -> anyhow::Result<(Duration, Duration)> {
    use std::io::Write;
    let path = dir.join("raw-fsync.bench");
    let mut file = std::fs::File::create(&path).context("creating the fsync probe file")?;
    let block = [0x5au8; 4096];
    let mut took = Vec::with_capacity(count);
    for _ in 0..count {
        let began = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        took.push(began.elapsed());
    }
    drop(file);
    std::fs::remove_file(&path)?;
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    Ok((at(0.5), at(0.99)))
}

/// The producer of the broker floors: as the Kafka log's (idempotent, `acks=all`, no linger).
fn raw_producer(brokers: &str) -> anyhow::Result<rdkafka::producer::FutureProducer> {
    Ok(rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "0")
        .create()?)
}

/// What a floor record carries: about a small commit.
const RAW_RECORD: [u8; 500] = [b'x'; 500];

/// The broker's floor: `count` records produced one at a time (idempotent, acks=all), each
/// timed from send to acknowledgement; returns (p50, p99).
async fn raw_produce(brokers: &str, count: usize) -> anyhow::Result<(Duration, Duration)> {
    use rdkafka::producer::FutureRecord;
    let producer = raw_producer(brokers)?;
    let topic = format!("bench{}.raw", uuid::Uuid::now_v7().simple());
    let mut took = Vec::with_capacity(count);
    for i in 0..count {
        let key = i.to_string();
        let began = Instant::now();
        producer
            .send(
                FutureRecord::to(&topic).partition(0).key(&key).payload(&RAW_RECORD[..]),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| anyhow::anyhow!("raw produce: {e}"))?;
        // The first sends create the topic; time the steady state.
        if i >= count / 10 {
            took.push(began.elapsed());
        }
    }
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    Ok((at(0.5), at(0.99)))
}

/// The broker's floor at the rates the commands were offered: the same records produced
/// open loop by the same generator, each awaited to its acknowledgement, over as many
/// partitions as the bench's approval topic has. What the broker holds here bounds what a
/// command path that produces one commit per command can hold on this box (the path also
/// has the broker deliver each commit back to its tail, which this floor leaves out).
async fn raw_produce_rates(brokers: &str, rates: &[u32], seconds: u64) -> anyhow::Result<()> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::producer::FutureRecord;
    let producer = std::sync::Arc::new(raw_producer(brokers)?);
    let topic = format!("bench{}.rawrates", uuid::Uuid::now_v7().simple());
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    for created in admin
        .create_topics(
            &[NewTopic::new(
                &topic,
                BENCH_PARTITIONS as i32,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new(),
        )
        .await?
    {
        created.map_err(|(t, e)| anyhow::anyhow!("creating {t}: {e}"))?;
    }
    let rates = rates.to_vec();
    on_generator_runtime(async move {
        // The first sends fetch the topic's metadata; time the steady state.
        for i in 0..100 {
            let key = i.to_string();
            let record = FutureRecord::to(&topic).key(&key).payload(&RAW_RECORD[..]);
            producer
                .send(record, Duration::from_secs(10))
                .await
                .map_err(|(e, _)| anyhow::anyhow!("raw produce: {e}"))?;
        }
        println!(
            "\nfloor, same run: raw produce on the same broker at the same rates, open loop, {BENCH_PARTITIONS} partitions, acks=all, idempotent"
        );
        for rate in rates {
            let row = open_loop(rate, seconds, |i, _| {
                let (producer, topic) = (producer.clone(), topic.clone());
                async move {
                    let key = i.to_string();
                    let record = FutureRecord::to(&topic).key(&key).payload(&RAW_RECORD[..]);
                    match producer.send(record, Duration::from_secs(10)).await {
                        Ok(_) => Outcome::Ok,
                        Err(_) => Outcome::Failed,
                    }
                }
            })
            .await;
            println!("{}", row.columns());
        }
        Ok(())
    })
    .await
}

/// Sends a setup request until it is not refused for now (503 or 429 with `Retry-After`, as
/// while a freshly started cluster's instances still divide the partitions between them),
/// waiting as told (at most a second at a time, 30 s in all) — what a patient client does.
/// The measured requests are never retried: a refusal there is a figure.
async fn until_admitted(request: impl Fn() -> reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = request().send().await?;
        let refused = matches!(answer.status().as_u16(), 429 | 503);
        if !refused || Instant::now() > deadline {
            return Ok(answer);
        }
        let second = Duration::from_secs(1);
        tokio::time::sleep(told_to_wait(&answer, second, second)).await;
    }
}

/// [`PUNCHERS`] employees registered by HR at `url` and signed in at `login_url`: their tokens.
async fn punchers(http: &reqwest::Client, url: &str, login_url: &str) -> anyhow::Result<Vec<String>> {
    let hr = login(http, login_url, HR.0).await?;
    let run = uuid::Uuid::now_v7().simple().to_string();
    let mut tokens = Vec::with_capacity(PUNCHERS);
    for i in 0..PUNCHERS {
        let body = json!({ "name": format!("출근{i}"), "email": format!("punch{i}-{run}@bench.erp"),
            "department": PLATFORM.0, "position": { "title": "사원", "rank": 1 } });
        let reply: serde_json::Value = http
            .post(format!("{url}/api/employees"))
            .bearer_auth(&hr)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id: uuid::Uuid = reply["id"].as_str().context("no employee id")?.parse()?;
        tokens.push(login(http, login_url, id).await?);
    }
    Ok(tokens)
}

/// Open-loop rates on the command API at `urls` (round robin), logging in at `login_url`.
async fn command_rates(
    urls: &[String],
    login_url: &str,
    label: &str,
    mix: Mix,
    rates: &[u32],
    seconds: u64,
) -> anyhow::Result<Vec<Row>> {
    let url = &urls[0];
    let http = load_client()?;
    let tokens = match mix {
        Mix::CheckIn => punchers(&http, url, login_url).await?,
        Mix::Approvals => Vec::new(),
    };
    // How many requests each puncher has been sent, across rates: even → check in, odd → out.
    let punched: Vec<AtomicUsize> = tokens.iter().map(|_| AtomicUsize::new(0)).collect();
    let drafter = login(&http, login_url, DEV_KANG.0).await?;
    let lead = login(&http, login_url, PLATFORM_LEAD.0).await?;
    // Documents to comment on: an author may comment on one document 30 times an hour, so
    // each rate gets fresh documents, enough for its comments.
    let submitted = |count: usize| {
        let (http, drafter) = (&http, &drafter);
        async move {
            let mut targets = Vec::with_capacity(count);
            for i in 0..count {
                let body = json!({ "form": "general", "title": format!("부하 {i}"), "body": { "content": "x" }, "line": { "steps": [{ "kind": "approval", "approver": PLATFORM_LEAD.0 }] } });
                let reply: serde_json::Value = until_admitted(|| {
                    http.post(format!("{url}/api/approvals"))
                        .bearer_auth(drafter)
                        .json(&body)
                })
                .await?
                .json()
                .await?;
                let id = reply["id"]
                    .as_str()
                    .with_context(|| format!("no draft id in {reply}"))?
                    .to_owned();
                until_admitted(|| {
                    http.post(format!("{url}/api/approvals/{id}/submit"))
                        .bearer_auth(drafter)
                        .header("if-match", "\"1\"")
                        .json(&json!({}))
                })
                .await?
                .error_for_status()?;
                targets.push(id);
            }
            anyhow::Ok(targets)
        }
    };
    println!("\ncommand API open-loop benchmark — {label}, {}", urls.join(" "));
    match mix {
        Mix::Approvals => println!(
            "mix: 50% 기안 (POST /api/approvals), 50% 의견 (POST /api/approvals/{{id}}/comments); {seconds} s per rate\n"
        ),
        Mix::CheckIn => println!(
            "mix: 출근/퇴근 (POST /api/attendance/check-in, check-out) by {PUNCHERS} employees in turn, one append each; {seconds} s per rate\n"
        ),
    }
    println!(
        "{:>7} {:>7} {:>7} {:>7} {:>10} {:>10} {:>10} {:>10} {:>12}",
        "rate/s", "sent", "ok", "shed", "p50 ms", "p99 ms", "p99.9 ms", "held/s", "shed p99 ms"
    );
    let mut rows = Vec::new();
    for &rate in rates {
        let comments = match mix {
            Mix::Approvals => (rate as usize * seconds as usize).div_ceil(2),
            Mix::CheckIn => 0,
        };
        let targets = submitted(comments.div_ceil(25).min(comments)).await?;
        let row = one_rate(rate, seconds, |i| {
            let url = &urls[i % urls.len()];
            if mix == Mix::CheckIn {
                let who = i % tokens.len();
                let action = match punched[who].fetch_add(1, Ordering::Relaxed) % 2 {
                    0 => "check-in",
                    _ => "check-out",
                };
                http.post(format!("{url}/api/attendance/{action}"))
                    .bearer_auth(&tokens[who])
                    .json(&json!({}))
            } else if i % 2 == 0 {
                let body = json!({ "form": "general", "title": "부하 시험", "body": { "content": "open-loop" } });
                http.post(format!("{url}/api/approvals"))
                    .bearer_auth(&drafter)
                    .json(&body)
            } else {
                let target = &targets[(i / 2) % targets.len()];
                http.post(format!("{url}/api/approvals/{target}/comments"))
                    .bearer_auth(&lead)
                    .json(&json!({ "text": "확인" }))
            }
        })
        .await;
        println!("{} {:>12.2}", row.columns(), row.shed_p99.as_secs_f64() * 1e3);
        row.queue_note().into_iter().for_each(|note| println!("{note}"));
        let saturated = row.p99 > Duration::from_millis(500);
        rows.push(row);
        if saturated {
            break;
        }
    }
    match best_rate(&rows) {
        Some(rate) => println!("\nhighest rate held with p99 ≤ 50 ms and nothing refused: {rate}/s"),
        None => println!("\nno rate held p99 ≤ 50 ms with nothing refused"),
    }
    overload_summary(&rows);
    Ok(rows)
}

/// Under overload: the best throughput held at p99 ≤ 50 ms, and what the highest offered
/// rate kept of it (the target: ≥ 90 %, the rest refused within 5 ms).
fn overload_summary(rows: &[Row]) {
    let Some(best) = rows
        .iter()
        .filter(|r| r.p99 <= Duration::from_millis(50))
        .max_by(|a, b| a.achieved.total_cmp(&b.achieved))
    else {
        return;
    };
    let Some(last) = rows.last() else { return };
    if last.rate <= best.rate {
        return;
    }
    println!(
        "overload: best {:.0}/s held (offered {}/s); at {}/s offered {:.0}/s held = {:.0} % of it, p99 {:.1} ms, \
         {} refused with p99 {:.1} ms",
        best.achieved,
        best.rate,
        last.rate,
        last.achieved,
        100.0 * last.achieved / best.achieved,
        last.p99.as_secs_f64() * 1e3,
        last.shed,
        last.shed_p99.as_secs_f64() * 1e3
    );
}

fn best_rate(rows: &[Row]) -> Option<u32> {
    rows.iter()
        .filter(|r| r.p99 <= Duration::from_millis(50) && r.ok == r.sent)
        .map(|r| r.rate)
        .max()
}
