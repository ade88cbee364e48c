//! Finds torrent peers through a Rondevu signaling server: the Rust form of the WebTorrent
//! plugin's `RondevuConnectionManager`.
//!
//! Each torrent's info-hash is a discovery topic. A peer keeps a small pool of WebRTC offers
//! published under it, answers other peers' offers found by topic (leaving out the peers it
//! already knows with a bloom filter), trickles ICE candidates both ways, and hands every
//! connected data channel to the torrent engine.
//!
//! [`Manager`] (alias [`RondevuConnectionManager`] for the usual parts) composes three
//! small traits, so an embedder can swap each:
//!
//! * [`Signaling`] — the Rondevu calls; implemented on [`rondevu_api::Client`] (its blocking
//!   calls run on tokio's blocking pool);
//! * [`Transport`] — WebRTC offers, answers, candidates and the open byte stream;
//!   implemented on [`rondevu_rtc::Driver`];
//! * [`PeerSink`] — where connected peers go and which torrents exist; implemented by
//!   [`SwarmSink`] on `bt-swarm`'s engine.
//!
//! Its state machines are sans-IO parts that take time as an argument, tested with a fake
//! clock:
//!
//! * [`OfferPool`] — the offers kept published per torrent, replaced when answered or
//!   expiring, never leaked;
//! * [`AdaptivePoll`] — fast polling right after publishing or answering, backing off when
//!   idle;
//! * [`Backoff`] — bounded exponential backoff with jitter while the server is unreachable;
//! * [`KnownPeers`] — ourselves, connected and recently failed peers, and the bloom filter
//!   sent with every by-topic query (rebuilt larger when it saturates);
//! * [`keeps_connection`] — the tie-break that leaves exactly one connection per pair.
//!
//! # Example: an embedder adds a torrent and watches peers arrive
//!
//! ```no_run
//! use std::sync::Arc;
//! use bt_swarm::{Engine, EngineConfig, Storage};
//! use bt_wire::InfoHash;
//! use rondevu_discovery::{DiscoveryEvent, DiscoveryOptions, RondevuConnectionManager};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Arc::new(Engine::new(EngineConfig::default()));
//! let options = DiscoveryOptions::new("http://127.0.0.1:3000");
//! let manager = RondevuConnectionManager::start(options, engine).await?;
//! let mut events = manager.events();
//!
//! // Discovery starts at once, under the info-hash as topic.
//! let info_hash: InfoHash = "c9e15763f722f23e98a29decdfae341b98d53056".parse()?;
//! let torrent = manager.add_torrent(info_hash, Storage::Memory)?;
//!
//! while let Some(event) = events.recv().await {
//!     if let DiscoveryEvent::PeerConnected { peer_id, .. } = event {
//!         println!("connected to {peer_id}");
//!         break;
//!     }
//! }
//! torrent.wait_complete().await?;
//! for stats in manager.stats() {
//!     println!("{stats:?}");
//! }
//! manager.destroy().await?; // every offer we published is deleted
//! # Ok(())
//! # }
//! ```
//!
//! The integration tests (`tests/swarm.rs`) run the same with a real server, real WebRTC
//! peers on loopback and real engines.

mod backoff;
mod coordinator;
mod events;
mod known_peers;
mod link;
mod manager;
mod metered;
mod offer_pool;
mod options;
mod poll_schedule;
mod signaling;
mod sink;
mod tie_break;
mod transport;

pub use backoff::Backoff;
pub use events::{DiscoveryEvent, DiscoveryEvents, TorrentDiscoveryStats};
pub use known_peers::{KnownAs, KnownPeers, MAX_FALSE_POSITIVE_RATE};
pub use manager::{DiscoveryError, Manager};
pub use offer_pool::{OfferPool, PooledOffer};
pub use options::{DiscoveryOptions, RtcConfig, DEFAULT_ICE_SERVERS, DEFAULT_RONDEVU_SERVER};
pub use poll_schedule::AdaptivePoll;
pub use signaling::{Signaling, SignalingError};
pub use sink::{PeerByteStream, PeerSink, SinkRefused, SwarmSink};
pub use tie_break::{keeps_connection, Role};
pub use transport::{Connection, ConnectionEvent, Transport, TransportError};

/// The original plugin's name for the manager, with the usual parts: `rondevu-api` for
/// signaling, `rondevu-rtc` for WebRTC, `bt-swarm` for the torrents.
pub type RondevuConnectionManager = Manager<rondevu_api::Client, rondevu_rtc::Driver, SwarmSink>;
