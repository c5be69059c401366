//! `erp verify --attachments`: every attachment the log records is in the attachment store,
//! and its bytes still hash to the SHA-256 the log recorded for them. The log names the
//! content (drafts carry `content.attachments[].sha256`); the store keeps it by that hash
//! (`infra::attachments`), so a file that was lost, or replaced by other bytes, is found here
//! without trusting the store's own bookkeeping.

use crate::audit::{LogArgs, Source};
use infra::attachments::{sha256_hex, AttachmentStore, DirStore, GridFsStore};
use infra::eventlog::streams;
use secrecy::ExposeSecret;
use serde::Serialize;
use std::collections::BTreeMap;

/// One stored file the log names that is not as the log recorded it.
#[derive(Debug, Serialize)]
pub struct FileProblem {
    /// `missing` (no content under the hash) or `altered` (content hashing to another value).
    pub kind: &'static str,
    pub sha256: String,
    /// Documents and file names that name it.
    pub named_by: Vec<String>,
}

/// What the check found.
#[derive(Debug, Default, Serialize)]
pub struct FilesReport {
    /// Distinct contents named by the log.
    pub files: usize,
    /// How many times attachments name them.
    pub references: usize,
    pub problems: Vec<FileProblem>,
}

/// The store the deployment keeps attachments in: the data directory's, or GridFS on the
/// read side's MongoDB.
async fn store(args: &LogArgs) -> anyhow::Result<Box<dyn AttachmentStore>> {
    if let Some(dir) = &args.data_dir {
        return Ok(Box::new(DirStore::new(dir.join("attachments"))));
    }
    let settings = crate::settings::Settings::load(args.config.as_deref())?;
    let r = &settings.read_model;
    Ok(Box::new(
        GridFsStore::connect(r.mongo_url.expose_secret(), &r.mongo_database).await?,
    ))
}

/// Every (sha256 → "document/name") the approval streams record.
fn named(source: &Source) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    let mut named: BTreeMap<String, Vec<String>> = BTreeMap::new();
    source.scan(streams::APPROVAL, |_, raw| {
        let Ok(record) = raw.record else { return };
        for event in &record.events {
            let attachments = event.payload["content"]["attachments"].as_array();
            for a in attachments.into_iter().flatten() {
                if let Some(sha) = a["sha256"].as_str() {
                    let name = a["name"].as_str().unwrap_or("?");
                    let by = format!("{}/{name}", record.stream_id);
                    let list = named.entry(sha.to_owned()).or_default();
                    if !list.contains(&by) {
                        list.push(by);
                    }
                }
            }
        }
    })?;
    Ok(named)
}

/// Checks every attachment the log names against the store; prints the report. Ok(false)
/// when a file is missing or altered.
pub async fn verify_attachments(args: &LogArgs, json: bool) -> anyhow::Result<bool> {
    let source = Source::open(args).await?;
    let named = named(&source)?;
    let store = store(args).await?;
    let mut report = FilesReport {
        files: named.len(),
        references: named.values().map(Vec::len).sum(),
        ..FilesReport::default()
    };
    for (sha256, named_by) in named {
        let kind = match store.get(&sha256).await? {
            None => "missing",
            Some(bytes) if sha256_hex(&bytes) != sha256 => "altered",
            Some(_) => continue,
        };
        report.problems.push(FileProblem { kind, sha256, named_by });
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for p in &report.problems {
            println!("{:<8} {} named by {}", p.kind, p.sha256, p.named_by.join(", "));
        }
        println!(
            "{} attachment files ({} references): {}",
            report.files,
            report.references,
            if report.problems.is_empty() {
                "every one is stored as the log recorded it".to_owned()
            } else {
                format!("{} problems", report.problems.len())
            }
        );
    }
    Ok(report.problems.is_empty())
}
