//! rondevu-rtc: sans-IO WebRTC data channels on str0m.

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
