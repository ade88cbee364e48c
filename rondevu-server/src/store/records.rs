//! What the store gives back: typed rows of offers, topics, answers and candidates.

/// One stored offer as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferRecord {
    /// Offer id.
    pub id: String,
    /// Owner.
    pub peer_id: String,
    /// SDP offer.
    pub sdp: String,
    /// Topics in publish order.
    pub topics: Vec<String>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Expiry time (ms).
    pub expires_at: i64,
    /// Last time the owner was seen (ms).
    pub last_seen: i64,
    /// Answer secret.
    pub secret: Option<String>,
    /// Public note.
    pub info: Option<String>,
    /// Who answered.
    pub answerer_peer_id: Option<String>,
    /// The answer (not loaded by listings that do not show it).
    pub answer_sdp: Option<String>,
    /// When it was answered (ms).
    pub answered_at: Option<i64>,
}

impl OfferRecord {
    pub(super) fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let topics_json: String = row.get(3)?;
        let topics = serde_json::from_str(&topics_json).map_err(|error| {
            rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, error.into())
        })?;
        Ok(Self {
            id: row.get(0)?,
            peer_id: row.get(1)?,
            sdp: row.get(2)?,
            topics,
            created_at: row.get(4)?,
            expires_at: row.get(5)?,
            last_seen: row.get(6)?,
            secret: row.get(7)?,
            info: row.get(8)?,
            answerer_peer_id: row.get(9)?,
            answer_sdp: row.get(10)?,
            answered_at: row.get(11)?,
        })
    }
}

/// The outcome of a by-topic query bounded by a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicOffers {
    /// Offers not excluded by the bloom filter, newest `last_seen` first, at most `limit`.
    pub offers: Vec<OfferRecord>,
    /// Every unexpired offer under the topic, excluded ones included.
    pub total: u64,
}

/// One topic with its number of distinct offering peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicCount {
    /// The topic.
    pub topic: String,
    /// Distinct owners of unexpired offers under it.
    pub active_peers: u64,
}

/// A page of the topic list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPage {
    /// The topics of this page.
    pub topics: Vec<TopicCount>,
    /// How many topics match in all.
    pub total: u64,
}

/// Which side of an offer posted a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The offer's owner.
    Offerer,
    /// The offer's answerer.
    Answerer,
}

impl Role {
    /// The wire name (`offerer` / `answerer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Offerer => "offerer",
            Role::Answerer => "answerer",
        }
    }

    pub(super) fn other(self) -> Self {
        match self {
            Role::Offerer => Role::Answerer,
            Role::Answerer => Role::Offerer,
        }
    }
}

/// One stored ICE candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateRecord {
    /// The candidate's JSON text exactly as posted.
    pub candidate: String,
    /// Who posted it.
    pub peer_id: String,
    /// Which side posted it.
    pub role: Role,
    /// Strictly increasing per offer (ms).
    pub created_at: i64,
}

/// An answered offer, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRecord {
    /// The offer.
    pub offer_id: String,
    /// Who answered.
    pub answerer_id: String,
    /// The SDP answer.
    pub sdp: String,
    /// When (ms).
    pub answered_at: i64,
    /// The offer's topics.
    pub topics: Vec<String>,
}

/// A published offer, as acknowledged to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedOffer {
    /// Offer id.
    pub id: String,
    /// Owner.
    pub peer_id: String,
    /// Topics as stored.
    pub topics: Vec<String>,
    /// Expiry (ms).
    pub expires_at: i64,
}
