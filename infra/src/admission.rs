//! Admission control: how much work a process takes on at once, and what it does with the rest.
//!
//! Without it, a server offered more than it can do accepts everything: every request starts,
//! they all share the cores, each takes longer, queues grow, clients time out and retry, and
//! throughput falls below what the server managed before the overload (it collapses). With it,
//! at most `max_in_flight` requests run; up to `max_queue` more wait, each at most `max_wait`;
//! anything beyond is refused at once, before it costs a token check or a read — so an
//! overloaded instance keeps doing its capacity of work at normal latency and tells the rest,
//! fast, to come back later (the edge answers 503 with `Retry-After`).
//!
//! The wait is bounded by time as well as by count so that latency, not only memory, stays
//! bounded: a request that would wait longer than `max_wait` is better refused now and retried
//! against a less busy moment or instance.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How much a process admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionLimits {
    /// Requests running at once.
    pub max_in_flight: usize,
    /// Requests waiting for one of those places; beyond it, refused at once.
    pub max_queue: usize,
    /// The longest a request waits for a place before it is refused.
    pub max_wait: Duration,
}

/// Places for requests that wait on I/O (a command on Kafka waits for the broker's
/// acknowledgement; a query for MySQL or MongoDB): a place is mostly waiting, so many run.
pub const IO_BOUND_PLACES: usize = 64;

/// Places per core for requests that are CPU-bound (the embedded log: `erp up`), per core the
/// instance may use (its CPU quota, where one is set). Measured with `erp bench commands` on 2
/// cores at twice the rate the command path holds (4,000/s offered): 4 per core held 1,855/s
/// with p99 60 ms; 8 per core 1,628/s, p99 113 ms; 16 per core 1,583/s, p99 155 ms; 32 per
/// core 1,242/s, p99 339 ms (docs/performance.md): beyond what the cores run, a place only
/// lengthens every request's wait.
pub const PLACES_PER_CORE: usize = 4;

/// The longest a CPU-bound request waits for a place (see [`AdmissionLimits::cpu_bound`]):
/// long enough for a burst on one document to take turns.
pub const CPU_BOUND_WAIT: Duration = Duration::from_millis(20);

/// Fewer places than this refuse ordinary bursts: two dozen comments on one busy document at
/// once hold their places while they wait for each other's commits (each waits for a place at
/// most `max_wait`).
pub const MIN_PLACES: usize = 16;

impl AdmissionLimits {
    /// For CPU-bound requests: [`PLACES_PER_CORE`] per core, at least [`MIN_PLACES`], with
    /// as many waiting as running, each at most [`CPU_BOUND_WAIT`]. When every place is
    /// taken a waiter waits about one request's run time, so a longer line only delays the
    /// refusal it ends in. Measured with `erp bench commands --rates 2000,4000` on 2 cores
    /// (docs/performance.md): 256 waiting held 2,579/s of 4,000/s offered at p99 63 ms; 16
    /// waiting held 2,718/s at p99 50 ms. A 10 ms wait did better still (3,063/s, p99 38 ms)
    /// but refused one in ten bursts of two dozen comments on one document.
    pub fn cpu_bound() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let places = (cores * PLACES_PER_CORE).max(MIN_PLACES);
        Self {
            max_in_flight: places,
            max_queue: places,
            max_wait: CPU_BOUND_WAIT,
        }
    }
}

