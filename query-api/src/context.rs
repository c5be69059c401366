//! What resolvers reach through the GraphQL context: the stores (schema data), the viewer
//! (request data) and per-request DataLoaders that batch employee and department lookups.

use crate::error::{self, coded};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::Context;
use domain::line_rule::LinePolicy;
use infra::auth::SignInError;
use infra::eventlog::EventLog;
use infra::kept::KeptReads;
use infra::readmodel::queries::{DepartmentRecord, EmployeeRecord};
use infra::readmodel::sql::SqlReadModel;
use infra::readmodel::ApprovalViews;
use std::collections::HashMap;
use std::sync::Arc;

/// The read side the API serves from.
#[derive(Clone)]
pub struct Stores {
    /// Employees, departments, leave (MySQL/MariaDB, or SQLite embedded).
    pub org: SqlReadModel,
    /// Documents, timelines, inboxes, feeds (MongoDB, or the same SQLite embedded).
    pub views: Arc<dyn ApprovalViews>,
    /// The event log itself, for time travel and lag.
    pub log: Arc<dyn EventLog>,
    /// Thresholds of the line rule `suggestLine` applies.
    pub policy: LinePolicy,
}

impl Stores {
    /// Readiness: both read stores answer (the employee read model and the approval views).
    pub async fn ready(&self) -> Result<(), String> {
        self.org
            .checkpoint(infra::readmodel::Projection::Employees)
            .await
            .map_err(|e| format!("read model: {e}"))?;
        self.views
            .checkpoint()
            .await
            .map_err(|e| format!("approval views: {e}"))?;
        Ok(())
    }
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").field("org", &self.org).finish_non_exhaustive()
    }
}

/// The authenticated employee a request runs as: the one sign-in path's principal, with the
/// read model's record of them (`me`). Which documents they see is [`Viewer::sees`], the rule
/// the notifier applies too.
pub type Viewer = infra::auth::Principal<EmployeeRecord>;

/// HR admins and auditors read everything.
pub fn reads_all(viewer: &Viewer) -> bool {
    viewer.actor.reads_every_hr_record()
}

/// Why there is no viewer (kept in request data so each resolver answers with it).
#[derive(Debug, Clone)]
pub struct NoViewer {
    pub code: &'static str,
    pub message: String,
}

impl From<SignInError> for NoViewer {
    /// Every refusal reads UNAUTHENTICATED, a deactivated employee's too; a failed lookup is
    /// logged here and told only generically.
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Unauthenticated(_) | SignInError::Inactive => Self {
                code: error::UNAUTHENTICATED,
                message: e.to_string(),
            },
            SignInError::Unavailable(cause) => {
                tracing::error!(%cause, "viewer lookup failed");
                Self {
                    code: error::INTERNAL,
                    message: error::INTERNAL_MESSAGE.to_owned(),
                }
            }
        }
    }
}

pub fn stores<'a>(ctx: &Context<'a>) -> &'a Stores {
    ctx.data_unchecked::<Stores>()
}

/// The viewer, or why there is none (UNAUTHENTICATED, or INTERNAL when the lookup failed).
pub fn viewer<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Viewer> {
    match (ctx.data_opt::<Viewer>(), ctx.data_opt::<NoViewer>()) {
        (Some(v), _) => Ok(v),
        (None, Some(no)) => Err(coded(no.code, no.message.clone())),
        (None, None) => Err(coded(error::UNAUTHENTICATED, "a bearer token is required")),
    }
}

/// Employees by id, batched per request, and kept for a moment across requests
/// ([`infra::kept`]): the drafters and approvers a page names are the same few on every
/// request of a burst. A request that asked for read-your-writes (`x-erp-position`) reads the
/// store: another process's write it waited for may not have moved the kept generation.
pub struct EmployeeLoader {
    pub store: SqlReadModel,
    pub kept: Option<Arc<KeptEmployees>>,
}

/// Employee records kept across requests, by id.
pub type KeptEmployees = KeptReads<String, EmployeeRecord>;

impl EmployeeLoader {
    /// The kept record of `id`, when there is one at the store's current generation: a
    /// resolver takes it without going through a batch, which would spawn a task and wait a
    /// timer tick to find the same entry.
    fn kept(&self, id: &str) -> Option<EmployeeRecord> {
        self.kept.as_ref()?.get(id, self.store.writes_committed())
    }
}

impl Loader<String> for EmployeeLoader {
    type Value = EmployeeRecord;
    type Error = Arc<String>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, EmployeeRecord>, Self::Error> {
        // Read before the store: a write that lands meanwhile leaves what is read stale-marked.
        let generation = self.store.writes_committed();
        let mut found = HashMap::with_capacity(keys.len());
        let mut missing = Vec::new();
        for key in keys {
            match self.kept.as_ref().and_then(|kept| kept.get(key, generation)) {
                Some(record) => {
                    found.insert(key.clone(), record);
                }
                None => missing.push(key.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let read = self
            .store
            .employees_by_ids(&missing)
            .await
            .map_err(|e| Arc::new(e.to_string()))?;
        for record in read {
            if let Some(kept) = &self.kept {
                kept.put(record.id.clone(), &record, generation);
            }
            found.insert(record.id.clone(), record);
        }
        Ok(found)
    }
}

/// Departments by id; the table is small, so one load reads it whole.
pub struct DepartmentLoader(pub SqlReadModel);

impl Loader<String> for DepartmentLoader {
    type Value = DepartmentRecord;
    type Error = Arc<String>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, DepartmentRecord>, Self::Error> {
        let all = self.0.departments().await.map_err(|e| Arc::new(e.to_string()))?;
        Ok(all
            .into_iter()
            .filter(|d| keys.contains(&d.id))
            .map(|d| (d.id.clone(), d))
            .collect())
    }
}

pub type Employees = DataLoader<EmployeeLoader>;
pub type Departments = DataLoader<DepartmentLoader>;

pub async fn employee(ctx: &Context<'_>, id: &str) -> async_graphql::Result<Option<EmployeeRecord>> {
    let loader = ctx.data_unchecked::<Employees>();
    if let Some(kept) = loader.loader().kept(id) {
        return Ok(Some(kept));
    }
    loader
        .load_one(id.to_owned())
        .await
        .map_err(|e| error::internal("read model failed", e))
}

/// Employees read from the store, never from those kept across requests: for deciding who may
/// see what, which must not trail a transfer or a new head by the moment a record is kept.
pub async fn employees_now(ctx: &Context<'_>, ids: &[String]) -> async_graphql::Result<Vec<EmployeeRecord>> {
    stores(ctx).org.employees_by_ids(ids).await.map_err(error::store)
}

pub async fn employees(ctx: &Context<'_>, ids: &[String]) -> async_graphql::Result<Vec<EmployeeRecord>> {
    let loader = ctx.data_unchecked::<Employees>();
    if let Some(kept) = ids.iter().map(|id| loader.loader().kept(id)).collect() {
        return Ok(kept);
    }
    let found = loader
        .load_many(ids.iter().cloned())
        .await
        .map_err(|e| error::internal("read model failed", e))?;
    Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
}

pub async fn department(ctx: &Context<'_>, id: &str) -> async_graphql::Result<Option<DepartmentRecord>> {
    ctx.data_unchecked::<Departments>()
        .load_one(id.to_owned())
        .await
        .map_err(|e| error::internal("read model failed", e))
}
