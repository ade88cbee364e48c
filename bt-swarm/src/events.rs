//! What a torrent reports: events as a stream, progress as a watchable value, and stats.

use bt_wire::{InfoHash, PeerId};
use tokio::sync::broadcast;

use crate::picker::PeerKey;

/// Where a torrent is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TorrentState {
    /// Added by info-hash: fetching the info dictionary from peers (`ut_metadata`).
    FetchingMetadata,
    /// Checking what the output folder already holds.
    Checking,
    /// Downloading pieces.
    Downloading,
    /// Every piece is verified; serving peers.
    Seeding,
    /// Stopped by an error (for example an unsafe file name in fetched metadata).
    Failed,
    /// Removed.
    Stopped,
}

/// Verified progress, as [`crate::TorrentHandle::progress`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// Where the torrent is.
    pub state: TorrentState,
    /// Verified pieces.
    pub verified_pieces: u32,
    /// Pieces in the torrent (0 until the metadata is known).
    pub piece_count: u32,
    /// Verified bytes.
    pub verified_bytes: u64,
    /// Bytes in the torrent (0 until the metadata is known).
    pub total_bytes: u64,
}

impl Progress {
    /// Whether every piece is verified and stored (the torrent is seeding).
    pub fn is_complete(&self) -> bool {
        self.state == TorrentState::Seeding
    }
}

/// Figures about one connected peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerStats {
    /// The engine's name for the connection.
    pub peer: PeerKey,
    /// The id from its handshake.
    pub peer_id: Option<PeerId>,
    /// Block bytes received from it.
    pub downloaded: u64,
    /// Block bytes sent to it.
    pub uploaded: u64,
    /// Receive rate in bytes per second.
    pub download_rate: u64,
    /// Send rate in bytes per second.
    pub upload_rate: u64,
    /// It is choking us.
    pub peer_choking: bool,
    /// We are choking it.
    pub am_choking: bool,
    /// It wants pieces from us.
    pub peer_interested: bool,
}

/// A snapshot of a torrent's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentStats {
    /// The torrent.
    pub info_hash: InfoHash,
    /// Verified progress.
    pub progress: Progress,
    /// Pieces found verified in the store when the torrent started.
    pub pieces_resumed: u32,
    /// Pieces downloaded and verified since the torrent started.
    pub pieces_downloaded: u32,
    /// Pieces that failed verification.
    pub pieces_failed: u32,
    /// Block bytes received from all peers.
    pub downloaded: u64,
    /// Block bytes sent to all peers.
    pub uploaded: u64,
    /// Total receive rate in bytes per second.
    pub download_rate: u64,
    /// Total send rate in bytes per second.
    pub upload_rate: u64,
    /// Peers banned for bad data.
    pub banned_peers: u32,
    /// The connected peers.
    pub peers: Vec<PeerStats>,
}

/// Something that happened to a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TorrentEvent {
    /// The info dictionary arrived and matched the info-hash.
    MetadataReceived {
        /// The torrent's name.
        name: String,
        /// Its piece count.
        piece_count: u32,
    },
    /// A peer completed its handshake.
    PeerConnected {
        /// The connection.
        peer: PeerKey,
        /// Its id.
        peer_id: PeerId,
    },
    /// A connection ended.
    PeerDisconnected {
        /// The connection.
        peer: PeerKey,
        /// Why.
        reason: String,
    },
    /// A piece was verified and stored.
    Progress(Progress),
    /// A piece failed verification and will be fetched again.
    PieceFailed {
        /// The piece.
        piece: u32,
    },
    /// A peer was banned from this torrent for sending bad data.
    PeerBanned {
        /// The connection.
        peer: PeerKey,
        /// Its id (banned ids may not connect again).
        peer_id: PeerId,
        /// Why.
        reason: String,
    },
    /// Every piece is verified and stored: the torrent now seeds.
    Completed,
    /// The torrent stopped on an error.
    Failed {
        /// What went wrong.
        reason: String,
    },
    /// Periodic figures, per-peer rates included.
    Stats(TorrentStats),
}

/// A subscription to a torrent's events ([`crate::TorrentHandle::subscribe`]).
#[derive(Debug)]
pub struct Events {
    receiver: broadcast::Receiver<TorrentEvent>,
}

impl Events {
    pub(crate) fn new(receiver: broadcast::Receiver<TorrentEvent>) -> Self {
        Self { receiver }
    }

    /// The next event; `None` once the torrent is gone. A subscriber that falls far behind
    /// skips the events it missed.
    pub async fn recv(&mut self) -> Option<TorrentEvent> {
        loop {
            match self.receiver.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, "event subscriber lagged");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
