//! SQLite reads on the calling thread: what they read, what they refuse, how long they wait
//! and how many connections they keep.

use super::*;
use std::time::Instant;

/// A WAL database with one table `t (id TEXT, n INTEGER)` holding `("a", 1)` and `(NULL, NULL)`.
fn database() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("read.db").display().to_string();
    let conn = rusqlite::Connection::open(&path).expect("the database opens");
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; CREATE TABLE t (id TEXT, n INTEGER); \
         INSERT INTO t VALUES ('a', 1), (NULL, NULL);",
    )
    .expect("the table is made");
    (dir, path)
}

fn count(reads: &SqliteReads) -> Result<i64, StoreError> {
    let counts = reads.select("SELECT COUNT(*) FROM t", &[], |r| Ok(r.int(0)?.unwrap_or_default()))?;
    Ok(counts[0])
}

#[test]
fn each_column_reads_as_the_kind_asked_and_null_as_none() {
    let (_dir, path) = database();
    let reads = SqliteReads::open(&path).expect("reads open");

    let rows = reads
        .select("SELECT id, n FROM t ORDER BY id DESC", &[], |r| {
            Ok((r.text(0)?, r.int(1)?, r.text(1)?))
        })
        .expect("the rows read");

    assert_eq!(
        rows,
        vec![(Some("a".into()), Some(1), Some("1".into())), (None, None, None)]
    );
    let text_as_int = reads.select("SELECT id FROM t WHERE id = ?", &["a"], |r| r.int(0));
    assert!(matches!(text_as_int, Err(StoreError::Corrupt(_))), "{text_as_int:?}");
}

#[test]
fn a_read_connection_refuses_to_write() {
    let (_dir, path) = database();
    let reads = SqliteReads::open(&path).expect("reads open");

    let written = reads.select("INSERT INTO t VALUES ('b', 2)", &[], |_| Ok(()));
    let deleted = reads.select("DELETE FROM t", &[], |_| Ok(()));

    assert!(written.is_err() && deleted.is_err(), "{written:?} {deleted:?}");
    assert_eq!(count(&reads), Ok(2));
}

#[test]
fn a_read_sees_what_another_connection_committed_since_its_last_read() {
    let (_dir, path) = database();
    let reads = SqliteReads::open(&path).expect("reads open");
    assert_eq!(count(&reads), Ok(2));

    let writer = rusqlite::Connection::open(&path).expect("the writer opens");
    writer
        .execute("INSERT INTO t VALUES ('b', 2)", [])
        .expect("the write commits");

    assert_eq!(count(&reads), Ok(3));
}

#[test]
fn a_read_behind_an_exclusive_lock_answers_busy_within_its_bound() {
    let (_dir, path) = database();
    let reads = SqliteReads::open(&path).expect("reads open");
    // In WAL mode a lock that stops readers can only be taken with no other connection open.
    reads.idle().connections.clear();
    let holder = rusqlite::Connection::open(&path).expect("the lock holder opens");
    holder
        .execute_batch("PRAGMA locking_mode=EXCLUSIVE; INSERT INTO t VALUES ('b', 2);")
        .expect("the holder writes and keeps the file locked");

    let started = Instant::now();
    let blocked = count(&reads);
    let waited = started.elapsed();

    assert!(matches!(blocked, Err(StoreError::Transient(_))), "{blocked:?}");
    assert!(
        waited >= BUSY_WAIT.mul_f32(0.8),
        "answered busy after {waited:?}, before waiting"
    );
    assert!(waited < BUSY_WAIT + Duration::from_secs(1), "waited {waited:?}");
    drop(holder);
    assert_eq!(count(&reads), Ok(3), "the read goes on once the lock is gone");
}

#[test]
fn reads_at_once_beyond_the_kept_connections_open_more_and_keep_only_the_bound() {
    let (_dir, path) = database();
    let reads = SqliteReads::open(&path).expect("reads open");

    // Each read runs the next inside its row, so all of them hold a connection at once.
    fn nested(reads: &SqliteReads, depth: usize) -> Result<usize, StoreError> {
        if depth == 0 {
            return Ok(0);
        }
        let inner = reads.select("SELECT 1", &[], |_| nested(reads, depth - 1))?;
        Ok(1 + inner[0])
    }
    assert_eq!(nested(&reads, reads.kept + 3), Ok(reads.kept + 3));

    assert!(reads.kept >= IDLE_KEPT);
    assert_eq!(reads.idle().connections.len(), reads.kept);
}

#[test]
fn a_closed_store_reads_nothing_and_keeps_no_connection() {
    let (_dir, path) = database();
    let reads = SqliteReads::open(&path).expect("reads open");
    assert_eq!(count(&reads), Ok(2));

    reads.close();

    assert!(matches!(count(&reads), Err(StoreError::Unavailable(_))));
    assert!(reads.idle().connections.is_empty());
}

#[test]
fn a_store_that_is_not_there_fails_at_open() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let missing = dir.path().join("missing.db").display().to_string();

    let opened = SqliteReads::open(&missing);

    assert!(matches!(opened, Err(StoreError::Unavailable(_))), "{opened:?}");
    assert!(
        !std::path::Path::new(&missing).exists(),
        "opening for reads created no file"
    );
}

#[test]
fn a_read_in_flight_when_the_store_closes_puts_no_connection_back() {
    let (_dir, path) = database();
    let reads = SqliteReads::open(&path).expect("reads open");

    let read = reads.select("SELECT id FROM t WHERE id = ?", &["a"], |r| {
        reads.close();
        r.text(0)
    });

    assert_eq!(read, Ok(vec![Some("a".to_owned())]), "the read in flight finishes");
    assert!(reads.idle().connections.is_empty());
}
