//! `rondevu-api`: a blocking client for the Rondevu topic signaling API
//! (`shared/spec/rondevu-v0.1.md`), on `ureq`.
//!
//! Every endpoint has a typed method on [`Client`]; every call is bounded by the client's
//! timeout and fails with an [`Error`] that separates transport failures, refusals by the
//! server (status and its `error` text) and bodies that do not decode. ICE candidates are
//! opaque JSON at this layer.
//!
//! # Example
//!
//! Two peers meet under a torrent's info-hash, through a server started in-process:
//!
//! ```
//! use peer_bloom::PeerBloom;
//! use rondevu_api::{Client, NewOffer};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = rondevu_server::serve(rondevu_server::ServerConfig {
//!     port: 0,
//!     ..Default::default()
//! })?;
//! let client = Client::new(&server.url())?;
//! let topic = "c3d0f1e2a1b2c3d4e5f60718293a4b5c6d7e8f90";
//!
//! let seeder = client.register()?;
//! let leecher = client.register()?;
//! let published = client.publish(&seeder, &[NewOffer::new("v=0\r\n...", [topic])])?;
//! let offer_id = &published[0].id;
//!
//! // The leecher skips peers it already knows with a bloom filter (k = 3 for the server).
//! let mut known = PeerBloom::new(1024, 3)?;
//! known.insert(&leecher.peer_id);
//! let found = client.offers_by_topic(topic, Some(50), Some(&known))?;
//! assert_eq!(found.offers[0].peer_id, seeder.peer_id);
//!
//! client.answer(&leecher, offer_id, "v=0\r\n...answer", None)?;
//! assert_eq!(client.answers(&seeder)?[0].answerer_id, leecher.peer_id);
//!
//! let candidate = json!({"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"});
//! client.post_ice_candidates(&leecher, offer_id, &[candidate.clone()])?;
//! let received = client.ice_candidates(&seeder, offer_id, None)?;
//! assert_eq!(received[0].candidate, candidate);
//! # server.shutdown();
//! # Ok(())
//! # }
//! ```

mod client;
mod error;
mod percent;
mod types;

pub use client::{Client, ClientBuilder, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT};
pub use error::{Error, Result};
pub use peer_bloom::PeerBloom;
pub use types::{
    Answer, AnswerAccepted, Credentials, Health, IceCandidate, MyOffer, MyOffers, NewOffer,
    PeerOffer, PeerOffers, PublishedOffer, Role, ServerInfo, TopicList, TopicOffer, TopicOffers,
    TopicSummary, TopicsQuery,
};
