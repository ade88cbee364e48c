//! `cargo xtask bench discovery` runs this (release): how long a leecher takes from its
//! start to its first open data channel and to its first verified piece, found through a
//! real Rondevu server on 127.0.0.1 by an idle seeder, over real WebRTC on loopback.
//!
//! Baseline, same run: two `rondevu-rtc` peers on loopback exchanging their SDP and
//! candidates directly in memory (no server, no polling): the floor discovery adds to.
//!
//! Options: `--runs N` (50), `--idle-ms N` (1000: how long the seeder sits idle before each
//! leecher starts, so its answer polling has slowed to its idle pace; a random 0–1000 ms is
//! added so newcomers arrive at every phase of that polling), `--mib N` (1).
//! Prints `key=value` lines.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bt_swarm::layout::TorrentLayout;
use bt_swarm::store::MemoryStore;
use bt_swarm::{Engine, EngineConfig, Storage};
use bt_wire::TorrentBuilder;
use rondevu_discovery::{DiscoveryEvent, DiscoveryOptions, RondevuConnectionManager, RtcConfig};
use rondevu_rtc::{Driver, DriverConfig, PeerNotice};

const RUN_DEADLINE: Duration = Duration::from_secs(30);

fn option(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|index| args.get(index + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

/// Two rtc peers connected with their signaling passed in memory: time to both channels open.
async fn direct_connect(left: &Driver, right: &Driver) -> Duration {
    let started = Instant::now();
    let mut offerer = left.new_peer().expect("peer");
    let mut answerer = right.new_peer().expect("peer");
    let offer = offerer.create_offer().await.expect("offer");
    let answer = answerer.accept_offer(&offer).await.expect("answer");
    offerer.accept_answer(&answer).await.expect("accept");
    let (mut offerer_open, mut answerer_open) = (None, None);
    while offerer_open.is_none() || answerer_open.is_none() {
        tokio::select! {
            notice = offerer.next_notice() => match notice.expect("offerer alive") {
                PeerNotice::LocalCandidate(candidate) => { answerer.add_remote_candidate(candidate).await.expect("candidate"); }
                PeerNotice::Open(stream) => offerer_open = Some(stream),
                PeerNotice::Failed(reason) => panic!("offerer failed: {reason}"),
                _ => {}
            },
            notice = answerer.next_notice() => match notice.expect("answerer alive") {
                PeerNotice::LocalCandidate(candidate) => { offerer.add_remote_candidate(candidate).await.expect("candidate"); }
                PeerNotice::Open(stream) => answerer_open = Some(stream),
                PeerNotice::Failed(reason) => panic!("answerer failed: {reason}"),
                _ => {}
            },
        }
    }
    started.elapsed()
}

fn options(url: &str) -> DiscoveryOptions {
    DiscoveryOptions {
        rtc_config: RtcConfig::loopback(),
        ..DiscoveryOptions::new(url)
    }
}

fn main() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs = option(&args, "--runs", 50).max(1) as usize;
    let idle = Duration::from_millis(option(&args, "--idle-ms", 1000));
    let mib = option(&args, "--mib", 1).max(1) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(bench(runs, idle, mib));
}

async fn bench(runs: usize, idle: Duration, mib: usize) {
    let server = rondevu_server::serve(rondevu_server::ServerConfig {
        port: 0,
        worker_threads: Some(1),
        ..rondevu_server::ServerConfig::default()
    })
    .expect("server");
    let url = server.url();

    let mut bytes = vec![0u8; mib * 1024 * 1024];
    fastrand::Rng::with_seed(1).fill(&mut bytes);
    let metainfo = TorrentBuilder::new("bench.bin", 16 * 1024)
        .single_file(bytes.len() as u64)
        .build_from_data(&[&bytes])
        .expect("torrent");
    let info_hash = metainfo.info_hash();
    let layout = Arc::new(TorrentLayout::from_info(&metainfo.info).expect("layout"));
    let store = Arc::new(MemoryStore::with_content(layout, &bytes));

    let engine = || Arc::new(Engine::new(EngineConfig::default()));
    let seeder = RondevuConnectionManager::start(options(&url), engine())
        .await
        .expect("seeder");
    seeder
        .add_torrent(metainfo.clone(), Storage::Store(store))
        .expect("seed");

    // Baseline: direct in-memory signaling between two drivers.
    let left = Driver::start(DriverConfig::default())
        .await
        .expect("driver");
    let right = Driver::start(DriverConfig::default())
        .await
        .expect("driver");
    let mut direct = Vec::with_capacity(runs);
    for _ in 0..runs {
        direct.push(
            tokio::time::timeout(RUN_DEADLINE, direct_connect(&left, &right))
                .await
                .expect("direct connect in time"),
        );
    }

    let mut rng = fastrand::Rng::with_seed(2);
    let mut first_channel = Vec::with_capacity(runs);
    let mut first_piece = Vec::with_capacity(runs);
    for run in 0..runs {
        // The seeder goes idle between newcomers, who arrive at a random phase of its polling.
        let jitter = Duration::from_millis(rng.u64(0..=1000));
        tokio::time::sleep(idle + jitter).await;
        let started = Instant::now();
        let leecher = RondevuConnectionManager::start(options(&url), engine())
            .await
            .expect("leecher");
        let mut events = leecher.events();
        let torrent = leecher
            .add_torrent(info_hash, Storage::Memory)
            .expect("leecher torrent");
        let (channel, piece) = tokio::time::timeout(RUN_DEADLINE, async {
            loop {
                if let Some(DiscoveryEvent::PeerConnected { .. }) = events.recv().await {
                    break;
                }
            }
            let channel = started.elapsed();
            torrent
                .wait_for(|progress| progress.verified_pieces > 0)
                .await
                .expect("a piece");
            (channel, started.elapsed())
        })
        .await
        .unwrap_or_else(|_| panic!("run {run} did not connect in time"));
        first_channel.push(channel);
        first_piece.push(piece);
        leecher.destroy().await.expect("destroy");
        leecher.engine().remove(&info_hash).await;
        eprintln!(
            "run {run}: first channel {} ms, first verified piece {} ms",
            ms(channel),
            ms(piece)
        );
    }
    seeder.destroy().await.expect("destroy seeder");

    for samples in [&mut direct, &mut first_channel, &mut first_piece] {
        samples.sort();
    }
    println!("runs={runs}");
    println!("idle_ms={}", idle.as_millis());
    println!("direct_p50_ms={}", ms(percentile(&direct, 0.5)));
    println!("direct_p99_ms={}", ms(percentile(&direct, 0.99)));
    println!("channel_p50_ms={}", ms(percentile(&first_channel, 0.5)));
    println!("channel_p99_ms={}", ms(percentile(&first_channel, 0.99)));
    println!("piece_p50_ms={}", ms(percentile(&first_piece, 0.5)));
    println!("piece_p99_ms={}", ms(percentile(&first_piece, 0.99)));
    server.shutdown();
}
