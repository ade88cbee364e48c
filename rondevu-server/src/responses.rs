//! Response bodies of the API (JSON, camelCase), one struct per answer shape. The by-topic
//! listing's shape lives with its cache (`listing_cache`).

use serde::Serialize;
use serde_json::value::RawValue;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ServerInfo {
    pub(crate) version: &'static str,
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Health {
    pub(crate) status: &'static str,
    pub(crate) timestamp: i64,
    pub(crate) version: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Registered {
    pub(crate) peer_id: String,
    pub(crate) secret: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PublishedBody {
    pub(crate) offers: Vec<PublishedItem>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PublishedItem {
    pub(crate) id: String,
    pub(crate) peer_id: String,
    pub(crate) topics: Vec<String>,
    pub(crate) expires_at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TopicsBody {
    pub(crate) topics: Vec<TopicItem>,
    pub(crate) total: u64,
    pub(crate) limit: usize,
    pub(crate) offset: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) starts_with: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TopicItem {
    pub(crate) topic: String,
    pub(crate) active_peers: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PeerOffersBody {
    pub(crate) peer_id: String,
    pub(crate) offers: Vec<PeerOfferItem>,
    pub(crate) topics: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PeerOfferItem {
    pub(crate) id: String,
    pub(crate) sdp: String,
    pub(crate) topics: Vec<String>,
    pub(crate) expires_at: i64,
    pub(crate) last_seen: i64,
    pub(crate) has_secret: bool,
    pub(crate) info: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MineBody {
    pub(crate) peer_id: String,
    pub(crate) offers: Vec<MyOfferItem>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MyOfferItem {
    pub(crate) id: String,
    pub(crate) sdp: String,
    pub(crate) topics: Vec<String>,
    pub(crate) created_at: i64,
    pub(crate) expires_at: i64,
    pub(crate) last_seen: i64,
    pub(crate) secret: Option<String>,
    pub(crate) info: Option<String>,
    pub(crate) answerer_peer_id: Option<String>,
    pub(crate) answered_at: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AnsweredBody {
    pub(crate) offer_id: String,
    pub(crate) answerer_id: String,
    pub(crate) answered_at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AnswersBody {
    pub(crate) answers: Vec<AnswerItem>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AnswerItem {
    pub(crate) offer_id: String,
    pub(crate) answerer_id: String,
    pub(crate) sdp: String,
    pub(crate) answered_at: i64,
    pub(crate) topics: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CandidatesAddedBody {
    pub(crate) offer_id: String,
    pub(crate) candidates_added: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CandidatesBody {
    pub(crate) offer_id: String,
    pub(crate) candidates: Vec<CandidateItem>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CandidateItem {
    pub(crate) candidate: Box<RawValue>,
    pub(crate) peer_id: String,
    pub(crate) role: &'static str,
    pub(crate) created_at: i64,
}
