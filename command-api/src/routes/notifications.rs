//! 알림 읽음 — the caller marks their own notifications read, one by one or all at once.
//! Each is a command on the caller's feed stream (`feed/{employee}`), so read and unread
//! survive a replay; the query API applies the marks to the feed it folds from the other
//! streams. Marking what is already read records nothing and answers the stream's version.

use crate::error::ApiError;
use crate::extract::{Body, Caller, CommandHeaders};
use crate::openapi::{Api, Doc};
use crate::routes::{meta, reply};
use crate::AppState;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::feed::{FeedCommand, FeedReads, Mark};
use infra::eventlog::{streams, StreamRef};
use serde::Deserialize;

const NOTIFICATIONS: &str = "notifications";

pub fn routes(api: Api) -> Api {
    api.post(
        "/api/notifications/read",
        mark_read,
        Doc::new(NOTIFICATIONS, "Mark notifications of the caller's feed read").body::<MarkReadRequest>(),
    )
    .post(
        "/api/notifications/read-all",
        mark_all_read,
        Doc::new(
            NOTIFICATIONS,
            "Mark every notification of the caller's feed read, up to the newest they saw",
        )
        .body::<MarkAllReadRequest>(),
    )
}

/// The notifications to mark read, each as the feed gave it: its id and its `at`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkReadRequest {
    pub notifications: Vec<MarkedNotification>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkedNotification {
    pub id: String,
    pub at: DateTime<Utc>,
}

/// `through`: the `at` of the newest notification the caller saw (now when absent), so one
/// that arrives while they click stays unread.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkAllReadRequest {
    pub through: Option<DateTime<Utc>>,
}

fn stream(caller: &Caller) -> StreamRef {
    StreamRef::new(streams::FEED, caller.actor.id.to_string())
}

async fn mark_read(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(req): Body<MarkReadRequest>,
) -> Result<Response, ApiError> {
    let command = FeedCommand::MarkRead {
        reader: caller.actor.id,
        by: caller.actor.clone(),
        marks: req
            .notifications
            .into_iter()
            .map(|n| Mark { id: n.id, at: n.at })
            .collect(),
        at: Utc::now(),
    };
    let outcome = state
        .service
        .execute::<FeedReads>(&stream(&caller), None, &meta(&caller, &headers, "read"), &command)
        .await?;
    Ok(reply(outcome, false))
}

async fn mark_all_read(
    State(state): State<AppState>,
    caller: Caller,
    headers: CommandHeaders,
    Body(req): Body<MarkAllReadRequest>,
) -> Result<Response, ApiError> {
    let at = Utc::now();
    let command = FeedCommand::MarkAllRead {
        reader: caller.actor.id,
        by: caller.actor.clone(),
        through: req.through.unwrap_or(at),
        at,
    };
    let outcome = state
        .service
        .execute::<FeedReads>(&stream(&caller), None, &meta(&caller, &headers, "read-all"), &command)
        .await?;
    Ok(reply(outcome, false))
}
