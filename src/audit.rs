//! Audit tooling over the log: `erp verify`, `erp history`, `erp export`, `erp import` (and
//! `erp replay diff`, in `main`). Each reads the embedded log of `--data-dir D` — straight
//! from its segment files, read-only, so it runs beside `erp up` — or Kafka with the roles'
//! settings. Exit codes: 0 clean, 1 problems found, 2 could not run.
//!
//! `erp verify --owners` (Kafka) first asks every partition's announced owner for the heads it
//! holds, then reads the log and reports each stream whose head there is not the log's by rule
//! R (an owner that would refuse every honest command of it, or acknowledge commits every
//! reader fences). Owners are asked first so the read reaches the offsets they answered for.

use anyhow::Context;
use clap::{Args, ValueEnum};
use domain::approval::{Approval, ApprovalEvent};
use infra::audit::{OwnerHeadsCheck, Report, Verifier};
use infra::eventlog::chain::{Admission, StreamHeads};
use infra::eventlog::codec::CommitRecord;
use infra::eventlog::embedded::{self, EmbeddedLog, EmbeddedOptions, RawRecord};
use infra::eventlog::kafka::owners::OwnerHeads;
use infra::eventlog::kafka::KafkaLog;
use infra::eventlog::{partition_for, streams, EventLog, Position, Upcasters};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Instant;

/// Which log to read.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// The embedded log of this data directory (as `erp up --data-dir`); without it, Kafka
    /// from --config and ERP_* settings.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// A TOML settings file for the Kafka log (see README "Settings").
    #[arg(long, env = "ERP_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// A log to scan record by record.
pub enum Source {
    Embedded(PathBuf),
    Kafka(Box<KafkaLog>),
}

impl Source {
    pub async fn open(args: &LogArgs) -> anyhow::Result<Self> {
        if let Some(dir) = &args.data_dir {
            let log = dir.join("log");
            anyhow::ensure!(log.is_dir(), "no embedded log in {}", dir.display());
            return Ok(Source::Embedded(log));
        }
        let settings = crate::settings::Settings::load(args.config.as_deref())?;
        // An auditor: for `verify --owners`, which asks owners over their internal listeners.
        let log = crate::wiring::kafka_log(&settings, crate::wiring::KafkaUse::Auditor).await?;
        Ok(Source::Kafka(Box::new(log)))
    }

