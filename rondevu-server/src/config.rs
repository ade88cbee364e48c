//! Server configuration: defaults, the spec's environment variables, and settable fields.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::{AuthSecret, AuthSecretError};

/// Default listening port (the reference server's).
pub const DEFAULT_PORT: u16 = 3000;
/// Default offer lifetime when a request gives none (ms).
pub const DEFAULT_OFFER_TTL_MS: u64 = 60_000;
/// Shortest offer lifetime (ms); shorter requests are raised to it.
pub const DEFAULT_OFFER_MIN_TTL_MS: u64 = 60_000;
/// Longest offer lifetime (ms); longer requests are lowered to it.
pub const DEFAULT_OFFER_MAX_TTL_MS: u64 = 86_400_000;
/// Most offers one `POST /offers` may carry.
pub const DEFAULT_MAX_OFFERS_PER_REQUEST: usize = 100;
/// Most topics one offer may carry.
pub const DEFAULT_MAX_TOPICS_PER_OFFER: usize = 50;
/// How often expired offers are deleted.
pub const DEFAULT_CLEANUP_INTERVAL: Duration = Duration::from_secs(60);
/// Largest request body accepted (100 offers of 64 Ki-character SDPs fit).
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Everything a server needs to start. Build it with [`ServerConfig::default`] or
/// [`ServerConfig::from_env`], then change fields as needed.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind (127.0.0.1 by default: the server listens only where it is told).
    pub bind: IpAddr,
    /// Port to bind; 0 picks a free one (see [`crate::ServerHandle::local_addr`]). `PORT`.
    pub port: u16,
    /// Credential key; `None` generates a random one at start (credentials then die with
    /// the process). `AUTH_SECRET` (64 hex characters).
    pub auth_secret: Option<AuthSecret>,
    /// SQLite database file; `None` keeps everything in memory.
    pub db_path: Option<PathBuf>,
    /// Offer lifetime when none is requested, in ms. `OFFER_DEFAULT_TTL`.
    pub offer_default_ttl_ms: u64,
    /// Lower clamp for offer lifetimes, in ms. `OFFER_MIN_TTL`.
    pub offer_min_ttl_ms: u64,
    /// Upper clamp for offer lifetimes, in ms. `OFFER_MAX_TTL`.
    pub offer_max_ttl_ms: u64,
    /// Most offers per `POST /offers`. `MAX_OFFERS_PER_REQUEST`.
    pub max_offers_per_request: usize,
    /// Most topics per offer. `MAX_TOPICS_PER_OFFER`.
    pub max_topics_per_offer: usize,
    /// Period of the expired-offer sweep. `CLEANUP_INTERVAL` (ms).
    pub cleanup_interval: Duration,
    /// Allowed CORS origins; empty allows every origin (echoed back). `CORS_ORIGINS`
    /// (comma-separated, `*` for all).
    pub cors_origins: Vec<String>,
    /// Largest accepted request body in bytes; larger bodies get 413.
    pub max_body_bytes: usize,
    /// Tokio worker threads; `None` uses one per available core.
    pub worker_threads: Option<usize>,
    /// SQLite connections used for reads (at least 1).
    pub read_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            auth_secret: None,
            db_path: None,
            offer_default_ttl_ms: DEFAULT_OFFER_TTL_MS,
            offer_min_ttl_ms: DEFAULT_OFFER_MIN_TTL_MS,
            offer_max_ttl_ms: DEFAULT_OFFER_MAX_TTL_MS,
            max_offers_per_request: DEFAULT_MAX_OFFERS_PER_REQUEST,
            max_topics_per_offer: DEFAULT_MAX_TOPICS_PER_OFFER,
            cleanup_interval: DEFAULT_CLEANUP_INTERVAL,
            cors_origins: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            worker_threads: None,
            read_connections: 4,
        }
    }
}

