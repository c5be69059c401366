//! Folded aggregates kept between commands: a command on a stream this process wrote folds
//! nothing again, and a commit anyone else wrote is always folded in before the next decision.

use command_api::service::{CommandService, Meta};
use domain::ids::{ApprovalId, EmployeeId};
use domain::numbering::{NumberCommand, NumberSequence, SequenceKey};
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::{
    Appended, Checkpoint, EventLog, EventLogError, NewCommit, RecordedEvent, StreamRef, Subscription, Upcasters,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use uuid::Uuid;

/// The embedded log, counting the streams read; `tells_versions: false` makes it a log that
/// cannot tell a stream's version without reading it, as Kafka cannot while the partition's
/// owner is restoring or unreachable.
struct CountingLog {
    inner: EmbeddedLog,
    reads: AtomicUsize,
    tells_versions: bool,
}

#[async_trait::async_trait]
impl EventLog for CountingLog {
    async fn append(&self, commit: NewCommit) -> Result<Appended, EventLogError> {
        self.inner.append(commit).await
    }
    async fn find_command(&self, stream: &StreamRef, command_id: Uuid) -> Result<Option<Appended>, EventLogError> {
        self.inner.find_command(stream, command_id).await
    }
    async fn read_stream(&self, stream: &StreamRef) -> Result<Vec<RecordedEvent>, EventLogError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read_stream(stream).await
    }
    async fn stream_version(&self, stream: &StreamRef) -> Result<Option<u64>, EventLogError> {
        if self.tells_versions {
            self.inner.stream_version(stream).await
        } else {
            Ok(None)
        }
    }
    async fn subscribe(&self, stream_type: &str, from: Checkpoint) -> Result<Box<dyn Subscription>, EventLogError> {
        self.inner.subscribe(stream_type, from).await
    }
    async fn end_offsets(&self, stream_type: &str) -> Result<Checkpoint, EventLogError> {
        self.inner.end_offsets(stream_type).await
    }
    fn partitions(&self) -> u32 {
        self.inner.partitions()
    }
}

fn counting_log(dir: &tempfile::TempDir, tells_versions: bool) -> Arc<CountingLog> {
    Arc::new(CountingLog {
        inner: EmbeddedLog::open(dir.path(), EmbeddedOptions::default(), Upcasters::default()).expect("the log opens"),
        reads: AtomicUsize::new(0),
        tells_versions,
    })
}

fn sequence() -> StreamRef {
    StreamRef::new(infra::eventlog::streams::NUMBERING, "GEN-2026")
}

/// Assigns the next number of the GEN-2026 sequence to a new document through `service`;
/// returns the document and the stream's version after.
async fn assign_next(service: &CommandService) -> (ApprovalId, u64) {
    let document = ApprovalId::from_uuid(Uuid::new_v4());
    let command = NumberCommand::Assign {
        key: SequenceKey {
            prefix: "GEN".into(),
            year: 2026,
        },
        document,
        by: EmployeeId::from_uuid(Uuid::from_u128(7)),
        at: domain::testkit::kst(2026, 12, 5, 9, 0),
    };
    let outcome = service
        .execute::<NumberSequence>(&sequence(), None, &Meta::system(Uuid::new_v4(), None), &command)
        .await
        .expect("the number is assigned");
    (document, outcome.version)
}

async fn number_of(service: &CommandService, document: ApprovalId) -> u64 {
    let loaded = service
        .load::<NumberSequence>(&sequence())
        .await
        .expect("the sequence loads");
    loaded.state.number_of(document).expect("the document has a number").seq
}

#[tokio::test]
async fn a_command_on_a_stream_this_process_wrote_reads_nothing_from_the_log() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = counting_log(&dir, true);
    let service = CommandService::new(log.clone());

    let first = assign_next(&service).await;
    let second = assign_next(&service).await;
    let third = assign_next(&service).await;

    assert_eq!((first.1, second.1, third.1), (1, 2, 3));
    assert_eq!(
        log.reads.load(Ordering::SeqCst),
        0,
        "a stream never written, or written here since, is read again"
    );
    assert_eq!(number_of(&service, third.0).await, 3);
    let fresh = CommandService::new(log.clone());
    assert_eq!(
        fresh.load::<NumberSequence>(&sequence()).await.expect("loads").state,
        service.load::<NumberSequence>(&sequence()).await.expect("loads").state,
        "the kept state is the fold of the log"
    );
}

#[tokio::test]
async fn a_commit_another_writer_appended_is_folded_in_before_the_next_decision() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = counting_log(&dir, true);
    let ours = CommandService::new(log.clone());
    let theirs = CommandService::new(log.clone());

    let (a, _) = assign_next(&ours).await;
    let (b, _) = assign_next(&theirs).await;
    let reads_before = log.reads.load(Ordering::SeqCst);
    let (c, version) = assign_next(&ours).await;

    assert_eq!(version, 3);
    assert!(
        log.reads.load(Ordering::SeqCst) > reads_before,
        "the moved stream was read again"
    );
    assert_eq!(
        (
            number_of(&ours, a).await,
            number_of(&ours, b).await,
            number_of(&ours, c).await
        ),
        (1, 2, 3)
    );
}

#[tokio::test]
async fn a_log_that_cannot_tell_versions_is_read_for_every_command() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let log = counting_log(&dir, false);
    let service = CommandService::new(log.clone());

    for _ in 0..3 {
        assign_next(&service).await;
    }

    assert_eq!(log.reads.load(Ordering::SeqCst), 3);
}
