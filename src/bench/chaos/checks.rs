//! What the campaign asks of the log and the instances once the load has stopped: the log is
//! read through `erp export` and judged by rule R here, so the checks trust nothing the
//! instances say about themselves.

use super::cluster::Cluster;
use super::load::{Driver, Sent};
use super::plan::{ChaosArgs, Fault, REQUEST_BOUND};
use futures::StreamExt;
use infra::eventlog::chain::{Admission, StreamHeads};
use infra::eventlog::codec::CommitRecord;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Probes in flight at once.
const PROBES: usize = 16;

/// How long the write probes may take together.
const PROBE_BOUND: Duration = Duration::from_secs(300);

/// The accepted history, as rule R judges the exported records.
#[derive(Default)]
struct Judged {
    /// Command id → the (stream id, last version) of each accepted commit it made.
    commands: HashMap<Uuid, Vec<(String, u64)>>,
    /// Approval document → its version.
    heads: HashMap<String, u64>,
    /// Document → the numbers recorded on it (`approval.numbered`).
    numbered: HashMap<String, Vec<String>>,
    /// Sequence stream → (seq, document) in log order (`numbering.assigned`).
    sequences: BTreeMap<String, Vec<(u64, String)>>,
    fenced: usize,
}

#[derive(Default, Clone, Copy)]
struct Row {
    sent: usize,
    acked: usize,
    refused: usize,
    unanswered: usize,
    lost: usize,
    duplicated: usize,
    stuck: usize,
    hung: usize,
    p99: Duration,
}

pub(crate) struct Report {
    rows: Vec<Row>,
    races: (usize, usize, usize, usize),
    numbers: Vec<String>,
    verify: bool,
    diff: bool,
    fenced: usize,
    problems: Vec<String>,
}

