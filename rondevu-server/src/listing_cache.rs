//! The by-topic listing cache: each topic's offers serialized once, reused until a write.
//!
//! `GET /offers/by-topic` is the hot read of a swarm (every peer polls it). An entry holds
//! every unexpired offer of one topic as ready JSON, tagged with the store's write
//! generation and the earliest expiry among them; it is served only while both still hold,
//! so answers are exactly what a fresh query would give. The bloom filter and the limit are
//! applied per request. Topics with many offers are not cached (their query is bounded by
//! the limit instead), and the whole cache has a byte budget.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use peer_bloom::PeerBloom;
use serde::Serialize;

use crate::store::OfferRecord;

/// Topics with more unexpired offers than this are listed straight from the database.
pub const MAX_CACHED_OFFERS_PER_TOPIC: usize = 1_000;
/// Total serialized bytes the cache may hold before it starts over.
pub const MAX_CACHED_BYTES: usize = 64 * 1024 * 1024;
/// Most topics held at once.
pub const MAX_CACHED_TOPICS: usize = 4_096;

/// One offer as `GET /offers/by-topic` lists it (the secret itself is never shown).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicOfferItem<'a> {
    id: &'a str,
    peer_id: &'a str,
    sdp: &'a str,
    topics: &'a [String],
    expires_at: i64,
    last_seen: i64,
    has_secret: bool,
    info: Option<&'a str>,
    answerer_peer_id: Option<&'a str>,
}

/// One listed offer: its owner (for the bloom filter) and its JSON.
#[derive(Debug)]
pub struct ListedOffer {
    peer_id: String,
    json: String,
}

impl ListedOffer {
    /// Serializes `offer` in its by-topic form.
    pub fn new(offer: &OfferRecord) -> Result<Self, serde_json::Error> {
        let json = serde_json::to_string(&TopicOfferItem {
            id: &offer.id,
            peer_id: &offer.peer_id,
            sdp: &offer.sdp,
            topics: &offer.topics,
            expires_at: offer.expires_at,
            last_seen: offer.last_seen,
            has_secret: offer.secret.is_some(),
            info: offer.info.as_deref(),
            answerer_peer_id: offer.answerer_peer_id.as_deref(),
        })?;
        Ok(Self {
            peer_id: offer.peer_id.clone(),
            json,
        })
    }
}

/// Offers of one topic, newest first, ready to list.
#[derive(Debug)]
pub struct TopicListing {
    generation: u64,
    valid_until: i64,
    offers: Vec<ListedOffer>,
    bytes: usize,
}

impl TopicListing {
    /// A listing of `offers` (newest first), read at store `generation`.
    pub fn new(generation: u64, offers: &[OfferRecord]) -> Result<Self, serde_json::Error> {
        let listed = offers
            .iter()
            .map(ListedOffer::new)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            generation,
            valid_until: offers
                .iter()
                .map(|offer| offer.expires_at)
                .min()
                .unwrap_or(i64::MAX),
            bytes: listed
                .iter()
                .map(|offer| offer.json.len() + offer.peer_id.len())
                .sum(),
            offers: listed,
        })
    }

    /// The response body: at most `limit` offers whose owner is not in `bloom`; `total`
    /// counts every offer of the topic, excluded ones included.
    pub fn render(&self, topic: &str, limit: usize, bloom: Option<&PeerBloom>) -> String {
        let shown = self
            .offers
            .iter()
            .filter(|offer| !bloom.is_some_and(|bloom| bloom.contains(&offer.peer_id)))
            .take(limit);
        render_listing(topic, shown, self.offers.len() as u64)
    }
}

/// A by-topic response body: `{"topic","offers","total","returned"}`.
pub fn render_listing<'a>(
    topic: &str,
    offers: impl Iterator<Item = &'a ListedOffer>,
    total: u64,
) -> String {
    let mut body = String::with_capacity(32 * 1024);
    body.push_str("{\"topic\":");
    // Serializing a string cannot fail.
    body.push_str(&serde_json::to_string(topic).unwrap_or_else(|_| "\"\"".to_string()));
    body.push_str(",\"offers\":[");
    let mut returned = 0usize;
    for offer in offers {
        if returned > 0 {
            body.push(',');
        }
        body.push_str(&offer.json);
        returned += 1;
    }
    body.push_str(&format!("],\"total\":{total},\"returned\":{returned}}}"));
    body
}

