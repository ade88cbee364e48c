//! What the integration tests share: a real server on 127.0.0.1, a small torrent, and peers
//! each with its own manager, WebRTC driver (loopback only) and engine.

#![allow(dead_code)] // each test file uses its own part of this module

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bt_swarm::layout::TorrentLayout;
use bt_swarm::store::MemoryStore;
use bt_swarm::{Engine, EngineConfig, Storage, TorrentHandle};
use bt_wire::{InfoHash, Metainfo, TorrentBuilder};
use rondevu_discovery::{
    DiscoveryEvent, DiscoveryEvents, DiscoveryOptions, Manager, RtcConfig, Signaling, SwarmSink,
};
use rondevu_rtc::{Driver, DriverConfig};
use rondevu_server::{ServerConfig, ServerHandle};

/// Every wait in these tests ends within this, or the test fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Awaits `future` within [`DEADLINE`], or fails naming `what`.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// A server on 127.0.0.1 with an in-memory database.
pub fn server() -> ServerHandle {
    rondevu_server::serve(ServerConfig {
        port: 0,
        worker_threads: Some(1),
        ..ServerConfig::default()
    })
    .expect("server starts")
}

/// Random content and its torrent (16 KiB pieces).
pub struct Content {
    pub bytes: Vec<u8>,
    pub metainfo: Metainfo,
}

impl Content {
    pub fn new(seed: u64, len: usize) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut bytes = vec![0u8; len];
        rng.fill(&mut bytes);
        let metainfo = TorrentBuilder::new("content.bin", 16 * 1024)
            .single_file(len as u64)
            .build_from_data(&[&bytes])
            .expect("torrent");
        Self { bytes, metainfo }
    }

    pub fn info_hash(&self) -> InfoHash {
        self.metainfo.info_hash()
    }

    /// The seeder's storage: every piece present.
    pub fn seed_storage(&self) -> Storage {
        let layout = Arc::new(TorrentLayout::from_info(&self.metainfo.info).expect("layout"));
        Storage::Store(Arc::new(MemoryStore::with_content(layout, &self.bytes)))
    }

    /// Reads every verified piece back from `torrent` and compares it with the content.
    pub async fn assert_identical(&self, torrent: &TorrentHandle) {
        let piece_len = 16 * 1024;
        let pieces = self.bytes.len().div_ceil(piece_len);
        for piece in 0..pieces {
            let data = torrent
                .read_piece(piece as u32)
                .await
                .unwrap_or_else(|| panic!("piece {piece} not verified"));
            let start = piece * piece_len;
            let end = (start + piece_len).min(self.bytes.len());
            assert!(data == self.bytes[start..end], "piece {piece} differs");
        }
    }
}

/// Options for a test peer: the local server, loopback WebRTC, short timers.
pub fn options(server_url: &str) -> DiscoveryOptions {
    DiscoveryOptions {
        rtc_config: RtcConfig::loopback(),
        connect_timeout: Duration::from_secs(5),
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(500),
        ..DiscoveryOptions::new(server_url)
    }
}

pub fn engine() -> Arc<Engine> {
    Arc::new(Engine::new(EngineConfig {
        tick_interval: Duration::from_millis(100),
        ..EngineConfig::default()
    }))
}

/// A manager over any signaling (the real client, or a wrapper around it), the real
/// WebRTC driver on loopback and a fresh engine.
pub async fn peer_with<S: Signaling>(
    options: DiscoveryOptions,
    signaling: S,
) -> Manager<S, Driver, SwarmSink> {
    let driver = Driver::start(DriverConfig::default())
        .await
        .expect("driver starts");
    Manager::new(options, signaling, driver, SwarmSink::new(engine()))
}

/// A manager with the real `rondevu-api` client.
pub async fn peer(options: DiscoveryOptions) -> Manager<rondevu_api::Client, Driver, SwarmSink> {
    let client = rondevu_api::Client::builder(&options.rondevu_server)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    peer_with(options, client).await
}

/// Waits for the first event `matches` accepts.
pub async fn wait_event(
    events: &mut DiscoveryEvents,
    what: &str,
    mut matches: impl FnMut(&DiscoveryEvent) -> bool,
) -> DiscoveryEvent {
    within(what, async {
        loop {
            let event = events.recv().await.expect("manager alive");
            if matches(&event) {
                return event;
            }
        }
    })
    .await
}

/// `GET /offers/mine` for the manager's identity is empty.
pub fn assert_no_offers_left(server_url: &str, credentials: &rondevu_api::Credentials) {
    let client = rondevu_api::Client::new(server_url).expect("client");
    let mine = client.my_offers(credentials).expect("offers/mine");
    assert!(
        mine.offers.is_empty(),
        "offers left after destroy: {:?}",
        mine.offers
            .iter()
            .map(|offer| &offer.id)
            .collect::<Vec<_>>()
    );
}

