//! The one sign-in path: bearer token → verified claims → the employee as their records have
//! them now → refused unless active → the delegations they act under.
//!
//! A token proves only who someone was when it was issued; roles, department and whether the
//! employee may still act come from their current record, so a deactivation or a lost role
//! takes effect at once instead of at token expiry. The command API, the query API and the
//! notifier used to write this sequence each for themselves, with small differences in what
//! they checked; now each asks [`Authenticator`] and only puts the typed [`SignInError`] on
//! its own wire.

use super::token::{bearer_token, Claims, Verifier};
use crate::kept::KeptReads;
use crate::readmodel::queries::{DelegationRecord, EmployeeRecord};
use crate::readmodel::sql::SqlReadModel;
use chrono::{DateTime, Utc};
use domain::approval::ApprovalDocument;
use domain::ids::EmployeeId;
use domain::org::Delegation;
use domain::Actor;
use std::collections::HashMap;
use std::future::Future;

/// Why nobody is signed in. Each edge maps these to its wire form; none of them says more
/// than the message here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// No proof of identity that holds: no token, not a bearer token, a token that does not
    /// verify, or one naming nobody registered.
    #[error("{0}")]
    Unauthenticated(String),
    /// A registered employee who may no longer act.
    #[error("this employee is deactivated")]
    Inactive,
    /// The employee could not be looked up (the log or the read model failed): try again.
    /// The cause is for the server's log, not for the client.
    #[error("sign-in unavailable: {0}")]
    Unavailable(String),
}

impl SignInError {
    fn unauthenticated(message: impl Into<String>) -> Self {
        Self::Unauthenticated(message.into())
    }
}

/// An employee as a source of [`Accounts`] has them now.
#[derive(Debug, Clone)]
pub struct Account<D> {
    pub actor: Actor,
    pub active: bool,
    /// What else the source knows and its callers show (a name, the whole record).
    pub detail: D,
}

/// Where employees are read from: their own streams on the command side, the org read model
/// on the read side.
pub trait Accounts: Send + Sync {
    /// Kept in the [`Principal`] for the edge's own use.
    type Detail: Clone + Send + Sync + 'static;

    /// The registered employees among `ids` (unknown ones are left out), active or not.
    fn accounts(
        &self,
        ids: &[EmployeeId],
    ) -> impl Future<Output = Result<Vec<Account<Self::Detail>>, SignInError>> + Send;

    /// The delegations open at `now` that name each of `proxies` their proxy (대결자), by
    /// proxy (one with none may be left out): asked for many at once, so that re-reading every
    /// connected employee costs a query per chunk of them, not one each. A source that does
    /// not follow delegations answers none: the command side, where a 대결 names its
    /// delegation and the document checks it.
    fn delegations(
        &self,
        proxies: &[EmployeeId],
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<HashMap<EmployeeId, Vec<Delegation>>, SignInError>> + Send {
        let _ = (proxies, now);
        async { Ok(HashMap::new()) }
    }

    /// A number that changes whenever what this source answers may have changed, when the
    /// source can tell: signed-in employees are then kept for a moment
    /// ([`crate::kept`]). `None`, the default: every sign-in reads the source.
    fn generation(&self) -> Option<u64> {
        None
    }
}

/// A signed-in, active employee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal<D = ()> {
    /// Id, current roles and department.
    pub actor: Actor,
    /// The delegations open now that let them take someone's seat as proxy (대결).
    pub delegations: Vec<Delegation>,
    pub detail: D,
}

impl<D> Principal<D> {
    /// Whether this employee may see `doc`: the one visibility rule of the read side
    /// (queries and live updates alike), [`ApprovalDocument::visible_to_signed_in`].
    pub fn sees(&self, doc: &ApprovalDocument) -> bool {
        doc.visible_to_signed_in(&self.actor, &self.acting_for())
    }

    /// Whose seats they may take as proxy now.
    pub fn acting_for(&self) -> Vec<EmployeeId> {
        self.delegations.iter().filter_map(|d| d.principal).collect()
    }

    /// The same principal with other detail.
    pub fn map_detail<E>(self, f: impl FnOnce(D) -> E) -> Principal<E> {
        Principal {
            actor: self.actor,
            delegations: self.delegations,
            detail: f(self.detail),
        }
    }
}

/// The token of an `Authorization` header value, or why there is none.
pub fn bearer(header: Option<&str>) -> Result<&str, SignInError> {
    let header = header.ok_or_else(|| SignInError::unauthenticated("missing bearer token"))?;
    bearer_token(header).ok_or_else(|| SignInError::unauthenticated("expected `Authorization: Bearer <token>`"))
}

