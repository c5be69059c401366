//! `erp replay --projection NAME`: rebuilds projections from the whole log into shadow copies
//! and swaps each in atomically (see `projector::Projector::replay`), drawing an `indicatif`
//! progress bar with events/s and ETA on stderr. Nothing is announced to subscribers during a replay.

use anyhow::Context;
use infra::readmodel::Projection;
use projector::{Projector, ReplayProgress};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// The projections `name` selects: one by name, or every one for `all`.
pub fn select(name: &str) -> anyhow::Result<Vec<Projection>> {
    if name == "all" {
        return Ok(Projection::ALL.to_vec());
    }
    Projection::named(name).map(|p| vec![p]).ok_or_else(|| {
        let names: Vec<&str> = Projection::ALL.iter().map(|p| p.name()).collect();
        anyhow::anyhow!(
            "no projection called {name:?}; choose one of {} or all",
            names.join(", ")
        )
    })
}

/// Replays each projection in turn and prints what each did.
pub async fn run(projector: &Projector, projections: &[Projection]) -> anyhow::Result<()> {
    for &projection in projections {
        let mut bar = Bar::new();
        let report = projector
            .replay(projection, &mut |p| bar.draw(p))
            .await
            .with_context(|| format!("replaying {}", projection.name()))?;
        bar.finish();
        println!(
            "{}: {} commits replayed and swapped in ({} rows) in {:.1}s",
            report.projection,
            report.commits,
            report.rows_swapped,
            report.took.as_secs_f64()
        );
    }
    Ok(())
}

/// Progress on stderr: an `indicatif` bar redrawn in place on a terminal; elsewhere (logs,
/// CI) the same figures as a plain line every few seconds.
struct Bar {
    bar: Option<indicatif::ProgressBar>,
    last: Option<Instant>,
}

impl Bar {
    fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{prefix} [{bar:20}] {percent:>3}%  {human_pos}/{human_len} commits  {msg}",
            ) {
                bar.set_style(style.progress_chars("#-"));
            }
            bar
        });
        Self { bar, last: None }
    }

    fn draw(&mut self, p: &ReplayProgress) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(p.projection);
            bar.set_length(p.commits_total.max(1));
            bar.set_position(p.commits_done.min(p.commits_total));
            bar.set_message(format!(
                "{} events/s  {}",
                grouped(p.events_per_second() as u64),
                eta(p)
            ));
            return;
        }
        let done = p.commits_done >= p.commits_total;
        if !done && self.last.is_some_and(|t| t.elapsed() < Duration::from_secs(2)) {
            return;
        }
        self.last = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", render(p));
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

fn eta(p: &ReplayProgress) -> String {
    match p.eta() {
        Some(left) => format!("ETA {}s", left.as_secs()),
        None => "ETA -".to_owned(),
    }
}

/// `approval.views [########------------]  40%  4,000/10,000 commits  3,974 events/s  ETA 2s`
pub fn render(p: &ReplayProgress) -> String {
    const WIDTH: u64 = 20;
    let total = p.commits_total.max(1);
    let filled = (p.commits_done.min(total) * WIDTH / total) as usize;
    let eta = eta(p);
    format!(
        "{} [{}{}] {:>3}%  {}/{} commits  {} events/s  {eta}",
        p.projection,
        "#".repeat(filled),
        "-".repeat(WIDTH as usize - filled),
        p.commits_done.min(total) * 100 / total,
        grouped(p.commits_done),
        grouped(p.commits_total),
        grouped(p.events_per_second() as u64),
    )
}

/// 1234567 → "1,234,567".
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `erp replay diff`: rebuilds each projection into a scratch copy and compares; true when
/// every one is identical to its live copy.
pub async fn diff(
    projector: &Projector,
    projections: &[Projection],
    until: Option<String>,
    json: bool,
) -> anyhow::Result<bool> {
    let mut positions = Vec::new();
    for token in until
        .iter()
        .flat_map(|u| u.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        positions.push(
            infra::eventlog::Position::parse_token(token)
                .ok_or_else(|| anyhow::anyhow!("--until {token:?} is not a position token (type:partition:offset)"))?,
        );
    }
    let mut clean = true;
    let mut reports = Vec::new();
    for &projection in projections {
        let until = (!positions.is_empty()).then(|| {
            positions
                .iter()
                .filter(|p| p.stream_type == projection.stream_type())
                .map(|p| (p.partition, p.offset + 1))
                .collect::<infra::eventlog::Checkpoint>()
        });
        let mut bar = Bar::new();
        let diff = projector
            .diff(projection, until, &mut |p| bar.draw(p))
            .await
            .with_context(|| format!("diffing {}", projection.name()))?;
        bar.finish();
        clean &= diff.is_clean();
        if !json {
            println!(
                "{}: {} rows compared, {}",
                diff.projection,
                diff.rows_compared,
                if diff.is_clean() {
                    "identical".to_owned()
                } else {
                    format!("{} tables differ", diff.tables.len())
                }
            );
            for t in &diff.tables {
                for (what, keys) in [
                    ("missing", &t.missing),
                    ("extra", &t.extra),
                    ("different", &t.different),
                ] {
                    for key in keys {
                        println!("  {what:<9} {} {key}", t.table);
                    }
                }
            }
        }
        reports.push(diff);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&reports)?);
    }
    Ok(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_shows_share_rate_and_eta() {
        let p = ReplayProgress {
            projection: "org.employees",
            commits_done: 4_000,
            commits_total: 10_000,
            events_done: 8_000,
            elapsed: Duration::from_secs(2),
        };
        assert_eq!(
            render(&p),
            "org.employees [########------------]  40%  4,000/10,000 commits  4,000 events/s  ETA 3s"
        );
    }

    #[test]
    fn unknown_projections_are_refused_with_the_known_names() {
        assert_eq!(select("approval.views").unwrap(), vec![Projection::Approvals]);
        assert_eq!(select("all").unwrap().len(), Projection::ALL.len());
        let refused = select("approvals").unwrap_err().to_string();
        assert!(
            refused.contains("org.employees") && refused.contains("all"),
            "{refused}"
        );
    }
}
