//! The `graphql-transport-ws` protocol on `GET /graphql/ws`, written out so that every close
//! code is the one the protocol names:
//!
//! | when | close |
//! |---|---|
//! | `connection_init` missing a valid token | 4403 Forbidden |
//! | no `connection_init` within the init timeout | 4408 Connection initialisation timeout |
//! | a second `connection_init` | 4429 Too many initialisation requests |
//! | `connection_init` of an employee already holding the most connections | 4429 Too many connections |
//! | `subscribe` before `connection_ack` | 4401 Unauthorized |
//! | `subscribe` with an id already running | 4409 Subscriber for <id> already exists |
//! | `subscribe` past the subscriptions a connection may run | 4429 Too many subscriptions |
//! | a message that is not JSON of a known type | 4400 <why> |
//! | the token expires while connected | 4403 Token expired |
//! | the employee is deactivated while connected (seen within `recheck`) | 4403 Forbidden |
//!
//! A connection's subscriptions are streams its own loop polls, no task or queue each: a
//! subscription makes its next message only once the socket took the last one, so a socket
//! that cannot keep up lets its bus rings overflow, and they emit a `resync` item instead of
//! buffering without bound. A subscription keeps no GraphQL execution between its pushes
//! (`subscriptions.rs`): an idle connection costs its socket, its loop, and its
//! subscriptions' item streams and routes (`erp bench live` measures it per connection).
//!
//! Metered: open connections and subscriptions by field (gauges), messages pushed, and each
//! pushed change's latency from its arrival on the bus to its write to the socket.

use crate::schema::{Query, Sources, Subscription};
use crate::sessions::Sessions;
use crate::sessions::Subscriber;
use crate::subscriptions::{Held, Outgoing, Subscriptions};
use async_graphql::{EmptyMutation, Schema};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use futures::stream::{AbortHandle, BoxStream};
use futures::{SinkExt, StreamExt};
use infra::auth::{Authenticator, SignInError, Verifier};
use infra::readmodel::sql::SqlReadModel;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Protocol timings and bounds.
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// How long a connection may stay without `connection_init`.
    pub init_timeout: Duration,
    /// Interval of server pings.
    pub keepalive: Duration,
    /// Subscriptions one connection may run at once.
    pub max_subscriptions: usize,
    /// Connections one employee may hold on one instance.
    pub max_connections_per_user: usize,
    /// How often connected employees are re-read, so that a revoked delegation, a lost role
    /// or a deactivation reaches open connections.
    pub recheck: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        Self {
            init_timeout: Duration::from_secs(5),
            keepalive: Duration::from_secs(15),
            max_subscriptions: 100,
            max_connections_per_user: 20,
            recheck: Duration::from_secs(5),
        }
    }
}

struct Notifier {
    subscriptions: Subscriptions,
    sessions: Arc<Sessions>,
    signin: Arc<Authenticator<SqlReadModel>>,
    config: NotifierConfig,
}

/// The notifier's routes: `GET /graphql/ws`.
pub fn router(sources: Sources, verifier: Arc<Verifier>, config: NotifierConfig) -> Router {
    let hub = crate::hub::Hub::start(&sources.bus);
    let signin = Arc::new(Authenticator::new(Verifier::clone(&verifier), sources.org.clone()));
    let notifier = Arc::new(Notifier {
        subscriptions: Subscriptions::new(sources, hub),
        sessions: Sessions::start(signin.clone(), config.max_connections_per_user, config.recheck),
        signin,
        config,
    });
    let router = Router::new().route("/graphql/ws", get(upgrade)).with_state(notifier);
    infra::telemetry::http::instrument(router, "notifier")
}

/// The subscription schema in SDL.
pub fn sdl() -> String {
    Schema::build(Query, EmptyMutation, Subscription).finish().sdl()
}

async fn upgrade(ws: WebSocketUpgrade, State(notifier): State<Arc<Notifier>>) -> Response {
    // Subscription traffic is small messages: modest buffers keep an idle connection cheap
    // (the 128 KiB defaults would dominate memory per connection), and a client message (a
    // subscribe: the web app's are under 1 KiB) is capped at 16 KiB, since a subscription's
    // document and variables are copied again for each item it pushes.
    ws.protocols(["graphql-transport-ws"])
        .read_buffer_size(512)
        .write_buffer_size(4 * 1024)
        .max_message_size(16 * 1024)
        .on_upgrade(move |socket| serve(socket, notifier))
}

