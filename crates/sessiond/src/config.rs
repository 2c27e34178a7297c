//! One configuration, layered: defaults → TOML file (`--config`) →
//! `SESSIOND_*` environment variables → command-line flags.
//!
//! [`Settings`] is both the clap argument group (flags and their env
//! variables) and the TOML schema, so a key has one name everywhere: the
//! flag `--access-token-ttl`, the variable `SESSIOND_ACCESS_TOKEN_TTL`, the
//! TOML key `access_token_ttl`. Unknown TOML keys and unknown `SESSIOND_*`
//! variables are errors, so a typo never silently falls back to a default.
//!
//! Settings that can carry a secret (`database_url` may hold a password,
//! `master_key` is one) are `SecretString`s, so `Debug` of [`Settings`]
//! redacts them, and their environment values are hidden from `--help`
//! (clap prints `[env: NAME=value]` otherwise). They are exposed only in
//! [`Config::resolve`], which builds the database URL and the master key.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::CommandFactory;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sessiond_guard::SigningAlgorithm;

use crate::domain::{LimitPolicy, SessionLimit, SessionPolicy, RACE_MARGIN};
use crate::secrets::PasswordCost;

/// Environment variables with the `SESSIOND_` prefix that are not settings.
const RESERVED_ENV: &[&str] = &["SESSIOND_LOG", "SESSIOND_CONFIG"];
const RESERVED_ENV_PREFIXES: &[&str] = &["SESSIOND_TEST_"];

/// Memory for password hashes running at once: three at OWASP's 19 MiB
/// cost (fewer on fewer cores), so a flood of sign-ins cannot take Argon2
/// past ~60 MiB, while a few cores still check passwords in parallel. Raise
/// it with the cores on bigger machines.
const DEFAULT_PASSWORD_MEMORY_BUDGET_KIB: u32 = 64 * 1024;
/// Longest configurable wait for a turn to hash.
const MAX_PASSWORD_QUEUE_WAIT: Duration = Duration::from_secs(30);

/// A duration written as `300`, `300s`, `5m`, `12h` or `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigDuration(pub Duration);

impl FromStr for ConfigDuration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Ok(secs) = s.parse::<u64>() {
            return Ok(Self(Duration::from_secs(secs)));
        }
        humantime::parse_duration(s).map(Self).map_err(|e| format!("invalid duration {s:?}: {e}"))
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(Self(Duration::from_secs(s))),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

fn parse_alg(s: &str) -> Result<SigningAlgorithm, String> {
    SigningAlgorithm::parse(s).ok_or_else(|| format!("unsupported signing algorithm {s:?} (ES256, EdDSA, RS256)"))
}

/// clap's parser for secret settings (it needs one producing the type).
fn parse_secret(s: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(s))
}

fn parse_policy(s: &str) -> Result<LimitPolicy, String> {
    match s {
        "refuse" => Ok(LimitPolicy::Refuse),
        "end_oldest" => Ok(LimitPolicy::EndOldest),
        _ => Err(format!("unknown session limit policy {s:?} (refuse, end_oldest)")),
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line, for log shippers.
    Json,
}

fn parse_log_format(s: &str) -> Result<LogFormat, String> {
    match s {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!("unknown log format {s:?} (text, json)")),
    }
}

