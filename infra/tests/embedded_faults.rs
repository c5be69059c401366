//! Crash safety of the embedded log: kill -9 during appends, torn tails, damaged segments.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod support;

use infra::eventlog::chain::{verify_commit, Admission, StreamHeads};
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::{Checkpoint, EventLog, EventLogError, ExpectedVersion};
use std::io::Write;
use std::time::Duration;
use support::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use uuid::Uuid;

/// Child mode: 16 concurrent appenders of 3-event commits, printing each acknowledgement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by kill_9_during_appends_keeps_every_acknowledged_commit_whole"]
async fn child_appender() {
    let Ok(dir) = std::env::var("ERP_CHILD_DIR") else {
        return;
    };
    let log = embedded_at(std::path::Path::new(&dir));
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move {
                let s = stream(&format!("crash-{i}"));
                loop {
                    let a = log
                        .append(commit(&s, ExpectedVersion::Any, vec![event(0), event(1), event(2)]))
                        .await
                        .unwrap();
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "ACK {} {} {}", s.stream_id, a.first_version, a.commit_id);
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_appends_keeps_every_acknowledged_commit_whole() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_appender",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ERP_CHILD_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acks = Vec::new();
    while acks.len() < 2_000 {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let ["ACK", s, v, c] = line.split_whitespace().collect::<Vec<_>>()[..] {
            acks.push((s.to_owned(), v.parse::<u64>().unwrap(), c.parse::<Uuid>().unwrap()));
        }
    }
    child.start_kill().unwrap();
    let _ = child.wait().await;
    while let Ok(Some(line)) = lines.next_line().await {
        if let ["ACK", s, v, c] = line.split_whitespace().collect::<Vec<_>>()[..] {
            acks.push((s.to_owned(), v.parse().unwrap(), c.parse().unwrap()));
        }
    }

    let log = embedded_at(dir.path());
    for (s, version, commit_id) in &acks {
        let events = log.read_stream(&stream(s)).await.unwrap();
        let mine: Vec<_> = events.iter().filter(|e| e.commit_id == *commit_id).collect();
        assert_eq!(mine.len(), 3, "acknowledged commit {commit_id} is whole");
        assert_eq!(mine[0].version, *version);
    }
    let end = log.end_offsets("doc").await.unwrap()[&0];
    let mut sub = log.subscribe("doc", Checkpoint::new()).await.unwrap();
    let mut heads = StreamHeads::default();
    let mut seen = 0;
    while seen < end {
        for d in sub.next_batch(1000, Duration::from_secs(1)).await.unwrap() {
            seen += 1;
            assert_eq!(d.commit.events.len(), 3, "no partial commit survives");
            let before = heads.head(&d.commit.stream_id);
            assert_eq!(heads.admit(&d.commit), Admission::Accepted);
            assert!(verify_commit(&d.commit, &before).is_empty());
        }
    }
    println!("kill -9: {} acknowledged, {end} in the log after recovery", acks.len());
    assert!(end as usize >= acks.len());
    let s = stream("crash-0");
    let version = log.read_stream(&s).await.unwrap().last().unwrap().version;
    log.append(commit(&s, ExpectedVersion::Exact(version), vec![event(9)]))
        .await
        .unwrap();
}

fn only_segment(dir: &std::path::Path) -> std::path::PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(dir.join("doc"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.pop().unwrap()
}

#[tokio::test]
async fn a_torn_tail_is_truncated_on_open_and_appending_continues() {
    let dir = tempfile::tempdir().unwrap();
    let s = stream("torn");
    {
        let log = embedded_at(dir.path());
        for n in 0..5 {
            log.append(commit(&s, ExpectedVersion::Exact(n), vec![event(n)]))
                .await
                .unwrap();
        }
    }
    let path = only_segment(dir.path());
    let good_len = std::fs::metadata(&path).unwrap().len();
    let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, b'{', b'"']).unwrap(); // a frame cut mid-write
    drop(file);

    let log = embedded_at(dir.path());
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        good_len,
        "the torn frame is cut off"
    );
    assert_eq!(log.read_stream(&s).await.unwrap().len(), 5);
    log.append(commit(&s, ExpectedVersion::Exact(5), vec![event(5)]))
        .await
        .unwrap();
    drop(log);
    assert_eq!(embedded_at(dir.path()).read_stream(&s).await.unwrap().len(), 6);
}

