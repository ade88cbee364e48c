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