/// Verifies tokens and signs employees in (see the module docs).
#[derive(Debug)]
pub struct Authenticator<A: Accounts> {
    verifier: Verifier,
    accounts: A,
    viewers: KeptReads<EmployeeId, Principal<A::Detail>>,
}

impl<A: Accounts> Authenticator<A> {
    pub fn new(verifier: Verifier, accounts: A) -> Self {
        Self {
            verifier,
            accounts,
            viewers: KeptReads::default(),
        }
    }

    pub fn accounts(&self) -> &A {
        &self.accounts
    }

    /// The claims of a genuine token (its employee not looked up yet).
    pub async fn verify(&self, token: &str) -> Result<Claims, SignInError> {
        self.verifier
            .verify(token.trim())
            .await
            .map_err(|e| SignInError::unauthenticated(e.to_string()))
    }

    /// Signs in the bearer of an `Authorization` header value.
    pub async fn sign_in_header(&self, header: Option<&str>) -> Result<Principal<A::Detail>, SignInError> {
        self.sign_in(bearer(header)?).await
    }

    /// Signs in the holder of `token`.
    pub async fn sign_in(&self, token: &str) -> Result<Principal<A::Detail>, SignInError> {
        let claims = self.verify(token).await?;
        self.principal(&claims).await
    }

    /// Signs in the subject of claims already verified.
    pub async fn principal(&self, claims: &Claims) -> Result<Principal<A::Detail>, SignInError> {
        let id: EmployeeId = claims
            .sub
            .parse()
            .map_err(|_| SignInError::unauthenticated("token subject is not an employee id"))?;
        // Read before the lookup: a write that lands meanwhile leaves the entry stale-marked.
        let generation = self.accounts.generation();
        if let Some(kept) = generation.and_then(|g| self.viewers.get(&id, g)) {
            return Ok(kept);
        }
        let account = self
            .accounts
            .accounts(&[id])
            .await?
            .into_iter()
            .find(|a| a.actor.id == id)
            .ok_or_else(|| SignInError::unauthenticated("token subject is not a registered employee"))?;
        if !account.active {
            return Err(SignInError::Inactive);
        }
        let principal = self.complete(account, Utc::now()).await?;
        if let Some(generation) = generation {
            self.viewers.put(id, &principal, generation);
        }
        Ok(principal)
    }

    /// The employees among `ids` who may still act, as principals: what a long-lived session
    /// checks again now and then. Unknown and deactivated ones are left out.
    pub async fn principals(
        &self,
        ids: &[EmployeeId],
    ) -> Result<HashMap<EmployeeId, Principal<A::Detail>>, SignInError> {
        let active: Vec<Account<A::Detail>> = self
            .accounts
            .accounts(ids)
            .await?
            .into_iter()
            .filter(|account| account.active)
            .collect();
        let proxies: Vec<EmployeeId> = active.iter().map(|account| account.actor.id).collect();
        let mut delegations = self.accounts.delegations(&proxies, Utc::now()).await?;
        Ok(active
            .into_iter()
            .map(|account| {
                let id = account.actor.id;
                (id, principal(account, delegations.remove(&id).unwrap_or_default()))
            })
            .collect())
    }

    async fn complete(
        &self,
        account: Account<A::Detail>,
        now: DateTime<Utc>,
    ) -> Result<Principal<A::Detail>, SignInError> {
        let id = account.actor.id;
        let mut delegations = self.accounts.delegations(&[id], now).await?;
        Ok(principal(account, delegations.remove(&id).unwrap_or_default()))
    }
}

fn principal<D>(account: Account<D>, delegations: Vec<Delegation>) -> Principal<D> {
    Principal {
        actor: account.actor,
        delegations,
        detail: account.detail,
    }
}

/// The org read model as the read side's source: the employee's row, and the delegations
/// open to them.
impl Accounts for SqlReadModel {
    type Detail = EmployeeRecord;

    fn generation(&self) -> Option<u64> {
        Some(self.writes_committed())
    }

    async fn accounts(&self, ids: &[EmployeeId]) -> Result<Vec<Account<EmployeeRecord>>, SignInError> {
        // The store asks in chunks of a few hundred ids.
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        let records = self.employees_by_ids(&ids).await.map_err(unavailable)?;
        Ok(records
            .into_iter()
            .filter_map(|record| {
                Some(Account {
                    actor: record.actor()?,
                    active: record.active,
                    detail: record,
                })
            })
            .collect())
    }