#[tokio::test]
async fn damage_before_the_last_segment_is_reported_not_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let small = EmbeddedOptions {
        segment_bytes: 2_000,
        ..EmbeddedOptions::default()
    };
    {
        let log = EmbeddedLog::open(dir.path(), small.clone(), upcasters()).unwrap();
        for n in 0..30 {
            log.append(commit(&stream("seg"), ExpectedVersion::Exact(n), vec![event(n)]))
                .await
                .unwrap();
        }
        assert_eq!(log.read_stream(&stream("seg")).await.unwrap().len(), 30);
    }
    let mut segments: Vec<_> = std::fs::read_dir(dir.path().join("doc"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segments.sort();
    assert!(segments.len() > 2, "segments rolled");
    let reopened = EmbeddedLog::open(dir.path(), small.clone(), upcasters()).unwrap();
    assert_eq!(
        reopened.read_stream(&stream("seg")).await.unwrap().len(),
        30,
        "reads span segments"
    );
    drop(reopened);
    let mut bytes = std::fs::read(&segments[0]).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&segments[0], bytes).unwrap();
    match EmbeddedLog::open(dir.path(), small, upcasters()) {
        Err(EventLogError::Corrupt(message)) => assert!(message.contains("damaged frame"), "{message}"),
        other => panic!("expected corruption to be reported, got {other:?}"),
    }
}

/// Ten one-event commits of stream `s` in a fresh log under `dir`; returns the byte where each
/// frame starts in the (only) segment.
async fn ten_commits(dir: &std::path::Path, s: &infra::eventlog::StreamRef) -> Vec<u64> {
    let log = embedded_at(dir);
    for n in 0..10 {
        log.append(commit(s, ExpectedVersion::Exact(n), vec![event(n)]))
            .await
            .unwrap();
    }
    drop(log);
    let bytes = std::fs::read(only_segment(dir)).unwrap();
    let mut starts = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        starts.push(pos as u64);
        pos += 8 + u32::from_le_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
    }
    assert_eq!(starts.len(), 10);
    starts
}

fn flip_bit(path: &std::path::Path, at: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at as usize] ^= 0x04;
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn a_flipped_bit_mid_segment_refuses_to_open_instead_of_dropping_acknowledged_commits() {
    let dir = tempfile::tempdir().unwrap();
    let s = stream("bitrot");
    let starts = ten_commits(dir.path(), &s).await;
    let path = only_segment(dir.path());
    flip_bit(&path, starts[3] + 40); // inside the body of the fourth frame
    let damaged = std::fs::read(&path).unwrap();

    match EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), upcasters()) {
        Err(EventLogError::Corrupt(message)) => {
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains(&format!("byte {}", starts[3])), "{message}");
            assert!(message.contains("offset 3"), "{message}");
            assert!(message.contains("repair-log"), "{message}");
        }
        other => panic!("expected the damage to be reported, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), damaged, "nothing was cut");
}

#[tokio::test]
async fn a_zero_filled_tail_is_a_torn_write_truncated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let s = stream("zeros");
    ten_commits(dir.path(), &s).await;
    let path = only_segment(dir.path());
    let good_len = std::fs::metadata(&path).unwrap().len();
    // The file grew but the data never reached the disk: a filesystem shows zeros there.
    let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&[0u8; 4096]).unwrap();
    drop(file);

    let log = embedded_at(dir.path());
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        good_len,
        "the zeros are cut off"
    );
    assert_eq!(log.read_stream(&s).await.unwrap().len(), 10);
    log.append(commit(&s, ExpectedVersion::Exact(10), vec![event(10)]))
        .await
        .unwrap();
}

