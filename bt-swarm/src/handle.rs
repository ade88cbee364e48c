//! A handle to one running torrent: add peers, watch progress, subscribe to events, read
//! verified data, stop.

use std::sync::Arc;

use bt_wire::InfoHash;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::events::{Events, Progress, TorrentEvent, TorrentStats};
use crate::peer::PeerStream;
use crate::shared::SharedTorrent;
use crate::torrent::Command;

/// Why a handle could not reach its torrent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the torrent has stopped")]
pub struct TorrentStopped;

/// Cheap to clone; every clone talks to the same torrent.
#[derive(Clone)]
pub struct TorrentHandle {
    shared: Arc<SharedTorrent>,
    commands: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<TorrentEvent>,
    progress: watch::Receiver<Progress>,
}

impl std::fmt::Debug for TorrentHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TorrentHandle")
            .field("info_hash", &self.shared.info_hash)
            .finish_non_exhaustive()
    }
}

impl TorrentHandle {
    pub(crate) fn new(
        shared: Arc<SharedTorrent>,
        commands: mpsc::UnboundedSender<Command>,
        events: broadcast::Sender<TorrentEvent>,
        progress: watch::Receiver<Progress>,
    ) -> Self {
        Self {
            shared,
            commands,
            events,
            progress,
        }
    }

    /// The torrent's info-hash.
    pub fn info_hash(&self) -> InfoHash {
        self.shared.info_hash
    }

    /// Hands the torrent a connected peer: any ordered, reliable byte stream. Both sides
    /// send their handshake at once, so either end of a connection may call this.
    ///
    /// # Errors
    /// [`TorrentStopped`] if the torrent is no longer running.
    pub fn add_peer(&self, stream: impl PeerStream) -> Result<(), TorrentStopped> {
        self.commands
            .send(Command::AddPeer(Box::new(stream)))
            .map_err(|_| TorrentStopped)
    }

    /// Subscribes to the torrent's events from now on.
    pub fn subscribe(&self) -> Events {
        Events::new(self.events.subscribe())
    }

    /// The latest verified progress.
    pub fn progress(&self) -> Progress {
        self.progress.borrow().clone()
    }

    /// Waits until every piece is verified.
    ///
    /// # Errors
    /// [`TorrentStopped`] if the torrent stops (or fails) first.
    pub async fn wait_complete(&self) -> Result<Progress, TorrentStopped> {
        self.wait_for(Progress::is_complete).await
    }

    /// Waits until `condition` holds for the progress.
    ///
    /// # Errors
    /// [`TorrentStopped`] if the torrent stops (or fails) first.
    pub async fn wait_for(
        &self,
        mut condition: impl FnMut(&Progress) -> bool,
    ) -> Result<Progress, TorrentStopped> {
        let mut progress = self.progress.clone();
        let result = progress
            .wait_for(|current| {
                condition(current)
                    || matches!(
                        current.state,
                        crate::TorrentState::Stopped | crate::TorrentState::Failed
                    )
            })
            .await
            .map(|current| current.clone())
            .map_err(|_| TorrentStopped)?;
        if condition(&result) {
            Ok(result)
        } else {
            Err(TorrentStopped)
        }
    }

    /// Current figures, per-peer rates included.
    ///
    /// # Errors
    /// [`TorrentStopped`] if the torrent is no longer running.
    pub async fn stats(&self) -> Result<TorrentStats, TorrentStopped> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Stats(reply))
            .map_err(|_| TorrentStopped)?;
        answer.await.map_err(|_| TorrentStopped)
    }

    /// Reads a verified piece from the store (`None` if it is not verified yet). Blocking
    /// I/O runs on tokio's blocking pool.
    pub async fn read_piece(&self, piece: u32) -> Option<Vec<u8>> {
        if !self.shared.has_piece(piece) {
            return None;
        }
        let content = self.shared.content.get()?.clone();
        tokio::task::spawn_blocking(move || {
            let mut data = vec![0; content.layout.piece_len(piece) as usize];
            content.store.read(piece, 0, &mut data).ok().map(|()| data)
        })
        .await
        .ok()
        .flatten()
    }

    /// Stops the torrent and closes its connections; returns once it has stopped.
    pub async fn stop(&self) {
        let (done, stopped) = oneshot::channel();
        if self.commands.send(Command::Stop(done)).is_ok() {
            let _ = stopped.await;
        }
    }
}

/// Where the discovery layer hands connected peers: the torrent engine behind one small
/// trait, so embedders and tests can swap it.
pub trait PeerSink: Send + Sync {
    /// Gives the torrent a connected peer stream.
    ///
    /// # Errors
    /// [`TorrentStopped`] if the torrent is no longer running.
    fn add_peer_stream(&self, stream: Box<dyn PeerStream>) -> Result<(), TorrentStopped>;
}

impl PeerSink for TorrentHandle {
    fn add_peer_stream(&self, stream: Box<dyn PeerStream>) -> Result<(), TorrentStopped> {
        self.commands
            .send(Command::AddPeer(stream))
            .map_err(|_| TorrentStopped)
    }
}