#[derive(Debug, Default)]
struct Entries {
    topics: HashMap<String, Arc<TopicListing>>,
    bytes: usize,
}

/// Locks that let one request per topic (stripe) refresh a listing at a time.
const REFRESH_STRIPES: usize = 64;

/// Topic → listing, shared by all request handlers.
#[derive(Debug)]
pub struct ListingCache {
    entries: RwLock<Entries>,
    refreshing: Box<[tokio::sync::Mutex<()>]>,
}

impl Default for ListingCache {
    fn default() -> Self {
        Self {
            entries: RwLock::default(),
            refreshing: (0..REFRESH_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        }
    }
}

impl ListingCache {
    /// The listing of `topic` if it was read at store `generation` or later (generations only
    /// grow) and none of its offers has expired by `now`.
    pub fn get(&self, topic: &str, generation: u64, now: i64) -> Option<Arc<TopicListing>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .topics
            .get(topic)
            .filter(|listing| listing.generation >= generation && now < listing.valid_until)
            .cloned()
    }

    /// The lock to hold while refreshing `topic` (shared with the topics of its stripe).
    pub fn refresh_lock(&self, topic: &str) -> &tokio::sync::Mutex<()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::hash::Hash::hash(topic, &mut hasher);
        let index = std::hash::Hasher::finish(&hasher) % REFRESH_STRIPES as u64;
        &self.refreshing[usize::try_from(index).unwrap_or(0)]
    }

    /// Keeps `listing` for `topic`, dropping everything when the budget would be exceeded.
    pub fn put(&self, topic: &str, listing: Arc<TopicListing>) {
        if listing.bytes > MAX_CACHED_BYTES / 4 {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = entries.topics.remove(topic) {
            entries.bytes -= old.bytes;
        }
        if entries.bytes + listing.bytes > MAX_CACHED_BYTES
            || entries.topics.len() >= MAX_CACHED_TOPICS
        {
            // Entries of older generations are dead anyway; starting over is simplest.
            entries.topics.clear();
            entries.bytes = 0;
        }
        entries.bytes += listing.bytes;
        entries.topics.insert(topic.to_string(), listing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(id: &str, peer: &str, expires_at: i64) -> OfferRecord {
        OfferRecord {
            id: id.to_string(),
            peer_id: peer.to_string(),
            sdp: "v=0\r\n\"quoted\"".to_string(),
            topics: vec!["t".to_string()],
            created_at: 1,
            expires_at,
            last_seen: 1,
            secret: Some("hidden".to_string()),
            info: None,
            answerer_peer_id: None,
            answer_sdp: None,
            answered_at: None,
        }
    }

    #[test]
    fn render_applies_bloom_and_limit_and_counts_all() {
        let offers = [
            offer("a", "p1", 10),
            offer("b", "p2", 20),
            offer("c", "p3", 30),
        ];
        let listing = TopicListing::new(7, &offers).expect("listing");
        let mut bloom = PeerBloom::new(1024, 3).expect("bloom");
        bloom.insert("p1");
        let body: serde_json::Value =
            serde_json::from_str(&listing.render("t\"", 1, Some(&bloom))).expect("json");
        assert_eq!(body["topic"], "t\"");
        assert_eq!(body["total"], 3);
        assert_eq!(body["returned"], 1);
        assert_eq!(body["offers"][0]["id"], "b");
        assert_eq!(body["offers"][0]["hasSecret"], true);
        assert_eq!(body["offers"][0]["sdp"], "v=0\r\n\"quoted\"");
        assert!(body["offers"][0]["answererPeerId"].is_null());
        assert!(!body.to_string().contains("hidden"));
    }

    #[test]
    fn entries_expire_with_their_earliest_offer_and_their_generation() {
        let cache = ListingCache::default();
        let listing = Arc::new(TopicListing::new(3, &[offer("a", "p", 100)]).expect("listing"));
        cache.put("t", listing);
        assert!(cache.get("t", 3, 99).is_some());
        assert!(cache.get("t", 3, 100).is_none(), "expired offer");
        assert!(cache.get("t", 4, 50).is_none(), "a write happened since");
        assert!(
            cache.get("t", 2, 50).is_some(),
            "read after what the caller needs"
        );
        assert!(cache.get("other", 3, 50).is_none());
    }
}
