//! `erp query-api`: GraphQL (`/graphql`) over the projector's MySQL/MariaDB and MongoDB, with
//! Kafka for time travel and lag; `/metrics`, and `/readyz` answering 200 while both read
//! stores answer.

use crate::settings::{Role, Settings};
use crate::wiring;
use command_api::Application;
use infra::telemetry::Operations;
use std::sync::Arc;

/// A built query role, listening.
#[allow(missing_debug_implementations)]
pub struct QueryApi {
    app: Application,
}

impl QueryApi {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        settings.jwks_url()?;
        let projector = wiring::distributed_projector(settings, false).await?;
        let verifier = wiring::verifier(settings, "query-api").await?;
        let stores = query_api::Stores {
            org: projector.store().clone(),
            views: projector.views().clone(),
            log: projector.log().clone(),
            policy: domain::line_rule::LinePolicy::default(),
        };
        let ready = stores.clone();
        let operations = Operations::new().check("read_stores", move || {
            let stores = ready.clone();
            async move { stores.ready().await }
        });
        // Probes and metrics answer however busy the API is: outside admission control.
        let router = wiring::admitted(
            query_api::router(stores, Arc::new(verifier), query_api::QueryConfig::default()),
            settings.admission.into(),
        )
        .merge(command_api::edge::on_workers(operations.router()));
        // Refusals from a front thread, as the command API's (`Application::with_front_thread`).
        let app = wiring::listen(settings.bind_for(Role::QueryApi), router, "query API")
            .await?
            .with_front_thread();
        Ok(Self { app })
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!(port = self.app.port(), "query API listening on /graphql");
        self.app.run_until_stopped(wiring::shutdown_signal()).await?;
        Ok(())
    }
}
