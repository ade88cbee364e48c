//! The manager's public handle: [`Manager`] (alias [`crate::RondevuConnectionManager`]),
//! its constructors and methods; the work happens in the manager task (`coordinator`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bt_swarm::{AddTorrentError, Engine, Storage, TorrentHandle, TorrentSource};
use bt_wire::InfoHash;
use rondevu_api::Credentials;
use rondevu_rtc::{Driver, DriverConfig};
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::coordinator::Coordinator;
use crate::events::{DiscoveryEvent, DiscoveryEvents, TorrentCounters, TorrentDiscoveryStats};
use crate::options::DiscoveryOptions;
use crate::signaling::{Signaling, SignalingError};
use crate::sink::{PeerSink, SwarmSink};
use crate::transport::Transport;

/// Why a manager call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DiscoveryError {
    /// The manager was destroyed (or its task ended).
    #[error("the discovery manager has stopped")]
    Stopped,
    /// The torrent is not one discovery follows.
    #[error("torrent {0} is not being discovered")]
    UnknownTorrent(InfoHash),
    /// A signaling call failed.
    #[error(transparent)]
    Signaling(#[from] SignalingError),
    /// The WebRTC transport could not start.
    #[error("transport: {0}")]
    Transport(String),
    /// `destroy` could not delete every published offer (the server stayed unreachable).
    #[error("{0} published offers could not be deleted")]
    OffersLeft(usize),
}

/// State shared by the handle, the manager task and the link tasks.
pub(crate) struct Shared<S, T, P> {
    pub(crate) options: DiscoveryOptions,
    pub(crate) signaling: S,
    pub(crate) transport: T,
    pub(crate) sink: P,
    pub(crate) credentials: Mutex<Option<Credentials>>,
    pub(crate) events: broadcast::Sender<DiscoveryEvent>,
    pub(crate) counters: Mutex<BTreeMap<InfoHash, Arc<TorrentCounters>>>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<S, T, P> Shared<S, T, P> {
    pub(crate) fn emit(&self, event: DiscoveryEvent) {
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }
}

/// Requests from the handle to the manager task.
pub(crate) enum Command {
    Discover(InfoHash, oneshot::Sender<Result<usize, DiscoveryError>>),
    SyncTorrents(oneshot::Sender<()>),
    Destroy(oneshot::Sender<Result<(), DiscoveryError>>),
}

/// Finds peers for every torrent of a [`PeerSink`] through a Rondevu server and connects
/// them with a [`Transport`]: the Rust form of the original plugin's
/// `RondevuConnectionManager` (that name is the alias [`crate::RondevuConnectionManager`]
/// for the usual parts: `rondevu-api`, `rondevu-rtc`, `bt-swarm`).
///
/// Cheap to share behind an `Arc`; every method takes `&self`. Dropping it stops discovery
/// without waiting; [`Manager::destroy`] also deletes every offer it published.
pub struct Manager<S: Signaling, T: Transport, P: PeerSink> {
    shared: Arc<Shared<S, T, P>>,
    commands: mpsc::UnboundedSender<Command>,
    task: tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl<S: Signaling, T: Transport, P: PeerSink> std::fmt::Debug for Manager<S, T, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Manager")
            .field("server", &self.shared.options.rondevu_server)
            .field("credentials", &*lock(&self.shared.credentials))
            .finish_non_exhaustive()
    }
}

impl<S: Signaling, T: Transport, P: PeerSink> Manager<S, T, P> {
    /// A manager over the three seams; starts at once (registering unless
    /// `options.credentials` holds an identity) and follows `sink`'s torrents. Call inside a
    /// tokio runtime.
    pub fn new(options: DiscoveryOptions, signaling: S, transport: T, sink: P) -> Self {
        let (events, _) = broadcast::channel(1024);
        let torrents = sink.torrents();
        let shared = Arc::new(Shared {
            credentials: Mutex::new(options.credentials.clone()),
            options,
            signaling,
            transport,
            sink,
            events,
            counters: Mutex::new(BTreeMap::new()),
        });
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (reports, report_rx) = mpsc::unbounded_channel();
        let coordinator = Coordinator::new(shared.clone(), torrents, reports);
        let task = tokio::spawn(coordinator.run(command_rx, report_rx));
        Self {
            shared,
            commands,
            task: tokio::sync::Mutex::new(Some(task)),
        }
    }

    /// Subscribes to discovery events from now on.
    pub fn events(&self) -> DiscoveryEvents {
        DiscoveryEvents::new(self.shared.events.subscribe())
    }

