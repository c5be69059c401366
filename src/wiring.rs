//! The builders every role shares, each used once per thing it builds: the event log (embedded
//! or Kafka, as writer, reader or auditor), the read stores, the Redis change bus, the token
//! verifier, the projector over them, the lag routes and the projector's part of `/metrics`,
//! the listener and the shutdown signal. Roles in `roles/` and the audit tools compose these;
//! none of them builds a log or a store by hand, so a setting is read in one place and every
//! failure names what it tried.

use anyhow::Context;
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::kafka::owners::Peers;
use infra::eventlog::kafka::KafkaLog;
use infra::eventlog::{EventLog, Upcasters};
use infra::readmodel::mongo::MongoViews;
use infra::readmodel::sql::SqlReadModel;
use infra::telemetry::Operations;
use secrecy::ExposeSecret;
use std::path::Path;
use std::sync::Arc;

use crate::settings::Settings;

/// What a process does with the Kafka log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaUse {
    /// The command role: joins the writer group and owns partitions; peers forward to it.
    Writer,
    /// Projector and query roles: reads only.
    Reader,
    /// The audit tools: reads, and may ask owners for their heads (`verify --owners`).
    Auditor,
}

/// The Kafka log as `role` uses it.
pub async fn kafka_log(settings: &Settings, role: KafkaUse) -> anyhow::Result<KafkaLog> {
    let s = &settings.kafka;
    let mut kafka = infra::eventlog::kafka::KafkaConfig::local(&s.brokers, &s.prefix, &infra::eventlog::streams::ALL);
    kafka.partitions = s.partitions;
    kafka.replication = s.replication;
    kafka.append_timeout = std::time::Duration::from_millis(s.append_timeout_ms);
    kafka.fetch_wait_ms = s.fetch_wait_ms;
    kafka.write = role == KafkaUse::Writer;
    if let Some(id) = &settings.instance_id {
        kafka.instance_id = id.clone();
    }
    if role != KafkaUse::Reader {
        kafka.internal_token = settings.internal_token()?;
        kafka.peers = Peers::parse(&settings.peer_allowlist, settings.internal_bind.ip().is_loopback())
            .map_err(anyhow::Error::msg)
            .context("peer_allowlist")?;
    }
    if role == KafkaUse::Writer {
        kafka.advertised_url = settings.advertised_url.clone();
    }
    // The client retries an unreachable broker quietly for minutes: bound the wait and say
    // which brokers were tried.
    let bound = std::time::Duration::from_millis(s.connect_timeout_ms);
    let named = || {
        format!(
            "connecting to Kafka at {} (kafka.brokers, ERP_KAFKA_BROKERS)",
            s.brokers
        )
    };
    tracing::info!(brokers = %s.brokers, "connecting to Kafka");
    match tokio::time::timeout(bound, KafkaLog::connect(kafka, Upcasters::default())).await {
        Ok(log) => log.with_context(named),
        Err(_) => Err(anyhow::anyhow!(
            "no answer from the brokers within {} ms (kafka.connect_timeout_ms, ERP_KAFKA_CONNECT_TIMEOUT_MS)",
            s.connect_timeout_ms
        ))
        .context(named()),
    }
}

/// The distributed read side: the employee read model (MySQL/MariaDB) and the approval views
/// (MongoDB).
pub async fn read_stores(settings: &Settings) -> anyhow::Result<(SqlReadModel, MongoViews)> {
    let r = &settings.read_model;
    let store = SqlReadModel::connect(r.mysql_url.expose_secret())
        .await
        .context("connecting to MySQL (read_model.mysql_url, ERP_MYSQL_URL)")?;
    let views = MongoViews::connect(r.mongo_url.expose_secret(), &r.mongo_database)
        .await
        .context("connecting to MongoDB (read_model.mongo_url, ERP_MONGO_URL)")?;
    Ok((store, views))
}

/// The change bus between projector and notifiers; `who` says what the role needs it for.
pub async fn redis_bus(settings: &Settings, who: &str) -> anyhow::Result<infra::bus::RedisBus> {
    let r = &settings.read_model;
    let named = || {
        format!(
            "{who} needs Redis: could not connect to it at read_model.redis_url (ERP_REDIS_URL; default \
             redis://127.0.0.1:6379)"
        )
    };
    let connect = infra::bus::RedisBus::connect(r.redis_url.expose_secret(), &r.redis_channel);
    match tokio::time::timeout(std::time::Duration::from_secs(10), connect).await {
        Ok(bus) => bus.with_context(named),
        Err(_) => Err(anyhow::anyhow!("no answer within 10 s")).context(named()),
    }
}

/// A verifier over the identity provider's key set, refreshed on the configured interval;
/// `role` labels its failed refreshes.
pub async fn verifier(settings: &Settings, role: &'static str) -> anyhow::Result<infra::auth::Verifier> {
    let a = &settings.auth;
    let url = settings.jwks_url()?;
    let refresh = std::time::Duration::from_secs(a.jwks_refresh_secs.max(1));
    infra::auth::Verifier::remote(role, url, &a.issuer, &a.audience, refresh)
        .await
        .with_context(|| format!("loading the JWKS from {url}"))
}

