//! The task that owns one torrent: its peers, picker, choker, strikes and verification.
//! Connection tasks report what peers said; this task decides what to ask for, what to
//! announce and whom to serve, and hands hashing and disk writes to the blocking pool.

mod download;
mod metadata;
mod peers;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use bitvec::prelude::{BitVec, Msb0};
use bt_wire::{ExtensionHandshake, Message, PeerId, UT_METADATA};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::Instrument;

use crate::choker::{ChokeChange, Choker, UploadCandidate};
use crate::config::EngineConfig;
use crate::events::{PeerStats, Progress, TorrentEvent, TorrentState, TorrentStats};
use crate::peer::{self, PeerEvent, PeerStream, ToPeer};
use crate::picker::PeerKey;
use crate::rate::RateMeter;
use crate::reputation::Reputation;
use crate::shared::{PeerCounters, SharedTorrent};
use crate::Storage;

use download::Download;
use metadata::MetadataFetch;

/// What a [`crate::TorrentHandle`] asks of the torrent task.
pub(crate) enum Command {
    AddPeer(Box<dyn PeerStream>),
    Stats(oneshot::Sender<TorrentStats>),
    Stop(oneshot::Sender<()>),
}

/// Results of work done off the task (hashing, disk).
pub(crate) enum Internal {
    Verified {
        piece: u32,
        ok: bool,
        write_error: Option<String>,
        data: Vec<u8>,
    },
    Finished(Option<String>),
}

/// Everything the torrent task needs to start.
pub(crate) struct TorrentSetup {
    pub shared: Arc<SharedTorrent>,
    pub config: Arc<EngineConfig>,
    pub storage: Storage,
    pub commands: mpsc::UnboundedReceiver<Command>,
    pub events: broadcast::Sender<TorrentEvent>,
    pub progress: watch::Sender<Progress>,
    /// The layout, when added from metainfo (otherwise it is fetched).
    pub content: Option<crate::shared::Content>,
}

struct PeerEntry {
    commands: mpsc::UnboundedSender<ToPeer>,
    counters: Arc<PeerCounters>,
    peer_id: Option<PeerId>,
    extensions: Option<ExtensionHandshake>,
    /// Pieces announced before the metadata was known.
    early_bits: BitVec<u8, Msb0>,
    peer_choking: bool,
    peer_interested: bool,
    am_interested: bool,
    am_choking: bool,
    down_rate: RateMeter,
    up_rate: RateMeter,
}

impl PeerEntry {
    fn send(&self, message: ToPeer) {
        let _ = self.commands.send(message);
    }
}

pub(crate) struct TorrentTask {
    shared: Arc<SharedTorrent>,
    config: Arc<EngineConfig>,
    storage: Storage,
    commands: mpsc::UnboundedReceiver<Command>,
    peer_tx: mpsc::Sender<PeerEvent>,
    peer_rx: mpsc::Receiver<PeerEvent>,
    internal_tx: mpsc::UnboundedSender<Internal>,
    internal_rx: mpsc::UnboundedReceiver<Internal>,
    events: broadcast::Sender<TorrentEvent>,
    progress: watch::Sender<Progress>,
    state: TorrentState,
    peers: BTreeMap<PeerKey, PeerEntry>,
    next_key: PeerKey,
    ids: HashMap<PeerKey, PeerId>,
    download: Option<Download>,
    metadata: MetadataFetch,
    choker: Choker,
    reputation: Reputation<PeerId>,
    seed: u64,
    closed_downloaded: u64,
    closed_uploaded: u64,
    total_down: RateMeter,
    total_up: RateMeter,
    banned: u32,
}

/// Starts the torrent task.
pub(crate) fn spawn(setup: TorrentSetup) {
    let span = tracing::info_span!("torrent", info_hash = %setup.shared.info_hash);
    let seed = setup.config.seed.unwrap_or_else(|| fastrand::u64(..));
    let (peer_tx, peer_rx) = mpsc::channel(peer::PEER_EVENT_QUEUE);
    let (internal_tx, internal_rx) = mpsc::unbounded_channel();
    let choker = crate::choker::Choker::new(setup.config.choker.clone(), seed ^ 0x5eed);
    let reputation = Reputation::new(setup.config.strike_limit);
    let task = TorrentTask {
        shared: setup.shared,
        config: setup.config,
        storage: setup.storage,
        commands: setup.commands,
        peer_tx,
        peer_rx,
        internal_tx,
        internal_rx,
        events: setup.events,
        progress: setup.progress,
        state: TorrentState::FetchingMetadata,
        peers: BTreeMap::new(),
        next_key: 1,
        ids: HashMap::new(),
        download: None,
        metadata: MetadataFetch::default(),
        choker,
        reputation,
        seed,
        closed_downloaded: 0,
        closed_uploaded: 0,
        total_down: RateMeter::default(),
        total_up: RateMeter::default(),
        banned: 0,
    };
    tokio::spawn(task.run(setup.content).instrument(span));
}

