//! One connection's task: drives a `bt_wire::Session` over any byte stream, serves block
//! and metadata requests from the store, and passes everything else to the torrent task.
//!
//! Reading and writing progress independently (two peers uploading to each other over
//! full pipes must not deadlock), and every failure ends this connection only.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bt_wire::{
    Block, BlockRef, Event, ExtensionHandshake, Message, MetadataMessage, PeerId, Role, Session,
    SessionConfig, METADATA_PIECE_SIZE,
};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::layout::BLOCK_LEN;
use crate::picker::PeerKey;
use crate::shared::{PeerCounters, SharedTorrent};

/// A peer connection: any ordered, reliable byte stream (a WebRTC data-channel stream, a
/// TCP socket, a tokio duplex pipe).
pub trait PeerStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> PeerStream for T {}

/// Bytes read from the stream at most at once.
const READ_CHUNK: usize = 256 * 1024;
/// Bytes handed to one write call at most.
const WRITE_CHUNK: usize = 256 * 1024;
/// Serving pauses while this much output waits to be written.
const OUTPUT_HIGH_WATER: usize = 1024 * 1024;
/// Blocks read from the store in one blocking call.
const SERVE_BATCH: usize = 32;
/// A keep-alive goes out after this long without sending anything.
const KEEP_ALIVE: Duration = Duration::from_secs(60);
/// Events a torrent task may have queued from its connections before they wait.
pub(crate) const PEER_EVENT_QUEUE: usize = 4096;

/// What the torrent task tells a connection.
#[derive(Debug)]
pub(crate) enum ToPeer {
    /// Send a core message (requests are remembered so only asked-for blocks are taken).
    Send(Message),
    /// Send several core messages (a batch of requests).
    SendMany(Vec<Message>),
    /// Send a `ut_metadata` message.
    Metadata(MetadataMessage),
    /// The torrent's piece count is now known (bounds bitfields).
    PieceCount(u32),
    /// Close the connection.
    Close(String),
}

/// What a connection tells the torrent task.
#[derive(Debug)]
pub(crate) enum FromPeer {
    Handshake { peer_id: PeerId },
    Extensions(ExtensionHandshake),
    Message(Message),
    Block(Block),
    Metadata(MetadataMessage),
    Closed(String),
}

/// What a connection said in one read, tagged with the connection (one queue operation
/// per read rather than per message).
#[derive(Debug)]
pub(crate) struct PeerEvent {
    pub key: PeerKey,
    pub events: Vec<FromPeer>,
}

/// Limits a connection enforces on its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PeerLimits {
    pub handshake_timeout: Duration,
    pub max_queued_uploads: usize,
    pub max_wasted_bytes: u64,
}

/// Starts the task for one connection.
pub(crate) fn spawn(
    key: PeerKey,
    stream: Box<dyn PeerStream>,
    shared: Arc<SharedTorrent>,
    counters: Arc<PeerCounters>,
    to_torrent: mpsc::Sender<PeerEvent>,
    commands: mpsc::UnboundedReceiver<ToPeer>,
    limits: PeerLimits,
) {
    let span = tracing::info_span!("peer", key, info_hash = %shared.info_hash);
    tokio::spawn(
        async move {
            let mut connection = Connection::new(key, shared, counters, limits);
            let reason = match connection.run(stream, &to_torrent, commands).await {
                Ok(reason) => reason,
                Err(reason) => {
                    tracing::info!(%reason, "dropping peer");
                    reason
                }
            };
            let _ = to_torrent
                .send(PeerEvent {
                    key,
                    events: vec![FromPeer::Closed(reason)],
                })
                .await;
        }
        .instrument(span),
    );
}

type ServeResult = Vec<(BlockRef, Result<Bytes, String>)>;

struct Connection {
    key: PeerKey,
    session: Session,
    shared: Arc<SharedTorrent>,
    counters: Arc<PeerCounters>,
    limits: PeerLimits,
    /// Blocks we asked this peer for (only those are taken).
    requested: HashSet<BlockRef>,
    /// Blocks the peer asked us for, not yet read from the store.
    serve_queue: VecDeque<BlockRef>,
    /// Blocks being read from the store right now (a cancel removes them).
    serving: Vec<BlockRef>,
    /// Bytes to write, in order: the session's output and block payloads, which go out
    /// without being copied into the session's buffer.
    outbox: VecDeque<Bytes>,
    outbox_len: usize,
    wasted: u64,
}

