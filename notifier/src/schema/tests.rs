use super::*;
use infra::bus::LocalBus;
use infra::readmodel::sql::SqlReadModel;

struct World {
    schema: crate::protocol::NotifierSchema,
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
        bus,
        views: Arc::new(views.clone()),
        org: views,
    };
    World {
        schema: crate::protocol::schema(sources, hub.clone()),
        hub,
        url,
        _dir: dir,
    }
}

/// The first response of `approvalUpdated` on a document nobody drafted, as an outsider.
async fn updated(world: &World) -> async_graphql::Response {
    let someone = Subscriber {
        actor: Actor::employee(domain::ids::EmployeeId(uuid::Uuid::from_u128(1))),
        delegations: Vec::new(),
        detail: (),
    };
    let (_keep, principal) = Principal::fixed(someone);
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
