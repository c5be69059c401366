//! A bounded broadcast for one route of the hub, whose buffer exists only while changes wait.
//!
//! Every connected person holds routes of their own (their feed, their box, their HR
//! records), and almost all of the time nothing waits on them. A `tokio::sync::broadcast`
//! allocates its whole ring when it opens: 16 slots and their locks, about 0.7 KiB for each
//! person connected, for changes that come a few times a day. Here a route keeps its waiting
//! changes in a queue that grows as they arrive and is given back once every receiver took
//! them, so an idle route costs its handful of counters.
//!
//! The rules are `tokio::sync::broadcast`'s: a receiver sees what was sent after it
//! subscribed, in order; a change stays until every receiver that was there took it; past
//! `capacity` waiting changes the oldest is dropped and a receiver that had not taken it
//! hears [`RecvError::Lagged`] with how many it missed, then goes on from the oldest kept;
//! once the sender is gone, a receiver drains what waits and then hears
//! [`RecvError::Closed`].

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::Notify;

/// A route's sending side. Dropping it closes the route.
#[derive(Debug)]
pub struct Sender<T>(Arc<Ring<T>>);

/// A route's receiving side: it has taken every change before `next`.
#[derive(Debug)]
pub struct Receiver<T> {
    ring: Arc<Ring<T>>,
    next: u64,
}

#[derive(Debug)]
struct Ring<T> {
    state: Mutex<State<T>>,
    sent: Notify,
}

#[derive(Debug)]
struct State<T> {
    /// The waiting changes, oldest first, each with how many receivers have yet to take it.
    waiting: VecDeque<(T, usize)>,
    /// The position of `waiting`'s front.
    first: u64,
    capacity: usize,
    receivers: usize,
    closed: bool,
}

/// A route holding at most `capacity` changes for a receiver that has not taken them.
pub fn channel<T: Clone>(capacity: usize) -> Sender<T> {
    Sender(Arc::new(Ring {
        state: Mutex::new(State {
            waiting: VecDeque::new(),
            first: 0,
            capacity: capacity.max(1),
            receivers: 0,
            closed: false,
        }),
        sent: Notify::new(),
    }))
}

impl<T> Ring<T> {
    fn state(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<T> State<T> {
    /// Drops the changes every receiver has taken; an empty queue gives its buffer back.
    fn trim(&mut self) {
        while self.waiting.front().is_some_and(|(_, left)| *left == 0) {
            self.waiting.pop_front();
            self.first += 1;
        }
        if self.waiting.is_empty() && self.waiting.capacity() > 0 {
            self.waiting = VecDeque::new();
        }
    }

    fn end(&self) -> u64 {
        self.first + self.waiting.len() as u64
    }
}

impl<T: Clone> Sender<T> {
    /// Sends `value` to every receiver; `Err` with it back when there is none.
    pub fn send(&self, value: T) -> Result<(), T> {
        {
            let mut state = self.0.state();
            if state.receivers == 0 {
                return Err(value);
            }
            if state.waiting.len() >= state.capacity {
                state.waiting.pop_front();
                state.first += 1;
            }
            let receivers = state.receivers;
            state.waiting.push_back((value, receivers));
        }
        self.0.sent.notify_waiters();
        Ok(())
    }

    /// A receiver of what is sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        let mut state = self.0.state();
        state.receivers += 1;
        Receiver {
            ring: self.0.clone(),
            next: state.end(),
        }
    }

    /// Receivers held now.
    pub fn receiver_count(&self) -> usize {
        self.0.state().receivers
    }

    /// Changes this route has room for now, taken or not (tests): 0 when it holds no queue.
    #[cfg(test)]
    fn buffered(&self) -> usize {
        self.0.state().waiting.capacity()
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.0.state().closed = true;
        self.0.sent.notify_waiters();
    }
}

impl<T: Clone> Receiver<T> {
    /// The next change, how many were missed when this receiver fell behind, or that the
    /// route is closed and drained.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        let (ring, next) = (&self.ring, &mut self.next);
        until(&ring.sent, || {
            let mut state = ring.state();
            if *next < state.first {
                let missed = state.first - *next;
                *next = state.first;
                return Some(Err(RecvError::Lagged(missed)));
            }
            let at = (*next - state.first) as usize;
            if let Some((value, left)) = state.waiting.get_mut(at) {
                let value = value.clone();
                *left -= 1;
                *next += 1;
                state.trim();
                return Some(Ok(value));
            }
            state.closed.then_some(Err(RecvError::Closed))
        })
        .await
    }
}

