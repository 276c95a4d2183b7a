//! Node configuration: defaults, an optional TOML file, then `STARLING_*`
//! environment variables, in that order of precedence (last wins).
//!
//! Read once in `main` and passed down; nothing else reads the environment.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// The whole configuration of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The domain this node owns (`host` or `host:port`), lower-case. Every
    /// actor and object id is built on it.
    pub domain: String,
    /// Where the HTTP server listens.
    pub bind: SocketAddr,
    /// Which database to use.
    pub database: DatabaseUrl,
    /// Development mode: plain `http` URLs, and loopback/private peers allowed.
    pub dev: bool,
    /// Whether `POST /api/v1/accounts` may create accounts.
    pub registrations_open: bool,
    /// Whether the client API enforces Mastodon's rate limits (off only for
    /// load tests).
    pub rate_limits: bool,
    /// Authors with more local followers than this are not fanned out on
    /// write; home timelines merge their posts in at read time.
    pub fanout_threshold: i64,
    /// Outgoing delivery: per-host concurrency and the dead-host breaker.
    pub delivery: DeliveryConfig,
    /// What `starling serve` runs: HTTP, the queue workers, or both.
    pub role: Role,
    /// How long a claimed job stays leased (`job_lease_seconds`): a killed
    /// worker's jobs come back after this. Longer than any job runs (a
    /// delivery gives up after 10 s), or a slow job may run twice.
    pub job_lease: Duration,
}

/// What a `starling serve` process runs (docs/SCALING.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// HTTP and the queue workers in one process (the default).
    #[default]
    All,
    /// HTTP only: jobs are enqueued here and run by worker processes.
    Web,
    /// Queue workers and periodic maintenance only; no HTTP listener.
    Worker,
}

impl Role {
    /// Parses `all`, `web` or `worker`.
    pub fn parse(value: &str) -> Result<Role, String> {
        match value.to_ascii_lowercase().as_str() {
            "all" => Ok(Role::All),
            "web" => Ok(Role::Web),
            "worker" => Ok(Role::Worker),
            _ => Err(format!("{value:?} is not a role (all, web or worker)")),
        }
    }

    /// Whether this role serves HTTP.
    pub fn serves_http(self) -> bool {
        self != Role::Worker
    }

    /// Whether this role runs the queue workers.
    pub fn runs_jobs(self) -> bool {
        self != Role::Web
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::All => "all",
            Role::Web => "web",
            Role::Worker => "worker",
        })
    }
}

/// How long a claimed job stays leased, by default.
pub const DEFAULT_JOB_LEASE: Duration = Duration::from_secs(5 * 60);

/// How deliveries to other servers are paced (FEDERATION.md "Delivery").
/// Only `per_host` is a configuration key; the rest are fixed in production
/// and shortened by tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// Deliveries in flight to one host from one process, at most
    /// (`delivery_per_host`).
    pub per_host: usize,
    /// The breaker trips after at least this many consecutive failed
    /// deliveries to a host…
    pub breaker_failures: i64,
    /// …that have gone on for at least this long.
    pub breaker_window: Duration,
    /// An unavailable host is skipped this long, then one delivery goes
    /// through as a probe.
    pub probe_interval: Duration,
}

/// Deliveries in flight to one host from one process, by default.
pub const DEFAULT_DELIVERY_PER_HOST: usize = 4;

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            per_host: DEFAULT_DELIVERY_PER_HOST,
            breaker_failures: 10,
            breaker_window: Duration::from_secs(60 * 60),
            probe_interval: Duration::from_secs(10 * 60),
        }
    }
}

/// A parsed `database_url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An embedded SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL server (`postgres://…`), kept verbatim.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses `sqlite://PATH`, `sqlite:PATH` or `postgres://…` / `postgresql://…`.
    pub fn parse(value: &str) -> Result<DatabaseUrl, String> {
        if let Some(path) = value
            .strip_prefix("sqlite://")
            .or_else(|| value.strip_prefix("sqlite:"))
        {
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("sqlite URL has no file path (expected sqlite://PATH)".into());
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(value.to_owned()));
        }
        Err(format!(
            "unsupported database URL {value:?} (expected sqlite://PATH or postgres://…)"
        ))
    }
}

