//! SQLite storage: offers, their topics and ICE candidates.
//!
//! One writer connection (behind a mutex, so writes are serialised and every multi-step
//! write is one transaction) and a small pool of reader connections. All calls block: the
//! HTTP layer runs them on tokio's blocking pool. In-memory databases use SQLite's `memdb`
//! VFS under a unique name, so every connection of one [`Store`] shares the same data.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use peer_bloom::PeerBloom;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::generation::TopicGenerations;
use crate::validation::NewOffer;

mod errors;
mod reader_pool;
mod records;

pub use errors::{AnswerError, CandidateError, PublishError, StoreError};
use reader_pool::ReaderPool;
pub use records::{
    AnswerRecord, CandidateRecord, OfferRecord, PublishedOffer, Role, TopicCount, TopicOffers,
    TopicPage,
};

/// Lock waits shorter than SQLite's default busy handler (which sleeps 1 ms and more at
/// once): readers meet the writer's short transactions often, and usually only for tens of
/// microseconds. The first [`SHORT_WAITS`] retries sleep [`SHORT_WAIT`], later ones
/// [`LONG_WAIT`], until about [`BUSY_GIVE_UP`] has passed and the call fails.
const SHORT_WAIT: Duration = Duration::from_micros(20);
const SHORT_WAITS: i32 = 200;
const LONG_WAIT: Duration = Duration::from_millis(1);
const BUSY_GIVE_UP: Duration = Duration::from_secs(10);

/// SQLite busy handler: true means "try again".
fn wait_for_lock(attempt: i32) -> bool {
    let waited_long = u128::try_from(attempt.saturating_sub(SHORT_WAITS).max(0)).unwrap_or(0);
    if waited_long * LONG_WAIT.as_micros() >= BUSY_GIVE_UP.as_micros() {
        return false;
    }
    std::thread::sleep(if attempt < SHORT_WAITS {
        SHORT_WAIT
    } else {
        LONG_WAIT
    });
    true
}