/// Every setting, each optional so that layers can be merged.
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Directory for the embedded database [default: ./sessiond-data].
    #[arg(long, env = "SESSIOND_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Public URL of this server, the `iss` of its tokens [default: http://LISTEN].
    #[arg(long, env = "SESSIOND_ISSUER", value_name = "URL")]
    pub issuer: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SESSIOND_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve `/metrics` on this address only (a loopback address keeps it
    /// private) instead of on `listen` [default: on `listen`].
    #[arg(long, env = "SESSIOND_METRICS_LISTEN", value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Keep Prometheus metrics and serve `/metrics` [default: true]; off,
    /// requests are not counted at all.
    #[arg(long, env = "SESSIOND_METRICS", value_name = "BOOL")]
    pub metrics: Option<bool>,
    /// Log lines as `text` or `json` [default: text].
    #[arg(long, env = "SESSIOND_LOG_FORMAT", value_name = "FORMAT", value_parser = parse_log_format)]
    pub log_format: Option<LogFormat>,
    /// `aud` of access tokens [default: the issuer].
    #[arg(long, env = "SESSIOND_AUDIENCE", value_name = "URI")]
    pub audience: Option<String>,
    /// Access-token lifetime [default: 5m].
    #[arg(long, env = "SESSIOND_ACCESS_TOKEN_TTL", value_name = "DURATION")]
    pub access_token_ttl: Option<ConfigDuration>,
    /// A session unused this long ends [default: 12h].
    #[arg(long, env = "SESSIOND_SESSION_IDLE_TIMEOUT", value_name = "DURATION")]
    pub session_idle_timeout: Option<ConfigDuration>,
    /// A session ends this long after sign-in [default: 7d].
    #[arg(long, env = "SESSIOND_SESSION_ABSOLUTE_TIMEOUT", value_name = "DURATION")]
    pub session_absolute_timeout: Option<ConfigDuration>,
    /// Most live sessions per user; 0 for no limit [default: 0].
    #[arg(long, env = "SESSIOND_MAX_SESSIONS_PER_USER", value_name = "N")]
    pub max_sessions_per_user: Option<u32>,
    /// At the limit: `refuse` the new sign-in or `end_oldest` session [default: refuse].
    #[arg(long, env = "SESSIOND_SESSION_LIMIT_POLICY", value_name = "POLICY", value_parser = parse_policy)]
    pub session_limit_policy: Option<LimitPolicy>,
    /// Algorithm of newly generated signing keys: ES256, EdDSA, RS256 [default: ES256].
    #[arg(long, env = "SESSIOND_SIGNING_ALG", value_name = "ALG", value_parser = parse_alg)]
    #[serde(default, deserialize_with = "deserialize_alg")]
    pub signing_alg: Option<SigningAlgorithm>,
    /// Argon2id memory cost in KiB [default: 19456].
    #[arg(long, env = "SESSIOND_PASSWORD_MEMORY_KIB", value_name = "KIB")]
    pub password_memory_kib: Option<u32>,
    /// Argon2id passes [default: 2].
    #[arg(long, env = "SESSIOND_PASSWORD_ITERATIONS", value_name = "N")]
    pub password_iterations: Option<u32>,
    /// Argon2id lanes [default: 1].
    #[arg(long, env = "SESSIOND_PASSWORD_PARALLELISM", value_name = "N")]
    pub password_parallelism: Option<u32>,
    /// Memory that password hashes running at once may use together, in KiB;
    /// with the memory cost and the core count it sets how many run at once
    /// [default: 65536].
    #[arg(long, env = "SESSIOND_PASSWORD_MEMORY_BUDGET_KIB", value_name = "KIB")]
    pub password_memory_budget_kib: Option<u32>,
    /// Longest a sign-in waits for its turn to hash before it is answered 503
    /// [default: 2s].
    #[arg(long, env = "SESSIOND_PASSWORD_QUEUE_WAIT", value_name = "DURATION")]
    pub password_queue_wait: Option<ConfigDuration>,
    /// Password attempts allowed per account per minute; 0 for no limit [default: 10].
    #[arg(long, env = "SESSIOND_LOGIN_ATTEMPTS_PER_ACCOUNT", value_name = "N")]
    pub login_attempts_per_account: Option<u32>,
    /// Password attempts allowed per client IP per minute (IPv6: per /64); 0 for no limit [default: 60].
    #[arg(long, env = "SESSIOND_LOGIN_ATTEMPTS_PER_IP", value_name = "N")]
    pub login_attempts_per_ip: Option<u32>,
    /// Largest request body accepted, in bytes [default: 65536].
    #[arg(long, env = "SESSIOND_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Largest request head (request line and headers) accepted, in bytes; at least 8192 [default: 16384].
    #[arg(long, env = "SESSIOND_MAX_HEADER_BYTES", value_name = "BYTES")]
    pub max_header_bytes: Option<usize>,
    /// A request body must arrive whole within this long, else 408 [default: 10s].
    #[arg(long, env = "SESSIOND_BODY_TIMEOUT", value_name = "DURATION")]
    pub body_timeout: Option<ConfigDuration>,
    /// Most connections served at once; further ones wait in the listen
    /// backlog. 0 for min(4096, open-file limit − 128) [default: 0].
    #[arg(long, env = "SESSIOND_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Clock skew tolerated when checking token times [default: 0s].
    #[arg(long, env = "SESSIOND_CLOCK_SKEW", value_name = "DURATION")]
    pub clock_skew: Option<ConfigDuration>,
    /// Ended sessions are kept (listed, audited) this long [default: 30d].
    #[arg(long, env = "SESSIOND_SESSION_RETENTION", value_name = "DURATION")]
    pub session_retention: Option<ConfigDuration>,
    /// Audit events are kept this long [default: 90d].
    #[arg(long, env = "SESSIOND_AUDIT_RETENTION", value_name = "DURATION")]
    pub audit_retention: Option<ConfigDuration>,
    /// Browser origins allowed to call the API with credentials (CORS), exact
    /// matches, comma-separated [default: none].
    #[arg(long, env = "SESSIOND_CORS_ALLOWED_ORIGINS", value_name = "ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Option<Vec<String>>,
    /// PostgreSQL URL (`postgres://user@host/db?sslmode=verify-full&sslrootcert=…`) for
    /// several nodes sharing state [default: SQLite in the data directory].
    #[arg(long, env = "SESSIOND_DATABASE_URL", value_name = "URL", hide_env_values = true, value_parser = parse_secret)]
    pub database_url: Option<SecretString>,
    /// Most connections in the pool [default: 10].
    #[arg(long, env = "SESSIOND_DATABASE_MAX_CONNECTIONS", value_name = "N")]
    pub database_max_connections: Option<u32>,
    /// PostgreSQL statement timeout [default: 5s].
    #[arg(long, env = "SESSIOND_DATABASE_STATEMENT_TIMEOUT", value_name = "DURATION")]
    pub database_statement_timeout: Option<ConfigDuration>,
    /// Master key (32 bytes, base64) sealing signing keys at rest; required with
    /// PostgreSQL [default: generated in DATA_DIR/master.key for SQLite].
    #[arg(long, env = "SESSIOND_MASTER_KEY", value_name = "BASE64", hide_env_values = true, value_parser = parse_secret)]
    pub master_key: Option<SecretString>,
    /// File holding the master key.
    #[arg(long, env = "SESSIOND_MASTER_KEY_FILE", value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,
    /// A node that cannot confirm its revocation index is current for this
    /// long reports not ready and refuses to validate [default: 5s].
    #[arg(long, env = "SESSIOND_MAX_REVOCATION_LAG", value_name = "DURATION")]
    pub max_revocation_lag: Option<ConfigDuration>,
    /// Name of the browser's SSO cookie [default: __Host-sessiond, or
    /// sessiond for a plain-http issuer].
    #[arg(long, env = "SESSIOND_COOKIE_NAME", value_name = "NAME")]
    pub cookie_name: Option<String>,
    /// Back-channel logouts still failing this long after their session
    /// ended are given up (and listed as failed) [default: 24h].
    #[arg(long, env = "SESSIOND_BACKCHANNEL_LOGOUT_MAX_AGE", value_name = "DURATION")]
    pub backchannel_logout_max_age: Option<ConfigDuration>,
    /// On SIGTERM or Ctrl-C, keep serving this long with /readyz answering
    /// 503 and every response closing its connection, so that load
    /// balancers and keep-alive clients move on [default: 5s].
    #[arg(long, env = "SESSIOND_SHUTDOWN_DRAIN", value_name = "DURATION")]
    pub shutdown_drain: Option<ConfigDuration>,
    /// Then wait at most this long for requests in flight [default: 10s].
    #[arg(long, env = "SESSIOND_SHUTDOWN_TIMEOUT", value_name = "DURATION")]
    pub shutdown_timeout: Option<ConfigDuration>,
    /// Redis (`redis://[:password@]host[:port][/db]` or `unix:///path`) to mirror every
    /// revocation to as a denylist for legacy middleware [default: off].
    #[arg(long, env = "SESSIOND_REDIS_URL", value_name = "URL", hide_env_values = true, value_parser = parse_secret)]
    pub redis_url: Option<SecretString>,
}

