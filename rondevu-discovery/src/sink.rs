//! The `PeerSink` seam: where connected peers go (the torrent engine), which torrents it
//! runs, and how many more peers each takes; implemented on `bt-swarm`'s engine.

use std::collections::BTreeSet;
use std::sync::Arc;

use bt_swarm::{AddTorrentError, Engine, Storage, TorrentHandle, TorrentSource, TorrentState};
use bt_wire::InfoHash;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

/// A connected peer stream, type-erased for the sink.
pub trait PeerByteStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> PeerByteStream for T {}

/// Why the sink did not take a peer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the sink refused the peer: {0}")]
pub struct SinkRefused(pub String);

/// The torrent side of discovery. Implemented by [`SwarmSink`] for `bt-swarm`; an embedder
/// with another engine implements these three methods.
pub trait PeerSink: Send + Sync + 'static {
    /// Hands a connected stream to the torrent `info_hash`. The sink owns it from now on:
    /// dropping it closes the connection, which frees the peer slot in discovery.
    fn add_peer(
        &self,
        info_hash: &InfoHash,
        stream: Box<dyn PeerByteStream>,
    ) -> Result<(), SinkRefused>;

    /// How many more peers the torrent takes beyond the `connected` streams discovery has
    /// already handed it and not seen closed (`usize::MAX` when the sink has no limit of its
    /// own; 0 when the torrent does not run).
    fn free_slots(&self, info_hash: &InfoHash, connected: usize) -> usize;

    /// The torrents the sink runs, as a watchable set: discovery follows it, publishing
    /// under every added torrent's info-hash and withdrawing a removed torrent's offers.
    fn torrents(&self) -> watch::Receiver<BTreeSet<InfoHash>>;
}

/// `bt-swarm`'s [`Engine`] as a [`PeerSink`]: add and remove torrents through it (or
/// through [`crate::RondevuConnectionManager::add_torrent`]) and discovery follows.
#[derive(Clone)]
pub struct SwarmSink {
    engine: Arc<Engine>,
    torrents: Arc<watch::Sender<BTreeSet<InfoHash>>>,
}

impl std::fmt::Debug for SwarmSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SwarmSink")
            .field("torrents", &*self.torrents.borrow())
            .finish_non_exhaustive()
    }
}

impl SwarmSink {
    /// A sink feeding `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self {
            engine,
            torrents: Arc::new(watch::Sender::new(BTreeSet::new())),
        }
    }

    /// The engine behind the sink.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Adds a torrent to the engine; discovery starts for it at once.
    ///
    /// # Errors
    /// What [`Engine::add_torrent`] refuses.
    pub fn add_torrent(
        &self,
        source: impl Into<TorrentSource>,
        storage: Storage,
    ) -> Result<TorrentHandle, AddTorrentError> {
        let handle = self.engine.add_torrent(source, storage)?;
        let info_hash = handle.info_hash();
        self.torrents.send_modify(|set| {
            set.insert(info_hash);
        });
        Ok(handle)
    }

    /// Takes a torrent out of the set discovery follows (the engine keeps running it).
    pub(crate) fn withdraw(&self, info_hash: &InfoHash) {
        self.torrents.send_modify(|set| {
            set.remove(info_hash);
        });
    }

    /// Stops discovery for a torrent (its offers are withdrawn, its connections closed), then
    /// removes it from the engine; false if it was not running.
    pub async fn remove_torrent(&self, info_hash: &InfoHash) -> bool {
        self.torrents.send_modify(|set| {
            set.remove(info_hash);
        });
        self.engine.remove(info_hash).await
    }
}

impl PeerSink for SwarmSink {
    fn add_peer(
        &self,
        info_hash: &InfoHash,
        stream: Box<dyn PeerByteStream>,
    ) -> Result<(), SinkRefused> {
        let torrent = self
            .engine
            .torrent(info_hash)
            .ok_or_else(|| SinkRefused(format!("torrent {info_hash} is not running")))?;
        torrent
            .add_peer(stream)
            .map_err(|stopped| SinkRefused(stopped.to_string()))
    }

    fn free_slots(&self, info_hash: &InfoHash, _connected: usize) -> usize {
        match self.engine.torrent(info_hash) {
            Some(torrent)
                if !matches!(
                    torrent.progress().state,
                    TorrentState::Stopped | TorrentState::Failed
                ) =>
            {
                // The engine enforces its own limit when a peer arrives; discovery's
                // `max_peers_per_torrent` is the limit that counts here.
                usize::MAX
            }
            _ => 0,
        }
    }

    fn torrents(&self) -> watch::Receiver<BTreeSet<InfoHash>> {
        self.torrents.subscribe()
    }
}
