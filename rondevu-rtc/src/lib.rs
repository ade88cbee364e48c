//! rondevu-rtc: sans-IO WebRTC data channels on str0m.

mod candidate;
mod error;
mod peer;
pub mod sdp_limits;

pub use candidate::{CandidateOutcome, IceCandidateInit, SkipReason};
pub use error::Error;
pub use peer::{Peer, PeerConfig, PeerEvent, PeerOutput, Transmit, DEFAULT_LABEL};
pub use str0m::IceConnectionState;