fn configure(connection: &Connection) -> Result<(), StoreError> {
    connection.busy_handler(Some(wait_for_lock))?;
    Ok(())
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS offers (
    id TEXT PRIMARY KEY NOT NULL,
    peer_id TEXT NOT NULL,
    sdp TEXT NOT NULL,
    topics TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    secret TEXT,
    info TEXT,
    answerer_peer_id TEXT,
    answer_sdp TEXT,
    answered_at INTEGER
);
CREATE INDEX IF NOT EXISTS offers_by_peer ON offers(peer_id, last_seen);
CREATE INDEX IF NOT EXISTS offers_by_expiry ON offers(expires_at);
CREATE TABLE IF NOT EXISTS offer_topics (
    topic TEXT NOT NULL,
    offer_id TEXT NOT NULL REFERENCES offers(id) ON DELETE CASCADE,
    PRIMARY KEY (topic, offer_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS offer_topics_by_offer ON offer_topics(offer_id);
CREATE TABLE IF NOT EXISTS ice_candidates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    offer_id TEXT NOT NULL REFERENCES offers(id) ON DELETE CASCADE,
    peer_id TEXT NOT NULL,
    role TEXT NOT NULL,
    candidate TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ice_candidates_by_offer ON ice_candidates(offer_id, created_at);
";

/// The columns [`OfferRecord::from_row`] reads, in order.
const OFFER_COLUMNS: &str = "o.id, o.peer_id, o.sdp, o.topics, o.created_at, o.expires_at, \
     o.last_seen, o.secret, o.info, o.answerer_peer_id, o.answer_sdp, o.answered_at";

/// The database: one writer and a pool of readers.
pub struct Store {
    writer: Mutex<Connection>,
    readers: ReaderPool,
    /// Changed after every committed write that can change a listing (see [`Store::generation`]).
    generations: TopicGenerations,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store(..)")
    }
}

/// Distinguishes in-memory databases of several stores in one process.
static MEMORY_DB_COUNTER: AtomicU64 = AtomicU64::new(0);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    /// Opens (creating if needed) the database at `path`, or a private in-memory one when
    /// `path` is `None`, with `readers` reader connections (at least one).
    pub fn open(path: Option<&Path>, readers: usize) -> Result<Self, StoreError> {
        let readers = readers.max(1);
        let (writer, reader_conns) = match path {
            Some(path) => {
                let writer = Connection::open(path)?;
                configure(&writer)?;
                writer.pragma_update(None, "journal_mode", "WAL")?;
                writer.pragma_update(None, "synchronous", "NORMAL")?;
                prepare_writer(&writer)?;
                let mut conns = Vec::with_capacity(readers);
                for _ in 0..readers {
                    let reader = Connection::open_with_flags(
                        path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )?;
                    configure(&reader)?;
                    conns.push(reader);
                }
                (writer, conns)
            }
            None => {
                let name = format!(
                    "file:/rondevu-{}-{}?vfs=memdb",
                    std::process::id(),
                    MEMORY_DB_COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let writer = Connection::open_with_flags(&name, flags)?;
                configure(&writer)?;
                prepare_writer(&writer)?;
                let mut conns = Vec::with_capacity(readers);
                for _ in 0..readers {
                    let reader = Connection::open_with_flags(&name, flags)?;
                    configure(&reader)?;
                    conns.push(reader);
                }
                (writer, conns)
            }
        };
        Ok(Self {
            writer: Mutex::new(writer),
            readers: ReaderPool::new(reader_conns),
            generations: TopicGenerations::default(),
        })
    }

    /// A number that changes after every committed write that can change what the listing
    /// of `topic` shows (publish, delete, answer, sweep). Read it *before* a query: a result
    /// tagged with a generation that is still current is still exact, apart from expiry.
    pub fn generation(&self, topic: &str) -> u64 {
        self.generations.current(topic)
    }

    /// Marks the topics of a stored `topics` JSON array as changed (all topics if it does not
    /// parse, which never happens for rows we wrote).
    fn bump_topics_json(&self, topics: &str) {
        match serde_json::from_str::<Vec<String>>(topics) {
            Ok(topics) => self.generations.bump(&topics),
            Err(_) => self.generations.bump_all(),
        }
    }

    /// Stores `offers` for `peer_id` atomically: all of them or (on any error) none.
    pub fn publish(
        &self,
        peer_id: &str,
        offers: &[NewOffer],
        now: i64,
    ) -> Result<Vec<PublishedOffer>, PublishError> {
        let mut seen = HashSet::with_capacity(offers.len());
        let ids: Vec<String> = offers
            .iter()
            .map(|offer| {
                offer
                    .id
                    .clone()
                    .unwrap_or_else(|| crate::offer_id::offer_id(&offer.sdp, &offer.topics))
            })
            .collect();
        for id in &ids {
            if !seen.insert(id.as_str()) {
                return Err(PublishError::Conflict(id.clone()));
            }
        }
        let mut writer = lock(&self.writer);
        let tx = writer.transaction()?;
        let mut published = Vec::with_capacity(offers.len());
        {
            let mut exists = tx.prepare_cached("SELECT 1 FROM offers WHERE id = ?1")?;
            let mut insert_offer = tx.prepare_cached(
                "INSERT INTO offers (id, peer_id, sdp, topics, created_at, expires_at, last_seen, secret, info)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5, ?7, ?8)",
            )?;
            let mut insert_topic =
                tx.prepare_cached("INSERT INTO offer_topics (topic, offer_id) VALUES (?1, ?2)")?;
            for (offer, id) in offers.iter().zip(ids) {
                if exists.exists(params![id])? {
                    return Err(PublishError::Conflict(id));
                }
                let expires_at =
                    now.saturating_add(i64::try_from(offer.ttl_ms).unwrap_or(i64::MAX));
                let topics_json = serde_json::to_string(&offer.topics)
                    .map_err(|error| StoreError::Corrupt(error.to_string()))?;
                insert_offer.execute(params![
                    id,
                    peer_id,
                    offer.sdp,
                    topics_json,
                    now,
                    expires_at,
                    offer.secret,
                    offer.info
                ])?;
                for topic in &offer.topics {
                    insert_topic.execute(params![topic, id])?;
                }
                published.push(PublishedOffer {
                    id,
                    peer_id: peer_id.to_string(),
                    topics: offer.topics.clone(),
                    expires_at,
                });
            }
        }
        tx.commit()?;
        drop(writer);
        self.generations
            .bump(offers.iter().flat_map(|offer| offer.topics.iter()));
        Ok(published)
    }

    /// Unexpired offers under `topic`, newest first, leaving out owners in `bloom`.
    pub fn by_topic(
        &self,
        topic: &str,
        now: i64,
        limit: usize,
        bloom: Option<&PeerBloom>,
    ) -> Result<TopicOffers, StoreError> {
        self.readers.with(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT o.id, o.peer_id, o.sdp, o.topics, o.created_at, o.expires_at, o.last_seen,
                        o.secret, o.info, o.answerer_peer_id, NULL, o.answered_at
                 FROM offer_topics t JOIN offers o ON o.id = t.offer_id
                 WHERE t.topic = ?1 AND o.expires_at > ?2
                 ORDER BY o.last_seen DESC, o.rowid DESC",
            )?;
            let mut rows = statement.query(params![topic, now])?;
            let mut offers = Vec::with_capacity(limit.min(64));
            let mut total = 0u64;
            while let Some(row) = rows.next()? {
                total += 1;
                if offers.len() >= limit {
                    continue;
                }
                if let Some(bloom) = bloom {
                    let owner = row
                        .get_ref(1)?
                        .as_str()
                        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
                    if bloom.contains(owner) {
                        continue;
                    }
                }
                offers.push(OfferRecord::from_row(row)?);
            }
            Ok(TopicOffers { offers, total })
        })
    }

    /// Every unexpired offer under `topic`, newest first (answers not loaded), or `None` when
    /// there are more than `max` of them.
    pub fn topic_snapshot(
        &self,
        topic: &str,
        now: i64,
        max: usize,
    ) -> Result<Option<Vec<OfferRecord>>, StoreError> {
        let fetch = i64::try_from(max.saturating_add(1)).unwrap_or(i64::MAX);
        self.readers.with(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT o.id, o.peer_id, o.sdp, o.topics, o.created_at, o.expires_at, o.last_seen,
                        o.secret, o.info, o.answerer_peer_id, NULL, o.answered_at
                 FROM offer_topics t JOIN offers o ON o.id = t.offer_id
                 WHERE t.topic = ?1 AND o.expires_at > ?2
                 ORDER BY o.last_seen DESC, o.rowid DESC LIMIT ?3",
            )?;
            let offers = statement
                .query_map(params![topic, now, fetch], OfferRecord::from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((offers.len() <= max).then_some(offers))
        })
    }

    /// Topics with unexpired offers, most active first, then by topic.
    pub fn topics(
        &self,
        now: i64,
        limit: usize,
        offset: u64,
        starts_with: Option<&str>,
    ) -> Result<TopicPage, StoreError> {
        let offset = i64::try_from(offset).unwrap_or(i64::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // `?2` NULL means no prefix; otherwise a literal, case-sensitive prefix match.
        let filter = "o.expires_at > ?1 AND (?2 IS NULL OR substr(t.topic, 1, length(?2)) = ?2)";
        self.readers.with(|conn| {
            let mut page = conn.prepare_cached(&format!(
                "SELECT t.topic, COUNT(DISTINCT o.peer_id) AS active
                 FROM offer_topics t JOIN offers o ON o.id = t.offer_id
                 WHERE {filter}
                 GROUP BY t.topic ORDER BY active DESC, t.topic ASC LIMIT ?3 OFFSET ?4"
            ))?;
            let topics = page
                .query_map(params![now, starts_with, limit, offset], |row| {
                    Ok(TopicCount {
                        topic: row.get(0)?,
                        active_peers: row.get::<_, i64>(1)?.unsigned_abs(),
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut count = conn.prepare_cached(&format!(
                "SELECT COUNT(DISTINCT t.topic) FROM offer_topics t JOIN offers o ON o.id = t.offer_id
                 WHERE {filter}"
            ))?;
            let total: i64 = count.query_row(params![now, starts_with], |row| row.get(0))?;
            Ok(TopicPage {
                topics,
                total: total.unsigned_abs(),
            })
        })
    }

    /// Unexpired offers of `peer_id`, newest first (answers not loaded).
    pub fn peer_offers(&self, peer_id: &str, now: i64) -> Result<Vec<OfferRecord>, StoreError> {
        self.offers_of(peer_id, now)
    }

    fn offers_of(&self, peer_id: &str, now: i64) -> Result<Vec<OfferRecord>, StoreError> {
        self.readers.with(|conn| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT {OFFER_COLUMNS} FROM offers o
                 WHERE o.peer_id = ?1 AND o.expires_at > ?2
                 ORDER BY o.last_seen DESC, o.rowid DESC"
            ))?;
            let offers = statement
                .query_map(params![peer_id, now], OfferRecord::from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(offers)
        })
    }

    /// The caller's own unexpired offers with everything stored about them.
    pub fn mine(&self, peer_id: &str, now: i64) -> Result<Vec<OfferRecord>, StoreError> {
        self.offers_of(peer_id, now)
    }

    /// Deletes `offer_id` if `peer_id` owns it; true when something was deleted.
    pub fn delete(&self, peer_id: &str, offer_id: &str) -> Result<bool, StoreError> {
        let writer = lock(&self.writer);
        let topics: Option<String> = writer
            .prepare_cached("DELETE FROM offers WHERE id = ?1 AND peer_id = ?2 RETURNING topics")?
            .query_row(params![offer_id, peer_id], |row| row.get(0))
            .optional()?;
        drop(writer);
        let Some(topics) = topics else {
            return Ok(false);
        };
        self.bump_topics_json(&topics);
        Ok(true)
    }

    /// Records `answerer`'s answer if the offer is unexpired, unanswered and the secret fits;
    /// returns the stored `answeredAt`.
    pub fn answer(
        &self,
        offer_id: &str,
        answerer: &str,
        sdp: &str,
        secret: Option<&str>,
        now: i64,
    ) -> Result<i64, AnswerError> {
        let mut writer = lock(&self.writer);
        let tx = writer.transaction()?;
        let found: Option<(Option<String>, Option<String>, String)> = tx
            .prepare_cached(
                "SELECT secret, answerer_peer_id, topics FROM offers WHERE id = ?1 AND expires_at > ?2",
            )?
            .query_row(params![offer_id, now], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .optional()?;
        let Some((stored_secret, answerer_peer_id, topics)) = found else {
            return Err(AnswerError::NotFound);
        };
        if let Some(expected) = stored_secret.as_deref() {
            let given = secret.unwrap_or_default();
            if !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
                return Err(AnswerError::InvalidSecret);
            }
        }
        if answerer_peer_id.is_some() {
            return Err(AnswerError::AlreadyAnswered);
        }
        tx.prepare_cached(
            "UPDATE offers SET answerer_peer_id = ?2, answer_sdp = ?3, answered_at = ?4
             WHERE id = ?1 AND answerer_peer_id IS NULL",
        )?
        .execute(params![offer_id, answerer, sdp, now])?;
        tx.commit()?;
        drop(writer);
        self.bump_topics_json(&topics);
        Ok(now)
    }

    /// The owner's unexpired, answered offers, newest answer first.
    pub fn answers(&self, peer_id: &str, now: i64) -> Result<Vec<AnswerRecord>, StoreError> {
        self.readers.with(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT id, answerer_peer_id, answer_sdp, answered_at, topics FROM offers
                 WHERE peer_id = ?1 AND expires_at > ?2 AND answerer_peer_id IS NOT NULL
                 ORDER BY answered_at DESC, rowid DESC",
            )?;
            let rows = statement
                .query_map(params![peer_id, now], |row| {
                    let topics: String = row.get(4)?;
                    Ok((
                        AnswerRecord {
                            offer_id: row.get(0)?,
                            answerer_id: row.get(1)?,
                            sdp: row.get(2)?,
                            answered_at: row.get(3)?,
                            topics: Vec::new(),
                        },
                        topics,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(mut answer, topics)| {
                    answer.topics = serde_json::from_str(&topics)
                        .map_err(|error| StoreError::Corrupt(error.to_string()))?;
                    Ok(answer)
                })
                .collect()
        })
    }

    /// Which side `peer_id` is on for an unexpired offer.
    fn role_of(
        conn: &Connection,
        offer_id: &str,
        peer_id: &str,
        now: i64,
    ) -> Result<Role, CandidateError> {
        let sides: Option<(String, Option<String>)> = conn
            .prepare_cached(
                "SELECT peer_id, answerer_peer_id FROM offers WHERE id = ?1 AND expires_at > ?2",
            )?
            .query_row(params![offer_id, now], |row| Ok((row.get(0)?, row.get(1)?)))
            .optional()?;
        let Some((owner, answerer)) = sides else {
            return Err(CandidateError::NotFound);
        };
        if owner == peer_id {
            Ok(Role::Offerer)
        } else if answerer.as_deref() == Some(peer_id) {
            Ok(Role::Answerer)
        } else {
            Err(CandidateError::Forbidden)
        }
    }

    /// Stores candidates posted by `peer_id` (owner or answerer); `createdAt` values are
    /// strictly increasing per offer, so a `since` poller never skips one.
    pub fn add_candidates(
        &self,
        offer_id: &str,
        peer_id: &str,
        candidates: &[String],
        now: i64,
    ) -> Result<usize, CandidateError> {
        let mut writer = lock(&self.writer);
        let tx = writer.transaction()?;
        let role = Self::role_of(&tx, offer_id, peer_id, now)?;
        let last: Option<i64> = tx
            .prepare_cached("SELECT MAX(created_at) FROM ice_candidates WHERE offer_id = ?1")?
            .query_row(params![offer_id], |row| row.get(0))?;
        let mut created_at = last.map_or(now, |last| now.max(last.saturating_add(1)));
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO ice_candidates (offer_id, peer_id, role, candidate, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for candidate in candidates {
                insert.execute(params![
                    offer_id,
                    peer_id,
                    role.as_str(),
                    candidate,
                    created_at
                ])?;
                created_at = created_at.saturating_add(1);
            }
        }
        tx.commit()?;
        Ok(candidates.len())
    }

    /// The other side's candidates with `createdAt > since`, oldest first.
    pub fn candidates(
        &self,
        offer_id: &str,
        peer_id: &str,
        since: Option<i64>,
        now: i64,
    ) -> Result<Vec<CandidateRecord>, CandidateError> {
        self.readers.with(|conn| {
            let role = Self::role_of(conn, offer_id, peer_id, now)?;
            let wanted = role.other();
            let mut statement = conn.prepare_cached(
                "SELECT candidate, peer_id, created_at FROM ice_candidates
                 WHERE offer_id = ?1 AND role = ?2 AND created_at > ?3
                 ORDER BY created_at ASC, id ASC",
            )?;
            let rows = statement
                .query_map(
                    params![offer_id, wanted.as_str(), since.unwrap_or(i64::MIN)],
                    |row| {
                        Ok(CandidateRecord {
                            candidate: row.get(0)?,
                            peer_id: row.get(1)?,
                            role: wanted,
                            created_at: row.get(2)?,
                        })
                    },
                )?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Deletes expired offers (their topics and candidates go with them); returns how many.
    pub fn sweep(&self, now: i64) -> Result<usize, StoreError> {
        let writer = lock(&self.writer);
        let deleted = writer
            .prepare_cached("DELETE FROM offers WHERE expires_at <= ?1")?
            .execute(params![now])?;
        drop(writer);
        if deleted > 0 {
            self.generations.bump_all();
        }
        Ok(deleted)
    }

    /// Number of stored rows in `offers`, expired ones included (for tests and logs).
    pub fn stored_offer_count(&self) -> Result<u64, StoreError> {
        let writer = lock(&self.writer);
        let count: i64 = writer.query_row("SELECT COUNT(*) FROM offers", [], |row| row.get(0))?;
        Ok(count.unsigned_abs())
    }
}

fn prepare_writer(conn: &Connection) -> Result<(), StoreError> {
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.execute_batch(SCHEMA)?;
    Ok(())
}

/// Compares secrets without an early exit on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(sdp: &str, topics: &[&str]) -> NewOffer {
        NewOffer {
            id: None,
            sdp: sdp.to_string(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            ttl_ms: 60_000,
            secret: None,
            info: Some("note".to_string()),
        }
    }

    #[test]
    fn memory_stores_are_shared_between_connections_and_private_between_stores() {
        let first = Store::open(None, 2).expect("open");
        let second = Store::open(None, 2).expect("open");
        first
            .publish("p", &[offer("a", &["t"])], 1_000)
            .expect("publish");
        let listing = first.by_topic("t", 1_000, 50, None).expect("read");
        assert_eq!(listing.total, 1);
        assert_eq!(listing.offers[0].info.as_deref(), Some("note"));
        assert_eq!(
            second.by_topic("t", 1_000, 50, None).expect("read").total,
            0
        );
    }

    #[test]
    fn conflicting_publish_stores_nothing() {
        let store = Store::open(None, 1).expect("open");
        store
            .publish("p", &[offer("a", &["t"])], 1_000)
            .expect("publish");
        let result = store.publish("q", &[offer("b", &["t"]), offer("a", &["t"])], 1_001);
        assert!(matches!(result, Err(PublishError::Conflict(_))));
        assert_eq!(store.stored_offer_count().expect("count"), 1);
        let result = store.publish("q", &[offer("c", &["t"]), offer("c", &["t"])], 1_001);
        assert!(matches!(result, Err(PublishError::Conflict(_))));
        assert_eq!(store.stored_offer_count().expect("count"), 1);
    }

    #[test]
    fn expired_offers_are_hidden_then_swept_with_their_candidates() {
        let store = Store::open(None, 1).expect("open");
        let published = store
            .publish("p", &[offer("a", &["t"])], 1_000)
            .expect("publish");
        let id = &published[0].id;
        store
            .add_candidates(id, "p", &["{}".to_string()], 1_000)
            .expect("candidates");
        let expiry = published[0].expires_at;
        assert_eq!(
            store
                .by_topic("t", expiry - 1, 50, None)
                .expect("read")
                .total,
            1
        );
        assert_eq!(
            store.by_topic("t", expiry, 50, None).expect("read").total,
            0
        );
        assert!(store.mine("p", expiry).expect("mine").is_empty());
        assert_eq!(store.sweep(expiry).expect("sweep"), 1);
        assert_eq!(store.stored_offer_count().expect("count"), 0);
        let writer = lock(&store.writer);
        let candidates: i64 = writer
            .query_row("SELECT COUNT(*) FROM ice_candidates", [], |row| row.get(0))
            .expect("count");
        assert_eq!(candidates, 0);
    }

    #[test]
    fn candidate_times_strictly_increase_within_one_millisecond() {
        let store = Store::open(None, 1).expect("open");
        let id = store
            .publish("p", &[offer("a", &["t"])], 1_000)
            .expect("publish")[0]
            .id
            .clone();
        store
            .answer(&id, "q", "answer", None, 1_000)
            .expect("answer");
        for _ in 0..3 {
            store
                .add_candidates(&id, "p", &["1".to_string(), "2".to_string()], 1_000)
                .expect("offerer");
            store
                .add_candidates(&id, "q", &["3".to_string()], 1_000)
                .expect("answerer");
        }
        let writer = lock(&store.writer);
        let mut statement = writer
            .prepare("SELECT created_at FROM ice_candidates ORDER BY id")
            .expect("prepare");
        let times: Vec<i64> = statement
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(times, (1_000..1_009).collect::<Vec<i64>>());
    }
}