impl Connection {
    fn new(
        key: PeerKey,
        shared: Arc<SharedTorrent>,
        counters: Arc<PeerCounters>,
        limits: PeerLimits,
    ) -> Self {
        let mut config = SessionConfig::new(shared.info_hash, shared.our_peer_id);
        if let Some(metadata) = shared.metadata.get() {
            config = config.with_metadata_size(metadata.len() as u32);
        }
        let mut session = Session::new(Role::Initiator, config);
        if let Some(content) = shared.content.get() {
            session.set_piece_count(content.layout.piece_count());
        }
        Self {
            key,
            session,
            shared,
            counters,
            limits,
            requested: HashSet::new(),
            serve_queue: VecDeque::new(),
            serving: Vec::new(),
            outbox: VecDeque::new(),
            outbox_len: 0,
            wasted: 0,
        }
    }

    /// Runs until the connection ends; `Ok` is an orderly end, `Err` a dropped peer.
    async fn run(
        &mut self,
        stream: Box<dyn PeerStream>,
        to_torrent: &mpsc::Sender<PeerEvent>,
        mut commands: mpsc::UnboundedReceiver<ToPeer>,
    ) -> Result<String, String> {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let mut read_buf = BytesMut::with_capacity(READ_CHUNK);
        let mut pending_write: Option<Bytes> = None;
        let mut store_read: Option<JoinHandle<ServeResult>> = None;
        let handshake_deadline = tokio::time::Instant::now() + self.limits.handshake_timeout;
        let mut last_sent = tokio::time::Instant::now();
        loop {
            if store_read.is_none() {
                store_read = self.start_serving();
            }
            if pending_write.is_none() {
                pending_write = self.next_output();
            }
            let established = self.session.is_established();
            tokio::select! {
                read = reader.read_buf(&mut read_buf) => {
                    let read = read.map_err(|error| format!("read failed: {error}"))?;
                    if read == 0 {
                        return Ok("the peer closed the connection".to_string());
                    }
                    let chunk = read_buf.split().freeze();
                    read_buf.reserve(READ_CHUNK);
                    self.session
                        .handle_bytes(chunk)
                        .map_err(|error| format!("protocol violation: {error}"))?;
                    let mut events = Vec::new();
                    while let Some(event) = self.session.poll_event() {
                        events.extend(self.on_event(event)?);
                    }
                    if !events.is_empty() {
                        // A bounded queue: a peer that talks faster than the torrent task
                        // listens waits.
                        to_torrent
                            .send(PeerEvent { key: self.key, events })
                            .await
                            .map_err(|_| "the torrent stopped".to_string())?;
                    }
                }
                written = writer.write(pending_write.as_deref().unwrap_or_default()), if pending_write.is_some() => {
                    let written = written.map_err(|error| format!("write failed: {error}"))?;
                    last_sent = tokio::time::Instant::now();
                    if written == 0 {
                        return Ok("the peer stopped reading".to_string());
                    }
                    if let Some(bytes) = pending_write.as_mut() {
                        let _ = bytes.split_to(written.min(bytes.len()));
                        if bytes.is_empty() {
                            pending_write = None;
                        }
                    }
                    if pending_write.is_none() && self.queued_output() == 0 {
                        writer.flush().await.map_err(|error| format!("flush failed: {error}"))?;
                    }
                }
                command = commands.recv() => {
                    match command {
                        Some(ToPeer::Close(reason)) => {
                            // Best effort: let queued bytes (a final `have`, a choke) go out.
                            if let Some(bytes) = pending_write.take() {
                                let _ = writer.write_all(&bytes).await;
                            }
                            let _ = writer.shutdown().await;
                            return Err(reason);
                        }
                        Some(command) => self.on_command(command)?,
                        None => return Ok("the torrent stopped".to_string()),
                    }
                }
                served = async {
                    match store_read.as_mut() {
                        Some(handle) => handle.await,
                        None => std::future::pending().await,
                    }
                }, if store_read.is_some() => {
                    store_read = None;
                    let served = served.map_err(|error| format!("store read task failed: {error}"))?;
                    self.finish_serving(served)?;
                }
                _ = tokio::time::sleep_until(handshake_deadline), if !established => {
                    return Err("no handshake in time".to_string());
                }
                _ = tokio::time::sleep_until(last_sent + KEEP_ALIVE), if established && pending_write.is_none() => {
                    self.session
                        .send(Message::KeepAlive)
                        .map_err(|error| format!("cannot send a keep-alive: {error}"))?;
                    last_sent = tokio::time::Instant::now();
                }
            }
        }
    }

