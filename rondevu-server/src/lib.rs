//! `rondevu-server`: a self-hostable server for the Rondevu topic signaling protocol
//! (`shared/spec/rondevu-v0.1.md`), on axum, tokio and SQLite.
//!
//! Peers register for stateless credentials, publish WebRTC offers under topics (a torrent's
//! info-hash), discover each other's offers by topic (skipping peers already known through a
//! bloom filter), answer, and trade ICE candidates. Storage is in memory by default or in a
//! SQLite file ([`ServerConfig::db_path`]); the reference server's known defects are not
//! copied (see the spec).
//!
//! Inside: `routes` (one handler per endpoint) over `validation` (untrusted JSON in, typed
//! requests or a 400 message out), [`auth`] (stateless AES-256-GCM credentials),
//! [`offer_id`] (content ids, JavaScript-exact), and [`store`] (SQLite: one writer, a pool of
//! readers, all on tokio's blocking pool). The hot read, `GET /offers/by-topic`, is served from
//! a per-topic cache of ready JSON that every write to the topic invalidates, so answers are
//! always what the database holds (`cargo xtask bench server` has the figures).
//!
//! [`serve`] starts a server on its own threads and returns at once, so tests, the demo and
//! embedders can run it in-process:
//!
//! ```
//! use rondevu_server::{serve, ServerConfig};
//!
//! let config = ServerConfig { port: 0, ..ServerConfig::default() };
//! let server = serve(config).expect("server starts");
//! let addr = server.local_addr();
//! assert!(addr.ip().is_loopback());
//!
//! // Any HTTP client can talk to it now; a bare TCP request shows the health endpoint.
//! use std::io::{Read, Write};
//! let mut stream = std::net::TcpStream::connect(addr).expect("connect");
//! stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("send");
//! let mut reply = String::new();
//! stream.read_to_string(&mut reply).expect("read");
//! assert!(reply.starts_with("HTTP/1.1 200"));
//! assert!(reply.contains(r#""status":"ok""#));
//!
//! server.shutdown();
//! ```

pub mod auth;
mod body;
pub mod config;
mod error;
mod extract;
mod generation;
mod listing_cache;
pub mod offer_id;
mod responses;
mod routes;
pub mod store;
pub mod validation;

use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

pub use auth::{AuthSecret, Authenticator};
pub use config::{ConfigError, ServerConfig};
pub use routes::VERSION;

use routes::{now_ms, AppState};
use store::Store;
use validation::PublishLimits;

/// How long open connections get to finish after [`ServerHandle::shutdown`].
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The credential key could not be generated.
    #[error(transparent)]
    AuthSecret(#[from] auth::AuthSecretError),
    /// The database could not be opened.
    #[error("could not open the database: {0}")]
    Store(#[from] store::StoreError),
    /// The address could not be bound.
    #[error("could not bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The tokio runtime or server thread could not be started.
    #[error("could not start the server runtime: {0}")]
    Runtime(std::io::Error),
}

/// A running server. Dropping it shuts the server down, like [`ServerHandle::shutdown`].
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The address the server listens on (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The base URL, e.g. `http://127.0.0.1:3000`.
    pub fn url(&self) -> String {
        format!("http://{}", self.local_addr)
    }

    /// Stops accepting connections, lets requests in flight finish (for at most a few
    /// seconds) and waits for the server threads to end.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the server thread panicked");
            }
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Starts a server for `config` on a new multi-threaded tokio runtime and returns once it
/// is listening. Works from any thread, inside another runtime or not.
pub fn serve(config: ServerConfig) -> Result<ServerHandle, ServeError> {
    config.validate()?;
    let secret = match &config.auth_secret {
        Some(secret) => secret.clone(),
        None => {
            tracing::warn!(
                "AUTH_SECRET is not set: using a random key; credentials stop working when this server stops"
            );
            AuthSecret::generate()?
        }
    };
    let store = Arc::new(Store::open(
        config.db_path.as_deref(),
        config.read_connections,
    )?);
    let state = Arc::new(AppState {
        store: Arc::clone(&store),
        auth: Authenticator::new(&secret),
        limits: PublishLimits::from(&config),
        cache: listing_cache::ListingCache::default(),
    });
    let app = routes::router(state, &config.cors_origins, config.max_body_bytes);

    let requested = SocketAddr::new(config.bind, config.port);
    let listener = StdTcpListener::bind(requested).map_err(|source| ServeError::Bind {
        addr: requested,
        source,
    })?;
    let local_addr = listener.local_addr().map_err(ServeError::Runtime)?;
    listener
        .set_nonblocking(true)
        .map_err(ServeError::Runtime)?;

    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("rondevu-server");
    if let Some(threads) = config.worker_threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = builder.build().map_err(ServeError::Runtime)?;
    let (stop, stopped) = watch::channel(false);
    let cleanup_interval = config.cleanup_interval;
    let thread = std::thread::Builder::new()
        .name("rondevu-server".to_string())
        .spawn(move || {
            runtime.block_on(run(listener, app, store, cleanup_interval, stopped));
            runtime.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(ServeError::Runtime)?;
    tracing::info!(%local_addr, "rondevu server listening");
    Ok(ServerHandle {
        local_addr,
        stop,
        thread: Some(thread),
    })
}

/// Serves until `stopped` turns true (or its sender is gone), sweeping expired offers.
async fn run(
    listener: StdTcpListener,
    app: axum::Router,
    store: Arc<Store>,
    cleanup_interval: Duration,
    stopped: watch::Receiver<bool>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, "could not register the listener with tokio");
            return;
        }
    };
    let sweeper = tokio::spawn(sweep_forever(store, cleanup_interval));
    let mut graceful = stopped.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = graceful.wait_for(|stop| *stop).await;
    });
    let mut deadline = stopped;
    let forced = async move {
        let _ = deadline.wait_for(|stop| *stop).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => {
            if let Err(error) = result {
                tracing::error!(%error, "server stopped with an error");
            }
        }
        () = forced => tracing::warn!("connections still open after the grace period; closing them"),
    }
    sweeper.abort();
    tracing::info!("rondevu server stopped");
}

/// Deletes expired offers every `interval`.
async fn sweep_forever(store: Arc<Store>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let store = Arc::clone(&store);
        match tokio::task::spawn_blocking(move || store.sweep(now_ms())).await {
            Ok(Ok(0)) => {}
            Ok(Ok(deleted)) => tracing::debug!(deleted, "swept expired offers"),
            Ok(Err(error)) => tracing::error!(%error, "sweeping expired offers failed"),
            Err(error) => tracing::error!(%error, "the sweep task failed"),
        }
    }
}
