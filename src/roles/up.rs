//! `erp up`: every role in one process on the embedded default — embedded log and SQLite
//! read model under `--data-dir`, one port, the web app at `/`, a seeded demo company on first
//! start and the dev login (loopback only; requests for foreign Host names refused against
//! DNS rebinding).

use crate::settings::Settings;
use crate::{web, wiring};
use anyhow::Context;
use command_api::{AppState, Application, AuthState};
use infra::auth::LocalSigner;
use infra::telemetry::Operations;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// How `erp up` runs.
#[derive(Debug)]
pub struct UpOptions {
    pub address: SocketAddr,
    pub dev_login: bool,
    pub allowed_hosts: Vec<String>,
    pub data_dir: PathBuf,
    pub seed: bool,
    /// Sign-in through an OpenID Connect issuer, beside the dev login.
    pub oidc: Option<infra::auth::oidc::OidcConfig>,
}

/// The embedded system, listening.
#[allow(missing_debug_implementations)]
pub struct Up {
    app: Application,
    state: AppState,
    options: UpOptions,
    port: u16,
    _stop_projections: tokio::sync::watch::Sender<bool>,
}

impl Up {
    pub async fn build(options: UpOptions) -> anyhow::Result<Self> {
        let address = options.address;
        if options.dev_login && !address.ip().is_loopback() {
            anyhow::bail!(
                "refusing to offer the dev login on {address}: it hands anyone who can reach the port a token for \
                 any demo user, HR admin included. It is for demos on this machine (the default 127.0.0.1); to \
                 serve {} anyway, pass --no-dev-login",
                address.ip()
            );
        }
        let (log, projector) = wiring::embedded(&options.data_dir).await?;
        let signer = LocalSigner::load_or_create(&options.data_dir.join("keys/ed25519.seed"), "erp-embedded", "erp")
            .context("loading the local signing key")?;
        let verifier = signer.verifier();
        let signer_verifier = signer.verifier();
        let auth = AuthState {
            verifier: signer.verifier(),
            signer: Some(signer),
        };
        let port = address.port();
        let defaults = Settings::load(None)?;
        let settings = command_api::Settings {
            dev_login: options.dev_login,
            policy: command_api::seed::demo_policy(),
            cors_origins: vec![
                format!("http://127.0.0.1:{port}"),
                format!("http://localhost:{port}"),
                "http://localhost:5173".into(),
            ],
            rate_limit: defaults.rate_limit.into(),
            // The embedded log: commands are CPU-bound here.
            admission: defaults
                .admission
                .limits(infra::admission::AdmissionLimits::cpu_bound()),
            attachments: Some(Arc::new(infra::attachments::DirStore::new(
                options.data_dir.join("attachments"),
            ))),
            attachment_max_bytes: defaults.attachments.max_bytes,
            pdf_renderer: wiring::pdf_renderer(),
            oidc: match options.oidc.clone() {
                Some(config) => Some(Arc::new(
                    infra::auth::oidc::Oidc::discover(config, "command-api")
                        .await
                        .context("reading the OpenID Connect issuer's discovery document (--oidc-issuer)")?,
                )),
                None => None,
            },
            attachment_scan: defaults.attachments.scan(),
            ..command_api::Settings::default()
        };
        let (stop_projections, stop) = tokio::sync::watch::channel(false);
        projector.spawn_all(stop);
        let stores = query_api::Stores {
            org: projector.store().clone(),
            views: projector.views().clone(),
            log: log.clone(),
            policy: command_api::seed::demo_policy(),
        };
        let query_config = query_api::QueryConfig {
            graphiql: true,
            ..Default::default()
        };
        let queries = wiring::admitted(
            query_api::router(stores, Arc::new(signer_verifier), query_config),
            defaults
                .admission
                .limits(infra::admission::AdmissionLimits::cpu_bound()),
        );
        let live = notifier::router(
            notifier::Sources {
                bus: projector.bus().clone(),
                views: projector.views().clone(),
                org: projector.store().clone(),
            },
            Arc::new(verifier),
            defaults.notifier.config(),
        );
        let (state, router) = command_api::build(log, auth, settings);
        // One /metrics for every role of the process; /readyz is the command role's. The
        // embedded log owns every partition by itself, so its ownership gauges say nothing.
        let operations = wiring::projector_operations(Operations::new(), &projector);
        // Served by a front thread (see `Application::with_front_thread`): routes outside
        // admission hand their work to the workers too.
        let on_workers = command_api::edge::on_workers;
        let router = router
            .merge(on_workers(wiring::projection_routes(projector)))
            .merge(on_workers(operations.router()))
            .merge(queries)
            .merge(on_workers(live))
            .fallback_service(on_workers(axum::Router::new().fallback_service(web::app())));
        // Bind first: with --port 0 the Host names to accept are known only now.
        let listener = command_api::edge::listen(address)
            .with_context(|| format!("binding {address} (is another erp running? try --port)"))?;
        let port = listener.local_addr()?.port();
        let router = command_api::edge::harden(
            command_api::edge::HostAllowlist::loopback(port, &options.allowed_hosts).layer(router),
        );
        Ok(Self {
            app: Application::from_listener(listener, router).with_front_thread(),
            state,
            options,
            port,
            _stop_projections: stop_projections,
        })
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        if self.options.seed
            && command_api::seed::seed_if_empty(&self.state)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail))
                .context("seeding the demo company")?
        {
            println!("seeded the demo company");
        }
        self.banner();
        self.app.run_until_stopped(wiring::shutdown_signal()).await?;
        Ok(())
    }

    fn banner(&self) {
        let port = self.port;
        let host = match self.options.address.ip() {
            ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
            ip => SocketAddr::new(ip, 0).to_string().trim_end_matches(":0").to_owned(),
        };
        println!(
            "ERP 전자결재 is up (embedded log in {})",
            self.options.data_dir.display()
        );
        println!("  web app      http://{host}:{port}/");
        println!("  API          http://{host}:{port}/api");
        println!("  API docs     http://{host}:{port}/docs   (OpenAPI: /openapi.json)");
        println!("  GraphQL      http://{host}:{port}/graphql   (console: /graphiql)");
        println!("  live         ws://{host}:{port}/graphql/ws   (graphql-transport-ws subscriptions)");
        if self.options.dev_login {
            println!("  dev login    http://{host}:{port}/auth/dev-users");
            println!("  ! DEV LOGIN IS ON: anyone who can reach this port may act as any demo user, HR admin");
            println!("  ! included, without a password. It is for demos on this machine only; --no-dev-login");
            println!("  ! turns it off.");
        } else {
            println!("  dev login    off");
        }
        println!("  health       http://{host}:{port}/healthz   (readiness: /readyz, metrics: /metrics, projection lag: /api/projections)");
    }
}