    /// Handles what the connection can answer itself; returns what the torrent must hear.
    fn on_event(&mut self, event: Event) -> Result<Option<FromPeer>, String> {
        let forward = match event {
            Event::Handshake { peer_id, .. } => FromPeer::Handshake { peer_id },
            Event::ExtensionHandshake(handshake) => FromPeer::Extensions(handshake),
            Event::Message(Message::Request(block)) => {
                return self.on_request(block).map(|()| None)
            }
            Event::Message(Message::Cancel(block)) => {
                self.serve_queue.retain(|queued| *queued != block);
                self.serving.retain(|queued| *queued != block);
                return Ok(None);
            }
            Event::Message(Message::Piece(block)) => {
                if !self.requested.remove(&block.block_ref()) {
                    self.wasted += block.data.len() as u64;
                    if self.wasted > self.limits.max_wasted_bytes {
                        return Err(format!(
                            "sent {} bytes of blocks nobody asked for",
                            self.wasted
                        ));
                    }
                    return Ok(None);
                }
                self.counters.add_downloaded(block.data.len() as u64);
                FromPeer::Block(block)
            }
            Event::Message(Message::Choke) => {
                // A choke discards our requests (BEP 3); late blocks count as waste.
                self.requested.clear();
                FromPeer::Message(Message::Choke)
            }
            Event::Message(
                message @ (Message::Unchoke
                | Message::Interested
                | Message::NotInterested
                | Message::Have(_)
                | Message::Bitfield(_)
                | Message::HaveAll
                | Message::HaveNone),
            ) => FromPeer::Message(message),
            Event::Message(_) => return Ok(None),
            Event::Metadata(MetadataMessage::Request { piece }) => {
                return self.serve_metadata(piece).map(|()| None)
            }
            Event::Metadata(message) => FromPeer::Metadata(message),
            Event::Pex(_) | Event::UnknownExtension { .. } => return Ok(None),
        };
        Ok(Some(forward))
    }

    fn on_request(&mut self, block: BlockRef) -> Result<(), String> {
        let Some(content) = self.shared.content.get() else {
            return Err("block request before we have the metadata".to_string());
        };
        if block.length == 0
            || block.length > BLOCK_LEN
            || !content
                .layout
                .contains_range(block.piece, block.offset, block.length)
        {
            return Err(format!("request out of range: {block:?}"));
        }
        if !self.shared.has_piece(block.piece) {
            return Err(format!(
                "request for piece {} we never announced",
                block.piece
            ));
        }
        if self.session.am_choking() {
            // It raced our choke: BEP 3 lets us ignore it.
            return Ok(());
        }
        if self.serve_queue.len() >= self.limits.max_queued_uploads {
            return Err(format!(
                "more than {} queued requests",
                self.limits.max_queued_uploads
            ));
        }
        self.serve_queue.push_back(block);
        Ok(())
    }

    fn serve_metadata(&mut self, piece: u32) -> Result<(), String> {
        let reply = match self.shared.metadata.get() {
            Some(raw) => {
                let start = piece as usize * METADATA_PIECE_SIZE;
                if start < raw.len() {
                    let end = (start + METADATA_PIECE_SIZE).min(raw.len());
                    MetadataMessage::Data {
                        piece,
                        total_size: raw.len() as u32,
                        data: raw.slice(start..end),
                    }
                } else {
                    MetadataMessage::Reject { piece }
                }
            }
            None => MetadataMessage::Reject { piece },
        };
        self.session
            .send_metadata(&reply)
            .map_err(|error| format!("cannot answer ut_metadata: {error}"))
    }