/// A client message of the protocol.
enum Incoming {
    Init(Value),
    Subscribe(String, Value),
    Complete(String),
    Ping,
    Pong,
    Invalid(String),
}

fn parse(text: &str) -> Incoming {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Incoming::Invalid("Invalid message received: not JSON".into());
    };
    let id = || value.get("id").and_then(Value::as_str).map(str::to_owned);
    let payload = value.get("payload").cloned().unwrap_or(Value::Null);
    match value.get("type").and_then(Value::as_str) {
        Some("connection_init") => Incoming::Init(payload),
        Some("subscribe") => match id() {
            Some(id) if payload.is_object() => Incoming::Subscribe(id, payload),
            _ => Incoming::Invalid("Invalid message received: subscribe needs an id and a payload".into()),
        },
        Some("complete") => match id() {
            Some(id) => Incoming::Complete(id),
            None => Incoming::Invalid("Invalid message received: complete needs an id".into()),
        },
        Some("ping") => Incoming::Ping,
        Some("pong") => Incoming::Pong,
        other => Incoming::Invalid(format!("Invalid message received: type {other:?}")),
    }
}

fn text(value: Value) -> Message {
    Message::Text(value.to_string().into())
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.to_owned().into(),
    }))
}

/// The subscriber and when their token expires, from the `connection_init` payload
/// (`{"Authorization": "Bearer …"}`, `{"authorization": …}` or `{"token": …}`, the last also
/// without the scheme). Every refusal closes with 4403; the reason goes to the log only.
async fn authenticate(
    notifier: &Notifier,
    payload: &Value,
) -> Result<(Subscriber, chrono::DateTime<chrono::Utc>), SignInError> {
    let raw = ["Authorization", "authorization", "token"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(Value::as_str))
        .ok_or_else(|| SignInError::Unauthenticated("no token in connection_init".into()))?;
    let token = infra::auth::bearer_token(raw).unwrap_or(raw);
    let claims = notifier.signin.verify(token).await?;
    let subscriber = notifier.signin.principal(&claims).await?.map_detail(|_| ());
    let expires = chrono::DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(chrono::Utc::now);
    Ok((subscriber, expires))
}

type Sink = futures::stream::SplitSink<WebSocket, Message>;
type Source = futures::stream::SplitStream<WebSocket>;

async fn serve(socket: WebSocket, notifier: Arc<Notifier>) {
    let (mut sink, mut stream) = socket.split();
    // Boxed: the handshake's state (its timer, the sign-in) lives only while it runs, not in
    // every idle connection's future.
    let Some((subscriber, expires)) = Box::pin(handshake(&mut sink, &mut stream, &notifier)).await else {
        return;
    };
    connected(sink, stream, notifier, subscriber, expires).await;
}

/// Until `connection_ack`: only init (and pings) are accepted. The subscriber and when their
/// token expires, or `None` when the connection ended (closed with the protocol's code).
async fn handshake(
    sink: &mut Sink,
    stream: &mut Source,
    notifier: &Notifier,
) -> Option<(Subscriber, chrono::DateTime<chrono::Utc>)> {
    let deadline = tokio::time::Instant::now() + notifier.config.init_timeout;
    loop {
        let next = tokio::time::timeout_at(deadline, stream.next()).await;
        let message = match next {
            Err(_) => {
                send_within(
                    sink,
                    close(4408, "Connection initialisation timeout"),
                    notifier.config.keepalive,
                )
                .await;
                return None;
            }
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(message))) => message,
        };
        let Message::Text(body) = message else {
            if matches!(message, Message::Close(_)) {
                return None;
            }
            continue;
        };
        match parse(body.as_str()) {
            Incoming::Init(payload) => match authenticate(notifier, &payload).await {
                Ok(ok) => return Some(ok),
                Err(why) => {
                    tracing::info!(%why, "connection_init refused");
                    send_within(sink, close(4403, "Forbidden"), notifier.config.keepalive).await;
                    return None;
                }
            },
            Incoming::Ping => {
                send_within(sink, text(json!({ "type": "pong" })), notifier.config.keepalive).await;
            }
            Incoming::Pong => {}
            Incoming::Subscribe(..) | Incoming::Complete(_) => {
                send_within(sink, close(4401, "Unauthorized"), notifier.config.keepalive).await;
                return None;
            }
            Incoming::Invalid(why) => {
                send_within(sink, close(4400, &why), notifier.config.keepalive).await;
                return None;
            }
        }
    }
}