/// A configuration value that could not be used, named by its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {key}: {message}")]
pub struct ConfigError {
    /// The key, as the user wrote it (`STARLING_BIND`, or `bind` in the file).
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The TOML file's shape. Every key is optional; unknown keys are errors, so a
/// typo does not silently fall back to a default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    domain: Option<String>,
    bind: Option<String>,
    database_url: Option<String>,
    dev: Option<bool>,
    registrations_open: Option<bool>,
    rate_limits: Option<bool>,
    fanout_threshold: Option<i64>,
    delivery_per_host: Option<i64>,
    role: Option<String>,
    job_lease_seconds: Option<i64>,
}

/// Above this many local followers an author's posts are merged into home
/// timelines at read time instead of written to every follower's feed.
pub const DEFAULT_FANOUT_THRESHOLD: i64 = 200_000;

/// The default database location: `./starling-data/starling.db`.
pub const DEFAULT_SQLITE_PATH: &str = "starling-data/starling.db";

impl Config {
    /// A development node (plain `http`, loopback peers allowed) owning
    /// `domain`, listening on `bind`, on `database`: registrations closed,
    /// rate limits on, everything else at its default. What tests and
    /// benchmarks start from.
    pub fn dev(domain: impl Into<String>, bind: SocketAddr, database: DatabaseUrl) -> Config {
        Config {
            domain: domain.into(),
            bind,
            database,
            dev: true,
            registrations_open: false,
            rate_limits: true,
            fanout_threshold: DEFAULT_FANOUT_THRESHOLD,
            delivery: DeliveryConfig::default(),
            role: Role::default(),
            job_lease: DEFAULT_JOB_LEASE,
        }
    }

    /// Loads the configuration: defaults, then the file at `path` (if any), then
    /// the variables `env` returns (pass `|k| std::env::var(k).ok()` in `main`).
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let file = match path {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let file_key = |k: &str| match path {
            Some(p) => format!("{k} (in {})", p.display()),
            None => k.to_owned(),
        };

        // Each setting: environment beats file beats default, and an error names
        // the key where the bad value came from.
        let pick = |env_key: &str, file_value: Option<String>, name: &str| match env(env_key)
            .filter(|v| !v.is_empty())
        {
            Some(v) => Some((env_key.to_owned(), v)),
            None => file_value.map(|v| (file_key(name), v)),
        };

        let domain = match pick("STARLING_DOMAIN", file.domain, "domain") {
            Some((key, v)) => parse_domain(&v).map_err(|m| ConfigError::new(key, m))?,
            None => "localhost:8080".to_owned(),
        };
        let bind = match pick("STARLING_BIND", file.bind, "bind") {
            Some((key, v)) => v.parse::<SocketAddr>().map_err(|_| {
                ConfigError::new(
                    key,
                    format!("{v:?} is not an address:port such as 127.0.0.1:8080"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let database = match pick("STARLING_DATABASE_URL", file.database_url, "database_url") {
            Some((key, v)) => DatabaseUrl::parse(&v).map_err(|m| ConfigError::new(key, m))?,
            None => DatabaseUrl::Sqlite(PathBuf::from(DEFAULT_SQLITE_PATH)),
        };
        let dev = match env("STARLING_DEV").filter(|v| !v.is_empty()) {
            Some(v) => parse_bool(&v).map_err(|m| ConfigError::new("STARLING_DEV", m))?,
            None => file.dev.unwrap_or_else(|| is_local_domain(&domain)),
        };
        let registrations_open =
            match env("STARLING_REGISTRATIONS_OPEN").filter(|v| !v.is_empty()) {
                Some(v) => parse_bool(&v)
                    .map_err(|m| ConfigError::new("STARLING_REGISTRATIONS_OPEN", m))?,
                None => file.registrations_open.unwrap_or(false),
            };
        let rate_limits = match env("STARLING_RATE_LIMITS").filter(|v| !v.is_empty()) {
            Some(v) => parse_bool(&v).map_err(|m| ConfigError::new("STARLING_RATE_LIMITS", m))?,
            None => file.rate_limits.unwrap_or(true),
        };
        let fanout_threshold = match env("STARLING_FANOUT_THRESHOLD").filter(|v| !v.is_empty()) {
            Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ConfigError::new(
                    "STARLING_FANOUT_THRESHOLD",
                    format!("{v:?} is not a follower count"),
                )
            })?,
            None => file.fanout_threshold.unwrap_or(DEFAULT_FANOUT_THRESHOLD),
        };
        let per_host = match pick(
            "STARLING_DELIVERY_PER_HOST",
            file.delivery_per_host.map(|n| n.to_string()),
            "delivery_per_host",
        ) {
            Some((key, v)) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| {
                    ConfigError::new(key, format!("{v:?} is not a number from 1 to 1000"))
                })?,
            None => DEFAULT_DELIVERY_PER_HOST,
        };
        let role = match pick("STARLING_ROLE", file.role, "role") {
            Some((key, v)) => Role::parse(&v).map_err(|m| ConfigError::new(key, m))?,
            None => Role::All,
        };
        let job_lease = match pick(
            "STARLING_JOB_LEASE_SECONDS",
            file.job_lease_seconds.map(|n| n.to_string()),
            "job_lease_seconds",
        ) {
            Some((key, v)) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=86_400).contains(n))
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    ConfigError::new(
                        key,
                        format!("{v:?} is not a number of seconds from 1 to 86400"),
                    )
                })?,
            None => DEFAULT_JOB_LEASE,
        };
        Ok(Config {
            role,
            job_lease,
            domain,
            bind,
            database,
            dev,
            registrations_open,
            rate_limits,
            fanout_threshold,
            delivery: DeliveryConfig {
                per_host,
                ..DeliveryConfig::default()
            },
        })
    }

    /// `http` in dev mode, `https` otherwise.
    pub fn scheme(&self) -> &'static str {
        if self.dev { "http" } else { "https" }
    }

    /// `scheme://domain`, with no trailing slash: the root of every URL we mint.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.scheme(), self.domain)
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let key = format!("--config {}", path.display());
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(key.clone(), format!("cannot read the file: {e}")))?;
    toml::from_str(&text).map_err(|e| {
        // toml's message spans several lines; keep the promise of one line.
        let message = e.message().to_owned();
        let line = e
            .span()
            .map(|s| text[..s.start].lines().count().max(1))
            .map(|n| format!(" (line {n})"))
            .unwrap_or_default();
        ConfigError::new(key, format!("{message}{line}"))
    })
}