fn deserialize_alg<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SigningAlgorithm>, D::Error> {
    let raw = String::deserialize(d)?;
    parse_alg(&raw).map(Some).map_err(serde::de::Error::custom)
}

impl Settings {
    /// This layer over `lower`: a value set here wins.
    pub fn over(self, lower: Settings) -> Settings {
        Settings {
            data_dir: self.data_dir.or(lower.data_dir),
            issuer: self.issuer.or(lower.issuer),
            listen: self.listen.or(lower.listen),
            metrics_listen: self.metrics_listen.or(lower.metrics_listen),
            metrics: self.metrics.or(lower.metrics),
            log_format: self.log_format.or(lower.log_format),
            audience: self.audience.or(lower.audience),
            access_token_ttl: self.access_token_ttl.or(lower.access_token_ttl),
            session_idle_timeout: self.session_idle_timeout.or(lower.session_idle_timeout),
            session_absolute_timeout: self.session_absolute_timeout.or(lower.session_absolute_timeout),
            max_sessions_per_user: self.max_sessions_per_user.or(lower.max_sessions_per_user),
            session_limit_policy: self.session_limit_policy.or(lower.session_limit_policy),
            signing_alg: self.signing_alg.or(lower.signing_alg),
            password_memory_kib: self.password_memory_kib.or(lower.password_memory_kib),
            password_iterations: self.password_iterations.or(lower.password_iterations),
            password_parallelism: self.password_parallelism.or(lower.password_parallelism),
            password_memory_budget_kib: self.password_memory_budget_kib.or(lower.password_memory_budget_kib),
            password_queue_wait: self.password_queue_wait.or(lower.password_queue_wait),
            login_attempts_per_account: self.login_attempts_per_account.or(lower.login_attempts_per_account),
            login_attempts_per_ip: self.login_attempts_per_ip.or(lower.login_attempts_per_ip),
            max_body_bytes: self.max_body_bytes.or(lower.max_body_bytes),
            max_header_bytes: self.max_header_bytes.or(lower.max_header_bytes),
            body_timeout: self.body_timeout.or(lower.body_timeout),
            max_connections: self.max_connections.or(lower.max_connections),
            clock_skew: self.clock_skew.or(lower.clock_skew),
            session_retention: self.session_retention.or(lower.session_retention),
            audit_retention: self.audit_retention.or(lower.audit_retention),
            cors_allowed_origins: self.cors_allowed_origins.or(lower.cors_allowed_origins),
            database_url: self.database_url.or(lower.database_url),
            database_max_connections: self.database_max_connections.or(lower.database_max_connections),
            database_statement_timeout: self.database_statement_timeout.or(lower.database_statement_timeout),
            master_key: self.master_key.or(lower.master_key),
            master_key_file: self.master_key_file.or(lower.master_key_file),
            max_revocation_lag: self.max_revocation_lag.or(lower.max_revocation_lag),
            cookie_name: self.cookie_name.or(lower.cookie_name),
            backchannel_logout_max_age: self.backchannel_logout_max_age.or(lower.backchannel_logout_max_age),
            shutdown_drain: self.shutdown_drain.or(lower.shutdown_drain),
            shutdown_timeout: self.shutdown_timeout.or(lower.shutdown_timeout),
            redis_url: self.redis_url.or(lower.redis_url),
        }
    }