/// Waits until `ready` has an answer, asking it again each time `notify` wakes its waiters.
/// The waiter registers before it asks, so a change made between the asking and the waiting
/// still wakes it. (A route's receiver and a session's principal wait this way.)
pub(crate) async fn until<T>(notify: &Notify, mut ready: impl FnMut() -> Option<T>) -> T {
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(answer) = ready() {
            return answer;
        }
        notified.await;
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.ring.state();
        let from = self.next.saturating_sub(state.first) as usize;
        for (_, left) in state.waiting.iter_mut().skip(from) {
            *left -= 1;
        }
        state.receivers -= 1;
        state.trim();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn every_receiver_takes_what_was_sent_after_it_subscribed_in_order() {
        let sender = channel(16);
        let mut early = sender.subscribe();
        sender.send(1).expect("a receiver");
        let mut late = sender.subscribe();
        sender.send(2).expect("receivers");
        assert_eq!(early.recv().await, Ok(1));
        assert_eq!(early.recv().await, Ok(2));
        assert_eq!(late.recv().await, Ok(2));
    }

    #[tokio::test]
    async fn a_route_without_receivers_refuses_what_is_sent() {
        let sender = channel(16);
        assert_eq!(sender.send(1), Err(1));
        let receiver = sender.subscribe();
        assert_eq!(sender.receiver_count(), 1);
        drop(receiver);
        assert_eq!(sender.receiver_count(), 0);
        assert_eq!(sender.send(2), Err(2));
    }

    #[tokio::test]
    async fn a_receiver_past_capacity_hears_how_many_it_missed_and_goes_on_from_the_oldest_kept() {
        let sender = channel(4);
        let (mut slow, mut keeping_up) = (sender.subscribe(), sender.subscribe());
        for n in 0..10 {
            sender.send(n).expect("receivers");
            assert_eq!(keeping_up.recv().await, Ok(n));
        }
        assert_eq!(slow.recv().await, Err(RecvError::Lagged(6)));
        for n in 6..10 {
            assert_eq!(slow.recv().await, Ok(n));
        }
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_a_send() {
        let sender = channel(16);
        let mut receiver = sender.subscribe();
        let waiting = tokio::spawn(async move { receiver.recv().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        sender.send(7).expect("a receiver");
        assert_eq!(waiting.await.expect("joined"), Ok(7));
    }

    #[tokio::test]
    async fn a_closed_route_is_drained_before_it_says_so() {
        let sender = channel(16);
        let mut receiver = sender.subscribe();
        sender.send(1).expect("a receiver");
        drop(sender);
        assert_eq!(receiver.recv().await, Ok(1));
        assert_eq!(receiver.recv().await, Err(RecvError::Closed));
        let sender = channel::<u8>(16);
        let mut receiver = sender.subscribe();
        let waiting = tokio::spawn(async move { receiver.recv().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(sender);
        let closed = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert_eq!(closed.expect("woken").expect("joined"), Err(RecvError::Closed));
    }

    /// What every receiver took is given back: an idle route holds no queue, and a change is
    /// not kept alive by a route after its last receiver took it or left.
    #[tokio::test]
    async fn an_idle_route_holds_no_queue_and_no_change_once_taken() {
        let sender = channel(16);
        assert_eq!(sender.buffered(), 0);
        let (mut first, mut second) = (sender.subscribe(), sender.subscribe());
        let change = Arc::new("change");
        sender.send(change.clone()).expect("receivers");
        assert!(sender.buffered() > 0);
        first.recv().await.expect("the change");
        assert_eq!(Arc::strong_count(&change), 2, "the second receiver has not taken it");
        second.recv().await.expect("the change");
        assert_eq!(Arc::strong_count(&change), 1);
        assert_eq!(sender.buffered(), 0);
        // A receiver that leaves without taking it releases it too.
        sender.send(change.clone()).expect("receivers");
        first.recv().await.expect("the change");
        drop(second);
        assert_eq!(Arc::strong_count(&change), 1);
        assert_eq!(sender.buffered(), 0);
    }
}
