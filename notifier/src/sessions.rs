//! Who is connected to this instance, and whether they still may be.
//!
//! The token is checked once, at `connection_init`; what the employee may see changes under
//! an open connection — a delegation is revoked, a role taken away, the employee deactivated.
//! So every connection of one employee shares one live [`Principal`], and a task re-reads the
//! org read model for everyone connected every `recheck` (a query per 500 of them for their
//! records, and as many for their delegations): such a change reaches open connections within that
//! interval, not at token expiry. A deactivated employee's principal becomes `None` and their
//! connections are closed; subscriptions follow the principal as it is now (`schema.rs`).
//!
//! Connections per employee are bounded here too (per instance).

use domain::ids::EmployeeId;
use infra::auth::{Authenticator, SignInError};
use infra::readmodel::sql::SqlReadModel;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

/// The connection's employee, as last read from the org read model: the one sign-in path's
/// principal. What they see is [`Subscriber::sees`], the query API's rule.
pub type Subscriber = infra::auth::Principal;

/// The employee a connection runs as, kept current: `None` once they may no longer connect.
///
/// Every connection of one employee shares one; a `tokio::sync::watch` did this before at
/// about 0.4 KiB an employee (its state carries nine `Notify`s), for a value that changes
/// only when someone is deactivated or a delegation or role moves.
#[derive(Debug, Clone)]
pub struct Principal {
    shared: Arc<Shared>,
    /// The version this handle last saw.
    seen: u64,
}

/// The principal of one employee's connections and the wake-up for its changes.
#[derive(Debug, Default)]
struct Shared {
    current: Mutex<Current>,
    changed: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct Current {
    subscriber: Option<Subscriber>,
    /// Counts changes; each [`Principal`] remembers the one it last saw.
    version: u64,
    /// The session is gone: no change will come.
    ended: bool,
}

impl Shared {
    fn current(&self) -> MutexGuard<'_, Current> {
        self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Principal {
    /// The principal as last checked.
    pub fn now(&self) -> Option<Subscriber> {
        self.shared.current().subscriber.clone()
    }

    /// Waits until the principal changes; false when it never will again.
    pub async fn changed(&mut self) -> bool {
        let (shared, seen) = (&self.shared, &mut self.seen);
        crate::ring::until(&shared.changed, || {
            let current = shared.current();
            if current.version != *seen {
                *seen = current.version;
                return Some(true);
            }
            current.ended.then_some(false)
        })
        .await
    }

    /// A principal that changes only through the returned publisher (tests).
    #[cfg(test)]
    pub fn fixed(subscriber: Subscriber) -> (Publisher, Self) {
        let publisher = Publisher::default();
        publisher.set(Some(subscriber));
        let principal = publisher.subscribe();
        (publisher, principal)
    }
}

/// A session's side of its employee's [`Principal`]: it publishes what a recheck found, and
/// dropping it tells every waiting connection that no change will come.
#[derive(Debug, Default)]
pub struct Publisher(Arc<Shared>);

impl Publisher {
    /// A handle that has seen the principal as it is now.
    fn subscribe(&self) -> Principal {
        Principal {
            shared: self.0.clone(),
            seen: self.0.current().version,
        }
    }

