//! The company's 전결 규정 (delegation-of-authority table): read by everyone signed in,
//! replaced whole by HR with a reason, on the one `policy/authority` stream.

use super::tags::ORGANISATION as E;
use crate::error::ApiError;
use crate::extract::{Body, Caller, CommandHeaders};
use crate::openapi::{Api, Doc};
use crate::routes::forms::FormKindView;
use crate::routes::{meta, reply};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use chrono::Utc;
use domain::authority::{self, AuthorityCommand, AuthorityPolicy, AuthorityRow, AuthorityTable};
use infra::eventlog::{streams, StreamRef};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub(super) fn routes(api: Api) -> Api {
    api.get(
        "/api/authority-table",
        authority_table,
        Doc::new(E, "전결 규정: the delegation-of-authority table in force").returns::<AuthorityTableView>(),
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
    #[schema(value_type = Vec<AuthorityRowView>)]
    pub rows: Vec<AuthorityRow>,
    pub reason: String,
}

/// The delegation-of-authority table in force.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthorityTableView {
    /// 0 for the built-in default; +1 per change HR records.
    pub version: u32,
    pub rows: Vec<AuthorityRowView>,
}

/// Documents of `form` up to `up_to` (no bound when absent) are decided finally by a seat
/// whose position rank is at least `final_rank`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthorityRowView {
    pub form: FormKindView,
    /// A decimal string.
    #[schema(value_type = Option<String>)]
    pub up_to: Option<Decimal>,
    pub final_rank: u8,
}

impl From<AuthorityTable> for AuthorityTableView {
    fn from(table: AuthorityTable) -> Self {
        Self {
            version: table.version,
            rows: table
                .rows
                .into_iter()
                .map(|row| AuthorityRowView {
                    form: row.form.into(),
                    up_to: row.up_to,
                    final_rank: row.final_rank,
                })
                .collect(),
        }
    }
}

/// The table in force; `version` 0 is the built-in default.
async fn authority_table(State(state): State<AppState>, _caller: Caller) -> Result<Json<AuthorityTableView>, ApiError> {
    Ok(Json(state.service.authority_table().await?.into()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_answers_exactly_as_the_domain_serialises_it() {
        let table = AuthorityTable::default();
        assert!(!table.rows.is_empty());
        let domain = serde_json::to_value(&table).expect("serialises");
        let view = serde_json::to_value(AuthorityTableView::from(table)).expect("serialises");
        assert_eq!(view, domain);
    }
}