    /// Reads a TOML file; unknown keys are an error.
    pub fn from_toml_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ConfigError(format!("{}: {e}", path.display())))
    }
}

/// Rejects `SESSIOND_*` variables that name no setting.
pub fn check_env_names(vars: impl IntoIterator<Item = String>) -> Result<(), ConfigError> {
    #[derive(clap::Parser)]
    struct Probe {
        #[command(flatten)]
        settings: Settings,
    }
    let cmd = Probe::command();
    let known: Vec<String> =
        cmd.get_arguments().filter_map(|a| a.get_env()).map(|e| e.to_string_lossy().into_owned()).collect();
    for name in vars {
        let ours = name.starts_with("SESSIOND_");
        let reserved =
            RESERVED_ENV.contains(&name.as_str()) || RESERVED_ENV_PREFIXES.iter().any(|p| name.starts_with(p));
        if ours && !reserved && !known.contains(&name) {
            return Err(ConfigError(format!("unknown environment variable {name}")));
        }
    }
    Ok(())
}

/// A configuration error, with what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory of the embedded database.
    pub data_dir: PathBuf,
    /// `iss` of every token, without trailing slash.
    pub issuer: String,
    /// Listen address.
    pub listen: SocketAddr,
    /// Whether metrics are kept and `/metrics` served.
    pub metrics: bool,
    /// Where `/metrics` is served, if not on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// `aud` of access tokens.
    pub audience: String,
    /// Access-token lifetime.
    pub access_token_ttl: Duration,
    /// Session timeouts and limits.
    pub session: SessionPolicy,
    /// Algorithm of new signing keys.
    pub signing_alg: SigningAlgorithm,
    /// Argon2id cost.
    pub password_cost: PasswordCost,
    /// Memory all concurrent password hashes may use together, in KiB.
    pub password_memory_budget_kib: u32,
    /// Longest wait for a turn to hash.
    pub password_queue_wait: Duration,
    /// Password attempts per account per minute (0: no limit).
    pub login_attempts_per_account: u32,
    /// Password attempts per client IP per minute (0: no limit).
    pub login_attempts_per_ip: u32,
    /// Request body limit.
    pub max_body_bytes: usize,
    /// Request head limit.
    pub max_header_bytes: usize,
    /// Longest a request body may take to arrive, from the end of its head.
    pub body_timeout: Duration,
    /// Cap on concurrent connections; `None` to derive it from the
    /// open-file limit when serving starts (`http::ServeLimits`).
    pub max_connections: Option<usize>,
    /// Clock skew tolerated by verifiers.
    pub clock_skew: Duration,
    /// How long ended sessions are kept.
    pub session_retention: Duration,
    /// How long audit events are kept.
    pub audit_retention: Duration,
    /// CORS origins allowed with credentials.
    pub cors_allowed_origins: Vec<String>,
    /// Where state is kept.
    pub database: Database,
    /// Where the master key comes from.
    pub master_key: MasterKeySource,
    /// Longest a node may go without confirming its index is current.
    pub max_revocation_lag: Duration,
    /// The browser's cookies.
    pub cookies: CookiePolicy,
    /// How long back-channel logouts are retried.
    pub backchannel_logout_max_age: Duration,
    /// How long a stopping server keeps serving, draining.
    pub shutdown_drain: Duration,
    /// How long it then waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// Redis to mirror revocations to (may carry a password: never printed).
    pub redis_url: Option<crate::secrets::Secret>,
}