    /// Publishes `now` to the employee's connections if it differs from what they have.
    fn set(&self, now: Option<Subscriber>) {
        {
            let mut current = self.0.current();
            if current.subscriber == now {
                return;
            }
            current.subscriber = now;
            current.version += 1;
        }
        self.0.changed.notify_waiters();
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.0.current().ended = true;
        self.0.changed.notify_waiters();
    }
}

/// Employee `n` (a UUID of that number), with no roles beyond employee and no delegations
/// (tests).
#[cfg(test)]
pub fn plain_employee(n: u128) -> Subscriber {
    Subscriber {
        actor: domain::actor::Actor::employee(EmployeeId(uuid::Uuid::from_u128(n))),
        delegations: Vec::new(),
        detail: (),
    }
}

/// The connected employees of one instance.
#[derive(Debug)]
pub struct Sessions {
    signin: Arc<Authenticator<SqlReadModel>>,
    per_user: usize,
    users: Mutex<HashMap<EmployeeId, Session>>,
    /// Joins so far: each join marks its session with the count, so a recheck can tell a
    /// session that (re)joined while it read.
    joins: std::sync::atomic::AtomicU64,
}

#[derive(Debug)]
struct Session {
    connections: usize,
    principal: Publisher,
    /// The mark of its latest join.
    joined: u64,
}

/// One connection's place; dropping it frees the place.
#[derive(Debug)]
pub struct Seat {
    sessions: Arc<Sessions>,
    user: EmployeeId,
    pub principal: Principal,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut users = self.sessions.users();
        if let Some(session) = users.get_mut(&self.user) {
            session.connections -= 1;
            if session.connections == 0 {
                users.remove(&self.user);
            }
        }
    }
}

impl Sessions {
    /// Sessions of at most `per_user` connections per employee, rechecked every `recheck`
    /// for as long as they exist.
    pub fn start(signin: Arc<Authenticator<SqlReadModel>>, per_user: usize, recheck: Duration) -> Arc<Self> {
        let sessions = Arc::new(Self {
            signin,
            per_user: per_user.max(1),
            users: Mutex::default(),
            joins: Default::default(),
        });
        let weak: Weak<Self> = Arc::downgrade(&sessions);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(recheck);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(sessions) = weak.upgrade() else { return };
                sessions.recheck().await;
            }
        });
        sessions
    }

    fn users(&self) -> MutexGuard<'_, HashMap<EmployeeId, Session>> {
        self.users.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The active employees among `ids` as the read model has them now, with the delegations
    /// open to them; inactive and unknown ones are left out.
    pub async fn lookup(&self, ids: &[EmployeeId]) -> Result<HashMap<EmployeeId, Subscriber>, SignInError> {
        Ok(self
            .signin
            .principals(ids)
            .await?
            .into_iter()
            .map(|(id, principal)| (id, principal.map_detail(|_| ())))
            .collect())
    }

    /// A place for one more connection of `subscriber`, or `None` past the bound.
    pub fn join(self: &Arc<Self>, subscriber: Subscriber) -> Option<Seat> {
        let user = subscriber.actor.id;
        let mut users = self.users();
        let session = users.entry(user).or_insert_with(|| Session {
            connections: 0,
            principal: Publisher::default(),
            joined: 0,
        });
        if session.connections >= self.per_user {
            return None;
        }
        session.connections += 1;
        session.joined = self.joins.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        // Just authenticated: the freshest view of them there is.
        session.principal.set(Some(subscriber));
        let principal = session.principal.subscribe();
        Some(Seat {
            sessions: self.clone(),
            user,
            principal,
        })
    }

    /// Re-reads every connected employee and tells their connections what changed.
    async fn recheck(&self) {
        let asked = self.asked();
        if asked.is_empty() {
            return;
        }
        let ids: Vec<EmployeeId> = asked.iter().map(|(id, _)| *id).collect();
        let found = match self.lookup(&ids).await {
            Ok(found) => found,
            Err(e) => {
                // A passing store failure must not disconnect everyone: try again next time.
                tracing::warn!(error = %e, "recheck of connected employees failed");
                return;
            }
        };
        self.apply(&asked, &found);
    }

    /// Tells the connections of the employees `asked` about (with their sessions' join marks
    /// then) what the lookup `found` of them. An employee who connected while the lookup ran,
    /// first or again, signed in after it began: what it found, or its not finding them, is
    /// older than their sign-in and must not read as a deactivation, so they keep the
    /// principal they signed in with until the next recheck.
    fn apply(&self, asked: &[(EmployeeId, u64)], found: &HashMap<EmployeeId, Subscriber>) {
        let users = self.users();
        for (id, joined) in asked {
            if let Some(session) = users.get(id).filter(|s| s.joined == *joined) {
                session.principal.set(found.get(id).cloned());
            }
        }
    }

    /// The connected employees with their sessions' join marks, as a recheck asks about them.
    fn asked(&self) -> Vec<(EmployeeId, u64)> {
        self.users().iter().map(|(id, s)| (*id, s.joined)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra::auth::LocalSigner;

    async fn sessions() -> (Arc<Sessions>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("read.db").display());
        let org = SqlReadModel::connect(&url).await.expect("sqlite");
        let verifier = LocalSigner::from_seed(&[7; 32], "erp", "erp-api").verifier();
        let signin = Arc::new(Authenticator::new(verifier, org));
        (Sessions::start(signin, 20, Duration::from_secs(3600)), dir)
    }

    #[tokio::test]
    async fn an_employee_who_connects_while_a_recheck_reads_keeps_their_connection() {
        let (sessions, _dir) = sessions().await;
        let earlier = sessions.join(plain_employee(1)).expect("a seat");
        // The recheck's lookup starts with employee 1 only; employee 2 connects meanwhile.
        let asked = sessions.asked();
        let later = sessions.join(plain_employee(2)).expect("a seat");
        sessions.apply(
            &asked,
            &HashMap::from([(plain_employee(1).actor.id, plain_employee(1))]),
        );
        assert!(later.principal.now().is_some(), "not asked about, so not deactivated");
        assert!(earlier.principal.now().is_some());
        // Asked about and not found: deactivated.
        sessions.apply(&asked, &HashMap::new());
        assert!(earlier.principal.now().is_none());
        assert!(later.principal.now().is_some());
    }

    #[tokio::test]
    async fn an_employee_who_connects_again_while_a_recheck_reads_keeps_their_connection() {
        let (sessions, _dir) = sessions().await;
        let first = sessions.join(plain_employee(1)).expect("a seat");
        // Asked about while inactive (not found); they are reactivated and connect again
        // before the answer comes.
        let asked = sessions.asked();
        let second = sessions.join(plain_employee(1)).expect("a seat");
        sessions.apply(&asked, &HashMap::new());
        assert!(
            second.principal.now().is_some(),
            "their sign-in is newer than the lookup"
        );
        assert!(first.principal.now().is_some());
        // The next recheck asks about them as they are now.
        let asked = sessions.asked();
        sessions.apply(&asked, &HashMap::new());
        assert!(second.principal.now().is_none());
    }

    #[tokio::test]
    async fn a_change_wakes_every_connection_of_the_employee_and_an_ended_session_says_so() {
        use std::time::Duration;
        let soon = Duration::from_millis(100);
        let (publisher, mut first) = Principal::fixed(plain_employee(1));
        let mut second = first.clone();
        // Nothing changed yet: nobody wakes, and publishing the same principal again is no change.
        publisher.set(Some(plain_employee(1)));
        assert!(tokio::time::timeout(soon, first.changed()).await.is_err());
        // A change made while nobody waits is still seen by each handle, once.
        publisher.set(None);
        let waiting = tokio::spawn(async move { (second.changed().await, second.now()) });
        assert!(first.changed().await);
        assert_eq!(first.now(), None);
        assert_eq!(waiting.await.expect("joined"), (true, None));
        assert!(tokio::time::timeout(soon, first.changed()).await.is_err());
        // A change while waiting wakes the waiter.
        let mut third = first.clone();
        let waiter = tokio::spawn(async move { third.changed().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        publisher.set(Some(plain_employee(1)));
        assert!(waiter.await.expect("joined"));
        // The session ends: every waiting handle hears that no change will come.
        assert!(first.changed().await);
        let waiter = tokio::spawn(async move { first.changed().await });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(publisher);
        assert!(!tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .expect("joined"));
    }
}