/// A configuration value that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An environment variable holds something that is not a valid value for it.
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    InvalidVariable {
        /// The variable's name.
        name: &'static str,
        /// Its text.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// The `AUTH_SECRET` text is not a key.
    #[error(transparent)]
    AuthSecret(#[from] AuthSecretError),
    /// The settings contradict each other.
    #[error("inconsistent configuration: {0}")]
    Inconsistent(String),
}

impl ServerConfig {
    /// Defaults overridden by the process environment (`PORT`, `AUTH_SECRET`,
    /// `OFFER_DEFAULT_TTL`, `OFFER_MIN_TTL`, `OFFER_MAX_TTL`, `MAX_OFFERS_PER_REQUEST`,
    /// `MAX_TOPICS_PER_OFFER`, `CLEANUP_INTERVAL`, `CORS_ORIGINS`).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`ServerConfig::from_env`], reading variables through `lookup` (for tests and
    /// embedders with their own configuration source). Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut config = Self::default();
        if let Some(value) = get("PORT") {
            config.port = parse_number("PORT", &value)?;
        }
        if let Some(value) = get("AUTH_SECRET") {
            config.auth_secret = Some(AuthSecret::from_hex(&value)?);
        }
        if let Some(value) = get("OFFER_DEFAULT_TTL") {
            config.offer_default_ttl_ms = parse_number("OFFER_DEFAULT_TTL", &value)?;
        }
        if let Some(value) = get("OFFER_MIN_TTL") {
            config.offer_min_ttl_ms = parse_number("OFFER_MIN_TTL", &value)?;
        }
        if let Some(value) = get("OFFER_MAX_TTL") {
            config.offer_max_ttl_ms = parse_number("OFFER_MAX_TTL", &value)?;
        }
        if let Some(value) = get("MAX_OFFERS_PER_REQUEST") {
            config.max_offers_per_request = parse_number("MAX_OFFERS_PER_REQUEST", &value)?;
        }
        if let Some(value) = get("MAX_TOPICS_PER_OFFER") {
            config.max_topics_per_offer = parse_number("MAX_TOPICS_PER_OFFER", &value)?;
        }
        if let Some(value) = get("CLEANUP_INTERVAL") {
            config.cleanup_interval =
                Duration::from_millis(parse_number("CLEANUP_INTERVAL", &value)?);
        }
        if let Some(value) = get("CORS_ORIGINS") {
            config.cors_origins = value
                .split(',')
                .map(str::trim)
                .filter(|origin| !origin.is_empty() && *origin != "*")
                .map(str::to_string)
                .collect();
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks that the settings make sense together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.offer_min_ttl_ms > self.offer_max_ttl_ms {
            return Err(ConfigError::Inconsistent(format!(
                "OFFER_MIN_TTL ({}) is above OFFER_MAX_TTL ({})",
                self.offer_min_ttl_ms, self.offer_max_ttl_ms
            )));
        }
        if self.max_offers_per_request == 0 || self.max_topics_per_offer == 0 {
            return Err(ConfigError::Inconsistent(
                "MAX_OFFERS_PER_REQUEST and MAX_TOPICS_PER_OFFER must be at least 1".to_string(),
            ));
        }
        if self.cleanup_interval.is_zero() {
            return Err(ConfigError::Inconsistent(
                "CLEANUP_INTERVAL must be above 0".to_string(),
            ));
        }
        Ok(())
    }
}

fn parse_number<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|error: T::Err| ConfigError::InvalidVariable {
            name,
            value: value.to_string(),
            reason: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<ServerConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ServerConfig::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_specs() {
        let config = from(&[]).expect("defaults");
        assert_eq!(config.bind, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(config.port, 3000);
        assert_eq!(config.offer_default_ttl_ms, 60_000);
        assert_eq!(config.offer_min_ttl_ms, 60_000);
        assert_eq!(config.offer_max_ttl_ms, 86_400_000);
        assert_eq!(config.max_offers_per_request, 100);
        assert_eq!(config.max_topics_per_offer, 50);
        assert!(config.auth_secret.is_none());
        assert!(config.db_path.is_none());
    }

    #[test]
    fn variables_override_defaults() {
        let key = "ab".repeat(32);
        let config = from(&[
            ("PORT", "8080"),
            ("AUTH_SECRET", &key),
            ("OFFER_DEFAULT_TTL", "120000"),
            ("OFFER_MIN_TTL", "1000"),
            ("OFFER_MAX_TTL", "200000"),
            ("MAX_OFFERS_PER_REQUEST", "7"),
            ("MAX_TOPICS_PER_OFFER", "3"),
            ("CLEANUP_INTERVAL", "500"),
            ("CORS_ORIGINS", "https://a.example, https://b.example"),
        ])
        .expect("config");
        assert_eq!(config.port, 8080);
        assert_eq!(config.auth_secret.map(|k| k.to_hex()), Some(key));
        assert_eq!(config.offer_default_ttl_ms, 120_000);
        assert_eq!(config.offer_min_ttl_ms, 1000);
        assert_eq!(config.offer_max_ttl_ms, 200_000);
        assert_eq!(config.max_offers_per_request, 7);
        assert_eq!(config.max_topics_per_offer, 3);
        assert_eq!(config.cleanup_interval, Duration::from_millis(500));
        assert_eq!(
            config.cors_origins,
            vec!["https://a.example", "https://b.example"]
        );
    }

    #[test]
    fn bad_values_are_errors_not_ignored() {
        assert!(from(&[("PORT", "eighty")]).is_err());
        assert!(from(&[("PORT", "70000")]).is_err());
        assert!(from(&[("AUTH_SECRET", "short")]).is_err());
        assert!(from(&[("OFFER_MIN_TTL", "5"), ("OFFER_MAX_TTL", "4")]).is_err());
        assert!(from(&[("MAX_OFFERS_PER_REQUEST", "0")]).is_err());
    }
}