/// For I/O-bound requests ([`IO_BOUND_PLACES`]); CPU-bound ones: [`AdmissionLimits::cpu_bound`].
impl Default for AdmissionLimits {
    fn default() -> Self {
        Self {
            max_in_flight: IO_BOUND_PLACES,
            max_queue: 256,
            max_wait: Duration::from_millis(20),
        }
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Shed {
    #[error("{0} requests are already waiting")]
    QueueFull(usize),
    #[error("no place became free within {0:?}")]
    WaitedTooLong(Duration),
}

/// The places of one process (or one route group); clone to share.
#[derive(Debug, Clone)]
pub struct Admission {
    places: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
    limits: AdmissionLimits,
}

/// A request's place; dropping it frees the place.
#[derive(Debug)]
pub struct Admitted(#[allow(dead_code)] OwnedSemaphorePermit);

impl Admission {
    pub fn new(limits: AdmissionLimits) -> Self {
        Self {
            places: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
            waiting: Arc::new(AtomicUsize::new(0)),
            limits,
        }
    }

    pub fn limits(&self) -> AdmissionLimits {
        self.limits
    }

    /// Requests running now.
    pub fn in_flight(&self) -> usize {
        self.limits.max_in_flight.max(1) - self.places.available_permits()
    }

    /// A place now, or after a bounded wait, or the reason there is none.
    pub async fn admit(&self) -> Result<Admitted, Shed> {
        if let Ok(place) = self.places.clone().try_acquire_owned() {
            return Ok(Admitted(place));
        }
        let queued = Queued::join(&self.waiting);
        if queued.ahead >= self.limits.max_queue {
            return Err(Shed::QueueFull(queued.ahead));
        }
        match tokio::time::timeout(self.limits.max_wait, self.places.clone().acquire_owned()).await {
            Ok(Ok(place)) => Ok(Admitted(place)),
            // The semaphore is never closed; treat it as a full wait all the same.
            Ok(Err(_)) | Err(_) => Err(Shed::WaitedTooLong(self.limits.max_wait)),
        }
    }
}

/// One waiter counted while it waits.
struct Queued<'a> {
    waiting: &'a AtomicUsize,
    ahead: usize,
}

impl<'a> Queued<'a> {
    fn join(waiting: &'a AtomicUsize) -> Self {
        let ahead = waiting.fetch_add(1, Ordering::AcqRel);
        Self { waiting, ahead }
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_in_flight: usize, max_queue: usize, wait_ms: u64) -> AdmissionLimits {
        AdmissionLimits {
            max_in_flight,
            max_queue,
            max_wait: Duration::from_millis(wait_ms),
        }
    }

    #[tokio::test]
    async fn requests_within_the_limit_are_admitted_at_once() {
        let admission = Admission::new(limits(2, 0, 10));
        let _a = admission.admit().await.expect("first");
        let _b = admission.admit().await.expect("second");
        assert_eq!(admission.in_flight(), 2);
    }

    #[tokio::test]
    async fn with_no_queue_a_request_over_the_limit_is_refused_at_once() {
        let admission = Admission::new(limits(1, 0, 10_000));
        let _running = admission.admit().await.expect("first");
        let started = std::time::Instant::now();
        assert_eq!(admission.admit().await.err(), Some(Shed::QueueFull(0)));
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn a_queued_request_gets_the_place_freed_within_its_wait() {
        let admission = Admission::new(limits(1, 1, 2_000));
        let running = admission.admit().await.expect("first");
        let waiter = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.admit().await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(running);
        assert_eq!(waiter.await.expect("joined"), Ok(()));
    }

    #[tokio::test]
    async fn a_queued_request_is_refused_when_no_place_frees_within_its_wait() {
        let admission = Admission::new(limits(1, 4, 30));
        let _running = admission.admit().await.expect("first");
        let started = std::time::Instant::now();
        assert_eq!(
            admission.admit().await.err(),
            Some(Shed::WaitedTooLong(Duration::from_millis(30)))
        );
        assert!(started.elapsed() < Duration::from_millis(500));
    }

    #[tokio::test]
    async fn the_queue_is_bounded_and_frees_its_count_when_waiters_leave() {
        let admission = Admission::new(limits(1, 1, 300));
        let _running = admission.admit().await.expect("first");
        let queued = {
            let admission = admission.clone();
            tokio::spawn(async move { admission.admit().await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(admission.admit().await.err(), Some(Shed::QueueFull(1)));
        assert!(
            queued.await.expect("joined").is_err(),
            "no place freed: the waiter gives up"
        );
        // The waiter left; the queue has room again (it waits and is refused by time, not count).
        assert_eq!(
            admission.admit().await.err(),
            Some(Shed::WaitedTooLong(Duration::from_millis(300)))
        );
    }
}