impl TorrentTask {
    async fn run(mut self, content: Option<crate::shared::Content>) {
        if let Some(content) = content {
            self.start_download(content).await;
        } else {
            self.publish_progress();
        }
        let mut ticker = tokio::time::interval(self.config.tick_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(Command::AddPeer(stream)) => self.add_peer(stream),
                    Some(Command::Stats(reply)) => {
                        let _ = reply.send(self.stats());
                    }
                    Some(Command::Stop(done)) => {
                        self.stop();
                        let _ = done.send(());
                        return;
                    }
                    None => {
                        self.stop();
                        return;
                    }
                },
                Some(event) = self.peer_rx.recv() => self.on_peer_event(event).await,
                Some(internal) = self.internal_rx.recv() => self.on_internal(internal),
                _ = ticker.tick() => self.on_tick(),
            }
        }
    }

    fn stop(&mut self) {
        for entry in self.peers.values() {
            entry.send(ToPeer::Close("torrent removed".to_string()));
        }
        self.peers.clear();
        self.state = TorrentState::Stopped;
        self.publish_progress();
    }

    pub(super) fn emit(&self, event: TorrentEvent) {
        let _ = self.events.send(event);
    }

    pub(super) fn current_progress(&self) -> Progress {
        match &self.download {
            Some(download) => Progress {
                state: self.state,
                verified_pieces: download.picker.verified_count(),
                piece_count: download.layout.piece_count(),
                verified_bytes: download.picker.verified_bytes(),
                total_bytes: download.layout.total_length(),
            },
            None => Progress {
                state: self.state,
                verified_pieces: 0,
                piece_count: 0,
                verified_bytes: 0,
                total_bytes: 0,
            },
        }
    }

    pub(super) fn publish_progress(&self) {
        let progress = self.current_progress();
        self.progress.send_replace(progress);
    }

    fn on_tick(&mut self) {
        let now = Instant::now();
        if let Some(download) = self.download.as_mut() {
            for (key, block) in download.picker.expire_requests(now) {
                if let Some(entry) = self.peers.get(&key) {
                    let length = download.layout.block_len(block.piece, block.block);
                    entry.send(ToPeer::Send(Message::Cancel(bt_wire::BlockRef {
                        piece: block.piece,
                        offset: block.offset(),
                        length,
                    })));
                }
            }
        } else {
            self.metadata.expire(now);
            self.request_metadata();
        }
        self.fill_all_requests();
        // Rates, then choking on them.
        let seeding = self.state == TorrentState::Seeding;
        let mut candidates = Vec::with_capacity(self.peers.len());
        for (&key, entry) in self.peers.iter_mut() {
            let down = entry.down_rate.sample(now, entry.counters.downloaded());
            let up = entry.up_rate.sample(now, entry.counters.uploaded());
            if entry.peer_id.is_some() {
                candidates.push(UploadCandidate {
                    peer: key,
                    interested: entry.peer_interested,
                    rate: if seeding { up } else { down },
                });
            }
        }
        let (downloaded, uploaded) = self.transfer_totals();
        self.total_down.sample(now, downloaded);
        self.total_up.sample(now, uploaded);
        if self.download.is_none() {
            candidates.clear();
        }
        for change in self.choker.tick(now, &candidates) {
            match change {
                ChokeChange::Choke(key) => self.set_choking(key, true),
                ChokeChange::Unchoke(key) => self.set_choking(key, false),
            }
        }
        if self.events.receiver_count() > 0 {
            self.emit(TorrentEvent::Stats(self.stats()));
        }
    }

    fn transfer_totals(&self) -> (u64, u64) {
        self.peers.values().fold(
            (self.closed_downloaded, self.closed_uploaded),
            |(down, up), entry| {
                (
                    down + entry.counters.downloaded(),
                    up + entry.counters.uploaded(),
                )
            },
        )
    }

    fn stats(&self) -> TorrentStats {
        let (downloaded, uploaded) = self.transfer_totals();
        let peers = self
            .peers
            .iter()
            .map(|(&key, entry)| PeerStats {
                peer: key,
                peer_id: entry.peer_id,
                downloaded: entry.counters.downloaded(),
                uploaded: entry.counters.uploaded(),
                download_rate: entry.down_rate.rate(),
                upload_rate: entry.up_rate.rate(),
                peer_choking: entry.peer_choking,
                am_choking: entry.am_choking,
                peer_interested: entry.peer_interested,
            })
            .collect();
        let (resumed, fetched, failed) = self
            .download
            .as_ref()
            .map_or((0, 0, 0), |d| (d.resumed, d.fetched, d.failed));
        TorrentStats {
            info_hash: self.shared.info_hash,
            progress: self.current_progress(),
            pieces_resumed: resumed,
            pieces_downloaded: fetched,
            pieces_failed: failed,
            downloaded,
            uploaded,
            download_rate: self.total_down.rate(),
            upload_rate: self.total_up.rate(),
            banned_peers: self.banned,
            peers,
        }
    }

    /// Whether a peer announced `ut_metadata` support and the metadata size.
    fn metadata_source(entry: &PeerEntry) -> Option<u32> {
        let extensions = entry.extensions.as_ref()?;
        extensions.id_of(UT_METADATA)?;
        extensions.metadata_size
    }
}
