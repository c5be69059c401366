use super::*;
use crate::hub::Hub;
use infra::bus::{ChangeBus, LocalBus};
use infra::readmodel::sql::SqlReadModel;

struct World {
    schema: crate::subscriptions::NotifierSchema,
    subscriptions: crate::subscriptions::Subscriptions,
    bus: Arc<dyn ChangeBus>,
    hub: Routes,
    url: String,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("read.db").display());
    let views = SqlReadModel::connect(&url).await.expect("sqlite");
    let bus: Arc<dyn ChangeBus> = Arc::new(LocalBus::default());
    let hub = Hub::start(&bus);
    let sources = Sources {
        bus: bus.clone(),
        views: Arc::new(views.clone()),
        org: views,
    };
    World {
        schema: crate::subscriptions::schema(sources.clone(), hub.clone()),
        subscriptions: crate::subscriptions::Subscriptions::new(sources, hub.clone()),
        bus,
        hub,
        url,
        _dir: dir,
    }
}

/// The first response of `approvalUpdated` on a document nobody drafted, as an outsider.
async fn updated(world: &World) -> async_graphql::Response {
    let (_keep, principal) = Principal::fixed(crate::sessions::plain_employee(1));
    let request = async_graphql::Request::new(
        "subscription { approvalUpdated(id: \"00000000-0000-0000-0000-000000000a01\") { version } }",
    )
    .data(principal);
    let mut responses = world.schema.execute_stream(request);
    responses.next().await.expect("a first response")
}

fn code(response: &async_graphql::Response) -> Option<String> {
    let extensions = response.errors.first()?.extensions.as_ref()?;
    match extensions.get("code")? {
        async_graphql::Value::String(code) => Some(code.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn a_document_the_viewer_may_not_see_leaves_no_route_behind() {
    let world = world().await;
    let response = updated(&world).await;
    assert_eq!(code(&response).as_deref(), Some("NOT_FOUND"), "{response:?}");
    assert_eq!(world.hub.len(), 0);
}

#[tokio::test]
async fn a_failing_store_answers_internal_without_its_own_words() {
    let world = world().await;
    sqlx::any::install_default_drivers();
    let side = sqlx::AnyPool::connect(&world.url).await.expect("side connection");
    sqlx::query("DROP TABLE approvals").execute(&side).await.expect("drop");
    let response = updated(&world).await;
    assert_eq!(code(&response).as_deref(), Some("INTERNAL"), "{response:?}");
    let message = response.errors[0].message.to_lowercase();
    assert!(
        !message.contains("approvals") && !message.contains("table"),
        "{message}"
    );
}

/// A notification for employee `n`, as the projection publishes it.
fn notification(n: u128) -> Change {
    Change::Notification {
        recipient: uuid::Uuid::from_u128(n).to_string(),
        entry: infra::readmodel::FeedEntry {
            id: "n-1".into(),
            doc: "00000000-0000-0000-0000-000000000a01".into(),
            kind: "approval_requested".into(),
            title: "출장비 정산".into(),
            at: "2026-12-05T01:00:00Z".into(),
            read: false,
        },
        position: "approval:0:7".into(),
        correlation_id: "c-1".into(),
        trace_id: None,
        traceparent: None,
    }
}

/// Polls `stream` long enough for its subscription to start (and its routes to open).
async fn started<T>(stream: &mut (impl futures::Stream<Item = T> + Unpin)) {
    let quiet = tokio::time::timeout(std::time::Duration::from_millis(300), stream.next()).await;
    assert!(quiet.is_err(), "nothing is published yet");
}

#[tokio::test]
async fn an_item_resolved_on_its_own_reads_as_the_long_execution_resolved_it() {
    let world = world().await;
    let (_keep, principal) = Principal::fixed(crate::sessions::plain_employee(7));
    // Aliases, a fragment, a variable-driven @skip and __typename: what a selection can do.
    let query = "subscription Feed($quiet: Boolean!) { feed: myNotifications { ...Entry kind \
                 __typename title @skip(if: $quiet) } } \
                 fragment Entry on NotificationEvent { id at documentId where: position }";
    let request = || {
        async_graphql::Request::new(query)
            .variables(async_graphql::Variables::from_json(
                serde_json::json!({ "quiet": true }),
            ))
            .operation_name("Feed")
            .data(principal.clone())
    };
    let mut long = world.schema.execute_stream(request());
    let mut captured = world.subscriptions.start("s1".into(), request());
    started(&mut long).await;
    started(&mut captured).await;
    world.bus.publish(&[notification(7)]).await.expect("publish");
    let wait = std::time::Duration::from_secs(5);
    let long = tokio::time::timeout(wait, long.next())
        .await
        .expect("long push")
        .expect("an item");
    let captured = tokio::time::timeout(wait, captured.next())
        .await
        .expect("push")
        .expect("an item");
    assert_eq!(captured.message["type"], "next");
    assert_eq!(captured.message["id"], "s1");
    assert!(captured.since.is_some(), "a live push carries when its change arrived");
    let payload = &captured.message["payload"];
    assert_eq!(*payload, serde_json::to_value(&long).expect("json"));
    assert_eq!(
        payload["data"]["feed"],
        serde_json::json!({ "id": "n-1", "at": "2026-12-05T01:00:00+00:00", "documentId":
            "00000000-0000-0000-0000-000000000a01", "where": "approval:0:7", "kind": "APPROVAL_REQUESTED",
            "__typename": "NotificationEvent" })
    );
}

/// The one message `start` answers a refused subscription with (an `error`, after which the
/// subscription ends), checking that no route stays open.
async fn refusal(world: &World, id: &str, query: &str, who: u128) -> serde_json::Value {
    let (_keep, principal) = Principal::fixed(crate::sessions::plain_employee(who));
    let request = async_graphql::Request::new(query).data(principal);
    let mut messages = world.subscriptions.start(id.into(), request);
    let wait = std::time::Duration::from_secs(5);
    let refused = tokio::time::timeout(wait, messages.next())
        .await
        .expect("an answer")
        .expect("a message");
    assert_eq!(refused.message["type"], "error", "{}", refused.message);
    assert_eq!(refused.message["id"], id);
    assert!(
        tokio::time::timeout(wait, messages.next())
            .await
            .expect("ended")
            .is_none(),
        "no complete after an error"
    );
    assert_eq!(world.hub.len(), 0);
    refused.message
}

#[tokio::test]
async fn a_subscription_of_two_fields_is_refused_and_opens_no_route() {
    let world = world().await;
    let two = "subscription { a: myNotifications { id } b: inboxChanged { resync } }";
    let refused = refusal(&world, "two", two, 7).await;
    assert!(refused["payload"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("exactly one top-level field")));
}

#[tokio::test]
async fn a_refused_subscription_answers_one_error_then_nothing_and_opens_no_route() {
    let world = world().await;
    let hidden = "subscription { approvalUpdated(id: \"00000000-0000-0000-0000-000000000a01\") { version } }";
    let refused = refusal(&world, "doc", hidden, 1).await;
    assert_eq!(refused["payload"][0]["extensions"]["code"], "NOT_FOUND");
}
