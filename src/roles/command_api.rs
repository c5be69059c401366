//! `erp command-api`: the public API on `bind` against Kafka; with an internal token, peers'
//! `/internal/log` on `internal_bind`; optionally seeds the demo company.

use crate::settings::{Role, Settings};
use crate::wiring::{self, KafkaUse};
use anyhow::Context;
use command_api::{AppState, Application, AuthState};
use infra::eventlog::kafka::KafkaLog;
use secrecy::ExposeSecret;
use std::sync::Arc;

/// A built command role, listening.
#[allow(missing_debug_implementations)]
pub struct CommandApi {
    app: Application,
    internal: Option<Application>,
    state: AppState,
    log: KafkaLog,
    seed_demo: bool,
}

impl CommandApi {
    pub async fn build(settings: &Settings, seed_demo: bool) -> anyhow::Result<Self> {
        settings.jwks_url()?;
        let token = settings.internal_token()?;
        let bind = settings.bind_for(Role::CommandApi);
        anyhow::ensure!(
            settings.advertised_url.is_none() || token.is_some(),
            "advertised_url is set but internal_token is not: peers could not forward to this instance"
        );
        anyhow::ensure!(
            settings.internal_bind != bind,
            "internal_bind and bind are both {bind}: peers' /internal/log needs a listener of its own"
        );
        let log = wiring::kafka_log(settings, KafkaUse::Writer).await?;
        let verifier = wiring::verifier(settings, "command-api").await?;
        let command_settings = command_api::Settings {
            cors_origins: settings.cors_origins.clone(),
            internal_token: token,
            rate_limit: settings.rate_limit.into(),
            admission: settings.admission.into(),
            request_timeout: std::time::Duration::from_secs(settings.request_timeout_secs),
            attachments: Some(Arc::new(
                infra::attachments::GridFsStore::connect(
                    settings.read_model.mongo_url.expose_secret(),
                    &settings.read_model.mongo_database,
                )
                .await
                .context("connecting the attachment store (GridFS on read_model.mongo_url)")?,
            )),
            attachment_max_bytes: settings.attachments.max_bytes,
            pdf_renderer: wiring::pdf_renderer(),
            attachment_scan: settings.attachments.scan(),
            ..command_api::Settings::default()
        };
        let (state, router) = command_api::build(
            Arc::new(log.clone()),
            AuthState { verifier, signer: None },
            command_settings,
        );
        let router = router.merge(command_api::edge::on_workers(command_api::metrics_router(&state)));
        let app = Application::bind(bind, router)
            .await
            .with_context(|| format!("binding the command API to {bind} (bind, ERP_BIND)"))?
            .with_front_thread();
        tracing::info!(port = app.port(), "command API listening");
        let internal =
            match command_api::internal_router(&state) {
                Some(internal) => Some(Application::bind(settings.internal_bind, internal).await.with_context(
                    || {
                        format!(
                            "binding the internal listener to {} (internal_bind, ERP_INTERNAL_BIND)",
                            settings.internal_bind
                        )
                    },
                )?),
                None => None,
            };
        Ok(Self {
            app,
            internal,
            state,
            log,
            seed_demo,
        })
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        if let Some(internal) = self.internal {
            tracing::info!(port = internal.port(), "internal listener (peers' /internal/log)");
            tokio::spawn(internal.run_until_stopped(wiring::shutdown_signal()));
        }
        if self.seed_demo {
            // Wait for this instance's share of the partitions; other instances serve the rest.
            tokio::time::sleep(std::time::Duration::from_secs(3)).await;
            command_api::seed::seed_if_empty(&self.state)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail))
                .context("seeding the demo company")?;
        }
        self.app.run_until_stopped(wiring::shutdown_signal()).await?;
        self.log.shutdown().await;
        Ok(())
    }
}