/// What a [`Recording`] signaling saw and how it misbehaves.
#[derive(Debug, Default)]
pub struct SignalingLog {
    /// Every by-topic response, with the peers known to be connected when it was asked.
    pub topic_responses: std::sync::Mutex<Vec<rondevu_api::TopicOffers>>,
    /// Offers published, in order.
    pub published: std::sync::Mutex<Vec<String>>,
    /// Candidates posted per offer (those dropped included).
    pub posted: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    /// Act like the reference offerer: never post a candidate (they are dropped).
    pub drop_candidate_posts: std::sync::atomic::AtomicBool,
    /// Act like the reference server: no `answererPeerId` in by-topic listings.
    pub strip_answerer: std::sync::atomic::AtomicBool,
    /// Find nothing by topic (a peer that only offers).
    pub blind: std::sync::atomic::AtomicBool,
}

/// The real `rondevu-api` client behind the `Signaling` seam, recording what the server
/// answered and able to imitate the reference client and server.
#[derive(Debug, Clone)]
pub struct Recording {
    pub inner: rondevu_api::Client,
    pub log: Arc<SignalingLog>,
}

impl Recording {
    pub fn new(server_url: &str) -> Self {
        Self {
            inner: rondevu_api::Client::builder(server_url)
                .timeout(Duration::from_secs(5))
                .build()
                .expect("client"),
            log: Arc::default(),
        }
    }
}

use rondevu_api::{Answer, Credentials, IceCandidate, MyOffer, NewOffer, PublishedOffer};
use rondevu_discovery::SignalingError;
use std::sync::atomic::Ordering;

impl Signaling for Recording {
    async fn register(&self) -> Result<Credentials, SignalingError> {
        Signaling::register(&self.inner).await
    }

    async fn publish(
        &self,
        credentials: &Credentials,
        offers: Vec<NewOffer>,
    ) -> Result<Vec<PublishedOffer>, SignalingError> {
        let published = Signaling::publish(&self.inner, credentials, offers).await?;
        let mut log = self.log.published.lock().unwrap();
        log.extend(published.iter().map(|offer| offer.id.clone()));
        Ok(published)
    }

    async fn offers_by_topic(
        &self,
        topic: &str,
        limit: u32,
        bloom: &peer_bloom::PeerBloom,
    ) -> Result<rondevu_api::TopicOffers, SignalingError> {
        let mut found = Signaling::offers_by_topic(&self.inner, topic, limit, bloom).await?;
        self.log.topic_responses.lock().unwrap().push(found.clone());
        if self.log.blind.load(Ordering::Relaxed) {
            found.offers.clear();
        }
        if self.log.strip_answerer.load(Ordering::Relaxed) {
            for offer in &mut found.offers {
                offer.answerer_peer_id = None;
            }
        }
        Ok(found)
    }

    async fn answer(
        &self,
        credentials: &Credentials,
        offer_id: &str,
        sdp: &str,
    ) -> Result<(), SignalingError> {
        Signaling::answer(&self.inner, credentials, offer_id, sdp).await
    }

    async fn answers(&self, credentials: &Credentials) -> Result<Vec<Answer>, SignalingError> {
        Signaling::answers(&self.inner, credentials).await
    }

    async fn post_candidates(
        &self,
        credentials: &Credentials,
        offer_id: &str,
        candidates: Vec<serde_json::Value>,
    ) -> Result<(), SignalingError> {
        *self
            .log
            .posted
            .lock()
            .unwrap()
            .entry(offer_id.to_string())
            .or_default() += candidates.len();
        if self.log.drop_candidate_posts.load(Ordering::Relaxed) {
            return Ok(());
        }
        Signaling::post_candidates(&self.inner, credentials, offer_id, candidates).await
    }

    async fn candidates(
        &self,
        credentials: &Credentials,
        offer_id: &str,
        since: Option<u64>,
    ) -> Result<Vec<IceCandidate>, SignalingError> {
        Signaling::candidates(&self.inner, credentials, offer_id, since).await
    }

    async fn delete_offer(
        &self,
        credentials: &Credentials,
        offer_id: &str,
    ) -> Result<(), SignalingError> {
        Signaling::delete_offer(&self.inner, credentials, offer_id).await
    }

    async fn my_offers(&self, credentials: &Credentials) -> Result<Vec<MyOffer>, SignalingError> {
        Signaling::my_offers(&self.inner, credentials).await
    }
}
