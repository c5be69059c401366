//! `erp repair-log`: the way out when the embedded log refuses to open because a frame is
//! damaged. It says exactly which frames a repair drops (the damaged one and every one after
//! it in that stream type: offsets are positions) and drops them only with `--yes`, keeping the
//! cut bytes beside the segment.

use infra::eventlog::embedded::{apply_repair, plan_repair, TopicRepair};
use std::path::Path;

/// Prints the plan; applies it with `yes`. `Ok(false)` when damage was found and left alone.
pub fn run(data_dir: &Path, yes: bool) -> anyhow::Result<bool> {
    let log_dir = data_dir.join("log");
    anyhow::ensure!(log_dir.is_dir(), "no embedded log in {}", data_dir.display());
    let plan = plan_repair(&log_dir)?;
    if plan.is_empty() {
        println!("nothing to repair: every frame in {} is whole", log_dir.display());
        return Ok(true);
    }
    for repair in &plan {
        describe(repair);
    }
    if !yes {
        println!("nothing was changed; run again with --yes to drop these frames");
        return Ok(false);
    }
    apply_repair(&log_dir, &plan)?;
    let cut: Vec<String> = plan
        .iter()
        .map(|r| format!("{} from offset {}", r.stream_type, r.offset))
        .collect();
    println!("repaired ({}).", cut.join(", "));
    println!(
        "Projections that had read past a cut must be rebuilt before `erp up` (the offsets will be \
         used again): erp replay --data-dir {} --projection all",
        data_dir.display()
    );
    Ok(true)
}

fn describe(repair: &TopicRepair) {
    println!(
        "{}: damaged frame ({}) at byte {} of {}, offset {}",
        repair.stream_type,
        repair.why,
        repair.byte,
        repair.segment.display(),
        repair.offset
    );
    println!("  a repair drops {} frame(s):", repair.dropped.len());
    for frame in &repair.dropped {
        match &frame.commit {
            Ok(c) => println!(
                "    offset {:>8}  {} v{}..v{}  commit {}",
                frame.offset, c.stream_id, c.first_version, c.last_version, c.commit_id
            ),
            Err(why) => println!("    offset {:>8}  unreadable: {why}", frame.offset),
        }
    }
    if repair.unframed_bytes > 0 {
        println!(
            "  of which {} bytes cannot be split into frames (more commits may be among them)",
            repair.unframed_bytes
        );
    }
    for segment in &repair.later_segments {
        println!("  and the later segment {} (renamed to *.log.cut)", segment.display());
    }
    println!("  the cut bytes are kept in {}", repair.saved_to.display());
}
