//! `erp` — one binary, every role.
//!
//! - `erp up`: the whole system on the embedded default (no servers needed); dev login on a
//!   loopback address only, requests for foreign Host names refused (DNS rebinding).
//! - `erp command-api`: the command role against Kafka (distributed deployment); readiness
//!   and `/metrics` report partitions that never become ready and stuck streams.
//! - `erp projector`: the projector role (Kafka → MySQL/MariaDB + MongoDB); several instances
//!   share each projection's partitions through a consumer group (`projector.*` settings).
//! - `erp query-api`: the GraphQL query role over the projector's stores.
//! - `erp notifier`: GraphQL subscriptions over WebSocket, fed through Redis.
//! - `erp replay --projection NAME`: rebuild a projection into a shadow copy and swap it in.
//! - `erp bench commands|rebuild|fuzz`: load and rebuild benchmarks, the command-API fuzz.
//! - `erp repair-log --data-dir D [--yes]`: cut an embedded log at a damaged frame.
//!
//! `main` parses arguments, loads settings and starts telemetry; each role is
//! `build(...)` + `run_until_stopped(shutdown)`.

mod audit;
mod bench;
mod repair;
mod replay;
mod settings;

use anyhow::Context;
use clap::{Parser, Subcommand};
use command_api::{AuthState, Settings as CommandSettings};
use infra::auth::LocalSigner;
use infra::eventlog::embedded::{EmbeddedLog, EmbeddedOptions};
use infra::eventlog::kafka::KafkaLog;
use infra::eventlog::{EventLog, Upcasters};
use infra::readmodel::sql::SqlReadModel;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(
    name = "erp",
    version,
    about = "ERP 전자결재 (electronic approval): event-sourced, one binary for every role"
)]
struct Cli {
    /// Log as JSON lines (default: human-readable).
    #[arg(long, global = true, env = "ERP_LOG_JSON")]
    log_json: bool,
    #[command(subcommand)]
    command: Role,
}

