//! WebRTC data channels for rondevu-torrent: a sans-IO peer on [`str0m`], and a small tokio
//! driver that owns the sockets and the clock.
//!
//! A WebTorrent peer is one `RTCPeerConnection` with one ordered, reliable data channel
//! carrying the BitTorrent byte stream. This crate is our side of that:
//!
//! * [`Peer`] — the sans-IO core (shaped like `str0m::Rtc`, whose single-mutation rule it
//!   inherits). It makes or accepts offers, takes trickled candidates in the browser's JSON
//!   form ([`IceCandidateInit`]), and is driven by [`Peer::handle_receive`] /
//!   [`Peer::handle_timeout`] with the time passed in, giving [`PeerOutput`]s out: datagrams
//!   to send, [`PeerEvent`]s, and the next deadline. It never reads a clock or touches a
//!   socket.
//! * [`Driver`] — one tokio task that binds UDP sockets (per the [`BindPolicy`], with 4 MiB
//!   buffers), gathers host and server-reflexive (`stun:`) candidates and drives any number of
//!   peers. Each peer is a [`PeerHandle`] (signaling in, [`PeerNotice`]s out); its open
//!   channel is a [`DataStream`], a tokio `AsyncRead + AsyncWrite` byte stream.
//!
//! Signaling is the caller's: send the offer/answer SDP and every
//! [`PeerNotice::LocalCandidate`] to the remote by any means, and feed back what it sends.
//! Our peers post all their candidates, and connect to remotes that trickle none at all
//! (their address is learned as peer-reflexive).
//!
//! # The driver: two peers, one byte stream
//!
//! ```
//! use rondevu_rtc::{Driver, DriverConfig, PeerNotice};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Loopback policy (the default): nothing but 127.0.0.1 is ever used.
//! let driver = Driver::start(DriverConfig::default()).await?;
//! let mut offerer = driver.new_peer()?;
//! let mut answerer = driver.new_peer()?;
//!
//! // Offer → answer (in real life these travel through the signaling server).
//! let offer = offerer.create_offer().await?;
//! let answer = answerer.accept_offer(&offer).await?;
//! offerer.accept_answer(&answer).await?;
//!
//! // Trickle candidates both ways until both channels are open.
//! let (mut ours, mut theirs) = (None, None);
//! while ours.is_none() || theirs.is_none() {
//!     tokio::select! {
//!         Some(notice) = offerer.next_notice() => match notice {
//!             PeerNotice::LocalCandidate(c) => { answerer.add_remote_candidate(c).await?; }
//!             PeerNotice::Open(stream) => ours = Some(stream),
//!             PeerNotice::Failed(why) => return Err(why.into()),
//!             _ => {}
//!         },
//!         Some(notice) = answerer.next_notice() => match notice {
//!             PeerNotice::LocalCandidate(c) => { offerer.add_remote_candidate(c).await?; }
//!             PeerNotice::Open(stream) => theirs = Some(stream),
//!             PeerNotice::Failed(why) => return Err(why.into()),
//!             _ => {}
//!         },
//!     }
//! }
//! let (mut ours, mut theirs) = (ours.unwrap(), theirs.unwrap());
//! assert_eq!(ours.label(), "webtorrent");
//!
//! ours.write_all(b"\x13BitTorrent protocol").await?;
//! let mut handshake = [0u8; 20];
//! theirs.read_exact(&mut handshake).await?;
//! assert_eq!(&handshake[1..], b"BitTorrent protocol");
//! # Ok(())
//! # }
//! ```
//!
//! # The sans-IO loop, for your own driver
//!
//! Every mutation (`handle_*`, `write`, offer/answer, candidates) is followed by polling
//! until [`PeerOutput::Timeout`]; then wait for a datagram or that deadline, whichever comes
//! first. Here two peers share one thread and two loopback sockets:
//!
//! ```
//! use std::net::UdpSocket;
//! use std::time::{Duration, Instant};
//! use rondevu_rtc::{Peer, PeerConfig, PeerEvent, PeerOutput};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = PeerConfig { loopback_only: true, ..PeerConfig::default() };
//! let mut peers = Vec::new();
//! for _ in 0..2 {
//!     let socket = UdpSocket::bind("127.0.0.1:0")?;
//!     socket.set_nonblocking(true)?;
//!     let mut peer = Peer::new(config.clone(), Instant::now());
//!     peer.add_host_candidate(socket.local_addr()?)?; // before the offer/answer: goes in the SDP
//!     peers.push((peer, socket));
//! }
//! let offer = peers[0].0.create_offer()?;
//! let answer = peers[1].0.accept_offer(&offer)?;
//! peers[0].0.accept_answer(&answer)?;
//!
//! let mut buf = vec![0u8; 2048];
//! let mut got = Vec::new();
//! let give_up = Instant::now() + Duration::from_secs(10);
//! while got != b"hello" && Instant::now() < give_up {
//!     for (index, (peer, socket)) in peers.iter_mut().enumerate() {
//!         // 1. Drain: send datagrams, react to events, note the deadline.
//!         let deadline = loop {
//!             match peer.poll_output() {
//!                 PeerOutput::Transmit(t) => {
//!                     socket.send_to(&t.contents, t.destination)?;
//!                 }
//!                 PeerOutput::Event(PeerEvent::ChannelOpen { .. }) if index == 0 => {
//!                     // Writing from inside the drain loop is fine: polling continues.
//!                     assert!(peer.write(b"hello")?, "send buffer full");
//!                 }
//!                 PeerOutput::Event(PeerEvent::Data(data)) => got.extend(data),
//!                 PeerOutput::Event(_) => {} // LocalCandidate: trickle it in real life
//!                 PeerOutput::Timeout(at) => break at,
//!             }
//!         };
//!         // 2. One input: a datagram if there is one, else the clock once the deadline passed.
//!         let now = Instant::now();
//!         match socket.recv_from(&mut buf) {
//!             Ok((n, from)) => peer.handle_receive(now, from, socket.local_addr()?, &buf[..n])?,
//!             Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
//!                 if now >= deadline {
//!                     peer.handle_timeout(now)?;
//!                 }
//!             }
//!             Err(e) => return Err(e.into()),
//!         }
//!     }
//!     // A real driver waits on its socket (or the deadline) here instead of spinning.
//! }
//! assert_eq!(got, b"hello");
//! # Ok(())
//! # }
//! ```
//!
//! # Network safety
//!
//! With [`BindPolicy::Loopback`] (or [`PeerConfig::loopback_only`]) no candidate other than
//! 127.0.0.0/8 or ::1 is announced or used: remote candidates elsewhere are skipped, datagrams
//! from elsewhere are dropped, and nothing is ever sent elsewhere.
//!
//! # Speed
//!
//! The send buffer is raised above str0m's 128 KiB default (to 256 KiB), the stream's high and
//! low water marks are 256 KiB / 128 KiB, messages are 16 KiB (capped by the remote's
//! `a=max-message-size`). Sockets get 4 MiB buffers, are read with `recvmmsg` (and GRO where
//! the kernel has it) and drained before more output is made; consecutive datagrams of a
//! peer leave in one GSO `sendmsg`. `cargo xtask bench rtc` measures it against bare str0m
//! and libwebrtc (see `BENCHMARKS.md`; the vendored sctp-proto fix in `patches/` matters).

pub mod bind_policy;
mod candidate;
mod driver;
mod error;
mod peer;
pub mod sdp_limits;
mod stream;
pub mod stun;

pub use bind_policy::BindPolicy;
pub use candidate::{CandidateOutcome, IceCandidateInit, SkipReason};
pub use driver::{Driver, DriverConfig, PeerHandle, PeerNotice, SOCKET_BUFFER_BYTES};
pub use error::Error;
pub use peer::{Peer, PeerConfig, PeerEvent, PeerOutput, Transmit, DEFAULT_LABEL};
pub use str0m::IceConnectionState;
pub use stream::{DataStream, StreamConfig};
