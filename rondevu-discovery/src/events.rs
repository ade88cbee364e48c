//! What discovery reports: a stream of events (for the CLI and metrics) and per-torrent
//! figures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bt_wire::InfoHash;
use tokio::sync::broadcast;

use crate::metered::ByteCounters;
use crate::Role;

/// Something discovery did or saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryEvent {
    /// We registered with the server (at start, or again after a 401).
    Registered {
        /// Our peer id on the server.
        peer_id: String,
    },
    /// An offer was published under a torrent's topic.
    OfferPublished {
        /// The torrent.
        info_hash: InfoHash,
        /// The server's offer id.
        offer_id: String,
    },
    /// A peer answered one of our offers.
    AnswerReceived {
        /// The torrent.
        info_hash: InfoHash,
        /// Our offer.
        offer_id: String,
        /// Who answered.
        peer_id: String,
    },
    /// A data channel opened and its stream went to the torrent.
    PeerConnected {
        /// The torrent.
        info_hash: InfoHash,
        /// The remote's Rondevu peer id.
        peer_id: String,
        /// Whether we offered or answered.
        role: Role,
    },
    /// A connection attempt failed (ICE failure, channel not open in time…).
    PeerFailed {
        /// The torrent.
        info_hash: InfoHash,
        /// The remote's Rondevu peer id.
        peer_id: String,
        /// Why.
        reason: String,
    },
    /// An open connection ended (closed by either side, or the torrent dropped it).
    PeerDisconnected {
        /// The torrent.
        info_hash: InfoHash,
        /// The remote's Rondevu peer id.
        peer_id: String,
    },
    /// The server stopped answering; discovery backs off.
    ServerDown {
        /// The error that showed it.
        error: String,
    },
    /// The server answers again.
    ServerUp,
}

/// A subscription to discovery events ([`crate::Manager::events`]).
#[derive(Debug)]
pub struct DiscoveryEvents {
    receiver: broadcast::Receiver<DiscoveryEvent>,
}

impl DiscoveryEvents {
    pub(crate) fn new(receiver: broadcast::Receiver<DiscoveryEvent>) -> Self {
        Self { receiver }
    }

    /// The next event; `None` once the manager is gone. A subscriber that falls far behind
    /// skips what it missed.
    pub async fn recv(&mut self) -> Option<DiscoveryEvent> {
        loop {
            match self.receiver.recv().await {
                Ok(event) => return Some(event),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, "discovery event subscriber lagged");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// Discovery's figures for one torrent ([`crate::Manager::stats`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentDiscoveryStats {
    /// The torrent.
    pub info_hash: InfoHash,
    /// Open connections handed to the torrent and not closed yet.
    pub connected_peers: u64,
    /// Offers published under the torrent's topic.
    pub offers_published: u64,
    /// Of those, how many got an answer.
    pub offers_answered: u64,
    /// Connection attempts (answers accepted and offers answered).
    pub connections_attempted: u64,
    /// Attempts that failed before the channel opened.
    pub connections_failed: u64,
    /// Bytes sent over this torrent's discovered connections.
    pub bytes_uploaded: u64,
    /// Bytes received over them.
    pub bytes_downloaded: u64,
}

/// The live counters behind [`TorrentDiscoveryStats`].
#[derive(Debug, Default)]
pub(crate) struct TorrentCounters {
    pub(crate) connected: AtomicU64,
    pub(crate) offers_published: AtomicU64,
    pub(crate) offers_answered: AtomicU64,
    pub(crate) attempted: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) bytes: Arc<ByteCounters>,
}

impl TorrentCounters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, info_hash: InfoHash) -> TorrentDiscoveryStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TorrentDiscoveryStats {
            info_hash,
            connected_peers: get(&self.connected),
            offers_published: get(&self.offers_published),
            offers_answered: get(&self.offers_answered),
            connections_attempted: get(&self.attempted),
            connections_failed: get(&self.failed),
            bytes_uploaded: get(&self.bytes.up),
            bytes_downloaded: get(&self.bytes.down),
        }
    }
}
