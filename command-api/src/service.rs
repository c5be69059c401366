//! The command service: load a stream, decide a domain command against it, append the
//! events. Idempotency is checked before deciding, so a retried command gets its first answer
//! even though the stream has moved on.
//!
//! It answers in its own terms, [`ServiceError`] — a lost race, a domain refusal, something
//! missing, the log's failure — and knows nothing of HTTP: the routes, the reactor and the
//! seed each decide what a failure means to them (`crate::error` maps it to problem+json).

use crate::folded::Folded;
use domain::authority::{self, AuthorityPolicy, AuthorityTable};
use domain::form::{builtin_forms, FormId, FormTemplate};
use domain::ids::{DelegationId, EmployeeId};
use domain::leave::LeaveLedger;
use domain::org::{Delegation, Employee};
use domain::{Actor, Aggregate, EventType};
use infra::eventlog::{streams, EventLog, EventLogError, ExpectedVersion, NewCommit, NewEvent, StreamRef};
use serde::de::DeserializeOwned;
use serde::Deserialize as _;
use serde::Serialize;
use std::sync::Arc;
use uuid::Uuid;

/// How long a command without `If-Match` keeps deciding again under contention. Bounded by
/// time, not rounds: on Kafka a commit the owner has accepted but the broker not yet
/// acknowledged already counts for the version check while reads do not show it yet, and a
/// slow broker stretches that window to seconds.
const UNCONDITIONAL_RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// The namespace of [`derived_id`]'s name-based ids: this project's own, fixed for good.
pub const COMMAND_ID_NAMESPACE: Uuid = uuid::uuid!("c5609480-6c90-485a-a988-91da922bf776");

/// A command id derived from a seed (a document and a purpose), so that a follow-up issued
/// again after a retry or a restart is recognised as the same command: a name-based UUID
/// (version 5) of the seed in [`COMMAND_ID_NAMESPACE`].
///
/// Ids written before this derivation were the first 16 bytes of the seed's SHA-256, so a
/// follow-up of an event written then is issued again under another id after an upgrade.
/// That changes nothing, because every follow-up is refused or answered with no event by
/// its aggregate when it has already been applied, whatever its id: a document is numbered
/// once (`NumberSequence` assigns no second number, `RecordNumber` is `already_numbered`),
/// a ledger debits a document once, holds a revision once, and releases only a hold it has.
pub fn derived_id(seed: &str) -> Uuid {
    Uuid::new_v5(&COMMAND_ID_NAMESPACE, seed.as_bytes())
}

/// Why a command or a lookup did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The stream is at another version than the one acted on: the client's `If-Match`, or
    /// a concurrent writer that got there first.
    #[error("the resource changed; reload and retry (now at version {current})")]
    Conflict { current: u64 },
    /// A domain rule refused the command.
    #[error(transparent)]
    Refused(#[from] DomainError),
    /// Something the command names does not exist (or is not the caller's to see).
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("no form {0:?}")]
    UnknownForm(String),
    /// A stored event that no longer decodes as its type.
    #[error("decoding a stored event: {0}")]
    Corrupt(String),
    /// The log failed or refused the append (other than on its version).
    #[error(transparent)]
    Log(EventLogError),
}

impl ServiceError {
    /// A version conflict, from the client's precondition or from the log.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }
}

impl From<EventLogError> for ServiceError {
    fn from(e: EventLogError) -> Self {
        match e {
            EventLogError::Conflict { actual, .. } => Self::Conflict { current: actual },
            other => Self::Log(other),
        }
    }
}

