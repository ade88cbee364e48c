//! The crate's one error type: every way a peer, a remote description or the driver can fail.

use std::net::SocketAddr;

/// Everything that can go wrong in this crate. Remote input (SDP, candidates, datagrams) only
/// ever produces one of these, never a panic.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The remote session description could not be parsed as SDP.
    #[error("malformed remote {kind} SDP: {reason}")]
    MalformedSdp {
        /// `offer` or `answer`.
        kind: &'static str,
        /// What the parser complained about.
        reason: String,
    },
    /// The remote session description parsed, but the WebRTC engine refused it
    /// (no fingerprint, no m-lines, no data channel section…).
    #[error("remote {kind} rejected: {source}")]
    RemoteSdpRejected {
        /// `offer` or `answer`.
        kind: &'static str,
        /// The engine's reason.
        #[source]
        source: str0m::RtcError,
    },
    /// A trickled ICE candidate could not be parsed.
    #[error("malformed ICE candidate {candidate:?}: {reason}")]
    MalformedCandidate {
        /// The candidate string as received.
        candidate: String,
        /// What was wrong with it.
        reason: String,
    },
    /// An operation arrived in a signaling state that does not allow it
    /// (an answer before any offer, a second offer, …).
    #[error("{operation} is not allowed now: {reason}")]
    WrongSignalingState {
        /// The operation attempted.
        operation: &'static str,
        /// Why it is not allowed.
        reason: &'static str,
    },
    /// A message is larger than the remote's announced `a=max-message-size`.
    #[error("message of {len} bytes exceeds the remote's max-message-size of {max} bytes")]
    MessageTooLarge {
        /// The message length.
        len: usize,
        /// The remote's limit.
        max: usize,
    },
    /// The data channel is not open (yet, or any more).
    #[error("the data channel is not open")]
    ChannelNotOpen,
    /// The WebRTC engine failed while driving the connection; the connection is dead.
    #[error("WebRTC engine failure: {0}")]
    Engine(#[from] str0m::RtcError),
    /// The connection failed (timed out, lost, or the engine failed); the text says why.
    #[error("connection failed: {0}")]
    Failed(String),
    /// A local candidate address was refused.
    #[error("local candidate {addr} refused: {reason}")]
    BadLocalCandidate {
        /// The address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// An ICE server URL is not a `stun:` URL this crate understands.
    #[error("unsupported ICE server URL {url:?}: {reason}")]
    BadIceServerUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The driver task has stopped, so the peer can no longer be driven.
    #[error("the driver task has stopped")]
    DriverStopped,
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}