pub(crate) async fn run(args: &ChaosArgs, cluster: &Cluster, driver: &Driver) -> anyhow::Result<Report> {
    let probe_phase = args.faults.len();
    let documents = driver.documents();
    let phase_of: HashMap<String, usize> = documents.iter().map(|(p, d)| (d.clone(), *p)).collect();
    let mut problems = Vec::new();

    println!("== probing: a write to each of {} documents", documents.len());
    // Bounded: a system that refuses every write must not keep the campaign going for hours.
    let deadline = Instant::now() + PROBE_BOUND;
    let writes: Vec<(String, Option<Sent>)> = futures::stream::iter(documents.iter().map(|(_, id)| async move {
        if Instant::now() > deadline {
            return (id.clone(), None);
        }
        let sent = driver
            .command(
                probe_phase,
                "점검",
                format!("/api/approvals/{id}/comments"),
                serde_json::json!({ "text": "점검" }),
            )
            .await;
        (id.clone(), Some(sent))
    }))
    .buffer_unordered(PROBES)
    .collect()
    .await;
    let mut stuck: HashSet<String> = HashSet::new();
    for (doc, write) in writes {
        let why = match write {
            None => format!("not probed: the write probes took longer than {PROBE_BOUND:?}"),
            Some(w) if w.acked.is_none() => format!("refused a write: status {} {}", w.status, w.detail),
            Some(_) => continue,
        };
        problems.push(format!("document {doc} {why}"));
        stuck.insert(doc);
    }

    let approved: HashSet<String> = driver
        .sent()
        .iter()
        .filter(|s| s.kind == "승인")
        .filter_map(|s| s.acked.as_ref().map(|a| a.stream_id.clone()))
        .collect();
    println!(
        "== reading the log (erp export) until {} approved documents are numbered",
        approved.len()
    );
    let judged = wait_numbered(cluster, &approved, Duration::from_secs(90)).await?;

    println!(
        "== probing: every document on each of the {} steady instances",
        cluster.steady_urls().len()
    );
    for (doc, why) in read_probe(cluster, driver, &documents, &judged).await? {
        problems.push(format!("document {doc}: {why}"));
        stuck.insert(doc);
    }

    let sent = driver.sent();
    let mut rows = vec![Row::default(); probe_phase + 1];
    let mut latencies: Vec<Vec<Duration>> = vec![Vec::new(); probe_phase + 1];
    for s in &sent {
        let row = &mut rows[s.phase];
        row.sent += 1;
        row.hung += s.hung as usize;
        latencies[s.phase].push(s.took);
        match &s.acked {
            Some(a) => {
                row.acked += 1;
                let landed = judged.commands.get(&a.command_id);
                if !landed.is_some_and(|at| at.iter().any(|(id, v)| *id == a.stream_id && *v == a.version)) {
                    row.lost += 1;
                    problems.push(format!(
                        "{} {} acknowledged at v{} (command {}) is not in the log there: {landed:?}",
                        s.kind, a.stream_id, a.version, a.command_id
                    ));
                }
            }
            None if s.status == 0 || s.status >= 500 => row.unanswered += 1,
            None => row.refused += 1,
        }
    }
    for (row, mut took) in rows.iter_mut().zip(latencies) {
        took.sort();
        row.p99 = took
            .get((took.len() as f64 * 0.99) as usize)
            .or(took.last())
            .copied()
            .unwrap_or_default();
    }
    let command_phase: HashMap<Uuid, usize> = sent
        .iter()
        .filter_map(|s| Some((s.acked.as_ref()?.command_id, s.phase)))
        .collect();
    for (command, at) in &judged.commands {
        if at.len() > 1 {
            let phase = command_phase.get(command).copied().unwrap_or(probe_phase);
            rows[phase].duplicated += 1;
            problems.push(format!("command {command} applied {} times: {at:?}", at.len()));
        }
    }
    for doc in &stuck {
        let phase = phase_of.get(doc).copied().unwrap_or(probe_phase);
        rows[phase].stuck += 1;
    }

    let races = driver.races();
    let (mut one, mut both, mut none) = (0, 0, 0);
    for race in &races {
        match (&race.approve, &race.reject) {
            (Some(_), Some(_)) => {
                both += 1;
                problems.push(format!("race on {} had two winners", race.document));
            }
            (None, None) => {
                none += 1;
                problems.push(format!(
                    "race on {} (phase {}) ended with no acknowledged winner",
                    race.document,
                    race.phase + 1
                ));
            }
            _ => one += 1,
        }
    }

    let numbers = number_problems(&judged, &approved);
    problems.extend(numbers.iter().cloned());

    println!("== erp verify");
    let verify = erp(cluster, &["verify"]).await?;
    if !verify {
        problems.push("erp verify found problems (see above)".into());
    }
    println!("== waiting for the projector to catch up, then erp replay diff");
    if let Err(e) = caught_up(cluster, Duration::from_secs(120)).await {
        problems.push(format!("projector: {e}"));
    }
    for (doc, why) in query_probe(cluster, driver, &documents, &judged).await? {
        problems.push(format!("query API, document {doc}: {why}"));
    }
    let diff = erp(cluster, &["replay", "diff", "--projection", "all"]).await?;
    if !diff {
        problems.push("erp replay diff found the read model differs from the log".into());
    }
    Ok(Report {
        rows,
        races: (races.len(), one, both, none),
        numbers,
        verify,
        diff,
        fenced: judged.fenced,
        problems,
    })
}

