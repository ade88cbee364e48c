//! The driver's UDP sockets: binding with large buffers, and GSO batches of datagrams.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::net::UdpSocket;
use tracing::debug;

use super::PeerId;
use crate::Error;

/// Receive buffer per slot: room for one GRO-coalesced run of datagrams (the kernel caps a
/// run at 64 KiB).
pub(super) const RECV_SLOT: usize = 64 * 1024;

/// Receive slots per `recvmmsg`.
pub(super) const RECV_SLOTS: usize = 8;

/// Most datagrams sent in one GSO `sendmsg`.
pub(super) const MAX_GSO_SEGMENTS: usize = 32;

/// One bound UDP socket.
#[derive(Debug)]
pub(crate) struct BoundSocket {
    pub(super) socket: UdpSocket,
    pub(super) local: SocketAddr,
    /// quinn-udp's per-socket state: GSO/GRO support found at bind time.
    pub(super) state: quinn_udp::UdpSocketState,
}

/// Datagrams of one peer to one destination, gathered to go out in one GSO `sendmsg`: all
/// `segment` bytes long but the last, which may be shorter.
#[derive(Debug, Default)]
pub(super) struct SendBatch {
    pub(super) peer: PeerId,
    pub(super) socket: usize,
    pub(super) destination: Option<SocketAddr>,
    pub(super) segment: usize,
    pub(super) count: usize,
    pub(super) contents: Vec<u8>,
}

impl SendBatch {
    /// True when `len` more bytes for this peer, socket and destination may join.
    pub(super) fn takes(
        &self,
        peer: PeerId,
        socket: usize,
        destination: SocketAddr,
        len: usize,
    ) -> bool {
        self.count > 0
            && self.peer == peer
            && self.socket == socket
            && self.destination == Some(destination)
            && self.contents.len() == self.count * self.segment
            && len <= self.segment
    }
}

/// One `sendmsg` of a batch (GSO when it holds several datagrams).
pub(super) fn send_batch(bound: &BoundSocket, batch: &SendBatch) -> io::Result<()> {
    let Some(destination) = batch.destination else {
        return Ok(());
    };
    let transmit = quinn_udp::Transmit {
        destination,
        ecn: None,
        contents: &batch.contents,
        segment_size: (batch.count > 1).then_some(batch.segment),
        src_ip: None,
    };
    bound.socket.try_io(tokio::io::Interest::WRITABLE, || {
        bound.state.try_send((&bound.socket).into(), &transmit)
    })
}

/// Binds a non-blocking UDP socket on `ip` (any port) with large buffers.
pub(super) fn bind_socket(ip: IpAddr, buffer: usize) -> Result<BoundSocket, Error> {
    use socket2::{Domain, Protocol, Socket, Type};
    let address = SocketAddr::new(ip, 0);
    let context = |what: &str| format!("{what} UDP socket on {address}");
    let socket = Socket::new(
        Domain::for_address(address),
        Type::DGRAM,
        Some(Protocol::UDP),
    )
    .map_err(|e| Error::io(context("creating"), e))?;
    if ip.is_ipv6() {
        socket
            .set_only_v6(true)
            .map_err(|e| Error::io(context("configuring"), e))?;
    }
    // The kernel caps these at rmem_max / wmem_max; a smaller buffer is not an error.
    if let Err(error) = socket.set_recv_buffer_size(buffer) {
        debug!(%error, "SO_RCVBUF not raised");
    }
    if let Err(error) = socket.set_send_buffer_size(buffer) {
        debug!(%error, "SO_SNDBUF not raised");
    }
    socket
        .set_nonblocking(true)
        .map_err(|e| Error::io(context("configuring"), e))?;
    socket
        .bind(&address.into())
        .map_err(|e| Error::io(context("binding"), e))?;
    debug!(
        %address,
        recv_buffer = socket.recv_buffer_size().unwrap_or(0),
        send_buffer = socket.send_buffer_size().unwrap_or(0),
        "socket bound"
    );
    let socket =
        UdpSocket::from_std(socket.into()).map_err(|e| Error::io(context("registering"), e))?;
    let local = socket
        .local_addr()
        .map_err(|e| Error::io(context("inspecting"), e))?;
    let state = quinn_udp::UdpSocketState::new((&socket).into())
        .map_err(|e| Error::io(context("configuring"), e))?;
    Ok(BoundSocket {
        socket,
        local,
        state,
    })
}