/// The refusals of every aggregate the service decides.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error(transparent)]
    Approval(#[from] domain::approval::ApprovalError),
    #[error(transparent)]
    Employee(#[from] domain::org::EmployeeError),
    #[error(transparent)]
    Department(#[from] domain::org::DepartmentError),
    #[error(transparent)]
    Delegation(#[from] domain::org::DelegationError),
    #[error(transparent)]
    Leave(#[from] domain::leave::LeaveError),
    #[error(transparent)]
    Authority(#[from] domain::authority::AuthorityError),
    #[error(transparent)]
    Number(#[from] domain::numbering::NumberError),
    #[error(transparent)]
    Rule(#[from] domain::line_rule::RuleError),
    #[error(transparent)]
    Attendance(#[from] domain::attendance::AttendanceError),
    #[error(transparent)]
    Quest(#[from] domain::quest::QuestError),
    #[error(transparent)]
    Feed(#[from] domain::feed::FeedError),
}

/// Per-request metadata carried into the log.
#[derive(Debug, Clone)]
pub struct Meta {
    pub command_id: Uuid,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub actor: Option<EmployeeId>,
    pub traceparent: Option<String>,
}

impl Meta {
    /// Metadata for a command the system issues itself (seed data, process managers).
    pub fn system(command_id: Uuid, causation_id: Option<Uuid>) -> Self {
        Self {
            command_id,
            correlation_id: causation_id.unwrap_or(command_id),
            causation_id,
            actor: None,
            traceparent: None,
        }
    }
}

/// The answer to a successful command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    /// The stream (resource) id.
    pub id: String,
    /// The stream's version after the command: send it back as `If-Match`.
    pub version: u64,
    /// Log position token; pass it to queries to read your own write.
    pub position: Option<String>,
    /// True when this answer is a replay of an earlier identical request.
    pub duplicate: bool,
    /// Types of the events the command recorded.
    pub events: Vec<String>,
    /// The log's id of the command that recorded them (absent when nothing was recorded):
    /// what `erp export` and `erp history` show, so a client can find its command in the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_id: Option<uuid::Uuid>,
}

/// A stream folded into its aggregate.
#[derive(Debug, Clone)]
pub struct Loaded<A> {
    pub state: A,
    pub version: u64,
}

/// Loads, decides and appends.
pub struct CommandService {
    log: Arc<dyn EventLog>,
    forms: Vec<FormTemplate>,
    /// Streams this process folded or wrote, by version ([`crate::folded`]).
    folded: Folded,
}

impl std::fmt::Debug for CommandService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandService").finish()
    }
}

impl CommandService {
    pub fn new(log: Arc<dyn EventLog>) -> Self {
        Self {
            log,
            forms: builtin_forms(),
            folded: Folded::default(),
        }
    }

    pub fn log(&self) -> &Arc<dyn EventLog> {
        &self.log
    }

    /// Every form version known to the system.
    pub fn forms(&self) -> &[FormTemplate] {
        &self.forms
    }

    /// A form by id: the given version, or the latest.
    pub fn form(&self, id: &str, version: Option<u32>) -> Result<&FormTemplate, ServiceError> {
        self.forms
            .iter()
            .filter(|f| f.id == FormId(id.to_owned()) && version.is_none_or(|v| f.version == v))
            .max_by_key(|f| f.version)
            .ok_or_else(|| ServiceError::UnknownForm(id.to_owned()))
    }

    /// Folds a stream into its aggregate: the state kept for the stream's version when the
    /// log can tell that version without a read ([`crate::folded`]), else read and folded.
    pub async fn load<A>(&self, stream: &StreamRef) -> Result<Loaded<A>, ServiceError>
    where
        A: Aggregate + Send + Sync + 'static,
        A::Event: DeserializeOwned,
    {
        Ok(self.load_keeping(stream).await?.0)
    }

    /// [`Self::load`], and whether the log tells versions (so a state is worth keeping).
    async fn load_keeping<A>(&self, stream: &StreamRef) -> Result<(Loaded<A>, bool), ServiceError>
    where
        A: Aggregate + Send + Sync + 'static,
        A::Event: DeserializeOwned,
    {
        let known = self.log.stream_version(stream).await?;
        match known {
            // Never written: nothing to read or fold (an append expecting version 0 is fenced
            // should another writer get there first).
            Some(0) => {
                return Ok((
                    Loaded {
                        state: A::default(),
                        version: 0,
                    },
                    true,
                ))
            }
            Some(version) => {
                if let Some(state) = self.folded.get::<A>(stream, version) {
                    return Ok((Loaded { state, version }, true));
                }
            }
            None => {}
        }
        let events = self.log.read_stream(stream).await?;
        let mut state = A::default();
        let version = events.last().map_or(0, |e| e.version);
        for recorded in events {
            let event: A::Event = serde_json::from_value(recorded.payload)
                .map_err(|e| ServiceError::Corrupt(format!("{stream} v{}: {e}", recorded.version)))?;
            state.evolve(&event);
        }
        if known.is_some() && version > 0 {
            self.folded.keep(stream, version, state.clone());
        }
        Ok((Loaded { state, version }, known.is_some()))
    }

    /// Decides `command` against the stream and appends the result.
    ///
    /// `expected` is the client's `If-Match`; without it the decision is made against the
    /// version just loaded, and a concurrent writer still makes the append fail with 409.
    pub async fn execute<A>(
        &self,
        stream: &StreamRef,
        expected: Option<u64>,
        meta: &Meta,
        command: &A::Command,
    ) -> Result<Outcome, ServiceError>
    where
        A: Aggregate + Send + Sync + 'static,
        A::Event: DeserializeOwned + Serialize + EventType,
        DomainError: From<A::Error>,
    {
        self.execute_guarded::<A>(stream, expected, meta, command, &|_| Ok(()))
            .await
    }

    /// The first answer to a command already in the log under `meta`'s command id.
    pub async fn replayed(&self, stream: &StreamRef, meta: &Meta) -> Result<Option<Outcome>, ServiceError> {
        Ok(self
            .log
            .find_command(stream, meta.command_id)
            .await?
            .map(|first| Outcome {
                id: stream.stream_id.clone(),
                version: first.last_version,
                position: Some(first.position.token()),
                duplicate: true,
                events: Vec::new(),
                command_id: Some(first.command_id),
            }))
    }

    /// [`Self::execute`], with `guard` run on the loaded state before the client's `If-Match`
    /// is compared: a caller who may not see the stream learns nothing from a 409.
    pub async fn execute_guarded<A>(
        &self,
        stream: &StreamRef,
        expected: Option<u64>,
        meta: &Meta,
        command: &A::Command,
        guard: &(dyn Fn(&A) -> Result<(), ServiceError> + Sync),
    ) -> Result<Outcome, ServiceError>
    where
        A: Aggregate + Send + Sync + 'static,
        A::Event: DeserializeOwned + Serialize + EventType,
        DomainError: From<A::Error>,
    {
        if let Some(first) = self.replayed(stream, meta).await? {
            return Ok(first);
        }
        // Without a client precondition the decision is retried against the newer state when
        // another writer got there first (comments, process managers): every round of a race
        // has a winner, so rounds with a short growing pause for a bounded time serve every
        // contender of a realistic burst; with one, the client decides what a conflict means.
        let retry_until = std::time::Instant::now() + UNCONDITIONAL_RETRY_FOR;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match self
                .decide_and_append::<A>(stream, expected, meta, command, guard)
                .await
            {
                Err(e) if e.is_conflict() && expected.is_none() && std::time::Instant::now() < retry_until => {
                    let pause = u64::from(attempt.min(25)) * 2 + u64::from(meta.command_id.as_u128() as u8 % 3);
                    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                }
                result => return result,
            }
        }
    }

    async fn decide_and_append<A>(
        &self,
        stream: &StreamRef,
        expected: Option<u64>,
        meta: &Meta,
        command: &A::Command,
        guard: &(dyn Fn(&A) -> Result<(), ServiceError> + Sync),
    ) -> Result<Outcome, ServiceError>
    where
        A: Aggregate + Send + Sync + 'static,
        A::Event: DeserializeOwned + Serialize + EventType,
        DomainError: From<A::Error>,
    {
        let (loaded, keeping) = self.load_keeping::<A>(stream).await?;
        guard(&loaded.state)?;
        if let Some(expected) = expected {
            if expected != loaded.version {
                return Err(ServiceError::Conflict {
                    current: loaded.version,
                });
            }
        }
        let events = loaded.state.decide(command).map_err(DomainError::from)?;
        if events.is_empty() {
            return Ok(Outcome {
                id: stream.stream_id.clone(),
                version: loaded.version,
                position: None,
                duplicate: false,
                events: Vec::new(),
                command_id: None,
            });
        }
        let types = events.iter().map(|e| e.event_type().to_owned()).collect();
        let commit = NewCommit {
            stream: stream.clone(),
            expected: ExpectedVersion::Exact(loaded.version),
            command_id: meta.command_id,
            correlation_id: meta.correlation_id,
            causation_id: meta.causation_id,
            actor: meta.actor.map(|a| a.to_string()),
            traceparent: meta.traceparent.clone(),
            events: events.iter().map(NewEvent::from_domain).collect::<Result<_, _>>()?,
        };
        // The state after this commit, folded from the payloads as a reader decodes them (the
        // loaded state is not needed past the decision, so it is folded on, not copied).
        let after = keeping.then(|| {
            let mut state = loaded.state;
            for event in &commit.events {
                state.evolve(&A::Event::deserialize(&event.payload).ok()?);
            }
            Some(state)
        });
        let appended = self.log.append(commit).await?;
        if let Some(Some(state)) = after {
            if !appended.duplicate {
                self.folded.keep(stream, appended.last_version, state);
            }
        }
        Ok(Outcome {
            id: stream.stream_id.clone(),
            version: appended.last_version,
            position: Some(appended.position.token()),
            duplicate: appended.duplicate,
            events: types,
            command_id: Some(appended.command_id),
        })
    }

    /// The acting employee with their current roles and department, from their own stream.
    pub async fn actor(&self, id: EmployeeId) -> Result<Option<(Actor, Employee)>, ServiceError> {
        let employee = self
            .load::<Employee>(&StreamRef::new(streams::EMPLOYEE, id.to_string()))
            .await?
            .state;
        if employee.id.is_none() {
            return Ok(None);
        }
        let actor = Actor {
            id,
            roles: employee.roles.clone(),
            department: employee.department,
        };
        Ok(Some((actor, employee)))
    }

    pub async fn delegation(&self, id: DelegationId) -> Result<Delegation, ServiceError> {
        let delegation = self
            .load::<Delegation>(&StreamRef::new(streams::DELEGATION, id.to_string()))
            .await?
            .state;
        if delegation.id.is_none() {
            return Err(ServiceError::NotFound("delegation"));
        }
        Ok(delegation)
    }

    /// An employee's leave ledger (balance, holds of pending requests, debits).
    pub async fn leave_ledger(&self, employee: EmployeeId) -> Result<LeaveLedger, ServiceError> {
        Ok(self
            .load::<LeaveLedger>(&StreamRef::new(streams::LEAVE, employee.to_string()))
            .await?
            .state)
    }

    /// The 전결 규정 in force: the table HR last recorded, or the built-in one.
    pub async fn authority_table(&self) -> Result<AuthorityTable, ServiceError> {
        Ok(self
            .load::<AuthorityPolicy>(&StreamRef::new(streams::POLICY, authority::COMPANY))
            .await?
            .state
            .table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Follow-ups are recognised by their derived id across restarts and releases: the
    /// derivation must never change silently.
    #[test]
    fn a_derived_id_is_the_seeds_name_based_uuid_and_never_changes() {
        let id = derived_id("number/0190c8e0-0000-7000-8000-000000000001");
        assert_eq!(id.get_version_num(), 5);
        assert_eq!(id, uuid::uuid!("5796f4e2-29e4-5c09-98cc-6ba2c056b7d9"));
        assert_eq!(id, derived_id("number/0190c8e0-0000-7000-8000-000000000001"));
        assert_ne!(id, derived_id("record-number/0190c8e0-0000-7000-8000-000000000001"));
    }
}
