//! The flags `seed` and `get` share: where the signaling server is and how discovery behaves.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use rondevu_discovery::{DiscoveryOptions, RtcConfig, DEFAULT_RONDEVU_SERVER};
use rondevu_rtc::BindPolicy;

use crate::credentials_file;

/// Discovery flags shared by `seed` and `get`.
#[derive(Debug, Clone, Args)]
pub struct DiscoveryArgs {
    /// The Rondevu signaling server.
    #[arg(long, value_name = "URL", env = "RONDEVU_SERVER", default_value = DEFAULT_RONDEVU_SERVER)]
    pub server: String,
    /// Most peers per torrent, connected or connecting.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub max_peers: usize,
    /// Seconds between discovery rounds when idle.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub refresh: u64,
    /// Keep the Rondevu identity in this file: created on first use, reused after.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// A STUN server (`stun:host:port`) for server-reflexive candidates; repeatable. Without
    /// any, only host candidates are used.
    #[arg(long = "stun", value_name = "URL")]
    pub stun: Vec<String>,
    /// Local addresses for WebRTC: `loopback` (this machine only), `all`, or one IP address.
    #[arg(long, value_name = "loopback|all|IP", default_value = "all", value_parser = parse_bind)]
    pub bind: BindPolicy,
}

fn parse_bind(text: &str) -> Result<BindPolicy, String> {
    match text {
        "loopback" => Ok(BindPolicy::Loopback),
        "all" => Ok(BindPolicy::All),
        other => other
            .parse::<IpAddr>()
            .map(|ip| BindPolicy::Addresses(vec![ip]))
            .map_err(|_| format!("`{other}` is not `loopback`, `all` or an IP address")),
    }
}

impl DiscoveryArgs {
    /// The manager's options, with stored credentials loaded when `--credentials` names a file
    /// that exists.
    pub fn options(&self, server: &str, verbose: bool) -> Result<DiscoveryOptions, String> {
        if !self.stun.iter().all(|url| url.starts_with("stun:")) {
            return Err("--stun takes stun: URLs, e.g. stun:stun.example.org:3478".to_string());
        }
        if self.refresh == 0 {
            return Err("--refresh must be at least 1 second".to_string());
        }
        if self.max_peers == 0 {
            return Err("--max-peers must be at least 1".to_string());
        }
        let credentials = match &self.credentials {
            Some(path) => credentials_file::load(path)?,
            None => None,
        };
        Ok(DiscoveryOptions {
            max_peers_per_torrent: self.max_peers,
            refresh_interval: Duration::from_secs(self.refresh),
            rtc_config: RtcConfig {
                ice_servers: self.stun.clone(),
                bind: self.bind.clone(),
            },
            credentials,
            debug: verbose,
            ..DiscoveryOptions::new(server)
        })
    }
}

/// Checks that a Rondevu server answers at `url`, so a wrong address is one clear error at
/// start rather than a silent backoff.
pub async fn check_server(url: &str) -> Result<(), String> {
    let client = rondevu_api::Client::builder(url)
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|error| format!("`{url}` is not a usable server URL: {error}"))?;
    tokio::task::spawn_blocking(move || client.health())
        .await
        .map_err(|error| format!("the server check failed: {error}"))?
        .map(|_| ())
        .map_err(|error| format!("the signaling server is unreachable at {url}: {error}"))
}
