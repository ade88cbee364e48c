//! Typed request and response bodies of the Rondevu topic API (JSON in camelCase).
//!
//! Times are milliseconds since the Unix epoch, as JavaScript's `Date.now()` gives them.

use serde::{Deserialize, Serialize};

/// A peer's identity on one server: the id and the stateless secret proving it.
///
/// Serializable so a program can persist it and reuse it after a restart (a server keeps
/// accepting it as long as its `AUTH_SECRET` is unchanged; on 401, register again).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// 32 lowercase hex characters.
    pub peer_id: String,
    /// Base64 secret issued by the server.
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("peer_id", &self.peer_id)
            .field("secret", &"<hidden>")
            .finish()
    }
}

/// One offer to publish with `POST /offers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewOffer {
    /// The SDP offer (non-empty, at most 65,536 UTF-16 code units).
    pub sdp: String,
    /// Topics to list it under (1 to 50 by default, each 1–256 characters).
    pub topics: Vec<String>,
    /// Lifetime in ms; the server clamps it (by default into 60 s … 24 h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Secret an answerer must present (at most 128 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Public note (at most 128 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    /// Our own offer id; the server derives one from the content when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl NewOffer {
    /// An offer of `sdp` under `topics`, with the server's defaults for everything else.
    pub fn new(
        sdp: impl Into<String>,
        topics: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            sdp: sdp.into(),
            topics: topics.into_iter().map(Into::into).collect(),
            ttl: None,
            secret: None,
            info: None,
            id: None,
        }
    }
}

/// `POST /offers` request body.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PublishRequest<'a> {
    pub(crate) offers: &'a [NewOffer],
}

/// `POST /offers` response body.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PublishResponse {
    pub(crate) offers: Vec<PublishedOffer>,
}

/// An offer as acknowledged by `POST /offers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedOffer {
    /// Offer id (content-based unless we chose one).
    pub id: String,
    /// Owner (us).
    pub peer_id: String,
    /// Topics as stored.
    pub topics: Vec<String>,
    /// Expiry time (ms).
    pub expires_at: u64,
}

/// An offer as `GET /offers/by-topic/:topic` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicOffer {
    /// Offer id.
    pub id: String,
    /// Owner.
    pub peer_id: String,
    /// The SDP offer.
    pub sdp: String,
    /// All topics of the offer.
    pub topics: Vec<String>,
    /// Expiry time (ms).
    pub expires_at: u64,
    /// Owner last seen (ms).
    pub last_seen: u64,
    /// Whether answering needs a secret.
    pub has_secret: bool,
    /// Public note.
    #[serde(default)]
    pub info: Option<String>,
    /// Who answered it already (`None` when free; the reference server omits the field).
    #[serde(default)]
    pub answerer_peer_id: Option<String>,
}

/// `GET /offers/by-topic/:topic` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicOffers {
    /// The topic asked for.
    pub topic: String,
    /// Offers, newest first, bloom-excluded owners left out.
    pub offers: Vec<TopicOffer>,
    /// Matching offers before the limit, excluded ones included.
    pub total: u64,
    /// `offers.len()`.
    pub returned: u64,
}

/// Parameters of `GET /topics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicsQuery {
    /// Page size (server default 50, at most 200).
    pub limit: Option<u32>,
    /// Topics to skip (default 0).
    pub offset: Option<u64>,
    /// Literal, case-sensitive prefix filter.
    pub starts_with: Option<String>,
}

/// One topic and how many distinct peers offer under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicSummary {
    /// The topic.
    pub topic: String,
    /// Distinct owners of unexpired offers.
    pub active_peers: u64,
}

/// `GET /topics` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicList {
    /// This page, most active first, then by topic.
    pub topics: Vec<TopicSummary>,
    /// Matching topics in all.
    pub total: u64,
    /// Page size used.
    pub limit: u64,
    /// Offset used.
    pub offset: u64,
    /// Prefix used, if any.
    #[serde(default)]
    pub starts_with: Option<String>,
}

