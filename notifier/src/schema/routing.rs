//! What every subscription field shares: the sources it reads, the per-instance routes, the
//! connection's principal, and [`from_routes`], which turns the hub's routes into a stream
//! of items with a resync in place of anything a slow subscriber missed. A leaf below the
//! subscription root (`schema.rs`) and its field modules, so neither imports the other.

use crate::hub::{Arrived, Hub, Route, Routed};
use crate::push_trace::PushCause;
use crate::sessions::{Principal, Subscriber};
use async_graphql::Context;
use futures::stream::{self, BoxStream, StreamExt};
use infra::bus::ChangeBus;
use infra::readmodel::sql::SqlReadModel;
use infra::readmodel::ApprovalViews;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// What subscriptions read from.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // trait objects
pub struct Sources {
    pub bus: Arc<dyn ChangeBus>,
    pub views: Arc<dyn ApprovalViews>,
    /// The employee read model: who is signed in, who heads what, and the HR notices.
    pub org: SqlReadModel,
}

impl Sources {
    /// Readiness: the bus the changes arrive on answers.
    pub async fn ready(&self) -> Result<(), String> {
        self.bus.ping().await.map_err(|e| e.to_string())
    }
}

/// The per-instance routes, built from `Sources::bus` when the schema is.
pub(crate) type Routes = Arc<Hub>;

/// When the change behind a subscription's latest item arrived on the bus: set as the item
/// is picked, taken as its message is queued for the socket (request data of one
/// subscription; items replayed from the store leave it empty).
#[derive(Debug, Clone, Default)]
pub(crate) struct PushClock(Arc<std::sync::Mutex<Option<std::time::Instant>>>);

impl PushClock {
    fn set(&self, arrived: std::time::Instant) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(arrived);
    }

    pub(crate) fn take(&self) -> Option<std::time::Instant> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// One resync item sent in place of what a subscriber missed.
pub(super) fn count_resync() {
    metrics::counter!("erp_notifier_resyncs_total").increment(1);
}

pub(super) fn coded(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    use async_graphql::ErrorExtensions;
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
}

/// A store failure: logged, and told the client without the store's words.
pub(super) fn internal(cause: impl std::fmt::Display) -> async_graphql::Error {
    tracing::error!(%cause, "read model failed");
    coded("INTERNAL", "internal error; try again later")
}

/// The connection's live principal and who it is now.
pub(super) fn principal(ctx: &Context<'_>) -> async_graphql::Result<(Principal, Subscriber)> {
    let principal = ctx
        .data_opt::<Principal>()
        .ok_or_else(|| coded("UNAUTHENTICATED", "no authenticated connection"))?;
    let now = principal
        .now()
        .ok_or_else(|| coded("UNAUTHENTICATED", "no longer an active employee"))?;
    Ok((principal.clone(), now))
}

/// Turns routes of the hub into a stream of `T`: `pick` maps a change (shared with every
/// other subscriber it reaches: borrowed, not copied) to zero or one item,
/// and a lag (here or in the hub) becomes one `resync` item instead of a silent gap.
pub(super) fn from_routes<T: Send + 'static>(
    ctx: &Context<'_>,
    receivers: Vec<Route>,
    resync: impl Fn(u64) -> T + Send + Sync + 'static,
    pick: impl Fn(Arc<Arrived>) -> futures::future::BoxFuture<'static, Option<T>> + Send + Sync + 'static,
) -> BoxStream<'static, T> {
    let clock = ctx.data_opt::<PushClock>().cloned();
    let (resync, pick) = (Arc::new(resync), Arc::new(pick));
    let mut streams = receivers.into_iter().map(move |receiver| {
        let state = (receiver, resync.clone(), pick.clone(), clock.clone());
        stream::unfold(state, |(mut receiver, resync, pick, clock)| async move {
            loop {
                let received = receiver.recv().await;
                if matches!(received, Err(RecvError::Lagged(_))) {
                    // This subscriber's route ring overflowed (the hub counts its own).
                    metrics::counter!("erp_notifier_overflow_total").increment(1);
                }
                match received {
                    Ok(Routed::Change(arrived)) => {
                        let (cause, at) = (PushCause::of(&arrived.change), arrived.at);
                        if let Some(item) = pick(arrived).await {
                            if let Some(cause) = cause {
                                cause.traced();
                            }
                            if let Some(clock) = &clock {
                                clock.set(at);
                            }
                            return Some((item, (receiver, resync, pick, clock)));
                        }
                    }
                    Ok(Routed::Missed(missed)) | Err(RecvError::Lagged(missed)) => {
                        tracing::info!(missed, "subscriber fell behind; sending resync");
                        count_resync();
                        return Some((resync(missed), (receiver, resync, pick, clock)));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        })
        .boxed()
    });
    // Most subscriptions hear one route: they skip the merge and what it allocates.
    match (streams.next(), streams.len()) {
        (Some(only), 0) => only,
        (first, _) => stream::select_all(first.into_iter().chain(streams)).boxed(),
    }
}
