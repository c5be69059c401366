//! Proxy delegations (대결): naming a proxy for a time window, and revoking it. The principal
//! or HR decides; the delegation is its own stream, which a 대결 then names.

use super::tags::ORGANISATION as E;
use crate::error::ApiError;
use crate::extract::{Body, Caller, CommandHeaders, Id};
use crate::openapi::{Api, Doc};
use crate::routes::{meta, reply};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::ids::{DelegationId, EmployeeId};
use domain::org::{Delegation, DelegationCommand, Window};
use infra::eventlog::{streams, StreamRef};
use serde::Deserialize;
use uuid::Uuid;

pub(super) fn routes(api: Api) -> Api {
    api.post(
        "/api/delegations",
        grant_delegation,
        Doc::new(E, "Name a proxy (대결자) for a time window")
            .body::<DelegationRequest>()
            .created(),
    )
    .post(
        "/api/delegations/{id}/revoke",
        revoke_delegation,
        Doc::new(E, "Revoke a delegation"),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationRequest {
    pub id: Option<Uuid>,
    /// Whose seat the proxy may take; the caller when absent.
    pub principal: Option<Uuid>,
    pub proxy: Uuid,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    #[serde(default)]
    pub reason: String,
}

fn stream(id: DelegationId) -> StreamRef {
    StreamRef::new(streams::DELEGATION, id.to_string())
}

async fn grant_delegation(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(req): Body<DelegationRequest>,
) -> Result<Response, ApiError> {
    let id = DelegationId(headers.new_id(req.id, caller.actor.id, "delegation"));
    let command = DelegationCommand::Grant {
        id,
        principal: req.principal.map_or(caller.actor.id, EmployeeId),
        proxy: EmployeeId(req.proxy),
        window: Window {
            from: req.from,
            until: req.until,
        },
        reason: req.reason,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let outcome = state
        .service
        .execute::<Delegation>(&stream(id), None, &meta(&caller, &headers, "delegate"), &command)
        .await?;
    Ok(reply(outcome, true))
}

async fn revoke_delegation(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Id(id): Id<DelegationId>,
) -> Result<Response, ApiError> {
    let command = DelegationCommand::Revoke {
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let outcome = state
        .service
        .execute::<Delegation>(
            &stream(id),
            headers.expected,
            &meta(&caller, &headers, "revoke"),
            &command,
        )
        .await?;
    Ok(reply(outcome, false))
}