/// An offer as `GET /peers/:peerId/offers` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerOffer {
    /// Offer id.
    pub id: String,
    /// The SDP offer.
    pub sdp: String,
    /// Topics.
    pub topics: Vec<String>,
    /// Expiry time (ms).
    pub expires_at: u64,
    /// Owner last seen (ms).
    pub last_seen: u64,
    /// Whether answering needs a secret.
    pub has_secret: bool,
    /// Public note.
    #[serde(default)]
    pub info: Option<String>,
}

/// `GET /peers/:peerId/offers` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerOffers {
    /// The peer asked about.
    pub peer_id: String,
    /// Its unexpired offers.
    pub offers: Vec<PeerOffer>,
    /// Distinct topics across them.
    pub topics: Vec<String>,
}

/// One of our own offers, as `GET /offers/mine` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MyOffer {
    /// Offer id.
    pub id: String,
    /// The SDP offer.
    pub sdp: String,
    /// Topics.
    pub topics: Vec<String>,
    /// Creation time (ms).
    pub created_at: u64,
    /// Expiry time (ms).
    pub expires_at: u64,
    /// Last seen (ms).
    pub last_seen: u64,
    /// Answer secret, if set.
    #[serde(default)]
    pub secret: Option<String>,
    /// Public note.
    #[serde(default)]
    pub info: Option<String>,
    /// Who answered.
    #[serde(default)]
    pub answerer_peer_id: Option<String>,
    /// When it was answered (ms).
    #[serde(default)]
    pub answered_at: Option<u64>,
}

/// `GET /offers/mine` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MyOffers {
    /// Us.
    pub peer_id: String,
    /// Our unexpired offers.
    pub offers: Vec<MyOffer>,
}

/// `POST /offers/:id/answer` request body.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AnswerRequest<'a> {
    pub(crate) sdp: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) secret: Option<&'a str>,
}

/// `POST /offers/:id/answer` response: the answer was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerAccepted {
    /// The offer answered.
    pub offer_id: String,
    /// Us.
    pub answerer_id: String,
    /// Stored answer time (ms).
    pub answered_at: u64,
}

/// An answer to one of our offers (`GET /offers/answers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    /// Our offer.
    pub offer_id: String,
    /// Who answered.
    pub answerer_id: String,
    /// Their SDP answer.
    pub sdp: String,
    /// When (ms).
    pub answered_at: u64,
    /// The offer's topics.
    pub topics: Vec<String>,
}

/// `GET /offers/answers` response.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AnswersResponse {
    pub(crate) answers: Vec<Answer>,
}

/// `POST /offers/:id/ice-candidates` request body.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CandidatesRequest<'a> {
    pub(crate) candidates: &'a [serde_json::Value],
}

/// `POST /offers/:id/ice-candidates` response.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CandidatesAdded {
    pub(crate) candidates_added: usize,
}

/// Which side of an offer posted a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The offer's owner.
    Offerer,
    /// The peer that answered it.
    Answerer,
}

/// One ICE candidate of the other side (`GET /offers/:id/ice-candidates`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    /// The candidate exactly as posted (browsers post an `RTCIceCandidateInit`).
    pub candidate: serde_json::Value,
    /// Who posted it.
    pub peer_id: String,
    /// Which side that is.
    pub role: Role,
    /// Server time, strictly increasing per offer on our server: pass the largest seen as
    /// `since` on the next poll.
    pub created_at: u64,
}

/// `GET /offers/:id/ice-candidates` response.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CandidatesResponse {
    pub(crate) candidates: Vec<IceCandidate>,
}

/// `GET /` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// Server version.
    pub version: String,
    /// `Rondevu`.
    pub name: String,
    /// One line about the server.
    pub description: String,
}

/// `GET /health` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// Server time (ms).
    pub timestamp: u64,
    /// Server version.
    pub version: String,
}

/// The `{"error": "..."}` body of a refusal.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) error: String,
}
