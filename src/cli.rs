//! The command line: every subcommand and its options, documented for `--help`. Parsing only;
//! `main` dispatches.

use crate::{audit, bench};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "erp",
    version,
    about = "ERP 전자결재 (electronic approval): event-sourced, one binary for every role"
)]
pub struct Cli {
    /// Log as JSON lines (default: human-readable).
    #[arg(long, global = true, env = "ERP_LOG_JSON")]
    pub log_json: bool,
    /// Export traces over OTLP/HTTP to this collector (`http://collector:4318`; off when
    /// unset). `OTEL_EXPORTER_OTLP_ENDPOINT` is read too.
    #[arg(long, global = true, env = "ERP_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    #[command(subcommand)]
    pub command: Role,
}

#[derive(Debug, Subcommand)]
pub enum ReplayAction {
    /// Rebuild the projection into a scratch copy up to --until (default: where the live copy
    /// stands) and print a structured diff: rows missing from the live copy, extra rows,
    /// different rows. Exit 0 only when identical.
    ///
    /// Needs the live read model to compare with: with --data-dir, the embedded one; otherwise
    /// the distributed stores — MySQL/MariaDB (read_model.mysql_url, ERP_MYSQL_URL) and MongoDB
    /// (read_model.mongo_url, ERP_MONGO_URL, ERP_MONGO_DB) — and Kafka (ERP_KAFKA_BROKERS),
    /// from --config and ERP_* settings (docs/operations.md, "Settings").
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
pub enum Role {
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
        /// Offer sign-in through this OpenID Connect issuer (authorization code with PKCE),
        /// beside the dev login. Its discovery document is read at start.
        #[arg(long, env = "ERP_OIDC_ISSUER")]
        oidc_issuer: Option<String>,
        /// Our client id at the issuer.
        #[arg(long, env = "ERP_OIDC_CLIENT_ID", default_value = "erp-web")]
        oidc_client_id: String,
        /// A confidential client's secret (none for a public client: PKCE alone).
        #[arg(long, env = "ERP_OIDC_CLIENT_SECRET", hide_env_values = true)]
        oidc_client_secret: Option<String>,
        /// The ID token claim that names the employee: matched to an employee's email, or id.
        #[arg(long, env = "ERP_OIDC_CLAIM", default_value = "email")]
        oidc_claim: String,
        /// Where the issuer sends the browser back (default: this server's
        /// `http://<bind>:<port>/auth/oidc/callback`).
        #[arg(long, env = "ERP_OIDC_REDIRECT_URI")]
        oidc_redirect_uri: Option<String>,
    },
    /// Run the command API against Kafka (settings: --config file, then ERP_* variables).
    CommandApi {
        /// A TOML settings file (example: docs/erp.toml; every key: docs/operations.md,
        /// "Settings", or `erp settings`).
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
        /// A TOML settings file (example: docs/erp.toml; every key: docs/operations.md,
        /// "Settings", or `erp settings`).
        #[arg(long, env = "ERP_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run the GraphQL query API (`/graphql`) over the projector's stores: MySQL/MariaDB,
    /// MongoDB, and Kafka for time travel (settings as for projector, plus the JWKS of
    /// command-api).
    QueryApi {
        /// A TOML settings file (example: docs/erp.toml; every key: docs/operations.md,
        /// "Settings", or `erp settings`).
        #[arg(long, env = "ERP_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run the notifier: GraphQL subscriptions over WebSocket (`/graphql/ws`), fed by the
    /// projector through Redis (settings as for query-api, plus ERP_REDIS_URL).
    Notifier {
        /// A TOML settings file (example: docs/erp.toml; every key: docs/operations.md,
        /// "Settings", or `erp settings`).
        #[arg(long, env = "ERP_CONFIG")]
        config: Option<PathBuf>,
    },
    /// One origin in front of the distributed roles, for a try-out on one machine: the web
    /// app, `/api` to the command API instances (in turn, skipping one that is down),
    /// `/graphql` to the query API, `/graphql/ws` to the notifier, `/auth` and
    /// `/.well-known` to the identity provider. `scripts/up-distributed` starts it.
    Gateway {
        /// Port to listen on.
        #[arg(long, default_value_t = 8080, env = "ERP_GATEWAY_PORT")]
        port: u16,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1", env = "ERP_GATEWAY_BIND")]
        bind: std::net::IpAddr,
        /// Command API instances (their public listeners); repeat or comma-separate.
        #[arg(long, required = true, env = "ERP_GATEWAY_COMMANDS", value_delimiter = ',')]
        commands: Vec<String>,
        /// The query API.
        #[arg(long, default_value = "http://127.0.0.1:8083", env = "ERP_GATEWAY_QUERIES")]
        queries: String,
        /// The notifier.
        #[arg(long, default_value = "http://127.0.0.1:8084", env = "ERP_GATEWAY_LIVE")]
        live: String,
        /// The identity provider for `/auth/…` and `/.well-known/…` (default: the command API).
        #[arg(long, env = "ERP_GATEWAY_IDENTITY")]
        identity: Option<String>,
        /// The projector, for `/api/projections`.
        #[arg(long, env = "ERP_GATEWAY_PROJECTOR")]
        projector: Option<String>,
        /// Seconds an upstream may take to answer before the gateway answers 504.
        #[arg(long, default_value_t = 35, env = "ERP_GATEWAY_TIMEOUT_SECS")]
        timeout_secs: u64,
    },
    /// The demo flow through one origin (`erp up`, or `erp gateway` in front of the
    /// distributed roles), checking every role on the way: web app, dev login, a subscription,
    /// draft → submit → approve, the push, the query API showing it approved and numbered.
    /// Exit 1 at the first step that fails, naming it.
    Smoke {
        /// The origin, e.g. http://127.0.0.1:8080
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// Skip the first step (the web app served at `/`): for a binary built before the web
        /// app, as the test suites run it.
        #[arg(long)]
        skip_web_app: bool,
    },
    /// Print every setting of the distributed roles — key, ERP_* variable, default — as the
    /// Markdown table of docs/operations.md ("Settings"); with --show, the settings these
    /// roles would run with (file, then environment), secrets redacted.
    Settings {
        /// A TOML settings file (example: docs/erp.toml; see docs/operations.md, "Settings").
        #[arg(long, env = "ERP_CONFIG")]
        config: Option<PathBuf>,
        /// Print the effective settings as TOML instead of the table.
        #[arg(long)]
        show: bool,
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
        /// org.employees, org.departments, org.delegations, org.leave, org.attendance, org.quests, approval.views, or all.
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
        /// Also check every attachment the log records: its file is in the attachment store
        /// (the data directory's, or GridFS on read_model.mongo_url) and hashes to the SHA-256
        /// the log recorded.
        #[arg(long)]
        attachments: bool,
        /// Check one document by its number (as printed: GEN-2026-000001): verify its stream
        /// and print the log's head for it.
        #[arg(long)]
        document: Option<String>,
        /// With --document: the head hash the printed copy shows; exit 1 when the log's head
        /// is another.
        #[arg(long, requires = "document")]
        head: Option<String>,
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
