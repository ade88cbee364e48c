//! What `seed` and `get` share at run time: the engine, the discovery manager, its events on
//! the terminal, and a clean stop that deletes our offers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bt_swarm::{Engine, EngineConfig};
use rondevu_discovery::{DiscoveryEvent, RondevuConnectionManager};
use rondevu_server::{serve, ServerConfig, ServerHandle};

use crate::credentials_file;
use crate::discovery_args::{check_server, DiscoveryArgs};

/// A running engine with discovery, and the signaling server when we host it.
pub struct Session {
    /// The discovery manager (which owns the engine's peers).
    pub manager: Arc<RondevuConnectionManager>,
    /// When the session started.
    pub started: Instant,
    /// The embedded signaling server, when `--with-server` asked for one.
    _server: Option<ServerHandle>,
}

impl Session {
    /// Starts discovery against `args.server`, or against a server hosted here at
    /// `host_server` (then its URL wins).
    pub async fn start(
        args: &DiscoveryArgs,
        host_server: Option<SocketAddr>,
        verbose: bool,
    ) -> Result<Self, String> {
        let started = Instant::now();
        let (server, url) = match host_server {
            Some(addr) => {
                let config = ServerConfig {
                    bind: addr.ip(),
                    port: addr.port(),
                    ..ServerConfig::from_env().map_err(|error| error.to_string())?
                };
                let server = serve(config)
                    .map_err(|error| format!("the signaling server could not start: {error}"))?;
                let url = server.url();
                println!("signaling server listening on {url}");
                (Some(server), url)
            }
            None => (None, args.server.trim_end_matches('/').to_string()),
        };
        check_server(&url).await?;
        let options = args.options(&url, verbose)?;
        let engine = Arc::new(Engine::new(EngineConfig {
            max_peers_per_torrent: args.max_peers,
            ..EngineConfig::default()
        }));
        let manager = RondevuConnectionManager::start(options, engine)
            .await
            .map_err(|error| format!("discovery could not start: {error}"))?;
        if let Some(path) = &args.credentials {
            let credentials = wait_for_credentials(&manager).await?;
            credentials_file::save(path, &credentials)?;
        }
        Ok(Self {
            manager: Arc::new(manager),
            started,
            _server: server,
        })
    }

    /// Prints discovery's notable events as they happen and saves new credentials to the
    /// `--credentials` file. Returns when the manager stops.
    pub fn watch_events(&self, args: &DiscoveryArgs) -> tokio::task::JoinHandle<()> {
        let mut events = self.manager.events();
        let manager = Arc::clone(&self.manager);
        let credentials_path = args.credentials.clone();
        let started = self.started;
        tokio::spawn(async move {
            let mut first_peer = true;
            let mut saved: Option<String> = None;
            let mut save_credentials = |manager: &RondevuConnectionManager| {
                let (Some(path), Some(credentials)) = (&credentials_path, manager.credentials())
                else {
                    return;
                };
                if saved.as_deref() != Some(credentials.peer_id.as_str()) {
                    match credentials_file::save(path, &credentials) {
                        Ok(()) => saved = Some(credentials.peer_id),
                        Err(error) => tracing::warn!("{error}"),
                    }
                }
            };
            save_credentials(&manager);
            while let Some(event) = events.recv().await {
                save_credentials(&manager);
                match event {
                    DiscoveryEvent::Registered { peer_id } => {
                        tracing::info!(%peer_id, "registered with the signaling server");
                    }
                    DiscoveryEvent::PeerConnected { peer_id, .. } => {
                        if first_peer {
                            first_peer = false;
                            eprintln!(
                                "first peer connected after {} ms",
                                started.elapsed().as_millis()
                            );
                        }
                        tracing::info!(%peer_id, "peer connected");
                    }
                    DiscoveryEvent::PeerFailed {
                        peer_id, reason, ..
                    } => {
                        tracing::info!(%peer_id, %reason, "peer connection failed");
                    }
                    DiscoveryEvent::ServerDown { error } => {
                        tracing::warn!(%error, "signaling server unreachable; retrying");
                    }
                    DiscoveryEvent::ServerUp => tracing::info!("signaling server reachable again"),
                    other => tracing::debug!(?other, "discovery"),
                }
            }
        })
    }

    /// Deletes every offer we published and closes every connection, within `limit`.
    pub async fn stop(&self, limit: Duration) -> Result<(), String> {
        match tokio::time::timeout(limit, self.manager.destroy()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("stopping discovery: {error}")),
            Err(_) => Err(
                "stopping discovery took too long; some offers may stay until they expire"
                    .to_string(),
            ),
        }
    }
}

/// The identity the manager uses, once it has registered (bounded wait).
async fn wait_for_credentials(
    manager: &RondevuConnectionManager,
) -> Result<rondevu_api::Credentials, String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(credentials) = manager.credentials() {
            return Ok(credentials);
        }
        if Instant::now() >= deadline {
            return Err("could not register with the signaling server within 15 s".to_string());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