/// How this server names and flags its cookies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookiePolicy {
    /// The SSO cookie's name.
    pub session: String,
    /// The CSRF cookie's name.
    pub csrf: String,
    /// Whether cookies carry `Secure` (https issuer).
    pub secure: bool,
}

impl CookiePolicy {
    /// The policy for an issuer and an optional configured name.
    pub fn new(issuer: &str, configured: Option<&str>) -> Self {
        let secure = issuer.starts_with("https://");
        let base = configured
            .map(str::to_owned)
            .unwrap_or_else(|| if secure { "__Host-sessiond" } else { "sessiond" }.to_owned());
        Self { csrf: format!("{base}-csrf"), session: base, secure }
    }
}

/// The database.
#[derive(Clone)]
pub enum Database {
    /// The embedded default: a file in the data directory.
    Sqlite(PathBuf),
    /// A shared PostgreSQL database.
    Postgres {
        /// Connection URL (may carry a password: never printed).
        url: String,
        /// Pool size.
        max_connections: u32,
        /// `statement_timeout`.
        statement_timeout: Duration,
    },
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Self::Postgres { max_connections, .. } => {
                f.debug_struct("Postgres").field("max_connections", max_connections).finish_non_exhaustive()
            }
        }
    }
}

/// Where the master key comes from.
#[derive(Clone)]
pub enum MasterKeySource {
    /// Given directly (`SESSIOND_MASTER_KEY`).
    Value(crate::secrets::Secret),
    /// Read from a file.
    File(PathBuf),
    /// Generated on first use in the data directory (SQLite only).
    DataDir(PathBuf),
}

impl std::fmt::Debug for MasterKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Value(_) => f.write_str("Value(***)"),
            Self::File(p) => f.debug_tuple("File").field(p).finish(),
            Self::DataDir(p) => f.debug_tuple("DataDir").field(p).finish(),
        }
    }
}

