//! The tokio driver: one task owns the UDP sockets and the clock and drives many [`Peer`]s;
//! callers hold a [`PeerHandle`] per peer and get each open channel as a [`DataStream`].
//!
//! [`Peer`]: crate::Peer

mod socket;
mod task;

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};

use crate::bind_policy::BindPolicy;
use crate::candidate::{CandidateOutcome, IceCandidateInit};
use crate::peer::PeerConfig;
use crate::stream::{DataStream, StreamConfig};
use crate::stun::StunServer;
use crate::{Error, IceConnectionState};

use socket::{bind_socket, BoundSocket};
use task::DriverTask;

/// Socket buffer size the driver asks for (the kernel caps it at `rmem_max`/`wmem_max`).
/// With the 208 KiB default, loopback drops datagrams under load, and every loss costs an
/// SCTP retransmission timeout.
pub const SOCKET_BUFFER_BYTES: usize = 4 * 1024 * 1024;

/// How a [`Driver`] binds, gathers and paces.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Where to bind (and, for loopback, the scope of everything).
    pub bind: BindPolicy,
    /// `stun:` URLs (the `iceServers` of the original) for server-reflexive candidates.
    pub ice_servers: Vec<String>,
    /// SO_RCVBUF / SO_SNDBUF to ask for.
    pub socket_buffer: usize,
    /// Template for each peer; `loopback_only` is forced on by a loopback policy.
    pub peer: PeerConfig,
    /// Flow control of each peer's [`DataStream`].
    pub stream: StreamConfig,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            bind: BindPolicy::Loopback,
            ice_servers: Vec::new(),
            socket_buffer: SOCKET_BUFFER_BYTES,
            peer: PeerConfig::default(),
            stream: StreamConfig::default(),
        }
    }
}

/// Identifies a peer inside its driver.
pub(crate) type PeerId = u64;

/// What the driver tells a peer's owner.
#[derive(Debug)]
pub enum PeerNotice {
    /// A local candidate to send to the remote.
    LocalCandidate(IceCandidateInit),
    /// ICE connection state changed.
    IceState(IceConnectionState),
    /// ICE and DTLS are up.
    Connected,
    /// The data channel is open: here is its byte stream.
    Open(DataStream),
    /// The connection closed.
    Closed,
    /// The connection failed; the text says why.
    Failed(String),
}

/// Requests from handles and streams to the driver task.
#[derive(Debug)]
pub(crate) enum Command {
    NewPeer {
        id: PeerId,
        config: Box<PeerConfig>,
        sockets: Vec<BoundSocket>,
        notices: mpsc::UnboundedSender<PeerNotice>,
    },
    CreateOffer(PeerId, oneshot::Sender<Result<String, Error>>),
    AcceptOffer(PeerId, String, oneshot::Sender<Result<String, Error>>),
    AcceptAnswer(PeerId, String, oneshot::Sender<Result<(), Error>>),
    AddRemoteCandidate(
        PeerId,
        IceCandidateInit,
        oneshot::Sender<Result<CandidateOutcome, Error>>,
    ),
    Flush(PeerId),
    Shutdown(PeerId),
    HandleDropped(PeerId),
    StreamDropped(PeerId),
}

/// A running driver: one tokio task driving any number of peers, each with its own UDP
/// sockets (one per bound address, like a browser's `RTCPeerConnection`, so datagrams never
/// need demultiplexing between peers). Cheap to clone; the task ends when the driver and
/// every handle and stream made from it are dropped.
#[derive(Debug, Clone)]
pub struct Driver {
    commands: mpsc::UnboundedSender<Command>,
    bind_ips: Arc<[IpAddr]>,
    socket_buffer: usize,
    peer_config: PeerConfig,
    next_id: Arc<AtomicU64>,
}

