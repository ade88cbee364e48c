//! The task that owns one torrent: its peers, picker, choker, strikes and verification.
//! Connection tasks report what peers said; this task decides what to ask for, what to
//! announce and whom to serve, and hands hashing and disk writes to the blocking pool.

mod download;
mod metadata;

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
use crate::peer::{self, FromPeer, PeerEvent, PeerLimits, PeerStream, ToPeer};
use crate::picker::PeerKey;
use crate::rate::RateMeter;
use crate::reputation::{Reputation, Verdict};
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

    fn emit(&self, event: TorrentEvent) {
        let _ = self.events.send(event);
    }

    fn current_progress(&self) -> Progress {
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

    fn publish_progress(&self) {
        let progress = self.current_progress();
        self.progress.send_replace(progress);
    }

    fn add_peer(&mut self, stream: Box<dyn PeerStream>) {
        let key = self.next_key;
        self.next_key += 1;
        if self.peers.len() >= self.config.max_peers_per_torrent {
            tracing::info!(key, "refusing a peer: torrent is at its peer limit");
            self.emit(TorrentEvent::PeerDisconnected {
                peer: key,
                reason: "too many peers".to_string(),
            });
            return;
        }
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let counters = Arc::new(PeerCounters::default());
        self.peers.insert(
            key,
            PeerEntry {
                commands: commands_tx,
                counters: counters.clone(),
                peer_id: None,
                extensions: None,
                early_bits: BitVec::new(),
                peer_choking: true,
                peer_interested: false,
                am_interested: false,
                am_choking: true,
                down_rate: RateMeter::default(),
                up_rate: RateMeter::default(),
            },
        );
        let limits = PeerLimits {
            handshake_timeout: self.config.handshake_timeout,
            max_queued_uploads: self.config.max_queued_uploads,
            max_wasted_bytes: self.config.max_wasted_bytes,
        };
        peer::spawn(
            key,
            stream,
            self.shared.clone(),
            counters,
            self.peer_tx.clone(),
            commands_rx,
            limits,
        );
    }

    fn close_peer(&mut self, key: PeerKey, reason: String) {
        if let Some(entry) = self.peers.get(&key) {
            entry.send(ToPeer::Close(reason));
        }
    }

    async fn on_peer_event(&mut self, PeerEvent { key, event }: PeerEvent) {
        if !self.peers.contains_key(&key) {
            return;
        }
        match event {
            FromPeer::Handshake { peer_id } => self.on_handshake(key, peer_id),
            FromPeer::Extensions(handshake) => {
                let reqq = handshake.reqq;
                if let Some(entry) = self.peers.get_mut(&key) {
                    entry.extensions = Some(handshake);
                }
                if let (Some(reqq), Some(download)) = (reqq, self.download.as_mut()) {
                    download.picker.limit_queue_depth(key, reqq);
                }
                if self.download.is_none() {
                    self.request_metadata();
                }
            }
            FromPeer::Message(message) => self.on_message(key, message),
            FromPeer::Block(block) => self.on_block(key, block),
            FromPeer::Metadata(message) => self.on_metadata(key, message).await,
            FromPeer::Closed(reason) => self.on_closed(key, reason),
        }
    }

    fn on_handshake(&mut self, key: PeerKey, peer_id: PeerId) {
        let refusal = if peer_id == self.shared.our_peer_id {
            Some("connected to ourselves")
        } else if self.reputation.is_banned(&peer_id) {
            Some("banned peer")
        } else if self
            .peers
            .values()
            .any(|entry| entry.peer_id == Some(peer_id))
        {
            Some("already connected to this peer id")
        } else {
            None
        };
        if let Some(reason) = refusal {
            self.close_peer(key, reason.to_string());
            return;
        }
        self.ids.insert(key, peer_id);
        if let Some(entry) = self.peers.get_mut(&key) {
            entry.peer_id = Some(peer_id);
        }
        if let Some(download) = self.download.as_mut() {
            download.picker.add_peer(key);
            if download.picker.verified_count() > 0 {
                let bits = download.picker.have().to_bitvec();
                if let Some(entry) = self.peers.get(&key) {
                    entry.send(ToPeer::Send(Message::Bitfield(bits)));
                }
            }
        }
        tracing::debug!(key, %peer_id, "peer connected");
        self.emit(TorrentEvent::PeerConnected { peer: key, peer_id });
    }

    fn on_message(&mut self, key: PeerKey, message: Message) {
        let piece_count = self.download.as_ref().map(|d| d.layout.piece_count());
        match message {
            Message::Choke => {
                if let Some(entry) = self.peers.get_mut(&key) {
                    entry.peer_choking = true;
                }
                if let Some(download) = self.download.as_mut() {
                    download.picker.peer_choking(key, true);
                }
                self.fill_all_requests();
            }
            Message::Unchoke => {
                if let Some(entry) = self.peers.get_mut(&key) {
                    entry.peer_choking = false;
                }
                if let Some(download) = self.download.as_mut() {
                    download.picker.peer_choking(key, false);
                }
                self.fill_requests(key);
            }
            Message::Interested => {
                if let Some(entry) = self.peers.get_mut(&key) {
                    entry.peer_interested = true;
                }
                if let Some(ChokeChange::Unchoke(peer)) = self.choker.peer_interested(key) {
                    self.set_choking(peer, false);
                }
            }
            Message::NotInterested => {
                if let Some(entry) = self.peers.get_mut(&key) {
                    entry.peer_interested = false;
                }
            }
            Message::Have(piece) => {
                match (piece_count, self.download.as_mut()) {
                    (Some(count), Some(download)) => {
                        if piece >= count {
                            self.close_peer(key, format!("have for piece {piece} of {count}"));
                            return;
                        }
                        download.picker.peer_has(key, piece);
                    }
                    _ => {
                        if piece >= bt_wire::MAX_PIECE_COUNT {
                            self.close_peer(key, format!("have for piece {piece}"));
                            return;
                        }
                        if let Some(entry) = self.peers.get_mut(&key) {
                            let index = piece as usize;
                            if entry.early_bits.len() <= index {
                                entry.early_bits.resize(index + 1, false);
                            }
                            entry.early_bits.set(index, true);
                        }
                    }
                }
                self.update_interest(key);
            }
            Message::Bitfield(bits) => {
                match self.download.as_mut() {
                    Some(download) => download.picker.peer_bitfield(key, &bits),
                    None => {
                        if let Some(entry) = self.peers.get_mut(&key) {
                            entry.early_bits = bits;
                        }
                    }
                }
                self.update_interest(key);
            }
            Message::HaveAll => {
                if let Some(download) = self.download.as_mut() {
                    download.picker.peer_has_all(key);
                }
                self.update_interest(key);
            }
            _ => {}
        }
    }

    /// Sends interested / not interested when our want of the peer's pieces changed.
    fn update_interest(&mut self, key: PeerKey) {
        let interesting = self
            .download
            .as_ref()
            .is_some_and(|download| download.picker.is_interesting(key));
        let Some(entry) = self.peers.get_mut(&key) else {
            return;
        };
        if entry.peer_id.is_none() || entry.am_interested == interesting {
            return;
        }
        entry.am_interested = interesting;
        entry.send(ToPeer::Send(if interesting {
            Message::Interested
        } else {
            Message::NotInterested
        }));
        if interesting {
            self.fill_requests(key);
        }
    }

    fn set_choking(&mut self, key: PeerKey, choking: bool) {
        if let Some(entry) = self.peers.get_mut(&key) {
            if entry.am_choking != choking && entry.peer_id.is_some() {
                entry.am_choking = choking;
                entry.send(ToPeer::Send(if choking {
                    Message::Choke
                } else {
                    Message::Unchoke
                }));
            }
        }
    }

    fn on_closed(&mut self, key: PeerKey, reason: String) {
        let Some(entry) = self.peers.remove(&key) else {
            return;
        };
        self.closed_downloaded += entry.counters.downloaded();
        self.closed_uploaded += entry.counters.uploaded();
        self.choker.peer_removed(key);
        if let Some(download) = self.download.as_mut() {
            download.picker.remove_peer(key);
        }
        self.metadata.peer_gone(key);
        tracing::debug!(key, %reason, "peer disconnected");
        self.emit(TorrentEvent::PeerDisconnected { peer: key, reason });
        if self.download.is_some() {
            self.fill_all_requests();
        } else {
            self.request_metadata();
        }
    }

    /// Applies ban verdicts: disconnects every connection of a banned peer id.
    fn apply_verdicts(&mut self, verdicts: Vec<Verdict<PeerId>>, reason: &str) {
        for Verdict::Ban(peer_id) in verdicts {
            self.banned += 1;
            let keys: Vec<PeerKey> = self
                .peers
                .iter()
                .filter(|(_, entry)| entry.peer_id == Some(peer_id))
                .map(|(key, _)| *key)
                .collect();
            tracing::warn!(%peer_id, reason, "banning peer");
            for key in keys.iter().copied() {
                self.close_peer(key, format!("banned: {reason}"));
            }
            let peer = keys
                .first()
                .copied()
                .or_else(|| {
                    self.ids
                        .iter()
                        .find(|(_, id)| **id == peer_id)
                        .map(|(key, _)| *key)
                })
                .unwrap_or(0);
            self.emit(TorrentEvent::PeerBanned {
                peer,
                peer_id,
                reason: reason.to_string(),
            });
        }
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
