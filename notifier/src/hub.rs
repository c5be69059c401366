//! Per-recipient routing inside one notifier instance.
//!
//! One task reads the change bus and hands each change only to the subscriptions that care:
//! by feed recipient (`feed:<employee>`), by inbox principal (`box:emp:…`, `box:dept:…`), by
//! document (`doc:<id>`), and HR records by the employee they are about (`hr:emp:…`), by that
//! employee's department (`hr:dept:…`, for its heads) and to HR (`hr:all`). The work per change is proportional to its recipients, not to the
//! connections held — with 10,000 connections, a change for one drafter wakes that drafter's
//! subscriptions only.
//!
//! A route lives exactly as long as its subscribers: it is created by the first
//! [`Hub::subscribe`] and removed when the last [`Route`] is dropped, so routes that nobody
//! hears (a refused subscription, a closed connection) do not pile up.

use crate::ring;
use infra::bus::{Change, ChangeBus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::broadcast::error::RecvError;

/// The route of every HR change (HR admins and auditors hear them all).
pub const HR_EVERYONE: &str = "hr:all";

/// Changes a route holds for a subscriber that has not taken them yet, before that subscriber
/// must resynchronise. A person's routes (their feed, their own box and HR records, one
/// document) carry a few changes at a time; the shared ones (a department's box and HR
/// records, everything for HR) carry the changes of many people. Either holds memory only
/// while changes wait ([`crate::ring`]).
fn capacity(key: &str) -> usize {
    const PERSONAL: usize = 16;
    const SHARED: usize = 256;
    if key.starts_with("box:dept:") || key.starts_with("hr:dept:") || key == HR_EVERYONE {
        SHARED
    } else {
        PERSONAL
    }
}

/// A change as it arrived on this instance's bus, and when (push latency counts from then).
#[derive(Debug)]
pub struct Arrived {
    pub change: Change,
    pub at: Instant,
}

/// What a route carries: a change (one allocation shared by every route and subscriber it
/// reaches), or notice that the hub itself fell behind the bus and changes were lost for
/// every route.
#[derive(Debug, Clone)]
pub enum Routed {
    Change(Arc<Arrived>),
    Missed(u64),
}

/// The routes of one notifier instance.
#[derive(Debug, Default)]
pub struct Hub {
    routes: Mutex<HashMap<String, ring::Sender<Routed>>>,
}

impl Hub {
    /// Starts routing what `bus` carries.
    pub fn start(bus: &Arc<dyn ChangeBus>) -> Arc<Hub> {
        let hub = Arc::new(Hub::default());
        let mut changes = bus.subscribe();
        let mut interruptions = bus.interruptions();
        let mut watching = true;
        let routing = hub.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    received = changes.recv() => match received {
                        Ok(change) => routing.route(change),
                        Err(RecvError::Lagged(missed)) => {
                            metrics::counter!("erp_notifier_overflow_total").increment(1);
                            routing.everyone(Routed::Missed(missed))
                        }
                        Err(RecvError::Closed) => return,
                    },
                    // The bus lost what was published while it was cut off: everyone
                    // resynchronises (the count of what was lost is unknown).
                    interrupted = interruptions.changed(), if watching => match interrupted {
                        Ok(()) => routing.everyone(Routed::Missed(0)),
                        Err(_) => watching = false,
                    },
                }
            }
        });
        hub
    }

    /// The keys a change is delivered under.
    fn keys(change: &Change) -> Vec<String> {
        match change {
            Change::Notification { recipient, .. } => vec![format!("feed:{recipient}")],
            Change::Document { doc, boxes, .. } => std::iter::once(format!("doc:{doc}"))
                .chain(boxes.iter().map(|b| format!("box:{b}")))
                .collect(),
            // HR records: the people they are about, their departments' heads, and HR.
            Change::Hr {
                people,
                owner,
                departments,
                ..
            } => people
                .iter()
                .chain(owner)
                .map(|p| format!("hr:emp:{p}"))
                .chain(departments.iter().map(|d| format!("hr:dept:{d}")))
                .chain(std::iter::once(HR_EVERYONE.to_owned()))
                .collect(),
        }
    }

    fn route(&self, change: Change) {
        let keys = Self::keys(&change);
        let routed = Routed::Change(Arc::new(Arrived {
            change,
            at: Instant::now(),
        }));
        let Ok(mut routes) = self.routes.lock() else { return };
        for key in keys {
            let gone = match routes.get(&key) {
                Some(route) => route.send(routed.clone()).is_err(),
                None => false,
            };
            if gone {
                // Its last subscriber left.
                routes.remove(&key);
            }
        }
    }

    fn everyone(&self, routed: Routed) {
        if let Ok(routes) = self.routes.lock() {
            for route in routes.values() {
                let _ = route.send(routed.clone());
            }
        }
    }

    /// Everything routed under `key` from now on, until the returned route is dropped.
    pub fn subscribe(self: &Arc<Self>, key: &str) -> Route {
        let mut routes = self.routes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let receiver = routes
            .entry(key.to_owned())
            .or_insert_with(|| ring::channel(capacity(key)))
            .subscribe();
        Route {
            receiver: Some(receiver),
            key: key.to_owned(),
            hub: self.clone(),
        }
    }

    /// Removes the route under `key` if nobody receives from it any more.
    fn release(&self, key: &str) {
        let mut routes = self.routes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if routes.get(key).is_some_and(|route| route.receiver_count() == 0) {
            routes.remove(key);
        }
    }

    /// Routes held now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.routes.lock().map_or(0, |routes| routes.len())
    }
}

