//! The driver task: reads the peers' sockets, hands datagrams, commands and timeouts to the
//! peers, and sends what they produce.

use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::socket::{send_batch, BoundSocket, SendBatch, MAX_GSO_SEGMENTS, RECV_SLOT, RECV_SLOTS};
use super::{Command, PeerId, PeerNotice};
use crate::peer::{Peer, PeerEvent, PeerOutput, Transmit};
use crate::stream::{DataStream, StreamConfig, StreamShared};
use crate::stun::{self, TransactionId};
use crate::Error;

/// STUN Binding retransmissions (RFC 8489 starts at 500 ms; we try 3 times, then give up).
const STUN_ATTEMPTS: u32 = 3;
const STUN_RETRANSMIT: Duration = Duration::from_millis(500);

/// Commands taken per turn before the sockets are looked at again.
const COMMAND_BATCH: usize = 64;

/// `recvmmsg` calls on one socket before timers and other peers get a turn.
const READS_PER_WAKE: usize = 16;

/// An outstanding STUN Binding request from one of a peer's sockets.
struct StunProbe {
    socket: usize,
    server: SocketAddr,
    transaction: TransactionId,
    attempts: u32,
    next_send: Instant,
}

/// A peer as the driver keeps it.
struct DriverPeer {
    id: PeerId,
    peer: Peer,
    sockets: Vec<BoundSocket>,
    probes: Vec<StunProbe>,
    deadline: Instant,
    notices: mpsc::UnboundedSender<PeerNotice>,
    stream: Option<Arc<StreamShared>>,
    handle_alive: bool,
    stream_alive: bool,
    shutdown: bool,
    message_size: usize,
}

/// The driver task's state.
pub(super) struct DriverTask {
    peers: Vec<DriverPeer>,
    stun_servers: Vec<SocketAddr>,
    /// Datagrams being gathered for one GSO send.
    batch: SendBatch,
    /// Batches that found their socket's send buffer full, in order.
    backlog: VecDeque<SendBatch>,
    stream_config: StreamConfig,
    /// For the streams it hands out; weak, so that the task ends once the driver and every
    /// handle and stream are gone.
    commands: mpsc::WeakUnboundedSender<Command>,
    /// Where the next readiness scan starts, so no peer's sockets starve the others.
    poll_start: usize,
}

impl DriverTask {
    pub(super) fn new(
        stun_servers: Vec<SocketAddr>,
        stream_config: StreamConfig,
        commands: mpsc::WeakUnboundedSender<Command>,
    ) -> Self {
        DriverTask {
            peers: Vec::new(),
            stun_servers,
            batch: SendBatch::default(),
            backlog: VecDeque::new(),
            stream_config,
            commands,
            poll_start: 0,
        }
    }