/// The connection after its handshake: its subscriptions, pings, and the checks that end it.
async fn connected(
    mut sink: Sink,
    mut stream: Source,
    notifier: Arc<Notifier>,
    subscriber: Subscriber,
    expires: chrono::DateTime<chrono::Utc>,
) {
    let Some(seat) = notifier.sessions.join(subscriber) else {
        send_within(
            &mut sink,
            close(4429, "Too many connections"),
            notifier.config.keepalive,
        )
        .await;
        return;
    };
    if !send_within(
        &mut sink,
        text(json!({ "type": "connection_ack" })),
        notifier.config.keepalive,
    )
    .await
    {
        return;
    }
    let _connected = Held::new(metrics::gauge!("erp_notifier_connections"));
    let mut principal = seat.principal.clone();
    // The connection's subscriptions are polled by this loop itself, not by tasks of their
    // own: no task, channel or queue per subscription, and a subscription produces its next
    // message only when the socket took the last one (a slow reader lags on its hub route and
    // gets a resync, as before).
    let mut subscriptions = futures::stream::SelectAll::<BoxStream<'static, Outgoing>>::new();
    let mut running: HashMap<String, AbortHandle> = HashMap::new();
    let left = (expires - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO);
    let expiry = tokio::time::sleep(left);
    tokio::pin!(expiry);
    let limit = notifier.config.keepalive;
    let mut keepalive = tokio::time::interval(notifier.config.keepalive);
    keepalive.tick().await;
    let reason: Option<(u16, String)> = loop {
        tokio::select! {
            message = stream.next() => {
                let body = match message {
                    None | Some(Err(_)) => break None,
                    Some(Ok(Message::Text(body))) => body,
                    Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(_)) => continue,
                };
                match parse(body.as_str()) {
                    Incoming::Init(_) => break Some((4429, "Too many initialisation requests".into())),
                    Incoming::Subscribe(id, payload) => {
                        if running.contains_key(&id) {
                            break Some((4409, format!("Subscriber for {id} already exists")));
                        }
                        if running.len() >= notifier.config.max_subscriptions {
                            break Some((4429, "Too many subscriptions".into()));
                        }
                        let request = match serde_json::from_value::<async_graphql::Request>(payload) {
                            Ok(r) => r.data(seat.principal.clone()),
                            Err(e) => break Some((4400, format!("Invalid message received: {e}"))),
                        };
                        let (responses, stop) = futures::stream::abortable(notifier.subscriptions.start(id.clone(), request));
                        subscriptions.push(responses.boxed());
                        running.insert(id, stop);
                    }
                    Incoming::Complete(id) => {
                        if let Some(task) = running.remove(&id) {
                            task.abort();
                        }
                    }
                    Incoming::Ping => {
                        if !send_within(&mut sink, text(json!({ "type": "pong" })), limit).await {
                            break None;
                        }
                    }
                    Incoming::Pong => {}
                    Incoming::Invalid(why) => break Some((4400, why)),
                }
            }
            Some(Outgoing { message, since }) = subscriptions.next() => {
                if message["type"] == "complete" || message["type"] == "error" {
                    if let Some(id) = message["id"].as_str() {
                        running.remove(id);
                    }
                }
                let pushed = message["type"] == "next";
                if !send_within(&mut sink, text(message), limit).await {
                    break None;
                }
                if pushed {
                    metrics::counter!("erp_notifier_pushes_total").increment(1);
                    if let Some(since) = since {
                        metrics::histogram!("erp_notifier_push_latency_seconds")
                            .record(infra::telemetry::metrics::seconds(since));
                    }
                }
            }
            _ = &mut expiry => break Some((4403, "Token expired".into())),
            alive = principal.changed() => {
                if !alive || principal.now().is_none() {
                    break Some((4403, "Forbidden".into()));
                }
            }
            _ = keepalive.tick() => {
                if !send_within(&mut sink, text(json!({ "type": "ping" })), limit).await {
                    break None;
                }
            }
        }
    };
    if let Some((code, why)) = reason {
        send_within(&mut sink, close(code, &why), limit).await;
    }
}

/// Sends one message within `limit`. A client that stops reading would otherwise hold the
/// connection's loop in a send, where it no longer sees token expiry, a lost principal or the
/// keepalive; past the limit the connection ends instead.
///
/// Boxed: its timer lives only while a message is being sent, not in every idle
/// connection's future.
fn send_within(sink: &mut Sink, message: Message, limit: Duration) -> futures::future::BoxFuture<'_, bool> {
    Box::pin(async move { matches!(tokio::time::timeout(limit, sink.send(message)).await, Ok(Ok(()))) })
}
