//! Per-recipient routing inside one notifier instance.
//!
//! One task reads the change bus and hands each change only to the subscriptions that care:
//! by feed recipient (`feed:<employee>`), by inbox principal (`box:emp:…`, `box:dept:…`) and by
//! document (`doc:<id>`). The work per change is proportional to its recipients, not to the
//! connections held — with 10,000 connections, a change for one drafter wakes that drafter's
//! subscriptions only.

use infra::bus::{Change, ChangeBus};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

/// Changes a route holds for a slow subscriber before it must resynchronise.
const ROUTE_RING: usize = 256;

/// What a route carries: a change, or notice that the hub itself fell behind the bus and
/// changes were lost for every route.
#[derive(Debug, Clone)]
pub enum Routed {
    Change(Box<Change>),
    Missed(u64),
}

/// The routes of one notifier instance.
#[derive(Debug, Default)]
pub struct Hub {
    routes: Mutex<HashMap<String, broadcast::Sender<Routed>>>,
}

impl Hub {
    /// Starts routing what `bus` carries.
    pub fn start(bus: &Arc<dyn ChangeBus>) -> Arc<Hub> {
        let hub = Arc::new(Hub::default());
        let mut changes = bus.subscribe();
        let routing = hub.clone();
        tokio::spawn(async move {
            loop {
                match changes.recv().await {
                    Ok(change) => routing.route(change),
                    Err(RecvError::Lagged(missed)) => routing.everyone(Routed::Missed(missed)),
                    Err(RecvError::Closed) => return,
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
        }
    }

    fn route(&self, change: Change) {
        let keys = Self::keys(&change);
        let routed = Routed::Change(Box::new(change));
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

    /// A receiver of everything routed under `key` from now on.
    pub fn subscribe(&self, key: &str) -> broadcast::Receiver<Routed> {
        let mut routes = self.routes.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        routes
            .entry(key.to_owned())
            .or_insert_with(|| broadcast::channel(ROUTE_RING).0)
            .subscribe()
    }
}