#[derive(Debug, Subcommand)]
enum ReplayAction {
    /// Rebuild the projection into a scratch copy up to --until (default: where the live copy
    /// stands) and print a structured diff: rows missing from the live copy, extra rows,
    /// different rows. Exit 0 only when identical.
    Diff {
        /// Log position tokens (`type:partition:offset`, comma-separated) to rebuild through.
        #[arg(long)]
        until: Option<String>,
        /// Print the diff as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum Role {
    /// Run every role in one process on the embedded default: embedded log on disk, one port,
    /// a seeded demo company on first start, dev login (demo only: loopback addresses only).
    Up {
        /// Port to listen on.
        #[arg(long, default_value_t = 8080, env = "ERP_PORT")]
        port: u16,
        /// Address to listen on. Anything but a loopback address needs --no-dev-login.
        #[arg(long, default_value = "127.0.0.1", env = "ERP_UP_BIND")]
        bind: std::net::IpAddr,
        /// Turn off the dev login (log in as any demo user, HR admin included, without a password).
        #[arg(long)]
        no_dev_login: bool,
        /// A Host name this server answers to besides 127.0.0.1, localhost and [::1] on its port
        /// (`name` for any port, `name:port` for one); repeat or comma-separate.
        #[arg(long = "allowed-host", env = "ERP_ALLOWED_HOSTS", value_delimiter = ',')]
        allowed_hosts: Vec<String>,
        /// Where the log and keys live.
        #[arg(long, default_value = "./data", env = "ERP_DATA_DIR")]
        data_dir: PathBuf,
        /// Do not seed the demo company.
        #[arg(long)]
        no_seed: bool,
    },
    /// Run the command API against Kafka (settings: --config file, then ERP_* variables).
    CommandApi {
        /// A TOML settings file (see README "Settings").
        #[arg(long, env = "ERP_CONFIG")]
        config: Option<PathBuf>,
        /// Seed the demo company if the log has no employees yet (first HR admin included).
        #[arg(long)]
        seed_demo: bool,
    },
    /// Run the projector from Kafka: the employee read model into MySQL/MariaDB, the approval
    /// views into MongoDB (settings as for command-api, plus `read_model.*` / ERP_MYSQL_URL,
    /// ERP_MONGO_URL, ERP_MONGO_DB). Start as many as needed: instances share each projection's
    /// partitions through a consumer group (`projector.shared`, `projector.group`).
    Projector {
        #[arg(long, env = "ERP_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run the GraphQL query API (`/graphql`) over the projector's stores: MySQL/MariaDB,
    /// MongoDB, and Kafka for time travel (settings as for projector, plus the JWKS of
    /// command-api).
    QueryApi {
        #[arg(long, env = "ERP_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run the notifier: GraphQL subscriptions over WebSocket (`/graphql/ws`), fed by the
    /// projector through Redis (settings as for query-api, plus ERP_REDIS_URL).
    Notifier {
        #[arg(long, env = "ERP_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Rebuild projections from the whole log into shadow copies and swap each in atomically,
    /// with a progress bar (events/s, ETA); the live read model keeps serving meanwhile and no
    /// notification is sent again.
    ///
    /// With `diff`: rebuild into a scratch copy instead and compare it with the live one
    /// (exit 0 only when identical — usable as a CI gate).
    Replay {
        #[command(subcommand)]
        action: Option<ReplayAction>,
        /// org.employees, org.departments, org.delegations, org.leave, approval.views, or all.
        #[arg(long, global = true)]
        projection: Option<String>,
        /// The embedded deployment's data directory (stop `erp up` first); without it, the
        /// distributed stores from --config and ERP_* settings, while `erp projector` runs.
        #[command(flatten)]
        log: audit::LogArgs,
    },
    /// Check the whole log (or one stream): every hash chain, version continuity, envelope,
    /// and that each payload decodes as its domain event. Exit 1 when anything is wrong.
    Verify {
        /// Only this stream, as TYPE/ID (e.g. approval/0190…).
        #[arg(long)]
        stream: Option<String>,
        /// Skip decoding payloads as domain events (chain and envelope only).
        #[arg(long)]
        no_schema: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Kafka only: also ask each partition's announced owner for the stream heads it holds
        /// (over its internal listener: needs internal_token and peer_allowlist as for
        /// command-api) and report every stream whose head there is not the log's.
        #[arg(long)]
        owners: bool,
        #[command(flatten)]
        log: audit::LogArgs,
    },
    /// The audit trail of one document: every event with actor, proxy (대결), time, action,
    /// comment, correlation and causation ids; or its state at an instant with --as-of.
    History {
        /// The document id (UUID).
        document: String,
        /// Print the document as it stood at this RFC 3339 instant instead.
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: audit::Format,
        #[command(flatten)]
        log: audit::LogArgs,
    },
    /// Write every record (or one stream's, --stream TYPE/ID) as JSON Lines, verbatim.
    Export {
        #[arg(long)]
        stream: Option<String>,
        /// File to write (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        log: audit::LogArgs,
    },
    /// Read `erp export` JSON Lines into an empty embedded log under --data-dir, then verify it.
    Import {
        /// File to read (default: stdin).
        #[arg(long = "in")]
        input: Option<PathBuf>,
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Repair an embedded log that refuses to open because a frame is damaged: list the frames
    /// a repair drops (the damaged one and all after it), and drop them only with --yes (stop
    /// `erp up` first). Exit 1 when damage was found and left alone.
    RepairLog {
        #[arg(long)]
        data_dir: PathBuf,
        /// Drop the listed frames.
        #[arg(long)]
        yes: bool,
    },
    /// The fault campaign of the distributed command side on real processes (`scripts/chaos`
    /// starts the servers it needs and calls this): load through kill -9, SIGSTOP, joins and
    /// leaves, a broker restart and a projector kill, then checks that nothing acknowledged was
    /// lost, duplicated or left stuck. Exit 1 when a check fails.
    Chaos(bench::chaos::ChaosArgs),
    /// Load generators.
    Bench {
        #[command(subcommand)]
        what: bench::Bench,
    },
}

fn init_telemetry(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ERP_LOG").unwrap_or_else(|_| "info,rdkafka=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
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

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_telemetry(cli.log_json);
    // 0: done and clean; 1: done, problems found (verify, diff); 2: could not run.
    match run(cli.command).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        // A reader that closed the pipe (`erp export | head`) wanted no more: not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            // The cause chain on one line, for an operator; no backtrace.
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(role: Role) -> anyhow::Result<bool> {
    match role {
        Role::Up {
            port,
            bind,
            no_dev_login,
            allowed_hosts,
            data_dir,
            no_seed,
        } => up(UpOptions {
            address: SocketAddr::new(bind, port),
            dev_login: !no_dev_login,
            allowed_hosts,
            data_dir,
            seed: !no_seed,
        })
        .await
        .map(|()| true),
        Role::CommandApi { config, seed_demo } => command_role(settings::Settings::load(config.as_deref())?, seed_demo)
            .await
            .map(|()| true),
        Role::Projector { config } => projector_role(settings::Settings::load(config.as_deref())?)
            .await
            .map(|()| true),
        Role::QueryApi { config } => query_role(settings::Settings::load(config.as_deref())?)
            .await
            .map(|()| true),
        Role::Notifier { config } => notifier_role(settings::Settings::load(config.as_deref())?)
            .await
            .map(|()| true),
        Role::Replay {
            action,
            projection,
            log,
        } => {
            let projection = projection.context("--projection is required (a projection name, or all)")?;
            let projections = replay::select(&projection)?;
            let projector = match &log.data_dir {
                Some(dir) => embedded_projector(dir).await?.1,
                None => distributed_projector(&settings::Settings::load(log.config.as_deref())?, false).await?,
            };
            match action {
                None => replay::run(&projector, &projections).await.map(|()| true),
                Some(ReplayAction::Diff { until, json }) => replay::diff(&projector, &projections, until, json).await,
            }
        }
        Role::Verify {
            stream,
            no_schema,
            json,
            owners,
            log,
        } => audit::verify(&log, stream, no_schema, json, owners).await,
        Role::History {
            document,
            as_of,
            format,
            log,
        } => audit::history(&log, &document, as_of, format).await,
        Role::Export { stream, out, log } => audit::export(&log, stream, out).await,
        Role::Import { input, data_dir } => audit::import(&data_dir, input).await,
        Role::RepairLog { data_dir, yes } => repair::run(&data_dir, yes),
        Role::Bench { what } => bench::run(what).await.map(|()| true),
        Role::Chaos(args) => bench::chaos::run(args).await,
    }
}

/// How `erp up` runs.
#[derive(Debug)]
struct UpOptions {
    address: SocketAddr,
    dev_login: bool,
    allowed_hosts: Vec<String>,
    data_dir: PathBuf,
    seed: bool,
}

async fn up(options: UpOptions) -> anyhow::Result<()> {
    let UpOptions {
        address,
        dev_login,
        allowed_hosts,
        data_dir,
        seed,
    } = options;
    if dev_login && !address.ip().is_loopback() {
        anyhow::bail!(
            "refusing to offer the dev login on {address}: it hands anyone who can reach the port a token for any \
             demo user, HR admin included. It is for demos on this machine (the default 127.0.0.1); to serve \
             {} anyway, pass --no-dev-login",
            address.ip()
        );
    }
    let (log, projector) = embedded_projector(&data_dir).await?;
    let signer = LocalSigner::load_or_create(&data_dir.join("keys/ed25519.seed"), "erp-embedded", "erp")
        .context("loading the local signing key")?;
    let query_verifier = Arc::new(signer.verifier());
    let signer_verifier = signer.verifier();
    let auth = AuthState {
        verifier: signer.verifier(),
        signer: Some(signer),
    };
    let port = address.port();
    let settings = CommandSettings {
        dev_login,
        policy: command_api::seed::demo_policy(),
        cors_origins: vec![
            format!("http://127.0.0.1:{port}"),
            format!("http://localhost:{port}"),
            "http://localhost:5173".into(),
        ],
        rate_limit: settings::rate_limit_from_env(command_api::ratelimit::RateLimit::default())?,
        ..CommandSettings::default()
    };
    let (_stop_projections, stop) = tokio::sync::watch::channel(false);
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
    let queries = query_api::router(stores, query_verifier, query_config);
    let live = notifier::router(
        notifier::Sources {
            bus: projector.bus().clone(),
            views: projector.views().clone(),
        },
        projector.store().clone(),
        Arc::new(signer_verifier),
        notifier::NotifierConfig::default(),
    );
    let (state, router) = command_api::build(log, auth, settings);
    let router = router
        .merge(projection_routes(projector))
        .merge(queries)
        .merge(live)
        .fallback_service(web_app());
    // Bind first: with --port 0 the Host names to accept are known only now.
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding {address} (is another erp running? try --port)"))?;
    let port = listener.local_addr()?.port();
    let router =
        command_api::edge::harden(command_api::edge::HostAllowlist::loopback(port, &allowed_hosts).layer(router));
    let app = command_api::Application::from_listener(listener, router);
    if seed
        && command_api::seed::seed_if_empty(&state)
            .await
            .map_err(|e| anyhow::anyhow!("seeding: {}", e.detail))?
    {
        println!("seeded the demo company");
    }
    let host = match address.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        ip => SocketAddr::new(ip, 0).to_string().trim_end_matches(":0").to_owned(),
    };
    println!("ERP 전자결재 is up (embedded log in {})", data_dir.display());
    println!("  web app      http://{host}:{port}/");
    println!("  API          http://{host}:{port}/api");
    println!("  API docs     http://{host}:{port}/docs   (OpenAPI: /openapi.json)");
    println!("  GraphQL      http://{host}:{port}/graphql   (console: /graphiql)");
    println!("  live         ws://{host}:{port}/graphql/ws   (graphql-transport-ws subscriptions)");
    if dev_login {
        println!("  dev login    http://{host}:{port}/auth/dev-users");
        println!("  ! DEV LOGIN IS ON: anyone who can reach this port may act as any demo user, HR admin");
        println!("  ! included, without a password. It is for demos on this machine only; --no-dev-login");
        println!("  ! turns it off.");
    } else {
        println!("  dev login    off");
    }
    println!("  health       http://{host}:{port}/healthz   (projection lag: /api/projections, /metrics)");
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(())
}

/// The built SPA (`web/dist`, or `ERP_WEB_DIR`), with `index.html` for every path it does
/// not know (client-side routes); a page saying how to build it when it is missing. API
/// paths never fall through to the app: an unknown one stays a problem+json 404.
fn web_app() -> axum::routing::MethodRouter {
    use axum::response::IntoResponse;
    let dist = std::env::var_os("ERP_WEB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("web/dist"));
    let index = dist.join("index.html");
    let built = index.is_file();
    if !built {
        tracing::warn!(dir = %dist.display(), "the web app is not built; run scripts/up (or npm run build in web/)");
    }
    let files = tower_http::services::ServeDir::new(&dist).fallback(tower_http::services::ServeFile::new(index));
    axum::routing::any(move |request: axum::extract::Request| {
        let files = files.clone();
        async move {
            let path = request.uri().path();
            if ["/api", "/auth", "/graphql", "/internal"]
                .iter()
                .any(|p| path.starts_with(p))
            {
                // The command API's own answer to an unknown route, so both read alike.
                return command_api::error::ApiError::not_found("no such route").into_response();
            }
            if !built {
                return axum::response::Html(
                    "<h1>ERP 전자결재</h1><p>The web app is not built yet: run <code>scripts/up</code>, or \
                     <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then restart. \
                     The APIs are up: <a href=\"/docs\">/docs</a>, <a href=\"/graphiql\">/graphiql</a>.</p>",
                )
                .into_response();
            }
            match tower::ServiceExt::oneshot(files, request).await {
                Ok(response) => response.into_response(),
                Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
            }
        }
    })
}

/// The embedded deployment's log and projector over `data_dir` (log in `log/`, SQLite read
/// model in `read.db`).
async fn embedded_projector(data_dir: &std::path::Path) -> anyhow::Result<(Arc<dyn EventLog>, projector::Projector)> {
    infra::auth::create_private_dir(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let log: Arc<dyn EventLog> = Arc::new(
        EmbeddedLog::open(data_dir.join("log"), EmbeddedOptions::default(), Upcasters::default())
            .with_context(|| format!("opening the embedded log in {}", data_dir.display()))?,
    );
    let read_model = SqlReadModel::connect(&format!("sqlite://{}?mode=rwc", data_dir.join("read.db").display()))
        .await
        .map_err(|e| anyhow::anyhow!("opening the read model: {e}"))?;
    Ok((log.clone(), projector::Projector::new(log, read_model)))
}

/// The distributed projector: Kafka as a reader, MySQL/MariaDB, MongoDB; with `live`, its
/// changes go out on Redis for the notifiers.
async fn distributed_projector(settings: &settings::Settings, live: bool) -> anyhow::Result<projector::Projector> {
    // A reader: it never joins the writer group or owns partitions.
    let kafka = settings.kafka_config(false);
    let log = KafkaLog::connect(kafka, Upcasters::default())
        .await
        .map_err(|e| anyhow::anyhow!("connecting to Kafka: {e}"))?;
    let (store, views) = read_stores(settings).await?;
    let projector = projector::Projector::new(Arc::new(log), store).with_views(Arc::new(views));
    if !live {
        return Ok(projector);
    }
    Ok(projector.with_bus(Arc::new(redis_bus(settings).await?)))
}

/// The distributed read side: the employee read model (MySQL/MariaDB) and the approval views
/// (MongoDB).
async fn read_stores(
    settings: &settings::Settings,
) -> anyhow::Result<(SqlReadModel, infra::readmodel::mongo::MongoViews)> {
    let store = SqlReadModel::connect(&settings.read_model.mysql_url)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to MySQL: {e}"))?;
    let views = infra::readmodel::mongo::MongoViews::connect(
        &settings.read_model.mongo_url,
        &settings.read_model.mongo_database,
    )
    .await
    .map_err(|e| anyhow::anyhow!("connecting to MongoDB: {e}"))?;
    Ok((store, views))
}

/// The change bus between projector and notifiers.
async fn redis_bus(settings: &settings::Settings) -> anyhow::Result<infra::bus::RedisBus> {
    infra::bus::RedisBus::connect(&settings.read_model.redis_url, &settings.read_model.redis_channel)
        .await
        .map_err(|e| anyhow::anyhow!("connecting to Redis: {e}"))
}

/// Projection lag as JSON (`/api/projections`) and Prometheus metrics (`/metrics`).
fn projection_routes(projector: projector::Projector) -> axum::Router {
    use axum::response::IntoResponse;
    async fn lag(axum::extract::State(p): axum::extract::State<projector::Projector>) -> axum::response::Response {
        match p.lag().await {
            Ok(lags) => axum::Json(lags).into_response(),
            Err(e) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
        }
    }
    async fn metrics(axum::extract::State(p): axum::extract::State<projector::Projector>) -> axum::response::Response {
        match p.lag().await {
            Ok(lags) => (
                [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                projector::lag_metrics(&lags),
            )
                .into_response(),
            Err(e) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
        }
    }
    axum::Router::new()
        .route("/api/projections", axum::routing::get(lag))
        .route("/metrics", axum::routing::get(metrics))
        .with_state(projector)
}

/// The projector role: employee read model in MySQL/MariaDB, approval views in MongoDB.
async fn projector_role(settings: settings::Settings) -> anyhow::Result<()> {
    let mut projector = distributed_projector(&settings, true).await?;
    match settings.projector_group() {
        Some(group) => {
            tracing::info!(%group, "projections shared with the other projector instances of this group");
            projector = projector.shared(group);
        }
        None => tracing::info!("projections not shared: this instance projects every partition"),
    }
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let projections = projector.spawn_all(stop);
    let router = projection_routes(projector).route("/healthz", axum::routing::get(|| async { "ok" }));
    let app = command_api::Application::bind(settings.bind, command_api::edge::harden(router))
        .await
        .with_context(|| format!("binding {}", settings.bind))?;
    tracing::info!(
        port = app.port(),
        "projector running; lag at /api/projections and /metrics"
    );
    app.run_until_stopped(shutdown_signal()).await?;
    let _ = stop_tx.send(true);
    // Each projection finishes its batch and leaves its group, so the other instances take
    // this one's partitions now rather than when its sessions time out.
    let left = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        futures::future::join_all(projections),
    )
    .await;
    if left.is_err() {
        tracing::warn!("projections did not stop within 10 s; exiting anyway");
    }
    Ok(())
}

/// The query role: GraphQL over MySQL/MariaDB and MongoDB, Kafka for time travel and lag.
async fn query_role(settings: settings::Settings) -> anyhow::Result<()> {
    settings.jwks_url()?;
    let projector = distributed_projector(&settings, false).await?;
    let verifier = settings.verifier().await?;
    let stores = query_api::Stores {
        org: projector.store().clone(),
        views: projector.views().clone(),
        log: projector.log().clone(),
        policy: domain::line_rule::LinePolicy::default(),
    };
    let router = query_api::router(stores, Arc::new(verifier), query_api::QueryConfig::default())
        .route("/healthz", axum::routing::get(|| async { "ok" }));
    let app = command_api::Application::bind(settings.bind, command_api::edge::harden(router))
        .await
        .with_context(|| format!("binding {}", settings.bind))?;
    tracing::info!(port = app.port(), "query API listening on /graphql");
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(())
}

/// The notifier role: subscriptions over WebSocket, changes from Redis.
async fn notifier_role(settings: settings::Settings) -> anyhow::Result<()> {
    settings.jwks_url()?;
    let (org, views) = read_stores(&settings).await?;
    let bus = redis_bus(&settings).await?;
    let verifier = settings.verifier().await?;
    let sources = notifier::Sources {
        bus: Arc::new(bus),
        views: Arc::new(views),
    };
    let router = notifier::router(sources, org, Arc::new(verifier), notifier::NotifierConfig::default())
        .route("/healthz", axum::routing::get(|| async { "ok" }));
    let app = command_api::Application::bind(settings.bind, command_api::edge::harden(router))
        .await
        .with_context(|| format!("binding {}", settings.bind))?;
    tracing::info!(port = app.port(), "notifier listening on /graphql/ws");
    app.run_until_stopped(shutdown_signal()).await?;
    Ok(())
}

/// The command role: the public API on `bind`; with an internal token, peers' `/internal/log`
/// on `internal_bind`.
async fn command_role(settings: settings::Settings, seed_demo: bool) -> anyhow::Result<()> {
    settings.jwks_url()?;
    let token = match settings.internal_token.as_deref() {
        Some("") => {
            anyhow::bail!("internal_token (ERP_INTERNAL_TOKEN) is empty: set a long random secret, or unset it")
        }
        token => token.map(str::to_owned),
    };
    anyhow::ensure!(
        settings.advertised_url.is_none() || token.is_some(),
        "advertised_url is set but internal_token is not: peers could not forward to this instance"
    );
    anyhow::ensure!(
        settings.internal_bind != settings.bind,
        "internal_bind and bind are both {}: peers' /internal/log needs a listener of its own",
        settings.bind
    );
    let peers = infra::eventlog::kafka::owners::Peers::parse(
        &settings.peer_allowlist,
        settings.internal_bind.ip().is_loopback(),
    )
    .map_err(|e| anyhow::anyhow!("peer_allowlist: {e}"))?;
    let mut kafka = settings.kafka_config(true);
    kafka.advertised_url = settings.advertised_url.clone();
    kafka.internal_token = token.clone();
    kafka.peers = peers;
    let log = KafkaLog::connect(kafka, Upcasters::default())
        .await
        .map_err(|e| anyhow::anyhow!("connecting to Kafka: {e}"))?;
    let verifier = settings.verifier().await?;
    let command_settings = CommandSettings {
        cors_origins: settings.cors_origins.clone(),
        internal_token: token,
        rate_limit: settings.rate_limit,
        request_timeout: std::time::Duration::from_secs(settings.request_timeout_secs),
        ..CommandSettings::default()
    };
    let (state, router) = command_api::build(
        Arc::new(log.clone()),
        AuthState { verifier, signer: None },
        command_settings,
    );
    let router = router.merge(command_api::metrics_router(&state));
    let app = command_api::Application::bind(settings.bind, router)
        .await
        .with_context(|| format!("binding {}", settings.bind))?;
    tracing::info!(port = app.port(), "command API listening");
    if let Some(internal) = command_api::internal_router(&state) {
        let internal = command_api::Application::bind(settings.internal_bind, internal)
            .await
            .with_context(|| format!("binding the internal listener {}", settings.internal_bind))?;
        tracing::info!(address = %settings.internal_bind, "internal listener (peers' /internal/log)");
        tokio::spawn(internal.run_until_stopped(shutdown_signal()));
    }
    if seed_demo {
        // Wait for this instance's share of the partitions; other instances serve the rest.
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        command_api::seed::seed_if_empty(&state)
            .await
            .map_err(|e| anyhow::anyhow!("seeding: {}", e.detail))?;
    }
    app.run_until_stopped(shutdown_signal()).await?;
    log.shutdown().await;
    Ok(())
}