#[tokio::test]
async fn repair_says_which_frames_it_drops_and_drops_them_only_when_applied() {
    use infra::eventlog::embedded::{apply_repair, plan_repair};
    let dir = tempfile::tempdir().unwrap();
    let s = stream("repair");
    let starts = ten_commits(dir.path(), &s).await;
    let path = only_segment(dir.path());
    flip_bit(&path, starts[6] + 40);
    let damaged = std::fs::read(&path).unwrap();

    let plan = plan_repair(dir.path()).unwrap();
    assert_eq!(plan.len(), 1, "{plan:?}");
    let topic = &plan[0];
    assert_eq!(
        (topic.stream_type.as_str(), topic.segment.as_path(), topic.byte),
        ("doc", path.as_path(), starts[6])
    );
    assert_eq!(
        topic.dropped.iter().map(|f| f.offset).collect::<Vec<_>>(),
        vec![6, 7, 8, 9],
        "the damaged frame and every frame after it"
    );
    assert!(topic.dropped[0].commit.is_err(), "the damaged frame cannot be read");
    assert_eq!(
        topic.dropped[1..]
            .iter()
            .map(|f| f.commit.as_ref().unwrap().first_version)
            .collect::<Vec<_>>(),
        vec![8, 9, 10]
    );
    assert_eq!(std::fs::read(&path).unwrap(), damaged, "planning changes nothing");

    apply_repair(dir.path(), &plan).unwrap();
    let log = embedded_at(dir.path());
    assert_eq!(log.read_stream(&s).await.unwrap().len(), 6);
    log.append(commit(&s, ExpectedVersion::Exact(6), vec![event(6)]))
        .await
        .unwrap();
    drop(log);
    let kept = std::fs::read(&topic.saved_to).unwrap();
    assert_eq!(kept, damaged[starts[6] as usize..], "the cut bytes are kept aside");
    assert!(plan_repair(dir.path()).unwrap().is_empty(), "nothing left to repair");
}

#[tokio::test]
async fn repair_refuses_a_plan_that_no_longer_matches_the_log() {
    use infra::eventlog::embedded::{apply_repair, plan_repair};
    let dir = tempfile::tempdir().unwrap();
    let starts = ten_commits(dir.path(), &stream("stale-plan")).await;
    let path = only_segment(dir.path());
    flip_bit(&path, starts[6] + 40);
    let plan = plan_repair(dir.path()).unwrap();
    flip_bit(&path, starts[2] + 40);
    assert!(apply_repair(dir.path(), &plan).is_err());
    assert_eq!(plan_repair(dir.path()).unwrap()[0].byte, starts[2]);
}

/// Child mode: opens a log whose `doc` topic does not exist yet and appends one commit.
#[tokio::test]
#[ignore = "run under strace by a_new_topic_directory_is_made_durable_in_its_parent"]
async fn child_topic_creator() {
    let Ok(dir) = std::env::var("ERP_CHILD_DIR") else {
        return;
    };
    let log = embedded_at(std::path::Path::new(&dir));
    log.append(commit(&stream("new-topic"), ExpectedVersion::NoStream, vec![event(0)]))
        .await
        .unwrap();
}

/// A directory entry is durable only once its parent directory is synced: a crash after
/// acknowledging the first commit of a new stream type must not lose the whole topic.
#[test]
fn a_new_topic_directory_is_made_durable_in_its_parent() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("strace.txt");
    let log_dir = dir.path().join("log");
    let status = std::process::Command::new("strace")
        .arg("-f")
        .args(["-e", "trace=mkdir,mkdirat,openat,close,fsync,fdatasync"])
        .arg("-o")
        .arg(&trace)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "child_topic_creator", "--ignored", "--test-threads=1"])
        .env("ERP_CHILD_DIR", &log_dir)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("this test needs strace (apt-get install strace)");
    assert!(status.success());
    let trace = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = trace.lines().collect();
    let topic = format!("\"{}\"", log_dir.join("doc").display());
    let created = lines
        .iter()
        .position(|l| l.contains("mkdir") && l.contains(&topic))
        .unwrap_or_else(|| panic!("no mkdir of {topic} in\n{trace}"));
    let parent = format!("\"{}\"", log_dir.display());
    // An fd opened on the parent after the mkdir, and fsynced before it was closed.
    let synced = lines[created..].iter().enumerate().any(|(i, open)| {
        let Some(fd) = (open.contains("openat(") && open.contains(&format!("{parent},")))
            .then(|| open.rsplit("= ").next().unwrap_or_default().trim())
        else {
            return false;
        };
        let after = &lines[created + i + 1..];
        let closed = after
            .iter()
            .position(|l| l.contains(&format!("close({fd})")))
            .unwrap_or(after.len());
        after[..closed].iter().any(|l| l.contains(&format!("fsync({fd})")))
    });
    assert!(synced, "{parent} was not synced after {topic} was created:\n{trace}");
}