    fn on_command(&mut self, command: ToPeer) -> Result<(), String> {
        match command {
            ToPeer::SendMany(messages) => {
                for message in messages {
                    self.on_command(ToPeer::Send(message))?;
                }
                Ok(())
            }
            ToPeer::Send(message) => {
                match &message {
                    Message::Request(block) => {
                        self.requested.insert(*block);
                    }
                    Message::Choke => {
                        self.serve_queue.clear();
                        self.serving.clear();
                    }
                    _ => {}
                }
                self.session
                    .send(message)
                    .map_err(|error| format!("cannot send: {error}"))
            }
            ToPeer::Metadata(message) => self
                .session
                .send_metadata(&message)
                .map_err(|error| format!("cannot send ut_metadata: {error}")),
            ToPeer::PieceCount(count) => {
                self.session.set_piece_count(count);
                Ok(())
            }
            ToPeer::Close(reason) => Err(reason),
        }
    }

    /// Reads the next batch of requested blocks on the blocking pool, when output has room.
    fn start_serving(&mut self) -> Option<JoinHandle<ServeResult>> {
        if self.serve_queue.is_empty() || self.queued_output() >= OUTPUT_HIGH_WATER {
            return None;
        }
        let store = self.shared.content.get()?.store.clone();
        let take = self.serve_queue.len().min(SERVE_BATCH);
        self.serving = self.serve_queue.drain(..take).collect();
        let batch = self.serving.clone();
        Some(tokio::task::spawn_blocking(move || {
            batch
                .into_iter()
                .map(|block| {
                    let mut data = vec![0u8; block.length as usize];
                    let read = store
                        .read(block.piece, block.offset, &mut data)
                        .map(|()| Bytes::from(data))
                        .map_err(|error| error.to_string());
                    (block, read)
                })
                .collect()
        }))
    }

    fn finish_serving(&mut self, served: ServeResult) -> Result<(), String> {
        for (block, data) in served {
            // Skip blocks cancelled (or choked away) while they were being read.
            if !self.serving.contains(&block) {
                continue;
            }
            let data = match data {
                Ok(data) => data,
                Err(error) => {
                    tracing::warn!(%error, ?block, "cannot read a block we announced");
                    continue;
                }
            };
            if self.session.am_choking() {
                break;
            }
            let len = data.len() as u64;
            self.queue_piece(block, data);
            self.counters.add_uploaded(len);
        }
        self.serving.clear();
        Ok(())
    }

    /// Queues a `piece` message: its 13-byte header, then the block as it came from the
    /// store. Whatever the session queued before goes first, so the order on the wire is
    /// the order of sending.
    fn queue_piece(&mut self, block: BlockRef, data: Bytes) {
        self.drain_session_output();
        let mut header = BytesMut::with_capacity(13);
        header.extend_from_slice(&(9 + data.len() as u32).to_be_bytes());
        header.extend_from_slice(&[7]);
        header.extend_from_slice(&block.piece.to_be_bytes());
        header.extend_from_slice(&block.offset.to_be_bytes());
        self.push_output(header.freeze());
        self.push_output(data);
    }

    fn drain_session_output(&mut self) {
        while let Some(bytes) = self.session.poll_transmit(usize::MAX) {
            self.push_output(bytes);
        }
    }

    fn push_output(&mut self, bytes: Bytes) {
        self.outbox_len += bytes.len();
        self.outbox.push_back(bytes);
    }

    /// The next bytes to write: queued output first, then the session's.
    fn next_output(&mut self) -> Option<Bytes> {
        match self.outbox.pop_front() {
            Some(bytes) => {
                self.outbox_len -= bytes.len();
                Some(bytes)
            }
            None => self.session.poll_transmit(WRITE_CHUNK),
        }
    }

    /// Bytes waiting to be written.
    fn queued_output(&self) -> usize {
        self.outbox_len + self.session.pending_output()
    }
}
