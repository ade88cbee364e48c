//! The manager's options: the original plugin's, with its names and defaults, plus the
//! knobs of what we do better (pool size, polling, timeouts, backoff).

use std::time::Duration;

use rondevu_api::Credentials;
use rondevu_rtc::BindPolicy;

/// The original plugin's default signaling server.
pub const DEFAULT_RONDEVU_SERVER: &str = "https://api.ronde.vu";

/// The STUN servers the original plugin uses by default.
pub const DEFAULT_ICE_SERVERS: &[&str] = &[
    "stun:stun.l.google.com:19302",
    "stun:stun1.l.google.com:19302",
];

/// The WebRTC settings (the original's `rtcConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcConfig {
    /// `stun:` URLs (the `iceServers` of an `RTCConfiguration`).
    pub ice_servers: Vec<String>,
    /// Which local addresses to use; tests and benchmarks use [`BindPolicy::Loopback`].
    pub bind: BindPolicy,
}

impl Default for RtcConfig {
    fn default() -> Self {
        Self {
            ice_servers: DEFAULT_ICE_SERVERS
                .iter()
                .map(|url| url.to_string())
                .collect(),
            bind: BindPolicy::All,
        }
    }
}

impl RtcConfig {
    /// Loopback only, no STUN: nothing leaves 127.0.0.1 (tests, benchmarks, local demos).
    pub fn loopback() -> Self {
        Self {
            ice_servers: Vec::new(),
            bind: BindPolicy::Loopback,
        }
    }
}

/// Options of [`crate::RondevuConnectionManager`]; the first six are the original plugin's
/// (`rondevuServer`, `maxPeersPerTorrent`, `refreshInterval`, `rtcConfig`, `credentials`,
/// `debug`). The original's `wrtc` option is the choice of [`crate::Transport`].
#[derive(Debug, Clone)]
pub struct DiscoveryOptions {
    /// Base URL of the Rondevu server (default [`DEFAULT_RONDEVU_SERVER`]).
    pub rondevu_server: String,
    /// Most peers, connected or connecting, per torrent (50). Published offers hold no
    /// slot: an answer that would pass the limit is refused.
    pub max_peers_per_torrent: usize,
    /// The slowest pace of each torrent's rounds by topic (30 s): rounds come 250 ms after a
    /// torrent is added, a round answered someone or a slot freed, then back off to this.
    /// Also the period of the idle-connection check of full torrents.
    pub refresh_interval: Duration,
    /// WebRTC settings.
    pub rtc_config: RtcConfig,
    /// A stored identity to reuse; `None` registers (and a 401 registers again).
    pub credentials: Option<Credentials>,
    /// Log discovery's steps at `info` instead of `debug` (the original's console output).
    pub debug: bool,
    /// Offers kept published per torrent (capped by the free peer slots) (3).
    pub offer_pool_size: usize,
    /// Lifetime asked for each offer; it is replaced 10 s before it expires (60 s, the
    /// server's minimum).
    pub offer_ttl: Duration,
    /// Fastest polling, right after publishing or answering (20 ms).
    pub fast_poll: Duration,
    /// Slowest polling for answers while offers are published (300 ms): the bound on how
    /// long a newcomer waits for an idle peer to notice its answer.
    pub answer_poll_idle: Duration,
    /// A connection whose channel is not open this long after both descriptions are known
    /// fails, freeing its slot (10 s).
    pub connect_timeout: Duration,
    /// A peer that failed or disconnected is left out of discovery this long (60 s).
    pub retry_cool_down: Duration,
    /// First delay after the server became unreachable (250 ms); it doubles with jitter…
    pub backoff_base: Duration,
    /// …up to this (30 s).
    pub backoff_max: Duration,
}

impl Default for DiscoveryOptions {
    fn default() -> Self {
        Self {
            rondevu_server: DEFAULT_RONDEVU_SERVER.to_string(),
            max_peers_per_torrent: 50,
            refresh_interval: Duration::from_secs(30),
            rtc_config: RtcConfig::default(),
            credentials: None,
            debug: false,
            offer_pool_size: 3,
            offer_ttl: Duration::from_secs(60),
            fast_poll: Duration::from_millis(20),
            answer_poll_idle: Duration::from_millis(300),
            connect_timeout: Duration::from_secs(10),
            retry_cool_down: Duration::from_secs(60),
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
        }
    }
}

impl DiscoveryOptions {
    /// Defaults for a server at `rondevu_server`.
    pub fn new(rondevu_server: impl Into<String>) -> Self {
        Self {
            rondevu_server: rondevu_server.into(),
            ..Self::default()
        }
    }
}