    pub(super) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; RECV_SLOT * RECV_SLOTS];
        // One timer, moved only when the deadline changes (cheaper than a new one per turn).
        let mut armed = self.next_deadline();
        let sleep = tokio::time::sleep_until(armed.into());
        tokio::pin!(sleep);
        loop {
            self.flush_batch();
            self.send_backlog().await;
            self.stun_tick(Instant::now());
            let deadline = self.next_deadline();
            if deadline != armed {
                armed = deadline;
                sleep.as_mut().reset(deadline.into());
            }
            let peers = &self.peers;
            let start = self.poll_start;
            tokio::select! {
                biased;
                (peer, socket) = poll_fn(|cx| poll_readable(peers, start, cx)) => {
                    self.poll_start = peer + 1;
                    self.read_socket(peer, socket, &mut buf);
                }
                command = commands.recv() => match command {
                    Some(command) => {
                        self.command(command);
                        // Take whatever else is queued, but go back to the sockets soon.
                        for _ in 0..COMMAND_BATCH {
                            match commands.try_recv() {
                                Ok(command) => self.command(command),
                                Err(_) => break,
                            }
                        }
                    }
                    None => break,
                },
                () = &mut sleep => {}
            }
            self.expire(Instant::now());
        }
        debug!("driver stopped");
    }

    /// Reads datagrams from one socket until it has none (`recvmmsg`, with GRO where the
    /// kernel has it), sending what each batch produced before reading more, so the receive
    /// buffer drains before more output is made.
    fn read_socket(&mut self, index: usize, socket: usize, buf: &mut [u8]) {
        let mut metas = [quinn_udp::RecvMeta::default(); RECV_SLOTS];
        for _ in 0..READS_PER_WAKE {
            let bound = &self.peers[index].sockets[socket];
            let destination = bound.local;
            let received = {
                let mut slices: Vec<io::IoSliceMut<'_>> =
                    buf.chunks_mut(RECV_SLOT).map(io::IoSliceMut::new).collect();
                bound.socket.try_io(tokio::io::Interest::READABLE, || {
                    bound
                        .state
                        .recv((&bound.socket).into(), &mut slices, &mut metas)
                })
            };
            let count = match received {
                Ok(count) => count,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) => {
                    // ICMP errors (port unreachable) surface here on Linux: not fatal.
                    debug!(%error, "UDP receive error");
                    continue;
                }
            };
            for (meta, slot) in metas.iter().zip(buf.chunks(RECV_SLOT)).take(count) {
                let stride = meta.stride.max(1);
                for datagram in slot[..meta.len].chunks(stride) {
                    self.receive(index, meta.addr, destination, datagram);
                }
            }
            self.flush_batch();
            if !self.backlog.is_empty() {
                return;
            }
        }
    }

    /// Hands one datagram to the peer that owns the socket (or to its STUN probes).
    fn receive(&mut self, index: usize, source: SocketAddr, destination: SocketAddr, data: &[u8]) {
        let entry = &mut self.peers[index];
        if let Some((transaction, mapped)) = stun::parse_binding_success(data) {
            if let Some(at) = entry
                .probes
                .iter()
                .position(|p| p.transaction == transaction)
            {
                entry.probes.swap_remove(at);
                info!(%mapped, base = %destination, "server-reflexive address learned");
                if let Err(error) = entry
                    .peer
                    .add_server_reflexive_candidate(mapped, destination)
                {
                    debug!(%error, "server-reflexive candidate not added");
                }
                self.pump(index);
                return;
            }
        }
        let result = entry
            .peer
            .handle_receive(Instant::now(), source, destination, data);
        if let Err(error) = result {
            debug!(peer = entry.id, %error, "peer failed on input");
        }
        self.pump(index);
    }

    /// Sends due STUN requests and forgets probes that got no answer.
    fn stun_tick(&mut self, now: Instant) {
        for entry in &mut self.peers {
            let mut index = 0;
            while index < entry.probes.len() {
                let probe = &mut entry.probes[index];
                if probe.next_send > now {
                    index += 1;
                    continue;
                }
                if probe.attempts == STUN_ATTEMPTS {
                    debug!(server = %probe.server, "STUN server did not answer");
                    entry.probes.swap_remove(index);
                    continue;
                }
                probe.attempts += 1;
                probe.next_send = now + STUN_RETRANSMIT * probe.attempts;
                let request = stun::binding_request(probe.transaction);
                let socket = &entry.sockets[probe.socket].socket;
                if let Err(error) = socket.try_send_to(&request, probe.server) {
                    debug!(%error, "STUN request not sent");
                }
                index += 1;
            }
        }
    }

    fn next_deadline(&self) -> Instant {
        let idle = Instant::now() + Duration::from_secs(3600);
        self.peers
            .iter()
            .map(|p| p.deadline)
            .chain(
                self.peers
                    .iter()
                    .flat_map(|p| p.probes.iter().map(|p| p.next_send)),
            )
            .min()
            .unwrap_or(idle)
    }

    /// Gives every peer whose deadline passed its timeout.
    fn expire(&mut self, now: Instant) {
        for index in 0..self.peers.len() {
            if self.peers[index].deadline <= now {
                if let Err(error) = self.peers[index].peer.handle_timeout(now) {
                    debug!(peer = self.peers[index].id, %error, "peer failed on timeout");
                }
                self.pump(index);
            }
        }
        self.remove_finished();
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::NewPeer {
                id,
                config,
                sockets,
                notices,
            } => {
                let now = Instant::now();
                let mut peer = Peer::new(*config, now);
                for bound in &sockets {
                    if let Err(error) = peer.add_host_candidate(bound.local) {
                        warn!(%error, "host candidate refused");
                    }
                }
                let probes = sockets
                    .iter()
                    .enumerate()
                    .flat_map(|(socket, bound)| {
                        self.stun_servers
                            .iter()
                            .filter(move |server| server.is_ipv4() == bound.local.is_ipv4())
                            .map(move |server| StunProbe {
                                socket,
                                server: *server,
                                transaction: transaction_id(),
                                attempts: 0,
                                next_send: now,
                            })
                    })
                    .collect();
                self.peers.push(DriverPeer {
                    id,
                    peer,
                    sockets,
                    probes,
                    deadline: now,
                    notices,
                    stream: None,
                    handle_alive: true,
                    stream_alive: false,
                    shutdown: false,
                    message_size: self.stream_config.message_size,
                });
                self.pump(self.peers.len() - 1);
            }
            Command::CreateOffer(id, reply) => {
                self.with_peer(id, reply, |peer| peer.create_offer());
            }
            Command::AcceptOffer(id, sdp, reply) => {
                self.with_peer(id, reply, |peer| peer.accept_offer(&sdp));
            }
            Command::AcceptAnswer(id, sdp, reply) => {
                self.with_peer(id, reply, |peer| peer.accept_answer(&sdp));
            }
            Command::AddRemoteCandidate(id, candidate, reply) => {
                self.with_peer(id, reply, |peer| peer.add_remote_candidate(&candidate));
            }
            Command::Flush(id) => {
                if let Some(index) = self.index_of(id) {
                    self.flush_outbound(index);
                    self.pump(index);
                }
            }
            Command::Shutdown(id) => {
                if let Some(index) = self.index_of(id) {
                    self.peers[index].shutdown = true;
                    self.flush_outbound(index);
                    self.pump(index);
                }
            }
            Command::HandleDropped(id) => {
                if let Some(index) = self.index_of(id) {
                    self.peers[index].handle_alive = false;
                    self.close_if_abandoned(index);
                }
            }
            Command::StreamDropped(id) => {
                if let Some(index) = self.index_of(id) {
                    self.peers[index].stream_alive = false;
                    self.close_if_abandoned(index);
                }
            }
        }
        self.remove_finished();
    }

    fn with_peer<T>(
        &mut self,
        id: PeerId,
        reply: oneshot::Sender<Result<T, Error>>,
        call: impl FnOnce(&mut Peer) -> Result<T, Error>,
    ) {
        let Some(index) = self.index_of(id) else {
            let _ = reply.send(Err(Error::Failed("the peer is gone".to_owned())));
            return;
        };
        let result = call(&mut self.peers[index].peer);
        self.pump(index);
        // The caller may have stopped waiting; nothing to do then.
        let _ = reply.send(result);
    }

    fn index_of(&self, id: PeerId) -> Option<usize> {
        self.peers.iter().position(|p| p.id == id)
    }

    fn close_if_abandoned(&mut self, index: usize) {
        let entry = &mut self.peers[index];
        if !entry.handle_alive && !entry.stream_alive {
            entry.peer.close();
            self.pump(index);
        }
    }

    fn remove_finished(&mut self) {
        // A closing peer's last datagrams may still be in the batch.
        self.flush_batch();
        self.peers.retain(|entry| {
            let keep = entry.peer.is_alive() || entry.handle_alive;
            if !keep {
                debug!(peer = entry.id, "peer removed");
            }
            keep
        });
    }

    /// Moves written bytes from the stream into channel messages while the channel takes
    /// them, then publishes the buffered amount and wakes a waiting writer.
    fn flush_outbound(&mut self, index: usize) {
        let entry = &mut self.peers[index];
        let Some(shared) = entry.stream.clone() else {
            return;
        };
        let message_size = entry.message_size.min(entry.peer.max_message_size()).max(1);
        let mut state = shared.lock();
        while state.outbound_len() > 0 {
            let start = state.outbound_start;
            let end = start + state.outbound_len().min(message_size);
            match entry.peer.write(&state.outbound[start..end]) {
                Ok(true) => state.consume_outbound(end - start),
                Ok(false) => break,
                Err(error) => {
                    debug!(peer = entry.id, %error, "channel write failed");
                    state.close();
                    return;
                }
            }
        }
        state.channel_buffered = entry.peer.buffered_amount();
        let drained = state.outbound_len() == 0;
        if drained || state.unacknowledged() <= self.stream_config.low_water {
            state.wake_writer();
        }
        if entry.shutdown && drained && state.channel_buffered == 0 {
            drop(state);
            entry.peer.close();
        }
    }

    /// Polls a peer until its next deadline: sends datagrams, routes events.
    fn pump(&mut self, index: usize) {
        loop {
            let output = self.peers[index].peer.poll_output();
            match output {
                PeerOutput::Transmit(transmit) => self.send(index, transmit),
                PeerOutput::Timeout(at) => {
                    self.peers[index].deadline = at;
                    break;
                }
                PeerOutput::Event(event) => self.on_event(index, event),
            }
        }
        // An orderly shutdown closes once everything written is acknowledged.
        let entry = &mut self.peers[index];
        if entry.shutdown && entry.peer.is_alive() && entry.peer.buffered_amount() == 0 {
            let flushed = entry
                .stream
                .as_ref()
                .is_none_or(|shared| shared.lock().outbound_len() == 0);
            if flushed {
                entry.peer.close();
                entry.shutdown = false;
                self.pump(index);
            }
        }
    }

    fn on_event(&mut self, index: usize, event: PeerEvent) {
        let entry = &mut self.peers[index];
        let notice = match event {
            PeerEvent::LocalCandidate(candidate) => PeerNotice::LocalCandidate(candidate),
            PeerEvent::IceState(state) => PeerNotice::IceState(state),
            PeerEvent::Connected => PeerNotice::Connected,
            PeerEvent::ChannelOpen { label } => {
                // The handle holds a sender while the peer can still hand out its stream.
                let Some(commands) = self.commands.upgrade() else {
                    entry.peer.close();
                    return;
                };
                let shared = Arc::new(StreamShared::default());
                entry.stream = Some(shared.clone());
                entry.stream_alive = true;
                PeerNotice::Open(DataStream::new(
                    entry.id,
                    shared,
                    commands,
                    self.stream_config,
                    label,
                ))
            }
            PeerEvent::Data(data) => {
                if let Some(shared) = &entry.stream {
                    let mut state = shared.lock();
                    state.inbound.push_back(data);
                    state.wake_reader();
                }
                return;
            }
            PeerEvent::BufferedAmountLow => {
                self.flush_outbound(index);
                return;
            }
            PeerEvent::Closed => {
                if let Some(shared) = &entry.stream {
                    shared.lock().close();
                }
                PeerNotice::Closed
            }
            PeerEvent::Failed(reason) => {
                if let Some(shared) = &entry.stream {
                    shared.lock().close();
                }
                PeerNotice::Failed(reason)
            }
        };
        // The handle may be gone; its notices are not needed then.
        let _ = entry.notices.send(notice);
    }

    /// Queues a peer's datagram for the socket bound to its source: it joins the batch being
    /// gathered when it can, else the batch goes out and a new one starts.
    fn send(&mut self, index: usize, transmit: Transmit) {
        let entry = &self.peers[index];
        let Some(socket) = entry
            .sockets
            .iter()
            .position(|bound| bound.local == transmit.source)
            .or_else(|| {
                entry
                    .sockets
                    .iter()
                    .position(|bound| bound.local.is_ipv4() == transmit.destination.is_ipv4())
            })
        else {
            debug!(source = %transmit.source, "no socket for transmit");
            return;
        };
        let max_segments = entry.sockets[socket]
            .state
            .max_gso_segments()
            .clamp(1, MAX_GSO_SEGMENTS);
        let len = transmit.contents.len();
        let id = entry.id;
        if !self.batch.takes(id, socket, transmit.destination, len)
            || self.batch.count >= max_segments
        {
            self.flush_batch();
            self.batch.peer = id;
            self.batch.socket = socket;
            self.batch.destination = Some(transmit.destination);
            self.batch.segment = len;
        }
        self.batch.contents.extend_from_slice(&transmit.contents);
        self.batch.count += 1;
    }

    /// Sends the gathered batch (one `sendmsg`, GSO when it holds several datagrams), or
    /// queues it when the socket's buffer is full.
    fn flush_batch(&mut self) {
        if self.batch.count == 0 {
            return;
        }
        if !self.backlog.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            self.backlog.push_back(batch);
            return;
        }
        let batch = &mut self.batch;
        if let Some(entry) = self.peers.iter().find(|p| p.id == batch.peer) {
            let bound = &entry.sockets[batch.socket];
            match send_batch(bound, batch) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.backlog.push_back(std::mem::take(batch));
                    return;
                }
                Err(error) => debug!(%error, "UDP send failed"),
            }
        }
        batch.contents.clear();
        batch.count = 0;
    }

    /// Sends queued batches, waiting for socket space.
    async fn send_backlog(&mut self) {
        while let Some(batch) = self.backlog.pop_front() {
            let Some(entry) = self.peers.iter().find(|p| p.id == batch.peer) else {
                continue;
            };
            let bound = &entry.sockets[batch.socket];
            let sent = bound
                .socket
                .async_io(tokio::io::Interest::WRITABLE, || send_batch(bound, &batch))
                .await;
            if let Err(error) = sent {
                debug!(%error, "UDP send failed");
            }
        }
    }
}

/// The first readable socket, scanning peers from `start` round-robin: (peer, socket).
fn poll_readable(
    peers: &[DriverPeer],
    start: usize,
    cx: &mut std::task::Context<'_>,
) -> Poll<(usize, usize)> {
    let count = peers.len();
    for offset in 0..count {
        let index = (start + offset) % count;
        for (socket, bound) in peers[index].sockets.iter().enumerate() {
            if bound.socket.poll_recv_ready(cx).is_ready() {
                return Poll::Ready((index, socket));
            }
        }
    }
    Poll::Pending
}

/// A fresh STUN transaction id (unpredictable enough for a Binding request).
fn transaction_id() -> TransactionId {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut id = [0u8; 12];
    for (half, chunk) in id.chunks_mut(8).enumerate() {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_usize(half);
        let value = hasher.finish().to_be_bytes();
        chunk.copy_from_slice(&value[..chunk.len()]);
    }
    id
}
