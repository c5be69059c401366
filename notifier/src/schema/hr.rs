//! `hrChanged`: HR records as they change, each passed by the query API's rules for the
//! viewer as they are now. A department head's departments are read again every
//! [`HEADSHIP_TTL`]; one change heard on several of the viewer's routes is delivered once.

use super::delivery::{captured, delivered};
use super::routing::{from_routes, internal, principal, Routes, Sources};
use super::types::HrChange;
use async_graphql::Context;
use futures::stream::{self, BoxStream, StreamExt};
use infra::bus::Change;
use infra::readmodel::sql::SqlReadModel;
use query_api::HrTopic;
use std::collections::HashSet;
use std::sync::Arc;

/// The departments a subscriber heads (with those under them), read again when older than
/// [`HEADSHIP_TTL`]: a head replaced stops hearing the department's attendance within it.
struct Headship {
    departments: HashSet<String>,
    read_at: std::time::Instant,
}

/// How long a subscriber's headship is trusted before it is read again.
const HEADSHIP_TTL: std::time::Duration = std::time::Duration::from_secs(5);

impl Headship {
    async fn read(org: &SqlReadModel, me: &str) -> Result<Self, infra::readmodel::StoreError> {
        Ok(Self {
            departments: org.headed_departments(me).await?,
            read_at: std::time::Instant::now(),
        })
    }

    fn departments(&self) -> &HashSet<String> {
        &self.departments
    }

    /// Reads the headship again if it is stale; on a failed read, it counts as none.
    async fn refresh(&mut self, org: &SqlReadModel, me: &str) {
        if self.read_at.elapsed() < HEADSHIP_TTL {
            return;
        }
        *self = Self::read(org, me).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "headship re-read failed; hearing no department for now");
            Self {
                departments: HashSet::new(),
                read_at: std::time::Instant::now(),
            }
        });
    }
}

/// The positions of the last few changes a subscription delivered (routes interleave, so a
/// change on two routes need not arrive back to back).
#[derive(Default)]
struct Recent(std::collections::VecDeque<String>);

impl Recent {
    /// Whether `position` is new; remembers it.
    fn first(&mut self, position: &str) -> bool {
        if self.0.iter().any(|p| p == position) {
            return false;
        }
        if self.0.len() == 64 {
            self.0.pop_front();
        }
        self.0.push_back(position.to_owned());
        true
    }
}

/// The stream behind `hrChanged` (its docs are the field's); with `resync_at_open`, a resync
/// comes first, once the routes are in place.
pub(super) async fn changed(
    ctx: &Context<'_>,
    topics: Option<Vec<HrTopic>>,
    resync_at_open: bool,
) -> async_graphql::Result<BoxStream<'static, HrChange>> {
    if let Some(item) = delivered(ctx) {
        return Ok(item);
    }
    let (principal, subscriber) = principal(ctx)?;
    let sources = ctx.data_unchecked::<Sources>();
    let hub = ctx.data_unchecked::<Routes>();
    let me = subscriber.actor.id.to_string();
    let headed = Box::pin(Headship::read(&sources.org, &me)).await.map_err(internal)?;
    let everyone = subscriber.actor.reads_every_hr_record();
    let receivers = std::iter::once(format!("hr:emp:{me}"))
        .chain(headed.departments().iter().map(|d| format!("hr:dept:{d}")))
        .chain(everyone.then(|| crate::hub::HR_EVERYONE.to_owned()))
        .map(|key| hub.subscribe(&key))
        .collect();
    let headed = Arc::new(tokio::sync::Mutex::new(headed));
    let (org, seen) = (sources.org.clone(), Arc::new(std::sync::Mutex::new(Recent::default())));
    let items = from_routes(
        ctx,
        receivers,
        |_| HrChange::lagged(),
        move |arrived| {
            let (principal, me, org, headed, seen) =
                (principal.clone(), me.clone(), org.clone(), headed.clone(), seen.clone());
            let topics = topics.clone();
            Box::pin(async move {
                let Change::Hr {
                    topic,
                    stream,
                    version,
                    events,
                    people,
                    owner,
                    departments,
                    position,
                    correlation_id,
                    trace_id,
                    ..
                } = &arrived.change
                else {
                    return None;
                };
                let topic = HrTopic::from_stored(topic)?;
                if topics.as_ref().is_some_and(|t| !t.contains(&topic)) {
                    return None;
                }
                // One change may arrive on several of the viewer's routes: once is enough.
                if !seen.lock().unwrap_or_else(|p| p.into_inner()).first(position) {
                    return None;
                }
                // Decided on the viewer as they are now: a lost role, a head replaced.
                let now = principal.now()?;
                let sees_all = now.actor.reads_every_hr_record()
                    || owner.as_deref() == Some(me.as_str())
                    || (topic == HrTopic::Attendance && {
                        let mut headed = headed.lock().await;
                        headed.refresh(&org, &me).await;
                        departments.iter().any(|d| headed.departments().contains(d))
                    });
                let employee_ids = if sees_all {
                    people.clone()
                } else if people.contains(&me) {
                    vec![me]
                } else {
                    return None;
                };
                Some(HrChange {
                    resync: false,
                    topic: Some(topic),
                    stream: Some(stream.clone()),
                    version: Some(*version),
                    events: events.clone(),
                    employee_ids,
                    position: Some(position.clone()),
                    correlation_id: Some(correlation_id.clone()),
                    trace_id: trace_id.clone(),
                })
            })
        },
    );
    let first = resync_at_open.then(HrChange::lagged);
    Ok(captured(ctx, stream::iter(first).chain(items).boxed()))
}
