//! What a torrent's connection tasks read without asking the torrent task: the content
//! (layout and store) once known, the verified pieces, and the raw info dictionary.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use bitvec::prelude::{BitVec, Msb0};
use bt_wire::{InfoHash, PeerId};
use bytes::Bytes;

use crate::layout::TorrentLayout;
use crate::store::PieceStore;

/// The torrent's content, set once the metadata is known.
#[derive(Clone)]
pub(crate) struct Content {
    pub layout: Arc<TorrentLayout>,
    pub store: Arc<dyn PieceStore>,
}

/// State shared between a torrent task and its connection tasks.
pub(crate) struct SharedTorrent {
    pub info_hash: InfoHash,
    pub our_peer_id: PeerId,
    pub content: OnceLock<Content>,
    /// The exact bytes of the info dictionary, served over `ut_metadata`.
    pub metadata: OnceLock<Bytes>,
    /// Verified pieces: only these are served.
    pub have: RwLock<BitVec<u8, Msb0>>,
}

impl SharedTorrent {
    pub fn new(info_hash: InfoHash, our_peer_id: PeerId) -> Self {
        Self {
            info_hash,
            our_peer_id,
            content: OnceLock::new(),
            metadata: OnceLock::new(),
            have: RwLock::new(BitVec::new()),
        }
    }

    pub fn has_piece(&self, piece: u32) -> bool {
        self.have
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(piece as usize)
            .is_some_and(|bit| *bit)
    }

    pub fn set_have(&self, have: BitVec<u8, Msb0>) {
        *self
            .have
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = have;
    }

    pub fn mark_have(&self, piece: u32) {
        let mut have = self
            .have
            .write()
            .unwrap_or_else(|poison| poison.into_inner());
        if (piece as usize) < have.len() {
            have.set(piece as usize, true);
        }
    }
}

/// Byte counters one connection task updates and the torrent task samples.
#[derive(Debug, Default)]
pub(crate) struct PeerCounters {
    downloaded: AtomicU64,
    uploaded: AtomicU64,
}

impl PeerCounters {
    pub fn add_downloaded(&self, bytes: u64) {
        self.downloaded.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_uploaded(&self, bytes: u64) {
        self.uploaded.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn downloaded(&self) -> u64 {
        self.downloaded.load(Ordering::Relaxed)
    }

    pub fn uploaded(&self) -> u64 {
        self.uploaded.load(Ordering::Relaxed)
    }
}