/// Reads the log until every approved document carries its number (the numbering process
/// manager runs behind the commands), or `within` passes.
async fn wait_numbered(cluster: &Cluster, approved: &HashSet<String>, within: Duration) -> anyhow::Result<Judged> {
    let deadline = Instant::now() + within;
    loop {
        let judged = export(cluster).await?;
        let missing = approved.iter().filter(|d| !judged.numbered.contains_key(*d)).count();
        if missing == 0 || Instant::now() >= deadline {
            return Ok(judged);
        }
        println!("   {missing} approved documents not numbered yet");
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

/// `erp export` of the whole log, judged by rule R.
async fn export(cluster: &Cluster) -> anyhow::Result<Judged> {
    let file = tempfile::NamedTempFile::new()?;
    let path = file.path().to_string_lossy().into_owned();
    anyhow::ensure!(erp(cluster, &["export", "--out", &path]).await?, "erp export failed");
    let text = std::fs::read_to_string(file.path())?;
    let mut heads: HashMap<String, StreamHeads> = HashMap::new();
    let mut judged = Judged::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record = CommitRecord::decode(line.as_bytes()).map_err(|e| anyhow::anyhow!("export line: {e}"))?;
        if heads.entry(record.stream_type.clone()).or_default().admit(&record) != Admission::Accepted {
            judged.fenced += 1;
            continue;
        }
        judged
            .commands
            .entry(record.command_id)
            .or_default()
            .push((record.stream_id.clone(), record.last_version()));
        for event in &record.events {
            let number = || {
                let n = &event.payload["number"];
                Some((
                    format!(
                        "{}-{}-{:06}",
                        n["prefix"].as_str()?,
                        n["year"].as_i64()?,
                        n["seq"].as_u64()?
                    ),
                    n["seq"].as_u64()?,
                ))
            };
            match event.event_type.as_str() {
                "approval.numbered" => {
                    if let Some((number, _)) = number() {
                        judged
                            .numbered
                            .entry(record.stream_id.clone())
                            .or_default()
                            .push(number);
                    }
                }
                "numbering.assigned" => {
                    if let (Some((_, seq)), Some(doc)) = (number(), event.payload["document"].as_str()) {
                        judged
                            .sequences
                            .entry(record.stream_id.clone())
                            .or_default()
                            .push((seq, doc.to_owned()));
                    }
                }
                _ => {}
            }
        }
        if record.stream_type == infra::eventlog::streams::APPROVAL {
            judged.heads.insert(record.stream_id.clone(), record.last_version());
        }
    }
    Ok(judged)
}

/// Runs `probes`, [`PROBES`] at a time; what each found wrong, by document.
async fn failures(
    probes: impl Iterator<Item = impl std::future::Future<Output = Option<(String, String)>>>,
) -> Vec<(String, String)> {
    futures::stream::iter(probes)
        .buffer_unordered(PROBES)
        .filter_map(std::future::ready)
        .collect()
        .await
}

/// Every document on every steady instance: answered, at the log's version.
async fn read_probe(
    cluster: &Cluster,
    driver: &Driver,
    documents: &[(usize, String)],
    judged: &Judged,
) -> anyhow::Result<Vec<(String, String)>> {
    let http = reqwest::Client::builder().timeout(REQUEST_BOUND).build()?;
    let token = driver.drafter_token();
    let probes = documents
        .iter()
        .flat_map(|(_, doc)| cluster.steady_urls().into_iter().map(move |base| (doc.clone(), base)));
    Ok(failures(probes.map(|(doc, base)| {
        let http = http.clone();
        let want = judged.heads.get(&doc).copied();
        async move {
            let answer = http
                .get(format!("{base}/api/approvals/{doc}"))
                .bearer_auth(token)
                .send()
                .await;
            let why = match answer {
                Err(e) => Some(format!("{base} did not answer: {e}")),
                Ok(r) if !r.status().is_success() => Some(format!("{base} answered {}", r.status())),
                Ok(r) => {
                    let etag = r
                        .headers()
                        .get("etag")
                        .and_then(|v| v.to_str().ok())
                        .map(|v| v.trim_matches('"').parse::<u64>().ok());
                    match (etag.flatten(), want) {
                        (Some(got), Some(want)) if got == want => None,
                        (got, want) => Some(format!("{base} is at version {got:?}, the log at {want:?}")),
                    }
                }
            };
            why.map(|why| (doc, why))
        }
    }))
    .await)
}

/// Every document through the query API (GraphQL over the projector's views): at the log's
/// version once the projector has caught up.
async fn query_probe(
    cluster: &Cluster,
    driver: &Driver,
    documents: &[(usize, String)],
    judged: &Judged,
) -> anyhow::Result<Vec<(String, String)>> {
    let http = reqwest::Client::builder().timeout(REQUEST_BOUND).build()?;
    let token = driver.drafter_token();
    let url = format!("{}/graphql", cluster.query_url());
    Ok(failures(documents.iter().map(|(_, doc)| {
        let (http, url) = (http.clone(), url.clone());
        let want = judged.heads.get(doc).copied();
        async move {
            let query = format!("{{ approval(id: \"{doc}\") {{ version }} }}");
            let answer: Result<serde_json::Value, _> = async {
                http.post(&url)
                    .bearer_auth(token)
                    .json(&serde_json::json!({ "query": query }))
                    .send()
                    .await?
                    .json()
                    .await
            }
            .await;
            let got = answer
                .as_ref()
                .ok()
                .and_then(|v| v["data"]["approval"]["version"].as_u64());
            (got != want).then(|| {
                (
                    doc.clone(),
                    format!("at version {got:?}, the log at {want:?}: {answer:?}"),
                )
            })
        }
    }))
    .await)
}

/// Numbers unique and gap-free per sequence, one per approved document, each recorded on the
/// document it was assigned to.
fn number_problems(judged: &Judged, approved: &HashSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut assigned: HashMap<String, String> = HashMap::new();
    for (sequence, entries) in &judged.sequences {
        for (i, (seq, doc)) in entries.iter().enumerate() {
            if *seq != i as u64 + 1 {
                problems.push(format!("sequence {sequence}: entry {} has number {seq}", i + 1));
            }
            let number = format!("{sequence}-{seq:06}");
            if let Some(other) = assigned.insert(doc.clone(), number.clone()) {
                problems.push(format!("document {doc} was assigned {other} and {number}"));
            }
        }
    }
    let mut seen = BTreeSet::new();
    for (doc, numbers) in &judged.numbered {
        if numbers.len() != 1 {
            problems.push(format!("document {doc} records numbers {numbers:?}"));
        }
        for number in numbers {
            if !seen.insert(number.clone()) {
                problems.push(format!("number {number} recorded on two documents"));
            }
            if assigned.get(doc) != Some(number) {
                problems.push(format!(
                    "document {doc} records {number}, its sequence assigned {:?}",
                    assigned.get(doc)
                ));
            }
        }
    }
    for doc in approved {
        if !judged.numbered.contains_key(doc) {
            problems.push(format!("approved document {doc} has no number"));
        }
    }
    problems
}

/// Runs `erp ARGS` with the roles' environment; true on exit 0.
async fn erp(cluster: &Cluster, args: &[&str]) -> anyhow::Result<bool> {
    let status = tokio::process::Command::new(cluster.erp())
        .args(args)
        .envs(cluster.env().iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::inherit())
        .status()
        .await?;
    Ok(status.success())
}

/// Waits until every projection has applied the whole log.
async fn caught_up(cluster: &Cluster, within: Duration) -> anyhow::Result<()> {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    let deadline = Instant::now() + within;
    loop {
        let lags: Option<Vec<serde_json::Value>> = match http
            .get(format!("{}/api/projections", cluster.projector_url()))
            .send()
            .await
        {
            Ok(r) => r.json().await.ok(),
            Err(_) => None,
        };
        if let Some(lags) = &lags {
            if !lags.is_empty() && lags.iter().all(|l| l["events_behind"].as_u64() == Some(0)) {
                return Ok(());
            }
        }
        anyhow::ensure!(Instant::now() < deadline, "still behind after {within:?}: {lags:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

impl Report {
    pub(crate) fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    pub(crate) fn print(&self, faults: &[Fault]) {
        println!();
        println!(
            "{:<12} {:>6} {:>6} {:>8} {:>10} {:>5} {:>11} {:>6} {:>5} {:>8}",
            "fault", "sent", "acked", "refused", "unanswered", "lost", "duplicated", "stuck", "hung", "p99 s"
        );
        let names = faults.iter().map(|f| f.name()).chain(std::iter::once("probes"));
        for (name, row) in names.zip(&self.rows) {
            println!(
                "{:<12} {:>6} {:>6} {:>8} {:>10} {:>5} {:>11} {:>6} {:>5} {:>8.2}",
                name,
                row.sent,
                row.acked,
                row.refused,
                row.unanswered,
                row.lost,
                row.duplicated,
                row.stuck,
                row.hung,
                row.p99.as_secs_f64()
            );
        }
        let (races, one, both, none) = self.races;
        println!(
            "\nraces of 승인 and 반려: {races}, one winner {one}, two winners {both}, no acknowledged winner {none}"
        );
        println!(
            "document numbers: {}",
            if self.numbers.is_empty() {
                "unique and gap-free".to_owned()
            } else {
                format!("{} problems", self.numbers.len())
            }
        );
        println!(
            "records fenced by rule R: {} (stale or racing writers, harmless)",
            self.fenced
        );
        println!(
            "erp verify: {}; erp replay diff: {}",
            if self.verify { "exit 0" } else { "FAILED" },
            if self.diff { "exit 0" } else { "FAILED" }
        );
        if self.problems.is_empty() {
            println!("\nchaos: PASSED — nothing lost, duplicated or stuck");
        } else {
            println!("\nchaos: FAILED — {} problems:", self.problems.len());
            for p in self.problems.iter().take(50) {
                println!("  {p}");
            }
        }
    }
}
