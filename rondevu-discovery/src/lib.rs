//! Finds torrent peers through a Rondevu signaling server: the Rust form of the WebTorrent
//! plugin's `RondevuConnectionManager`.
//!
//! Each torrent's info-hash is a discovery topic. A peer keeps a small pool of WebRTC offers
//! published under it, answers other peers' offers found by topic (leaving out the peers it
//! already knows with a bloom filter), trickles ICE candidates both ways, and hands every
//! connected data channel to the torrent engine.
//!
//! This crate is built from sans-IO parts that take time as an argument, so they are tested
//! with a fake clock:
//!
//! * [`OfferPool`] — the offers kept published per torrent, replaced when answered or expiring,
//!   never leaked;
//! * [`AdaptivePoll`] — fast polling right after publishing or answering, backing off to the
//!   refresh interval when idle;
//! * [`Backoff`] — bounded exponential backoff with jitter while the server is unreachable;
//! * [`KnownPeers`] — ourselves, connected and recently failed peers, and the bloom filter
//!   sent with every by-topic query (rebuilt larger when it saturates);
//! * [`keeps_connection`] — the tie-break that leaves exactly one connection per pair.

mod backoff;
mod known_peers;
mod offer_pool;
mod poll_schedule;
mod tie_break;

pub use backoff::Backoff;
pub use known_peers::{KnownAs, KnownPeers, MAX_FALSE_POSITIVE_RATE};
pub use offer_pool::{OfferPool, PooledOffer};
pub use poll_schedule::AdaptivePoll;
pub use tie_break::{keeps_connection, Role};
