//! `erp verify --document <number> [--head <hash>]`: a printed or PDF copy of a document
//! carries its number and the hash of the log's head event for it. This finds the document's
//! stream by its number, verifies that stream's chain, prints its head, and — given the
//! printed hash — says whether the copy shows the document as the log has it now (a later
//! decision or an altered log gives another head).

use crate::audit::{LogArgs, Source};
use infra::eventlog::streams;

/// The stream that recorded `number`, and its head (version, hash) by the log's order (the
/// first claim of a version wins, as the log's rule R has it).
fn find(source: &Source, number: &str) -> anyhow::Result<Option<(String, u64, String)>> {
    let mut stream: Option<String> = None;
    let mut heads: std::collections::HashMap<String, (u64, String)> = std::collections::HashMap::new();
    source.scan(streams::APPROVAL, |_, raw| {
        let Ok(record) = raw.record else { return };
        let head = heads.entry(record.stream_id.clone()).or_insert((0, String::new()));
        for event in &record.events {
            if event.version != head.0 + 1 {
                continue;
            }
            *head = (event.version, event.hash.clone());
            if event.event_type == "approval.numbered" {
                let named =
                    serde_json::from_value::<domain::numbering::DocumentNumber>(event.payload["number"].clone());
                if named.is_ok_and(|n| n.to_string() == number) {
                    stream = Some(record.stream_id.clone());
                }
            }
        }
    })?;
    Ok(stream.and_then(|id| heads.remove(&id).map(|(version, hash)| (id, version, hash))))
}

/// Verifies the document numbered `number` and compares its head with `head`, if given.
/// Ok(false) when the stream does not verify or the head differs; an error when no document
/// has the number.
pub async fn verify_document(args: &LogArgs, number: &str, head: Option<&str>, json: bool) -> anyhow::Result<bool> {
    let source = Source::open(args).await?;
    let (id, version, hash) =
        find(&source, number)?.ok_or_else(|| anyhow::anyhow!("no document is numbered {number} in this log"))?;
    let chain_ok = crate::audit::verify(args, Some(format!("approval/{id}")), false, json, false).await?;
    let matches = head.map(|h| h.trim().eq_ignore_ascii_case(&hash));
    if json {
        let report = serde_json::json!({
            "document": number, "stream": format!("approval/{id}"), "version": version, "head": hash,
            "printed_head": head, "matches": matches,
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("document {number} is approval/{id}: head v{version} {hash}");
        match matches {
            Some(true) => println!("the printed copy's head is the log's: it shows the document as the log has it"),
            Some(false) => println!(
                "the printed copy's head {} is not the log's: the document changed after printing, or the copy or the log was altered",
                head.unwrap_or_default()
            ),
            None => {}
        }
    }
    Ok(chain_ok && matches != Some(false))
}
