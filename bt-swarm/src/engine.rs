//! The engine: adds torrents (from metainfo or from an info-hash alone) with their storage,
//! and keeps them running until they are removed or the engine is dropped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bt_wire::{Info, InfoHash, Magnet, Metainfo, PeerId};
use tokio::sync::{broadcast, mpsc, watch};

use crate::config::EngineConfig;
use crate::events::{Progress, TorrentState};
use crate::handle::TorrentHandle;
use crate::layout::{LayoutError, TorrentLayout};
use crate::shared::{Content, SharedTorrent};
use crate::store::{DiskStore, MemoryStore, PieceStore};
use crate::torrent::{self, TorrentSetup};

/// What a torrent is added from.
#[derive(Debug, Clone)]
pub enum TorrentSource {
    /// A parsed info dictionary (from a `.torrent` file or built for seeding).
    Info(Info),
    /// Only the info-hash (from a magnet link): the info dictionary is fetched from peers.
    InfoHash(InfoHash),
}

impl From<Info> for TorrentSource {
    fn from(info: Info) -> Self {
        TorrentSource::Info(info)
    }
}

impl From<Metainfo> for TorrentSource {
    fn from(metainfo: Metainfo) -> Self {
        TorrentSource::Info(metainfo.info)
    }
}

impl From<InfoHash> for TorrentSource {
    fn from(info_hash: InfoHash) -> Self {
        TorrentSource::InfoHash(info_hash)
    }
}

impl From<&Magnet> for TorrentSource {
    fn from(magnet: &Magnet) -> Self {
        TorrentSource::InfoHash(magnet.info_hash)
    }
}

impl TorrentSource {
    /// The torrent's info-hash.
    pub fn info_hash(&self) -> InfoHash {
        match self {
            TorrentSource::Info(info) => info.info_hash(),
            TorrentSource::InfoHash(info_hash) => *info_hash,
        }
    }
}

/// Where a torrent's pieces are kept.
#[derive(Clone)]
pub enum Storage {
    /// Files below this output folder (a multi-file torrent gets a folder named after it).
    Disk(PathBuf),
    /// In memory (tests, benchmarks, streaming).
    Memory,
    /// A store of the caller's own, for a torrent added from its info dictionary.
    Store(Arc<dyn PieceStore>),
}

impl std::fmt::Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Storage::Disk(path) => f.debug_tuple("Disk").field(path).finish(),
            Storage::Memory => f.write_str("Memory"),
            Storage::Store(_) => f.write_str("Store(..)"),
        }
    }
}

impl Storage {
    /// The store for `layout`.
    pub(crate) fn open(&self, layout: &Arc<TorrentLayout>) -> Arc<dyn PieceStore> {
        match self {
            Storage::Disk(root) => Arc::new(DiskStore::new(layout.clone(), root.clone())),
            Storage::Memory => Arc::new(MemoryStore::new(layout.clone())),
            Storage::Store(store) => store.clone(),
        }
    }
}

/// Why a torrent could not be added.
#[derive(Debug, thiserror::Error)]
pub enum AddTorrentError {
    /// The torrent's layout is unsafe or inconsistent (nothing was written).
    #[error("refusing the torrent: {0}")]
    Layout(#[from] LayoutError),
    /// The engine already runs this torrent.
    #[error("torrent {0} is already added")]
    Duplicate(InfoHash),
    /// A caller-supplied store needs the info dictionary, which an info-hash alone lacks.
    #[error("a custom store needs the torrent's info dictionary")]
    StoreNeedsMetadata,
}

/// A torrent engine: one peer id, shared settings, the torrents it runs.
///
/// Its methods spawn tasks, so they must be called inside a tokio runtime.
pub struct Engine {
    config: Arc<EngineConfig>,
    peer_id: PeerId,
    torrents: Mutex<HashMap<InfoHash, TorrentHandle>>,
}

impl Engine {
    /// An engine with a fresh random peer id (`-RV0100-` and 12 random characters).
    pub fn new(config: EngineConfig) -> Self {
        let suffix: Vec<u8> = (0..12).map(|_| fastrand::alphanumeric() as u8).collect();
        Self {
            config: Arc::new(config),
            peer_id: PeerId::with_prefix(b"-RV0100-", &suffix),
            torrents: Mutex::new(HashMap::new()),
        }
    }

    /// Our peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Adds a torrent and starts it: existing data in the storage is checked first, then
    /// pieces are fetched from (and served to) the peers given to
    /// [`TorrentHandle::add_peer`].
    ///
    /// The torrent runs until [`TorrentHandle::stop`] or [`Engine::remove`], or until this
    /// engine and every handle to the torrent are dropped.
    ///
    /// # Errors
    /// An unsafe or inconsistent layout (refused before anything is written), a torrent
    /// already added, or a custom store without an info dictionary.
    ///
    /// # Panics
    /// Outside a tokio runtime (the torrent's task is spawned on the current one).
    pub fn add_torrent(
        &self,
        source: impl Into<TorrentSource>,
        storage: Storage,
    ) -> Result<TorrentHandle, AddTorrentError> {
        let source = source.into();
        let info_hash = source.info_hash();
        let mut torrents = self
            .torrents
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if torrents.contains_key(&info_hash) {
            return Err(AddTorrentError::Duplicate(info_hash));
        }
        let shared = Arc::new(SharedTorrent::new(info_hash, self.peer_id));
        let content = match &source {
            TorrentSource::Info(info) => {
                let layout = Arc::new(TorrentLayout::from_info(info)?);
                let _ = shared.metadata.set(info.raw().to_vec().into());
                let store = storage.open(&layout);
                Some(Content { layout, store })
            }
            TorrentSource::InfoHash(_) => {
                if matches!(storage, Storage::Store(_)) {
                    return Err(AddTorrentError::StoreNeedsMetadata);
                }
                None
            }
        };
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let (events_tx, _) = broadcast::channel(1024);
        let (progress_tx, progress_rx) = watch::channel(Progress {
            state: if content.is_some() {
                TorrentState::Checking
            } else {
                TorrentState::FetchingMetadata
            },
            verified_pieces: 0,
            piece_count: 0,
            verified_bytes: 0,
            total_bytes: 0,
        });
        let handle =
            TorrentHandle::new(shared.clone(), commands_tx, events_tx.clone(), progress_rx);
        torrent::spawn(TorrentSetup {
            shared,
            config: self.config.clone(),
            storage,
            commands: commands_rx,
            events: events_tx,
            progress: progress_tx,
            content,
        });
        torrents.insert(info_hash, handle.clone());
        Ok(handle)
    }

    /// The handle of a running torrent.
    pub fn torrent(&self, info_hash: &InfoHash) -> Option<TorrentHandle> {
        self.torrents
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .get(info_hash)
            .cloned()
    }

    /// Stops a torrent and closes its connections; false if it was not running.
    pub async fn remove(&self, info_hash: &InfoHash) -> bool {
        let handle = self
            .torrents
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .remove(info_hash);
        match handle {
            Some(handle) => {
                handle.stop().await;
                true
            }
            None => false,
        }
    }
}