impl Driver {
    /// Works out the addresses the policy allows, resolves the STUN servers and spawns the
    /// driver task on the current tokio runtime.
    pub async fn start(config: DriverConfig) -> Result<Driver, Error> {
        let loopback_only = config.bind.loopback_only();
        let bind_ips: Arc<[IpAddr]> = config.bind.local_addresses()?.into();
        if bind_ips.is_empty() {
            return Err(Error::io(
                "choosing local addresses",
                io::Error::new(io::ErrorKind::AddrNotAvailable, "no address to bind"),
            ));
        }
        let mut stun_servers = Vec::new();
        for url in &config.ice_servers {
            let server = StunServer::parse(url)?;
            let resolved = tokio::net::lookup_host((server.host.as_str(), server.port)).await;
            match resolved {
                Ok(addrs) => stun_servers
                    .extend(addrs.filter(|addr| !loopback_only || addr.ip().is_loopback())),
                Err(error) => warn!(url, %error, "STUN server not resolved, skipped"),
            }
        }
        info!(?bind_ips, ?stun_servers, "driver started");
        let (commands, command_rx) = mpsc::unbounded_channel();
        let mut peer_config = config.peer.clone();
        peer_config.loopback_only |= loopback_only;
        peer_config.max_buffered_amount = peer_config
            .max_buffered_amount
            .max(config.stream.high_water);
        let task = DriverTask::new(stun_servers, config.stream, commands.downgrade());
        tokio::spawn(task.run(command_rx));
        Ok(Driver {
            commands,
            bind_ips,
            socket_buffer: config.socket_buffer,
            peer_config,
            next_id: Arc::new(AtomicU64::new(1)),
        })
    }

    /// The local addresses each peer binds a socket on.
    pub fn bind_addresses(&self) -> &[IpAddr] {
        &self.bind_ips
    }

    /// A new peer with the driver's peer configuration. Binds its sockets (so call it inside
    /// the tokio runtime).
    pub fn new_peer(&self) -> Result<PeerHandle, Error> {
        self.new_peer_with(self.peer_config.clone())
    }

    /// A new peer with its own configuration (its `label`, timeouts…); the driver's loopback
    /// scope still applies.
    pub fn new_peer_with(&self, mut config: PeerConfig) -> Result<PeerHandle, Error> {
        config.loopback_only |= self.peer_config.loopback_only;
        config.max_buffered_amount = config
            .max_buffered_amount
            .max(self.peer_config.max_buffered_amount);
        let sockets = self
            .bind_ips
            .iter()
            .map(|ip| bind_socket(*ip, self.socket_buffer))
            .collect::<Result<Vec<_>, _>>()?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (notices, notice_rx) = mpsc::unbounded_channel();
        self.commands
            .send(Command::NewPeer {
                id,
                config: Box::new(config),
                sockets,
                notices,
            })
            .map_err(|_| Error::DriverStopped)?;
        Ok(PeerHandle {
            id,
            commands: self.commands.clone(),
            notices: notice_rx,
        })
    }
}

/// The caller's side of one peer: signaling calls in, [`PeerNotice`]s out. Dropping it closes
/// the peer, unless its [`DataStream`] is still held (then the stream's drop closes it).
#[derive(Debug)]
pub struct PeerHandle {
    id: PeerId,
    commands: mpsc::UnboundedSender<Command>,
    notices: mpsc::UnboundedReceiver<PeerNotice>,
}

impl PeerHandle {
    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<Result<T, Error>>) -> Command,
    ) -> Result<T, Error> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .map_err(|_| Error::DriverStopped)?;
        answer.await.map_err(|_| Error::DriverStopped)?
    }

    /// Makes the offer (SDP text) with one data channel.
    pub async fn create_offer(&self) -> Result<String, Error> {
        self.ask(|reply| Command::CreateOffer(self.id, reply)).await
    }

    /// Accepts the remote's offer and returns the answer (SDP text).
    pub async fn accept_offer(&self, sdp: &str) -> Result<String, Error> {
        self.ask(|reply| Command::AcceptOffer(self.id, sdp.to_owned(), reply))
            .await
    }

    /// Accepts the remote's answer to our offer.
    pub async fn accept_answer(&self, sdp: &str) -> Result<(), Error> {
        self.ask(|reply| Command::AcceptAnswer(self.id, sdp.to_owned(), reply))
            .await
    }

    /// Adds a candidate the remote trickled (see [`crate::Peer::add_remote_candidate`]).
    pub async fn add_remote_candidate(
        &self,
        candidate: IceCandidateInit,
    ) -> Result<CandidateOutcome, Error> {
        self.ask(|reply| Command::AddRemoteCandidate(self.id, candidate, reply))
            .await
    }

    /// The next notice; `None` once the peer is gone (after `Closed` or `Failed`).
    pub async fn next_notice(&mut self) -> Option<PeerNotice> {
        self.notices.recv().await
    }
}

impl Drop for PeerHandle {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::HandleDropped(self.id));
    }
}
