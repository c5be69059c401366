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
//! - `erp settings [--show]`: every setting of the distributed roles, or the effective ones.
//!
//! `main` parses the command line (`cli`), starts telemetry and dispatches: each role is
//! `roles::X::build(&settings)` + `run_until_stopped()`, built from the shared builders in
//! `wiring`; the tools live in `audit`, `replay`, `repair` and `bench`.

/// jemalloc, not glibc's allocator. A catch-up frees millions of small rows and strings
/// between larger buffers, and glibc spent about two fifths of the folding thread in
/// `malloc`/`free` and the consolidation each larger request sets off; with jemalloc the
/// rebuild runs about a fifth faster, the command path sheds less at twice its held rate,
/// and an idle WebSocket connection costs no more (docs/performance.md, "One allocator for
/// every role"). mimalloc gained a tenth on the rebuild but cost idle connections a quarter
/// more memory.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod audit;
mod audit_document;
mod audit_files;
mod bench;
mod cli;
mod repair;
mod replay;
mod roles;
mod settings;
mod smoke;
mod web;
mod wiring;

use anyhow::Context;

use cli::{Cli, ReplayAction, Role};
use settings::Settings;
use std::net::SocketAddr;

/// Logs to stderr (JSON lines with `--log-json`, each carrying the fields of the spans it is
/// logged in: `trace_id`, `request_id`, `correlation_id`), and spans to an OTLP collector
/// when one is configured (service `erp-<role>`, or `OTEL_SERVICE_NAME`). The returned exporter flushes queued spans at exit.
fn init_telemetry(cli: &Cli, role: &str) -> anyhow::Result<Option<infra::telemetry::traces::Exporter>> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    // ERP_LOG sets what is logged, not what is traced: spans go to the collector at INFO
    // whatever the log level (and the exporter's own HTTP client, below INFO, never does).
    let filter = tracing_subscriber::EnvFilter::try_from_env("ERP_LOG").unwrap_or_else(|_| "info,rdkafka=warn".into());
    // Colour only on a terminal, and not when NO_COLOR is set: a log piped to a file or a
    // collector gets plain text (and the escape codes cost a tenth of each request's span
    // formatting).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour);
    let fmt = if cli.log_json {
        fmt.json().with_filter(filter).boxed()
    } else {
        fmt.with_filter(filter).boxed()
    };
    // ERP_OTLP_ENDPOINT (or --otlp-endpoint) is ours: a bad one is refused. The standard
    // OTEL_EXPORTER_OTLP_ENDPOINT may be set by a platform for its own agents: a bad one is
    // reported and tracing stays off.
    let (endpoint, ours) = match cli.otlp_endpoint.clone().filter(|e| !e.trim().is_empty()) {
        Some(endpoint) => (Some(endpoint), true),
        None => (
            std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .ok()
                .filter(|e| !e.trim().is_empty()),
            false,
        ),
    };
    let service = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| format!("erp-{role}"));
    let mut refused = None;
    let (otel, exporter) = match endpoint.map(|e| infra::telemetry::traces::exporter(&e, &service)) {
        Some(Ok((layer, exporter))) => (
            Some(layer.with_filter(tracing_subscriber::filter::LevelFilter::INFO)),
            Some(exporter),
        ),
        Some(Err(why)) if ours => return Err(anyhow::anyhow!(why)).context("starting the trace exporter"),
        Some(Err(why)) => {
            refused = Some(why);
            (None, None)
        }
        None => (None, None),
    };
    tracing_subscriber::registry().with(fmt).with(otel).init();
    if let Some(why) = refused {
        tracing::warn!(%why, "OTEL_EXPORTER_OTLP_ENDPOINT is not usable; traces are not exported");
    }
    Ok(exporter)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let matches = <Cli as clap::CommandFactory>::command().get_matches();
    let cli = <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let role = matches.subcommand_name().unwrap_or("erp");
    let exporter = match init_telemetry(&cli, role) {
        Ok(exporter) => exporter,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    // Before anything records: a series set while connecting (the writer group's partition
    // count) must not be lost to a recorder that is not there yet.
    infra::telemetry::metrics::install();
    let outcome = run(cli.command).await;
    if let Some(exporter) = exporter {
        let _ = tokio::task::spawn_blocking(move || exporter.shutdown()).await;
    }
    // 0: done and clean; 1: done, problems found (verify, diff); 2: could not run.
    match outcome {
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
            oidc_issuer,
            oidc_client_id,
            oidc_client_secret,
            oidc_claim,
            oidc_redirect_uri,
        } => {
            let address = SocketAddr::new(bind, port);
            let oidc = oidc_issuer.map(|issuer| infra::auth::oidc::OidcConfig {
                issuer,
                client_id: oidc_client_id,
                client_secret: oidc_client_secret,
                redirect_uri: oidc_redirect_uri.unwrap_or_else(|| format!("http://{address}/auth/oidc/callback")),
                claim: oidc_claim,
            });
            let options = roles::up::UpOptions {
                address,
                dev_login: !no_dev_login,
                allowed_hosts,
                data_dir,
                seed: !no_seed,
                oidc,
            };
            roles::up::Up::build(options).await?.run_until_stopped().await?;
        }
        Role::CommandApi { config, seed_demo } => {
            let settings = Settings::load(config.as_deref())?;
            roles::command_api::CommandApi::build(&settings, seed_demo)
                .await?
                .run_until_stopped()
                .await?;
        }
        Role::Projector { config } => {
            let settings = Settings::load(config.as_deref())?;
            roles::projector::ProjectorRole::build(&settings)
                .await?
                .run_until_stopped()
                .await?;
        }
        Role::QueryApi { config } => {
            let settings = Settings::load(config.as_deref())?;
            roles::query_api::QueryApi::build(&settings)
                .await?
                .run_until_stopped()
                .await?;
        }
        Role::Notifier { config } => {
            let settings = Settings::load(config.as_deref())?;
            roles::notifier::Notifier::build(&settings)
                .await?
                .run_until_stopped()
                .await?;
        }
        Role::Gateway {
            port,
            bind,
            commands,
            queries,
            live,
            identity,
            projector,
            timeout_secs,
        } => {
            let trim = |url: String| url.trim_end_matches('/').to_owned();
            let options = roles::gateway::GatewayOptions {
                address: SocketAddr::new(bind, port),
                upstreams: roles::gateway::Upstreams {
                    commands: commands.into_iter().map(trim).collect(),
                    queries: trim(queries),
                    live: trim(live),
                    identity: identity.map(trim),
                    projector: projector.map(trim),
                },
                timeout: std::time::Duration::from_secs(timeout_secs),
            };
            roles::gateway::GatewayRole::build(options)
                .await?
                .run_until_stopped()
                .await?;
        }
        Role::Smoke { url, skip_web_app } => {
            if let Err(e) = smoke::run(&url, !skip_web_app).await {
                eprintln!("smoke check failed: {e:#}");
                return Ok(false);
            }
        }
        Role::Settings { config, show } => {
            if show {
                let settings = Settings::load(config.as_deref())?;
                print!("{}", toml::to_string(&settings).context("printing the settings")?);
            } else {
                print!("{}", settings::markdown_table());
            }
        }
        Role::Replay {
            action,
            projection,
            log,
        } => {
            let projection = projection.context("--projection is required (a projection name, or all)")?;
            let projections = replay::select(&projection)?;
            let projector = match &log.data_dir {
                Some(dir) => wiring::embedded(dir).await?.1,
                None => wiring::distributed_projector(&Settings::load(log.config.as_deref())?, false).await?,
            };
            return match action {
                None => replay::run(&projector, &projections).await.map(|()| true),
                Some(ReplayAction::Diff { until, json }) => replay::diff(&projector, &projections, until, json).await,
            };
        }
        Role::Verify {
            stream,
            no_schema,
            json,
            owners,
            attachments,
            document,
            head,
            log,
        } => {
            if let Some(number) = document {
                return audit_document::verify_document(&log, &number, head.as_deref(), json).await;
            }
            let log_ok = audit::verify(&log, stream, no_schema, json, owners).await?;
            let files_ok = !attachments || audit_files::verify_attachments(&log, json).await?;
            return Ok(log_ok && files_ok);
        }
        Role::History {
            document,
            as_of,
            format,
            log,
        } => return audit::history(&log, &document, as_of, format).await,
        Role::Export { stream, out, log } => return audit::export(&log, stream, out).await,
        Role::Import { input, data_dir } => return audit::import(&data_dir, input).await,
        Role::RepairLog { data_dir, yes } => return repair::run(&data_dir, yes),
        Role::Bench { what } => bench::run(what).await?,
        Role::Chaos(args) => return bench::chaos::run(args).await,
    }
    Ok(true)
}