/// The embedded deployment's log and projector over `data_dir` (log in `log/`, SQLite read
/// model in `read.db`).
pub async fn embedded(data_dir: &Path) -> anyhow::Result<(Arc<dyn EventLog>, projector::Projector)> {
    infra::auth::create_private_dir(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let log: Arc<dyn EventLog> = Arc::new(
        EmbeddedLog::open(data_dir.join("log"), EmbeddedOptions::default(), Upcasters::default())
            .with_context(|| format!("opening the embedded log in {}", data_dir.display()))?,
    );
    let read_model = SqlReadModel::connect(&infra::readmodel::sql::sqlite_url(&data_dir.join("read.db"))?)
        .await
        .context("opening the read model")?;
    Ok((log.clone(), projector::Projector::new(log, read_model)))
}

/// The distributed projector: Kafka as a reader, MySQL/MariaDB, MongoDB; with `live`, its
/// changes go out on Redis for the notifiers.
pub async fn distributed_projector(settings: &Settings, live: bool) -> anyhow::Result<projector::Projector> {
    // Redis first: the projector alone needs it, so its absence is said before anything
    // slower is tried.
    let bus = match live {
        true => Some(redis_bus(settings, "the projector publishes every change to the notifiers, so it").await?),
        false => None,
    };
    let log = kafka_log(settings, KafkaUse::Reader).await?;
    let (store, views) = read_stores(settings).await?;
    let projector = projector::Projector::new(Arc::new(log), store).with_views(Arc::new(views));
    Ok(match bus {
        Some(bus) => projector.with_bus(Arc::new(bus)),
        None => projector,
    })
}

/// Projection lag as JSON (`/api/projections`), counted and timed as the projector's.
pub fn projection_routes(projector: projector::Projector) -> axum::Router {
    use axum::response::IntoResponse;
    async fn lag(axum::extract::State(p): axum::extract::State<projector::Projector>) -> axum::response::Response {
        match p.lag().await {
            Ok(lags) => axum::Json(lags).into_response(),
            Err(e) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
        }
    }
    let router = axum::Router::new()
        .route("/api/projections", axum::routing::get(lag))
        .with_state(projector);
    infra::telemetry::http::instrument(router, "projector")
}

/// The projector's part of `/metrics`: projection lag, partitions and skips, read at each
/// scrape.
pub fn projector_operations(operations: Operations, projector: &projector::Projector) -> Operations {
    let projector = projector.clone();
    operations.collect(move || {
        let projector = projector.clone();
        async move { projector.record_lag().await }
    })
}

/// `router` behind admission control ([`infra::admission`]): over its limits, 503
/// `overloaded` with `Retry-After` before any work (probes excepted).
pub fn admitted(router: axum::Router, limits: infra::admission::AdmissionLimits) -> axum::Router {
    router.layer(axum::middleware::from_fn_with_state(
        infra::admission::Admission::new(limits),
        command_api::edge::admit,
    ))
}

/// A hardened listener on `bind` with `/healthz`, for the read-side roles.
pub async fn listen(
    bind: std::net::SocketAddr,
    router: axum::Router,
    what: &str,
) -> anyhow::Result<command_api::Application> {
    let router = router.route("/healthz", axum::routing::get(|| async { "ok" }));
    command_api::Application::bind(bind, command_api::edge::harden(router))
        .await
        .with_context(|| format!("binding the {what} to {bind} (bind, ERP_BIND)"))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: no new requests, finishing in-flight ones");
}

/// The headless Chromium that renders documents to PDF: `ERP_PDF_CHROMIUM` (a path; empty
/// turns PDFs off), else the first of `chromium`, `chromium-browser`, `google-chrome` on the
/// PATH. Its system fonts must carry Korean (Noto Sans CJK, Nanum). Sandboxing is off: it
/// renders only pages this server wrote, which carry no script.
pub fn pdf_renderer() -> Option<Vec<String>> {
    let program = match std::env::var("ERP_PDF_CHROMIUM") {
        Ok(path) if path.trim().is_empty() => return None,
        Ok(path) => std::path::PathBuf::from(path),
        Err(_) => {
            let path = std::env::var_os("PATH")?;
            ["chromium", "chromium-browser", "google-chrome"]
                .iter()
                .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
                .find(|candidate| candidate.is_file())?
        }
    };
    Some(vec![
        program.display().to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--no-first-run".into(),
    ])
}

#[cfg(test)]
mod tests {
    /// A data directory is a path, not a URL: `%20`, `?` and `#` in its name are characters of
    /// the name. The read model's URL used to carry them raw, so SQLite's URL parser opened
    /// another path (`%20` read as a space) or cut the name at `?`/`#`, and `erp up` failed to
    /// open its read model in such a directory.
    #[tokio::test]
    async fn an_embedded_data_directory_named_with_url_characters_opens_its_read_model_there() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("erp%20data #1?x=y");
        let (_log, _projector) = super::embedded(&dir).await.expect("the read model opens");
        assert!(dir.join("read.db").exists());
        assert_eq!(
            std::fs::read_dir(base.path()).unwrap().count(),
            1,
            "nothing opened beside it"
        );
    }

    /// A relative data directory: its first component is not a URL's host, and `..` in it is
    /// the directory's, not the URL's to fold away.
    #[tokio::test]
    async fn a_relative_data_directory_opens_its_read_model_there() {
        let base = tempfile::Builder::new().prefix("erp data ").tempdir_in(".").unwrap();
        let name = base.path().file_name().unwrap().to_str().unwrap();
        std::fs::create_dir(base.path().join("my data")).unwrap();
        let dir = std::path::PathBuf::from(format!("{name}/my data/../결재 data"));
        let (_log, _projector) = super::embedded(&dir).await.expect("the read model opens");
        assert!(base.path().join("결재 data").join("read.db").exists());
    }
}