/// One subscriber's end of a route; dropping the last one removes the route.
#[derive(Debug)]
pub struct Route {
    receiver: Option<ring::Receiver<Routed>>,
    key: String,
    hub: Arc<Hub>,
}

impl Route {
    pub async fn recv(&mut self) -> Result<Routed, RecvError> {
        match &mut self.receiver {
            Some(receiver) => receiver.recv().await,
            None => Err(RecvError::Closed),
        }
    }
}

impl Drop for Route {
    fn drop(&mut self) {
        // Counted out before the check, so the last one out sees zero.
        drop(self.receiver.take());
        self.hub.release(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra::bus::LocalBus;

    #[tokio::test]
    async fn a_route_is_dropped_when_its_last_subscriber_leaves() {
        let bus: Arc<dyn ChangeBus> = Arc::new(LocalBus::default());
        let hub = Hub::start(&bus);
        let first = hub.subscribe("doc:a");
        let second = hub.subscribe("doc:a");
        let other = hub.subscribe("feed:b");
        assert_eq!(hub.len(), 2);
        drop(first);
        assert_eq!(hub.len(), 2, "doc:a still has a subscriber");
        drop(second);
        assert_eq!(hub.len(), 1, "doc:a is gone with its last subscriber");
        drop(other);
        assert_eq!(hub.len(), 0);
    }

    fn document(n: u64) -> Change {
        Change::Document {
            doc: "d".into(),
            version: n,
            events: vec!["approval.approved".into()],
            position: format!("approval:0:{n}"),
            correlation_id: "c".into(),
            trace_id: None,
            traceparent: None,
            boxes: vec!["dept:sales".into(), "emp:kim".into()],
            document: serde_json::json!({ "title": "x".repeat(1000) }),
        }
    }

    #[tokio::test]
    async fn a_change_reaches_every_route_and_subscriber_as_one_shared_allocation() {
        let hub = Arc::new(Hub::default());
        let (mut department, mut again, mut own) = (
            hub.subscribe("box:dept:sales"),
            hub.subscribe("box:dept:sales"),
            hub.subscribe("box:emp:kim"),
        );
        hub.route(document(1));
        let mut received = Vec::new();
        for route in [&mut department, &mut again, &mut own] {
            match route.recv().await {
                Ok(Routed::Change(arrived)) => received.push(arrived),
                other => panic!("{other:?}"),
            }
        }
        assert!(received.windows(2).all(|two| Arc::ptr_eq(&two[0], &two[1])));
    }

    /// A person's route holds few changes for a subscriber that has not taken them (it
    /// resynchronises past them) and a department's holds many.
    #[tokio::test]
    async fn a_persons_route_holds_few_changes_and_a_shared_route_many() {
        let hub = Arc::new(Hub::default());
        let (mut department, mut own) = (hub.subscribe("box:dept:sales"), hub.subscribe("box:emp:kim"));
        for n in 0..100 {
            hub.route(document(n));
        }
        assert!(matches!(own.recv().await, Err(RecvError::Lagged(84))));
        for n in 0..100 {
            match department.recv().await {
                Ok(Routed::Change(arrived)) => {
                    assert!(matches!(arrived.change, Change::Document { version, .. } if version == n))
                }
                other => panic!("change {n}: {other:?}"),
            }
        }
    }

    /// A bus that may lose changes (Redis restarted under it) says so; every route then
    /// resynchronises instead of going on as if nothing was missed.
    #[tokio::test]
    async fn an_interrupted_bus_makes_every_route_resynchronise() {
        struct Interrupting {
            local: LocalBus,
            interrupted: tokio::sync::watch::Sender<u64>,
        }
        #[async_trait::async_trait]
        impl ChangeBus for Interrupting {
            async fn publish(&self, changes: &[Change]) -> Result<(), infra::bus::BusError> {
                self.local.publish(changes).await
            }
            fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
                self.local.subscribe()
            }
            fn interruptions(&self) -> tokio::sync::watch::Receiver<u64> {
                self.interrupted.subscribe()
            }
        }
        let interrupted = tokio::sync::watch::channel(0).0;
        let bus: Arc<dyn ChangeBus> = Arc::new(Interrupting {
            local: LocalBus::default(),
            interrupted: interrupted.clone(),
        });
        let hub = Hub::start(&bus);
        let mut feed = hub.subscribe("feed:a");
        let mut doc = hub.subscribe("doc:b");
        interrupted.send_modify(|n| *n += 1);
        for route in [&mut feed, &mut doc] {
            let routed = tokio::time::timeout(std::time::Duration::from_secs(5), route.recv()).await;
            assert!(matches!(routed, Ok(Ok(Routed::Missed(_)))), "{routed:?}");
        }
    }
}