    /// Figures for every torrent discovery follows.
    pub fn stats(&self) -> Vec<TorrentDiscoveryStats> {
        lock(&self.shared.counters)
            .iter()
            .map(|(info_hash, counters)| counters.snapshot(*info_hash))
            .collect()
    }

    /// Figures for one torrent.
    pub fn torrent_stats(&self, info_hash: &InfoHash) -> Option<TorrentDiscoveryStats> {
        lock(&self.shared.counters)
            .get(info_hash)
            .map(|counters| counters.snapshot(*info_hash))
    }

    /// The identity in use (store it to reuse it next time); `None` until registered.
    pub fn credentials(&self) -> Option<Credentials> {
        lock(&self.shared.credentials).clone()
    }

    /// The sink discovery feeds.
    pub fn sink(&self) -> &P {
        &self.shared.sink
    }

    /// The options in use.
    pub fn options(&self) -> &DiscoveryOptions {
        &self.shared.options
    }

    /// Runs a round by topic for the torrent now (the original's `discoverPeers`); returns
    /// how many offers it answered.
    ///
    /// # Errors
    /// A torrent discovery does not follow, a failed query, or a stopped manager.
    pub async fn discover_peers(&self, info_hash: &InfoHash) -> Result<usize, DiscoveryError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Discover(*info_hash, reply))
            .map_err(|_| DiscoveryError::Stopped)?;
        answer.await.map_err(|_| DiscoveryError::Stopped)?
    }

    /// Closes every connection, deletes every offer this manager published (afterwards
    /// `GET /offers/mine` lists none of them) and stops.
    ///
    /// # Errors
    /// [`DiscoveryError::OffersLeft`] when the server stayed unreachable; `Stopped` when
    /// called twice.
    pub async fn destroy(&self) -> Result<(), DiscoveryError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Destroy(reply))
            .map_err(|_| DiscoveryError::Stopped)?;
        let result = answer.await.map_err(|_| DiscoveryError::Stopped)?;
        if let Some(task) = self.task.lock().await.take() {
            let _ = task.await;
        }
        result
    }

    /// Applies the sink's torrent set now (waits until removed torrents are withdrawn).
    async fn sync_torrents(&self) {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::SyncTorrents(reply)).is_ok() {
            let _ = done.await;
        }
    }
}

impl<S: Signaling, T: Transport> Manager<S, T, SwarmSink> {
    /// Adds a torrent to the engine; discovery starts for it at once, with its info-hash as
    /// the topic.
    ///
    /// # Errors
    /// What the engine refuses.
    pub fn add_torrent(
        &self,
        source: impl Into<TorrentSource>,
        storage: Storage,
    ) -> Result<TorrentHandle, AddTorrentError> {
        let torrent = self.shared.sink.add_torrent(source, storage)?;
        // Figures exist from now on, before the manager task picks the torrent up.
        lock(&self.shared.counters)
            .entry(torrent.info_hash())
            .or_default();
        Ok(torrent)
    }

    /// Withdraws a torrent: its offers are deleted and its connections closed, then it is
    /// removed from the engine. False if the engine did not run it.
    pub async fn remove_torrent(&self, info_hash: &InfoHash) -> bool {
        self.shared.sink.withdraw(info_hash);
        self.sync_torrents().await;
        self.shared.sink.engine().remove(info_hash).await
    }

    /// The torrent engine.
    pub fn engine(&self) -> &Arc<Engine> {
        self.shared.sink.engine()
    }
}

impl Manager<rondevu_api::Client, Driver, SwarmSink> {
    /// The usual manager: `rondevu-api` against `options.rondevu_server`, a `rondevu-rtc`
    /// driver from `options.rtc_config`, feeding `engine`.
    ///
    /// # Errors
    /// An unusable server URL or a driver that cannot start.
    pub async fn start(
        options: DiscoveryOptions,
        engine: Arc<Engine>,
    ) -> Result<Self, DiscoveryError> {
        let client = rondevu_api::Client::builder(&options.rondevu_server)
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|error| DiscoveryError::Signaling(error.into()))?;
        let driver = Driver::start(DriverConfig {
            bind: options.rtc_config.bind.clone(),
            ice_servers: options.rtc_config.ice_servers.clone(),
            ..DriverConfig::default()
        })
        .await
        .map_err(|error| DiscoveryError::Transport(error.to_string()))?;
        Ok(Self::new(options, client, driver, SwarmSink::new(engine)))
    }
}