impl Config {
    /// Applies defaults to merged settings and validates them.
    pub fn resolve(s: Settings) -> Result<Config, ConfigError> {
        let listen = s.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let issuer = s.issuer.unwrap_or_else(|| format!("http://{listen}"));
        let issuer = validate_issuer(&issuer)?;
        let secs = |d: Option<ConfigDuration>, default: u64| d.map_or(Duration::from_secs(default), |d| d.0);
        let access_token_ttl = secs(s.access_token_ttl, 300);
        let idle = secs(s.session_idle_timeout, 12 * 3600);
        let absolute = secs(s.session_absolute_timeout, 7 * 24 * 3600);
        if access_token_ttl.is_zero() || idle.is_zero() || absolute.is_zero() {
            return Err(ConfigError("token and session lifetimes must be positive".into()));
        }
        if idle > absolute {
            return Err(ConfigError("session_idle_timeout cannot exceed session_absolute_timeout".into()));
        }
        let max_header_bytes = s.max_header_bytes.unwrap_or(16 * 1024);
        if max_header_bytes < 8192 {
            return Err(ConfigError("max_header_bytes must be at least 8192".into()));
        }
        let max_body_bytes = s.max_body_bytes.unwrap_or(64 * 1024);
        if max_body_bytes < 1024 {
            return Err(ConfigError("max_body_bytes must be at least 1024".into()));
        }
        let max_revocation_lag = secs(s.max_revocation_lag, 5);
        // A node that has not heard of a revocation may issue for at most
        // this long; the revocation's entry outlives such tokens only while
        // it stays within the margin (domain::RACE_MARGIN).
        if max_revocation_lag.is_zero() || max_revocation_lag > RACE_MARGIN / 2 {
            return Err(ConfigError(format!(
                "max_revocation_lag must be between 1s and {}s",
                (RACE_MARGIN / 2).as_secs()
            )));
        }
        if s.metrics == Some(false) && s.metrics_listen.is_some() {
            return Err(ConfigError("metrics_listen is set but metrics are off".into()));
        }
        let body_timeout = secs(s.body_timeout, 10);
        if body_timeout.is_zero() {
            return Err(ConfigError("body_timeout must be positive".into()));
        }
        if let Some(name) = s.cookie_name.as_deref() {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err(ConfigError("cookie_name is 1 to 64 letters, digits, '-' or '_'".into()));
            }
        }
        let cookies = CookiePolicy::new(&issuer, s.cookie_name.as_deref());
        let default_cost = PasswordCost::default();
        let password_queue_wait = secs(s.password_queue_wait, 2);
        if password_queue_wait > MAX_PASSWORD_QUEUE_WAIT {
            return Err(ConfigError(format!(
                "password_queue_wait must be at most {}s: a client gives up long before",
                MAX_PASSWORD_QUEUE_WAIT.as_secs()
            )));
        }
        let data_dir = s.data_dir.clone().unwrap_or_else(|| PathBuf::from("sessiond-data"));
        let database = match s.database_url.as_ref().map(|url| url.expose_secret()) {
            None => Database::Sqlite(data_dir.join("sessiond.db")),
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Database::Postgres {
                url: url.to_owned(),
                max_connections: s.database_max_connections.unwrap_or(10).max(1),
                statement_timeout: secs(s.database_statement_timeout, 5),
            },
            Some(_) => return Err(ConfigError("database_url must be a postgres:// URL".into())),
        };
        let master_key =
            match (s.master_key.as_ref(), s.master_key_file.clone(), &database) {
                (Some(key), _, _) => MasterKeySource::Value(crate::secrets::Secret::new(key.expose_secret())),
                (None, Some(path), _) => MasterKeySource::File(path),
                (None, None, Database::Sqlite(_)) => MasterKeySource::DataDir(data_dir.join("master.key")),
                (None, None, Database::Postgres { .. }) => return Err(ConfigError(
                    "PostgreSQL needs a master key shared by every node: set SESSIOND_MASTER_KEY or --master-key-file \
                     (generate one with `head -c32 /dev/urandom | base64`)"
                        .into(),
                )),
            };
        Ok(Config {
            data_dir,
            audience: s.audience.unwrap_or_else(|| issuer.clone()),
            issuer,
            listen,
            metrics: s.metrics.unwrap_or(true),
            metrics_listen: s.metrics_listen,
            access_token_ttl,
            session: SessionPolicy {
                idle_timeout: idle,
                absolute_timeout: absolute,
                limit: SessionLimit {
                    max: s.max_sessions_per_user.filter(|&n| n > 0),
                    policy: s.session_limit_policy.unwrap_or(LimitPolicy::Refuse),
                },
            },
            signing_alg: s.signing_alg.unwrap_or(SigningAlgorithm::ES256),
            password_cost: PasswordCost {
                memory_kib: s.password_memory_kib.unwrap_or(default_cost.memory_kib),
                iterations: s.password_iterations.unwrap_or(default_cost.iterations),
                parallelism: s.password_parallelism.unwrap_or(default_cost.parallelism),
            },
            password_memory_budget_kib: s.password_memory_budget_kib.unwrap_or(DEFAULT_PASSWORD_MEMORY_BUDGET_KIB),
            password_queue_wait,
            login_attempts_per_account: s.login_attempts_per_account.unwrap_or(10),
            login_attempts_per_ip: s.login_attempts_per_ip.unwrap_or(60),
            max_body_bytes,
            max_header_bytes,
            body_timeout,
            max_connections: s.max_connections.filter(|&n| n > 0),
            clock_skew: secs(s.clock_skew, 0),
            session_retention: secs(s.session_retention, 30 * 86400),
            audit_retention: secs(s.audit_retention, 90 * 86400),
            cors_allowed_origins: validate_origins(s.cors_allowed_origins.unwrap_or_default())?,
            database,
            master_key,
            max_revocation_lag,
            cookies,
            backchannel_logout_max_age: secs(s.backchannel_logout_max_age, 24 * 3600),
            shutdown_drain: secs(s.shutdown_drain, 5),
            shutdown_timeout: secs(s.shutdown_timeout, 10),
            redis_url: validate_redis_url(s.redis_url.as_ref().map(|u| u.expose_secret()))?,
        })
    }
}

/// CORS origins are compared exactly (`scheme://host[:port]`); `*` is
/// refused because credentials are allowed (Fetch standard, CORS protocol).
fn validate_origins(origins: Vec<String>) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    for o in origins.into_iter().map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()) {
        let ok = url::Url::parse(&o).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https") && u.path() == "/" && u.query().is_none() && !o.ends_with('/')
        });
        if !ok {
            return Err(ConfigError(format!("CORS origin {o:?} must be scheme://host[:port] (no path, no '*')")));
        }
        out.push(o);
    }
    Ok(out)
}

