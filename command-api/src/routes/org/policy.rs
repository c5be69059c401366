//! The company's 전결 규정 (delegation-of-authority table): read by everyone signed in,
//! replaced whole by HR with a reason, on the one `policy/authority` stream.

use super::ORGANISATION as E;
use crate::error::ApiError;
use crate::extract::{Body, Caller, CommandHeaders};
use crate::openapi::{Api, Doc};
use crate::routes::{meta, reply};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono::Utc;
use domain::authority::{self, AuthorityCommand, AuthorityPolicy, AuthorityRow, AuthorityTable};
use infra::eventlog::{streams, StreamRef};
use serde::Deserialize;

pub(super) fn routes(api: Api) -> Api {
    api.get(
        "/api/authority-table",
        authority_table,
        Doc::new(E, "전결 규정: the delegation-of-authority table in force"),
    )
    .put(
        "/api/authority-table",
        set_authority_table,
        Doc::new(E, "Record a new 전결 규정 (HR): the whole table, with a reason")
            .body::<AuthorityTableRequest>()
            .if_match(),
    )
}

/// A new delegation-of-authority table.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorityTableRequest {
    /// Rows `{"form":"expense","up_to":"1000000","final_rank":5}`; `up_to` absent means no bound.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<AuthorityRow>,
    pub reason: String,
}

/// The table in force; `version` 0 is the built-in default.
async fn authority_table(State(state): State<AppState>, _caller: Caller) -> Result<Json<AuthorityTable>, ApiError> {
    Ok(Json(state.service.authority_table().await?))
}

async fn set_authority_table(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(req): Body<AuthorityTableRequest>,
) -> Result<Response, ApiError> {
    let command = AuthorityCommand::SetTable {
        rows: req.rows,
        reason: req.reason,
        by: caller.actor.clone(),
        at: Utc::now(),
    };
    let outcome = state
        .service
        .execute::<AuthorityPolicy>(
            &StreamRef::new(streams::POLICY, authority::COMPANY),
            headers.expected,
            &meta(&caller, &headers, "authority-table"),
            &command,
        )
        .await?;
    Ok(reply(outcome, false))
}