/// Validates a domain: `host` or `host:port`, no scheme, path or user info.
/// Returns it lower-cased.
pub fn parse_domain(value: &str) -> Result<String, String> {
    let lower = value.trim().to_ascii_lowercase();
    let bad = || format!("{value:?} is not a domain such as example.com or localhost:8080");
    if lower.is_empty() || lower.contains(['/', '@', '?', '#', ' ']) {
        return Err(bad());
    }
    let url = url::Url::parse(&format!("http://{lower}/")).map_err(|_| bad())?;
    let host = url.host_str().ok_or_else(bad)?;
    let rebuilt = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    // The url crate drops a default port (":80") and normalises IPs; insist the
    // domain is already in canonical form so ids never change spelling.
    if rebuilt != lower {
        return Err(bad());
    }
    Ok(lower)
}

/// True for `localhost[:port]` and IP literals: the domains of a developer's
/// machine, where dev mode is on unless turned off.
pub fn is_local_domain(domain: &str) -> bool {
    let host = match domain.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => domain,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<IpAddr>().is_ok() || domain.parse::<IpAddr>().is_ok()
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(format!("{value:?} is not a boolean (use 1 or 0)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load_env(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(None, |k| map.get(k).cloned())
    }

    #[test]
    fn zero_config_is_a_local_sqlite_dev_node() {
        let c = load_env(&[]).expect("defaults");
        assert_eq!(c.domain, "localhost:8080");
        assert_eq!(c.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.database, DatabaseUrl::Sqlite(DEFAULT_SQLITE_PATH.into()));
        assert!(c.dev);
        assert_eq!(c.base_url(), "http://localhost:8080");
        assert_eq!(c.delivery, DeliveryConfig::default());
        assert_eq!(c.delivery.per_host, 4);
        assert_eq!(c.role, Role::All);
        assert_eq!(c.job_lease, DEFAULT_JOB_LEASE);
    }

    #[test]
    fn role_and_lease_come_from_file_or_environment() {
        let c = load_env(&[
            ("STARLING_ROLE", "Worker"),
            ("STARLING_JOB_LEASE_SECONDS", "2"),
        ])
        .unwrap();
        assert_eq!(c.role, Role::Worker);
        assert!(c.role.runs_jobs() && !c.role.serves_http());
        assert_eq!(c.job_lease, Duration::from_secs(2));
        let c = load_env(&[("STARLING_ROLE", "web")]).unwrap();
        assert!(c.role.serves_http() && !c.role.runs_jobs());
    }

    #[test]
    fn dev_defaults_off_for_a_real_domain_and_can_be_forced() {
        let c = load_env(&[("STARLING_DOMAIN", "Social.Example.com")]).unwrap();
        assert_eq!(c.domain, "social.example.com");
        assert!(!c.dev);
        assert_eq!(c.base_url(), "https://social.example.com");
        let c = load_env(&[("STARLING_DOMAIN", "127.0.0.1:9000")]).unwrap();
        assert!(c.dev);
        let c = load_env(&[("STARLING_DOMAIN", "localhost:9000"), ("STARLING_DEV", "0")]).unwrap();
        assert!(!c.dev);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (key, value) in [
            ("STARLING_BIND", "not-an-address"),
            ("STARLING_DOMAIN", "https://example.com/"),
            ("STARLING_DOMAIN", "exa mple.com"),
            ("STARLING_DATABASE_URL", "mysql://x"),
            ("STARLING_DATABASE_URL", "sqlite://"),
            ("STARLING_DEV", "maybe"),
            ("STARLING_FANOUT_THRESHOLD", "lots"),
            ("STARLING_RATE_LIMITS", "sometimes"),
            ("STARLING_DELIVERY_PER_HOST", "0"),
            ("STARLING_DELIVERY_PER_HOST", "many"),
            ("STARLING_ROLE", "both"),
            ("STARLING_JOB_LEASE_SECONDS", "0"),
            ("STARLING_JOB_LEASE_SECONDS", "soon"),
        ] {
            let err = load_env(&[(key, value)]).expect_err(value);
            assert_eq!(err.key, key, "{value}");
            let line = err.to_string();
            assert!(
                line.starts_with(&format!("invalid configuration: {key}: ")),
                "{line}"
            );
            assert!(!line.contains('\n'), "{line}");
        }
    }

    #[test]
    fn file_values_apply_and_environment_wins() {
        let dir = std::env::temp_dir().join(format!("starling-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("starling.toml");
        std::fs::write(
            &path,
            "domain = \"social.example\"\nbind = \"0.0.0.0:3000\"\ndatabase_url = \"postgres://db/starling\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), |k| {
            (k == "STARLING_BIND").then(|| "127.0.0.1:4000".to_owned())
        })
        .unwrap();
        assert_eq!(c.domain, "social.example");
        assert_eq!(c.bind, "127.0.0.1:4000".parse().unwrap());
        assert_eq!(
            c.database,
            DatabaseUrl::Postgres("postgres://db/starling".into())
        );
        std::fs::write(&path, "delivery_per_host = 2\n").unwrap();
        let c = Config::load(Some(&path), |_| None).unwrap();
        assert_eq!(c.delivery.per_host, 2);
        let c = Config::load(Some(&path), |k| {
            (k == "STARLING_DELIVERY_PER_HOST").then(|| "8".to_owned())
        })
        .unwrap();
        assert_eq!(c.delivery.per_host, 8);
        std::fs::write(&path, "role = \"web\"\njob_lease_seconds = 60\n").unwrap();
        let c = Config::load(Some(&path), |_| None).unwrap();
        assert_eq!((c.role, c.job_lease), (Role::Web, Duration::from_secs(60)));

        std::fs::write(&path, "domian = \"typo.example\"\n").unwrap();
        let err = Config::load(Some(&path), |_| None).unwrap_err();
        assert!(err.to_string().contains("domian"), "{err}");
        assert!(err.to_string().contains("line 1"), "{err}");
        std::fs::write(&path, "bind = \"nope\"\n").unwrap();
        let err = Config::load(Some(&path), |_| None).unwrap_err();
        assert!(err.key.starts_with("bind (in "), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