/// The schemes the Redis client is built with: TCP and unix sockets (no
/// TLS, so `rediss://` is refused here rather than at the first connection).
fn validate_redis_url(raw: Option<&str>) -> Result<Option<crate::secrets::Secret>, ConfigError> {
    let Some(raw) = raw.map(str::trim).filter(|u| !u.is_empty()) else { return Ok(None) };
    let scheme = raw.split_once("://").map(|(scheme, _)| scheme);
    if !matches!(scheme, Some("redis" | "redis+unix" | "unix")) {
        // The URL may hold a password: name the scheme only.
        return Err(ConfigError(format!(
            "redis_url must be redis://host[:port][/db] or unix:///path (got scheme {:?})",
            scheme.unwrap_or("")
        )));
    }
    Ok(Some(crate::secrets::Secret::new(raw)))
}

/// OpenID Connect Discovery §3: the issuer is an https URL (http is allowed
/// here for loopback and development) with no query or fragment.
fn validate_issuer(raw: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(raw).map_err(|e| ConfigError(format!("issuer {raw:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError(format!("issuer {raw:?} must be an http(s) URL without query or fragment")));
    }
    Ok(raw.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_names_follow_the_issuer_scheme() {
        let https = CookiePolicy::new("https://id.example", None);
        assert_eq!(
            (https.session.as_str(), https.csrf.as_str(), https.secure),
            ("__Host-sessiond", "__Host-sessiond-csrf", true)
        );
        let http = CookiePolicy::new("http://127.0.0.1:8080", None);
        assert_eq!((http.session.as_str(), http.secure), ("sessiond", false));
        assert_eq!(CookiePolicy::new("https://id.example", Some("__Host-id")).csrf, "__Host-id-csrf");
    }

    #[test]
    fn durations_parse_in_every_form() {
        assert_eq!("300".parse::<ConfigDuration>().unwrap().0, Duration::from_secs(300));
        assert_eq!("5m".parse::<ConfigDuration>().unwrap().0, Duration::from_secs(300));
        assert_eq!("7d".parse::<ConfigDuration>().unwrap().0, Duration::from_secs(7 * 86400));
        assert!("soon".parse::<ConfigDuration>().is_err());
    }

    #[test]
    fn upper_layers_win_and_defaults_fill_the_rest() {
        let file: Settings = toml::from_str("access_token_ttl = \"10m\"\nissuer = \"https://file.example\"").unwrap();
        let flags = Settings { issuer: Some("https://flag.example/".into()), ..Settings::default() };
        let config = Config::resolve(flags.over(file)).unwrap();
        assert_eq!(config.issuer, "https://flag.example");
        assert_eq!(config.audience, "https://flag.example");
        assert_eq!(config.access_token_ttl, Duration::from_secs(600));
        assert_eq!(config.session.idle_timeout, Duration::from_secs(12 * 3600));
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.body_timeout, Duration::from_secs(10));
        assert_eq!(config.max_connections, None, "derived from the open-file limit at start");
    }

    #[test]
    fn sign_in_limits_have_defaults_and_zero_turns_them_off() {
        let config = Config::resolve(Settings::default()).unwrap();
        assert_eq!((config.login_attempts_per_account, config.login_attempts_per_ip), (10, 60));
        assert_eq!(config.password_memory_budget_kib, 65536);
        assert_eq!(config.password_queue_wait, Duration::from_secs(2));
        let file: Settings = toml::from_str(
            "login_attempts_per_account = 0\nlogin_attempts_per_ip = 0\npassword_queue_wait = \"250ms\"\n\
             password_memory_budget_kib = 8192",
        )
        .unwrap();
        let config = Config::resolve(file).unwrap();
        assert_eq!((config.login_attempts_per_account, config.login_attempts_per_ip), (0, 0));
        assert_eq!(config.password_queue_wait, Duration::from_millis(250));
        assert_eq!(config.password_memory_budget_kib, 8192);
    }

    #[test]
    fn unknown_toml_keys_and_env_vars_are_errors() {
        assert!(toml::from_str::<Settings>("acces_token_ttl = 5").is_err());
        let env = |names: &[&str]| check_env_names(names.iter().map(|s| s.to_string()));
        assert!(env(&["SESSIOND_ISSUER", "SESSIOND_LOG", "SESSIOND_TEST_DATABASE_URL", "PATH"]).is_ok());
        assert!(env(&["SESSIOND_ISSUERR"]).is_err());
    }

    #[test]
    fn debug_output_never_shows_secret_settings() {
        let (password, key) = ("hunter2secret", "c2Vzc2lvbmQgdGVzdCBtYXN0ZXIga2V5IDMyIGJ5dGU=");
        let settings = Settings {
            database_url: Some(format!("postgres://u:{password}@127.0.0.1:1/db").into()),
            master_key: Some(key.into()),
            redis_url: Some(format!("redis://:{password}@127.0.0.1:6379/0").into()),
            ..Settings::default()
        };
        let from_toml: Settings =
            toml::from_str(&format!("database_url = \"postgres://u:{password}@h/db\"\nmaster_key = \"{key}\""))
                .unwrap();
        let config = Config::resolve(settings.clone()).unwrap();
        assert!(matches!(&config.database, Database::Postgres { url, .. } if url.contains(password)), "still usable");
        assert!(config.redis_url.as_ref().is_some_and(|u| u.expose().contains(password)), "still usable");
        for shown in [format!("{settings:?}"), format!("{from_toml:?}"), format!("{config:?}")] {
            assert!(!shown.contains(password) && !shown.contains(key), "{shown}");
        }
    }

    #[test]
    fn secret_settings_parse_from_flags_and_env_with_their_values_hidden() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Probe {
            #[command(flatten)]
            settings: Settings,
        }
        let probe = Probe::try_parse_from(["x", "--database-url", "postgres://u:p@h/db", "--master-key", "k"]).unwrap();
        assert_eq!(probe.settings.database_url.as_ref().map(|u| u.expose_secret()), Some("postgres://u:p@h/db"));
        assert_eq!(probe.settings.master_key.as_ref().map(|k| k.expose_secret()), Some("k"));
        let cmd = Probe::command();
        for name in ["database_url", "master_key", "redis_url"] {
            let arg = cmd.get_arguments().find(|a| a.get_id() == name).unwrap();
            assert!(arg.is_hide_env_values_set(), "{name}");
        }
    }

    #[test]
    fn invalid_values_are_refused() {
        let bad = |s: Settings| Config::resolve(s).is_err();
        assert!(bad(Settings { issuer: Some("ftp://x".into()), ..Default::default() }));
        assert!(bad(Settings { issuer: Some("https://x/?q=1".into()), ..Default::default() }));
        assert!(bad(Settings { max_header_bytes: Some(100), ..Default::default() }));
        assert!(bad(Settings { body_timeout: Some(ConfigDuration(Duration::ZERO)), ..Default::default() }));
        assert!(bad(Settings {
            password_queue_wait: Some(ConfigDuration(Duration::from_secs(31))),
            ..Default::default()
        }));
        assert!(bad(Settings {
            session_idle_timeout: Some(ConfigDuration(Duration::from_secs(10))),
            session_absolute_timeout: Some(ConfigDuration(Duration::from_secs(5))),
            ..Default::default()
        }));
        assert!(toml::from_str::<Settings>("signing_alg = \"HS256\"").is_err());
        assert!(bad(Settings { cors_allowed_origins: Some(vec!["*".into()]), ..Default::default() }));
        assert!(bad(Settings {
            cors_allowed_origins: Some(vec!["https://a.example/path".into()]),
            ..Default::default()
        }));
        let ok = Settings { cors_allowed_origins: Some(vec!["https://a.example:8443".into()]), ..Default::default() };
        assert_eq!(Config::resolve(ok).unwrap().cors_allowed_origins, ["https://a.example:8443"]);
        let redis = |url: &str| Settings { redis_url: Some(url.into()), ..Default::default() };
        assert!(bad(redis("rediss://h:6380")), "no TLS in this build: refused at start, not at first use");
        assert!(bad(redis("http://h")));
        let refused = Config::resolve(redis("rediss://:hunter2@h")).unwrap_err().to_string();
        assert!(!refused.contains("hunter2"), "{refused}");
        assert!(Config::resolve(redis("redis://127.0.0.1:6379/2")).unwrap().redis_url.is_some());
        assert!(Config::resolve(redis("unix:///run/redis.sock")).unwrap().redis_url.is_some());
        assert!(Config::resolve(Settings::default()).unwrap().redis_url.is_none(), "off by default");
        let zero = Settings { max_connections: Some(0), ..Default::default() };
        assert_eq!(Config::resolve(zero).unwrap().max_connections, None, "0 means derived");
        let file: Settings = toml::from_str("body_timeout = \"3s\"\nmax_connections = 500").unwrap();
        let config = Config::resolve(file).unwrap();
        assert_eq!((config.body_timeout, config.max_connections), (Duration::from_secs(3), Some(500)));
    }
}
