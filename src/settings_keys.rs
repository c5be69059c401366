//! The one list of settings ([`KEYS`]): each key in the file, its `ERP_*` variable, its
//! default and meaning. The environment layer of [`super::Settings`] reads it, `erp settings`
//! prints it ([`markdown_table`]) as the table docs/operations.md carries verbatim.

/// One setting: its key in the file, its environment variable, its default and meaning.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub key: &'static str,
    pub env: &'static str,
    /// Comma-separated in the environment, an array in the file.
    pub list: bool,
    pub default: &'static str,
}

const fn key(key: &'static str, env: &'static str, default: &'static str) -> Key {
    Key {
        key,
        env,
        list: false,
        default,
    }
}

const fn list(key: &'static str, env: &'static str, default: &'static str) -> Key {
    Key {
        key,
        env,
        list: true,
        default,
    }
}

/// Every setting, in the order the docs list them.
pub const KEYS: &[Key] = &[
    key(
        "bind",
        "ERP_BIND",
        "per role, so roles on one host do not collide: command-api `127.0.0.1:8081`, projector `127.0.0.1:8082`, \
         query-api `127.0.0.1:8083`, notifier `127.0.0.1:8084` (`erp up`: 8080)",
    ),
    key("instance_id", "ERP_INSTANCE_ID", "random"),
    list("cors_origins", "ERP_CORS_ORIGINS", "`http://localhost:5173`"),
    key("kafka.brokers", "ERP_KAFKA_BROKERS", "`127.0.0.1:9092`"),
    key("kafka.prefix", "ERP_KAFKA_PREFIX", "`erp`"),
    key("kafka.partitions", "ERP_KAFKA_PARTITIONS", "`12`"),
    key("kafka.replication", "ERP_KAFKA_REPLICATION", "`1`"),
    key(
        "kafka.append_timeout_ms",
        "ERP_KAFKA_APPEND_TIMEOUT_MS",
        "`10000`: an append not acknowledged by then answers 503",
    ),
    key(
        "kafka.connect_timeout_ms",
        "ERP_KAFKA_CONNECT_TIMEOUT_MS",
        "`15000`: a role that cannot reach the brokers by then exits, naming them",
    ),
    key(
        "kafka.fetch_wait_ms",
        "ERP_KAFKA_FETCH_WAIT_MS",
        "`10`: the longest a fetch waits for data (brokers that do not wake a waiting fetch on new data make it \
         the floor of end-to-end latency; every idle consumer sends a fetch this often)",
    ),
    key(
        "request_timeout_secs",
        "ERP_REQUEST_TIMEOUT_SECS",
        "`30`: command-api answers 503 past it; keep it above ownership wait (15 s) + append timeout",
    ),
    key(
        "internal_bind",
        "ERP_INTERNAL_BIND",
        "`127.0.0.1:8091` (command-api: peers' `/internal/log`)",
    ),
    key(
        "advertised_url",
        "ERP_ADVERTISED_URL",
        "none (no forwarding to this instance); the internal listener's URL",
    ),
    key(
        "internal_token",
        "ERP_INTERNAL_TOKEN",
        "none (no internal listener); must not be empty; secret",
    ),
    list(
        "peer_allowlist",
        "ERP_PEER_ALLOWLIST",
        "none; loopback too when `internal_bind` is loopback",
    ),
    key("rate_limit.enabled", "ERP_RATE_LIMIT_ENABLED", "`true`"),
    key("rate_limit.burst", "ERP_RATE_LIMIT_BURST", "`200` requests per caller"),
    key(
        "rate_limit.per_second",
        "ERP_RATE_LIMIT_PER_SECOND",
        "`50` requests per caller",
    ),
    key(
        "admission.max_in_flight",
        "ERP_ADMISSION_MAX_IN_FLIGHT",
        "`64` requests running at once per command-api / query-api instance (they wait on Kafka or the stores); `erp up` (embedded log, CPU-bound): `4` per core, at least `16`",
    ),
    key(
        "admission.max_queue",
        "ERP_ADMISSION_MAX_QUEUE",
        "`256` requests waiting for a place (`erp up`: as many as its places); beyond it 503 `overloaded` with `Retry-After` at once",
    ),
    key(
        "admission.max_wait_ms",
        "ERP_ADMISSION_MAX_WAIT_MS",
        "`20`: the longest a request waits for a place before it is refused the same way",
    ),
    key(
        "notifier.max_connections_per_user",
        "ERP_NOTIFIER_MAX_CONNECTIONS_PER_USER",
        "`20` live-update connections one employee may hold on one instance; beyond it 4429",
    ),
    key(
        "auth.jwks_url",
        "ERP_JWKS_URL",
        "none: required by command-api, query-api, notifier; https unless loopback",
    ),
    key("auth.jwks_refresh_secs", "ERP_JWKS_REFRESH_SECS", "`300`"),
    key("auth.issuer", "ERP_JWT_ISSUER", "`erp-embedded`"),
    key("auth.audience", "ERP_JWT_AUDIENCE", "`erp`"),
    key(
        "read_model.mysql_url",
        "ERP_MYSQL_URL",
        "`mysql://erp:erp@127.0.0.1:3306/erp`; secret",
    ),
    key(
        "read_model.mongo_url",
        "ERP_MONGO_URL",
        "`mongodb://127.0.0.1:27017`; secret",
    ),
    key("read_model.mongo_database", "ERP_MONGO_DB", "`erp`"),
    key(
        "read_model.redis_url",
        "ERP_REDIS_URL",
        "`redis://127.0.0.1:6379`; secret",
    ),
    key("read_model.redis_channel", "ERP_REDIS_CHANNEL", "`erp.changes`"),
    key(
        "attachments.max_bytes",
        "ERP_ATTACHMENTS_MAX_BYTES",
        "`20971520` (20 MiB): the largest upload; a larger one is 413",
    ),
    list(
        "attachments.scan_command",
        "ERP_ATTACHMENTS_SCAN_COMMAND",
        "none: a command given each upload on its standard input, exit 0 clean, 1 infected (e.g. \
         `clamdscan,--no-summary,-`); anything else refuses the upload 503",
    ),
    key(
        "projector.shared",
        "ERP_PROJECTOR_SHARED",
        "`true`: `erp projector` instances share each projection's partitions through a consumer group",
    ),
    key(
        "projector.group",
        "ERP_PROJECTOR_GROUP",
        "`{kafka.prefix}.projector`; projection `p` joins `{group}.{p}`. Instances writing *other* stores \
         need another group",
    ),
];

/// [`KEYS`] as the Markdown table of docs/operations.md.
pub fn markdown_table() -> String {
    let mut out = String::from("| key | env | default |\n|---|---|---|\n");
    for k in KEYS {
        let env = if k.list {
            format!("`{}` (comma-separated)", k.env)
        } else {
            format!("`{}`", k.env)
        };
        out.push_str(&format!("| `{}` | {env} | {} |\n", k.key, k.default));
    }
    out
}