    pub fn stream_types(&self) -> anyhow::Result<Vec<String>> {
        Ok(match self {
            Source::Embedded(dir) => embedded::topics(dir)?,
            Source::Kafka(_) => streams::ALL.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    /// Every record of a stream type as stored: (partition, record).
    pub fn scan(&self, stream_type: &str, visit: impl FnMut(u32, RawRecord)) -> anyhow::Result<()> {
        let mut visit = visit;
        match self {
            Source::Embedded(dir) => embedded::scan_topic(dir, stream_type, |raw| visit(0, raw))?,
            Source::Kafka(log) => tokio::task::block_in_place(|| log.scan_raw(stream_type, &mut visit))?,
        }
        Ok(())
    }
}

/// `--stream TYPE/ID` as (type, id); both `None` without it.
fn stream_filter(stream: Option<&str>) -> anyhow::Result<(Option<String>, Option<String>)> {
    match stream {
        Some(s) => {
            let (t, id) = s.split_once('/').context("--stream is TYPE/ID, e.g. approval/0190…")?;
            Ok((Some(t.to_owned()), Some(id.to_owned())))
        }
        None => Ok((None, None)),
    }
}

/// A `records/s` line on stderr, redrawn at most every 200 ms.
struct Ticker {
    started: Instant,
    last: Instant,
    terminal: bool,
}

impl Ticker {
    fn new() -> Self {
        use std::io::IsTerminal;
        Self {
            started: Instant::now(),
            last: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn tick(&mut self, what: &str, records: u64, events: u64) {
        if !self.terminal || self.last.elapsed().as_millis() < 200 {
            return;
        }
        self.last = Instant::now();
        let rate = events as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
        eprint!("\r{what}: {records} records, {events} events, {rate:.0} events/s\x1b[K");
    }

    fn done(&self) {
        if self.terminal {
            eprint!("\r\x1b[K");
        }
    }
}

/// What the announced owners answered for the partitions they own, per stream type.
type Answers = HashMap<String, BTreeMap<u32, OwnerHeads>>;

/// Asks each announced owner of a partition of `types` (only `only`'s partition, with one
/// stream) for its heads. Partitions without an owner, or whose owner did not answer, are
/// listed on stderr and not compared; when none answered there is nothing to compare and the
/// check could not run.
async fn ask_owners(source: &Source, types: &[String], only: Option<&str>) -> anyhow::Result<Answers> {
    let Source::Kafka(log) = source else {
        anyhow::bail!("--owners compares Kafka partition owners; the embedded log has none");
    };
    let announced = tokio::task::block_in_place(|| log.read_announced_owners()).context("reading the owners topic")?;
    let mut answers = Answers::new();
    let mut missing = Vec::new();
    let partitions: Vec<u32> = match only {
        Some(id) => vec![partition_for(id, log.partitions())],
        None => (0..log.partitions()).collect(),
    };
    for stream_type in types {
        for &partition in &partitions {
            let Some(owner) = announced.get(&(stream_type.clone(), partition)) else {
                missing.push(format!("{stream_type}/{partition}: no owner announced"));
                continue;
            };
            match log.ask_owner_heads(owner, stream_type, partition).await {
                Ok(heads) => {
                    answers.entry(stream_type.clone()).or_default().insert(partition, heads);
                }
                Err(e) => missing.push(format!(
                    "{stream_type}/{partition}: owner {} did not answer: {e}",
                    owner.instance_id
                )),
            }
        }
    }
    let asked: usize = answers.values().map(BTreeMap::len).sum();
    anyhow::ensure!(
        asked > 0,
        "no owner answered, so no head could be compared:\n  {}",
        missing.join("\n  ")
    );
    for m in &missing {
        eprintln!("not compared with its owner: {m}");
    }
    eprintln!("comparing the heads of {asked} partitions with their owners'");
    Ok(answers)
}

/// `erp verify`.
pub async fn verify(
    args: &LogArgs,
    stream: Option<String>,
    no_schema: bool,
    json: bool,
    owners: bool,
) -> anyhow::Result<bool> {
    let source = Source::open(args).await?;
    let (only_type, only_id) = stream_filter(stream.as_deref())?;
    let types: Vec<String> = source
        .stream_types()?
        .into_iter()
        .filter(|t| only_type.as_ref().is_none_or(|o| o == t))
        .collect();
    let mut answers = if owners {
        ask_owners(&source, &types, only_id.as_deref()).await?
    } else {
        Answers::new()
    };
    let started = Instant::now();
    let mut total = Report::default();
    let mut ticker = Ticker::new();
    for stream_type in types {
        let (base_records, base_events) = (total.records, total.events);
        let report = match &source {
            Source::Embedded(dir) => {
                let threads = std::thread::available_parallelism().map_or(2, usize::from);
                infra::audit::verify_embedded(
                    dir,
                    &stream_type,
                    only_id.clone(),
                    !no_schema,
                    threads,
                    &mut |records| ticker.tick("verifying", base_records + records, base_events),
                )?
            }
            Source::Kafka(log) => {
                let mut verifier = Verifier::new(only_id.clone(), !no_schema);
                let mut check = answers
                    .remove(&stream_type)
                    .map(|owned| OwnerHeadsCheck::new(&stream_type, log.partitions(), only_id.clone(), owned));
                source.scan(&stream_type, |partition, raw| {
                    if let Some(check) = check.as_mut() {
                        check.before(partition, raw.offset, &verifier);
                    }
                    verifier.visit(&stream_type, partition, raw);
                    ticker.tick(
                        "verifying",
                        base_records + verifier.report.records,
                        base_events + verifier.report.events,
                    );
                })?;
                if let Some(check) = check {
                    let differ = check.finish(&verifier);
                    verifier.report.problems.extend(differ);
                }
                verifier.report
            }
        };
        total.records += report.records;
        total.events += report.events;
        total.fenced += report.fenced;
        total.problems.extend(report.problems);
    }
    ticker.done();
    let took = started.elapsed().as_secs_f64();
    if json {
        println!("{}", serde_json::to_string_pretty(&total)?);
    } else {
        for p in &total.problems {
            println!(
                "{:<14} {}/{} v{} at {}: {}",
                p.kind,
                p.stream_type,
                p.stream_id.as_deref().unwrap_or("?"),
                p.version.map_or("?".to_owned(), |v| v.to_string()),
                p.position,
                p.detail
            );
        }
        println!(
            "{} records, {} events ({} fenced by rule R) in {:.2} s — {:.0} events/s; {}",
            total.records,
            total.events,
            total.fenced,
            took,
            total.events as f64 / took.max(1e-6),
            if total.problems.is_empty() {
                "the log verifies".to_owned()
            } else {
                format!("{} problems", total.problems.len())
            }
        );
    }
    Ok(total.problems.is_empty())
}

/// Output formats of `erp history`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Jsonl,
    Csv,
}

/// One line of a document's audit trail.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrailRow {
    pub version: u64,
    pub recorded_at: String,
    pub action: String,
    pub actor: Option<String>,
    /// The absent approver a proxy (대결) acted for.
    pub on_behalf_of: Option<String>,
    pub comment: Option<String>,
    pub correlation_id: String,
    pub causation_id: Option<String>,
    pub position: String,
}

fn text_field(payload: &serde_json::Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| payload.get(*k).and_then(|v| v.as_str()).map(str::to_owned))
}

/// The accepted records of one approval document, as the log holds them.
pub fn trail(
    source: &Source,
    document: &str,
) -> anyhow::Result<Vec<(TrailRow, serde_json::Value, chrono::DateTime<chrono::Utc>)>> {
    let mut heads = StreamHeads::default();
    let mut rows = Vec::new();
    let mut failure = None;
    source.scan(streams::APPROVAL, |partition, raw| {
        let Ok(record) = raw.record else { return };
        if record.stream_id != document || heads.admit(&record) != Admission::Accepted {
            return;
        }
        let position = Position {
            stream_type: record.stream_type.clone(),
            partition,
            offset: raw.offset,
        };
        match record.to_recorded(&position, &Upcasters::default()) {
            Ok(events) => rows.extend(events.into_iter().map(|e| {
                let row = TrailRow {
                    version: e.version,
                    recorded_at: e.recorded_at.to_rfc3339(),
                    action: e.event_type.clone(),
                    actor: text_field(&e.payload, &["by"]).or(e.actor.clone()),
                    on_behalf_of: text_field(&e.payload, &["on_behalf_of"]),
                    comment: text_field(&e.payload, &["comment", "reason", "text"]),
                    correlation_id: e.correlation_id.to_string(),
                    causation_id: e.causation_id.map(|c| c.to_string()),
                    position: e.position.token(),
                };
                (row, e.payload, e.recorded_at)
            })),
            Err(e) => failure = Some(e),
        }
    })?;
    if let Some(e) = failure {
        anyhow::bail!("document {document}: {e}");
    }
    Ok(rows)
}

fn csv_cell(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// `erp history`.
pub async fn history(args: &LogArgs, document: &str, as_of: Option<String>, format: Format) -> anyhow::Result<bool> {
    let source = Source::open(args).await?;
    let rows = trail(&source, document)?;
    anyhow::ensure!(!rows.is_empty(), "no document {document} in the log");
    let out = std::io::stdout();
    let mut out = out.lock();
    if let Some(at) = as_of {
        let at: chrono::DateTime<chrono::Utc> = chrono::DateTime::parse_from_rfc3339(&at)
            .with_context(|| format!("--as-of {at:?} is not an RFC 3339 time"))?
            .into();
        let events: Vec<ApprovalEvent> = rows
            .iter()
            .map(|(_, p, _)| serde_json::from_value(p.clone()))
            .collect::<Result<_, _>>()?;
        let (state, _) = Approval::as_of(&events, at);
        let Some(doc) = state.document() else {
            anyhow::bail!("document {document} did not exist yet at {at}");
        };
        writeln!(out, "{}", serde_json::to_string_pretty(doc)?)?;
        return Ok(true);
    }
    match format {
        Format::Jsonl => {
            for (row, _, _) in &rows {
                writeln!(out, "{}", serde_json::to_string(row)?)?;
            }
        }
        Format::Csv => {
            writeln!(
                out,
                "version,recorded_at,action,actor,on_behalf_of,comment,correlation_id,causation_id,position"
            )?;
            for (r, _, _) in &rows {
                let cells = [
                    r.version.to_string(),
                    r.recorded_at.clone(),
                    r.action.clone(),
                    r.actor.clone().unwrap_or_default(),
                    r.on_behalf_of.clone().unwrap_or_default(),
                    r.comment.clone().unwrap_or_default(),
                    r.correlation_id.clone(),
                    r.causation_id.clone().unwrap_or_default(),
                    r.position.clone(),
                ];
                writeln!(
                    out,
                    "{}",
                    cells.iter().map(|c| csv_cell(c)).collect::<Vec<_>>().join(",")
                )?;
            }
        }
        Format::Text => {
            for (r, _, _) in &rows {
                writeln!(
                    out,
                    "v{:<3} {}  {:<28} by {}{}{}",
                    r.version,
                    r.recorded_at,
                    r.action,
                    r.actor.as_deref().unwrap_or("?"),
                    r.on_behalf_of
                        .as_ref()
                        .map(|p| format!(" (대결 for {p})"))
                        .unwrap_or_default(),
                    r.comment.as_ref().map(|c| format!(" — {c}")).unwrap_or_default()
                )?;
            }
        }
    }
    Ok(true)
}

/// `erp export`: every record (or one stream's) as JSON Lines, verbatim.
pub async fn export(args: &LogArgs, stream: Option<String>, out: Option<PathBuf>) -> anyhow::Result<bool> {
    let source = Source::open(args).await?;
    let mut sink: Box<dyn Write> = match &out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let (only_type, only_id) = stream_filter(stream.as_deref())?;
    let (mut written, mut unreadable) = (0u64, Vec::new());
    let mut failed = None;
    for stream_type in source.stream_types()? {
        if only_type.as_ref().is_some_and(|t| *t != stream_type) {
            continue;
        }
        source.scan(&stream_type, |partition, raw| match raw.record {
            Ok(record) if only_id.as_ref().is_none_or(|id| *id == record.stream_id) => {
                let line = record.encode().map_err(anyhow::Error::from).and_then(|bytes| {
                    sink.write_all(&bytes)?;
                    sink.write_all(b"\n")?;
                    Ok(())
                });
                match line {
                    Ok(()) => written += 1,
                    Err(e) => failed = Some(e),
                }
            }
            Ok(_) => {}
            Err(why) => unreadable.push(format!("{stream_type}:{partition}:{}: {why}", raw.offset)),
        })?;
    }
    if let Some(e) = failed {
        return Err(e);
    }
    sink.flush()?;
    eprintln!("exported {written} records");
    for u in &unreadable {
        eprintln!("not exported (unreadable): {u}");
    }
    Ok(unreadable.is_empty())
}

/// `erp import`: JSON Lines from `erp export` into an empty embedded log, then verify it.
pub async fn import(data_dir: &std::path::Path, input: Option<PathBuf>) -> anyhow::Result<bool> {
    let log_dir = data_dir.join("log");
    if log_dir.is_dir() && !embedded::topics(&log_dir)?.is_empty() {
        anyhow::bail!(
            "{} already holds a log; import only into an empty data directory",
            log_dir.display()
        );
    }
    let reader: Box<dyn BufRead> = match &input {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?,
        )),
        None => Box::new(std::io::BufReader::new(std::io::stdin().lock())),
    };
    let log = EmbeddedLog::open(&log_dir, EmbeddedOptions::default(), Upcasters::default())
        .with_context(|| format!("opening {}", log_dir.display()))?;
    let mut imported = 0u64;
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let record = CommitRecord::decode(line.as_bytes()).with_context(|| format!("line {}", n + 1))?;
        log.import(record).await.with_context(|| format!("line {}", n + 1))?;
        imported += 1;
    }
    drop(log);
    eprintln!("imported {imported} records into {}; verifying", log_dir.display());
    verify(
        &LogArgs {
            data_dir: Some(data_dir.to_owned()),
            config: None,
        },
        None,
        false,
        false,
        false,
    )
    .await
}