    async fn delegations(
        &self,
        proxies: &[EmployeeId],
        now: DateTime<Utc>,
    ) -> Result<HashMap<EmployeeId, Vec<Delegation>>, SignInError> {
        let proxies: Vec<String> = proxies.iter().map(ToString::to_string).collect();
        let mut found: HashMap<EmployeeId, Vec<Delegation>> = HashMap::new();
        let records = self.open_delegations_to(&proxies, now).await.map_err(unavailable)?;
        for delegation in records.iter().filter_map(DelegationRecord::to_domain) {
            if let Some(proxy) = delegation.proxy {
                found.entry(proxy).or_default().push(delegation);
            }
        }
        Ok(found)
    }
}

fn unavailable(e: impl std::fmt::Display) -> SignInError {
    SignInError::Unavailable(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::LocalSigner;
    use std::sync::Mutex;

    /// Accounts from a fixed list; `down` makes every lookup fail.
    #[derive(Default)]
    struct Fixed {
        accounts: Vec<Account<String>>,
        delegations: Vec<Delegation>,
        down: bool,
        looked_up: Mutex<usize>,
        delegations_looked_up: Mutex<usize>,
        /// Set: the source tells when it changed, and sign-ins are kept meanwhile.
        generation: Option<std::sync::atomic::AtomicU64>,
    }

    impl Accounts for Fixed {
        type Detail = String;

        async fn accounts(&self, ids: &[EmployeeId]) -> Result<Vec<Account<String>>, SignInError> {
            *self.looked_up.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            if self.down {
                return Err(SignInError::Unavailable("store down".into()));
            }
            Ok(self
                .accounts
                .iter()
                .filter(|a| ids.contains(&a.actor.id))
                .cloned()
                .collect())
        }

        async fn delegations(
            &self,
            proxies: &[EmployeeId],
            _: DateTime<Utc>,
        ) -> Result<HashMap<EmployeeId, Vec<Delegation>>, SignInError> {
            *self.delegations_looked_up.lock().unwrap_or_else(|p| p.into_inner()) += 1;
            Ok(proxies.iter().map(|p| (*p, self.delegations.clone())).collect())
        }

        fn generation(&self) -> Option<u64> {
            self.generation
                .as_ref()
                .map(|g| g.load(std::sync::atomic::Ordering::Acquire))
        }
    }

    impl Fixed {
        fn lookups(&self) -> usize {
            *self.looked_up.lock().unwrap_or_else(|p| p.into_inner())
        }
    }

    fn employee(n: u128, active: bool) -> Account<String> {
        Account {
            actor: Actor::employee(EmployeeId(uuid::Uuid::from_u128(n))),
            active,
            detail: format!("employee {n}"),
        }
    }

    fn signer() -> LocalSigner {
        LocalSigner::from_seed(&[7; 32], "erp", "erp-api")
    }

    fn token(signer: &LocalSigner, subject: &str) -> String {
        signer.sign(subject, None, Utc::now(), std::time::Duration::from_secs(60))
    }

    fn authenticator(accounts: Fixed) -> (LocalSigner, Authenticator<Fixed>) {
        let signer = signer();
        let auth = Authenticator::new(signer.verifier(), accounts);
        (signer, auth)
    }

    #[tokio::test]
    async fn an_active_employee_signs_in_with_the_delegations_they_act_under() {
        let principal_of = EmployeeId(uuid::Uuid::from_u128(9));
        let (signer, auth) = authenticator(Fixed {
            accounts: vec![employee(1, true)],
            delegations: vec![Delegation {
                principal: Some(principal_of),
                ..Delegation::default()
            }],
            ..Fixed::default()
        });
        let me = EmployeeId(uuid::Uuid::from_u128(1));
        let principal = auth
            .sign_in_header(Some(&format!("Bearer {}", token(&signer, &me.to_string()))))
            .await
            .expect("signed in");
        assert_eq!(principal.actor.id, me);
        assert_eq!(principal.acting_for(), vec![principal_of]);
        assert_eq!(principal.detail, "employee 1");
    }

    #[tokio::test]
    async fn each_refusal_has_its_kind() {
        let (signer, auth) = authenticator(Fixed {
            accounts: vec![employee(1, true), employee(2, false)],
            ..Fixed::default()
        });
        let unauthenticated = |r: Result<Principal<String>, SignInError>| {
            assert!(matches!(r, Err(SignInError::Unauthenticated(_))), "{r:?}");
        };
        unauthenticated(auth.sign_in_header(None).await);
        unauthenticated(auth.sign_in_header(Some("Basic abc")).await);
        unauthenticated(auth.sign_in("not.a.token").await);
        unauthenticated(auth.sign_in(&token(&signer, "not-a-uuid")).await);
        let stranger = EmployeeId(uuid::Uuid::from_u128(3)).to_string();
        unauthenticated(auth.sign_in(&token(&signer, &stranger)).await);
        let deactivated = EmployeeId(uuid::Uuid::from_u128(2)).to_string();
        assert_eq!(
            auth.sign_in(&token(&signer, &deactivated)).await,
            Err(SignInError::Inactive)
        );

        let (signer, down) = authenticator(Fixed {
            down: true,
            ..Fixed::default()
        });
        let someone = EmployeeId(uuid::Uuid::from_u128(1)).to_string();
        assert!(matches!(
            down.sign_in(&token(&signer, &someone)).await,
            Err(SignInError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn a_forged_token_is_refused_before_anyone_is_looked_up() {
        let (_, auth) = authenticator(Fixed {
            accounts: vec![employee(1, true)],
            ..Fixed::default()
        });
        let other = LocalSigner::from_seed(&[8; 32], "erp", "erp-api");
        let someone = EmployeeId(uuid::Uuid::from_u128(1)).to_string();
        assert!(matches!(
            auth.sign_in(&token(&other, &someone)).await,
            Err(SignInError::Unauthenticated(_))
        ));
        assert_eq!(auth.accounts().lookups(), 0);
    }

    #[tokio::test]
    async fn a_recheck_keeps_only_who_may_still_act() {
        let (_, auth) = authenticator(Fixed {
            accounts: vec![employee(1, true), employee(2, false)],
            ..Fixed::default()
        });
        let ids: Vec<EmployeeId> = (1..=3).map(|n| EmployeeId(uuid::Uuid::from_u128(n))).collect();
        let found = auth.principals(&ids).await.expect("looked up");
        assert_eq!(found.keys().collect::<Vec<_>>(), vec![&ids[0]]);
    }

    /// A notifier re-reads every connected employee every few seconds: their delegations are
    /// one lookup for all of them, not one each.
    #[tokio::test]
    async fn a_recheck_reads_everyones_delegations_at_once() {
        let delegation = Delegation {
            id: None,
            principal: Some(EmployeeId(uuid::Uuid::from_u128(9))),
            proxy: None,
            window: None,
            revoked: false,
        };
        let (_, auth) = authenticator(Fixed {
            accounts: (1..=50).map(|n| employee(n, true)).collect(),
            delegations: vec![delegation.clone()],
            ..Fixed::default()
        });
        let ids: Vec<EmployeeId> = (1..=50).map(|n| EmployeeId(uuid::Uuid::from_u128(n))).collect();
        let found = auth.principals(&ids).await.expect("looked up");
        assert_eq!(found.len(), 50);
        assert!(found.values().all(|p| p.delegations == vec![delegation.clone()]));
        assert_eq!(*auth.accounts().delegations_looked_up.lock().expect("count"), 1);
    }

    #[tokio::test]
    async fn a_signed_in_employee_is_read_again_only_after_the_source_changed_or_a_moment_passed() {
        let (signer, auth) = authenticator(Fixed {
            accounts: vec![employee(1, true)],
            generation: Some(0.into()),
            ..Fixed::default()
        });
        let me = token(&signer, &EmployeeId(uuid::Uuid::from_u128(1)).to_string());
        for _ in 0..3 {
            auth.sign_in(&me).await.expect("signed in");
        }
        assert_eq!(auth.accounts().lookups(), 1, "one read for a burst");
        if let Some(g) = &auth.accounts().generation {
            g.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        auth.sign_in(&me).await.expect("signed in");
        assert_eq!(
            auth.accounts().lookups(),
            2,
            "a write to the source ends the kept sign-in"
        );
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        auth.sign_in(&me).await.expect("signed in");
        assert_eq!(auth.accounts().lookups(), 3, "and so does the time to live");

        let (signer, uncached) = authenticator(Fixed {
            accounts: vec![employee(1, true)],
            ..Fixed::default()
        });
        let me = token(&signer, &EmployeeId(uuid::Uuid::from_u128(1)).to_string());
        for _ in 0..2 {
            uncached.sign_in(&me).await.expect("signed in");
        }
        assert_eq!(
            uncached.accounts().lookups(),
            2,
            "a source that cannot tell is read every time"
        );
    }
}
