//! `erp notifier`: GraphQL subscriptions over WebSocket (`/graphql/ws`), fed by the projector
//! through Redis, checked against the projector's MySQL/MariaDB and MongoDB; `/metrics`, and
//! `/readyz` answering 200 while Redis answers.

use crate::settings::{Role, Settings};
use crate::wiring;
use command_api::Application;
use infra::telemetry::Operations;
use std::sync::Arc;

/// A built notifier role, listening.
#[allow(missing_debug_implementations)]
pub struct Notifier {
    app: Application,
}

impl Notifier {
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        settings.jwks_url()?;
        let (org, views) = wiring::read_stores(settings).await?;
        let bus = wiring::redis_bus(settings, "the notifier hears changes from the projectors, so it").await?;
        let verifier = wiring::verifier(settings, "notifier").await?;
        let sources = notifier::Sources {
            bus: Arc::new(bus),
            views: Arc::new(views),
            org,
        };
        let ready = sources.clone();
        let operations = Operations::new().check("bus", move || {
            let sources = ready.clone();
            async move { sources.ready().await }
        });
        let router =
            notifier::router(sources, Arc::new(verifier), settings.notifier.config()).merge(operations.router());
        let app = wiring::listen(settings.bind_for(Role::Notifier), router, "notifier").await?;
        Ok(Self { app })
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        tracing::info!(port = self.app.port(), "notifier listening on /graphql/ws");
        self.app.run_until_stopped(wiring::shutdown_signal()).await?;
        Ok(())
    }
}
