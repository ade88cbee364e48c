//! Interop with a real WebTorrent peer (Node, `webtorrent` 2 from `interop/node_modules`)
//! over TCP on 127.0.0.1: our seeder feeds a WebTorrent leecher, and our leecher, knowing
//! only the info-hash, fetches the metadata and the content from a WebTorrent seeder.
//!
//! Skipped with a message when Node or the npm packages are missing, unless
//! `RONDEVU_REQUIRE_NODE=1` (CI), which makes that a failure.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bt_swarm::layout::TorrentLayout;
use bt_swarm::store::MemoryStore;
use bt_swarm::{Engine, EngineConfig, Storage, TorrentSource};
use bt_wire::{InfoHash, TorrentBuilder};
use tokio::io::{AsyncBufReadExt, BufReader};

const DEADLINE: Duration = Duration::from_secs(20);

/// The interop folder with WebTorrent installed, or `None` (after saying why) to skip.
fn interop_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RONDEVU_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../interop"));
    let required = std::env::var("RONDEVU_REQUIRE_NODE").is_ok_and(|value| value == "1");
    let node = std::process::Command::new("node").arg("--version").output();
    let problem = if !node.is_ok_and(|output| output.status.success()) {
        Some("node is not installed".to_string())
    } else if !dir.join("node_modules/webtorrent/index.js").exists() {
        Some(format!(
            "{} has no node_modules/webtorrent (run `cargo xtask npm-install`)",
            dir.display()
        ))
    } else {
        None
    };
    match problem {
        None => Some(dir),
        Some(problem) if required => panic!("RONDEVU_REQUIRE_NODE=1 but {problem}"),
        Some(problem) => {
            eprintln!("skipping the WebTorrent interop test: {problem}");
            None
        }
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webtorrent_tcp.mjs")
}

fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    fastrand::Rng::with_seed(seed).fill(&mut bytes);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webtorrent_leeches_from_our_seeder() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let Some(interop) = interop_dir() else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let files = [
        (vec!["a.bin".to_string()], random_bytes(1, 300_001)),
        (
            vec!["sub".to_string(), "b.bin".to_string()],
            random_bytes(2, 123_456),
        ),
    ];
    let mut builder = TorrentBuilder::new("from-rust", 32 * 1024);
    for (path, bytes) in &files {
        builder = builder.file(path.clone(), bytes.len() as u64);
    }
    let chunks: Vec<&[u8]> = files.iter().map(|(_, bytes)| bytes.as_slice()).collect();
    let metainfo = builder.build_from_data(&chunks).expect("torrent");
    let torrent_file = work.path().join("from-rust.torrent");
    std::fs::write(&torrent_file, metainfo.to_bytes()).expect("torrent file");
    let content: Vec<u8> = files.iter().flat_map(|(_, bytes)| bytes.clone()).collect();
    let layout = Arc::new(TorrentLayout::from_info(&metainfo.info).expect("layout"));
    let engine = Engine::new(EngineConfig::default());
    let seeder = engine
        .add_torrent(
            metainfo.clone(),
            Storage::Store(Arc::new(MemoryStore::with_content(layout, &content))),
        )
        .expect("seeder");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let out = work.path().join("out");
    std::fs::create_dir(&out).expect("out");
    let mut child = tokio::process::Command::new("node")
        .arg(script())
        .arg(&interop)
        .arg("leech")
        .arg(&torrent_file)
        .arg(&out)
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    let (stream, _) = tokio::time::timeout(DEADLINE, listener.accept())
        .await
        .expect("WebTorrent connects in time")
        .expect("accept");
    seeder.add_peer(stream).expect("running");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .expect("WebTorrent finishes in time")
        .expect("read");
    assert_eq!(line.as_deref(), Some("done"));
    let status = tokio::time::timeout(DEADLINE, child.wait())
        .await
        .expect("exit")
        .expect("status");
    assert!(status.success());
    for (path, bytes) in &files {
        let mut full = out.join("from-rust");
        full.extend(path);
        assert!(
            std::fs::read(&full).expect("file") == *bytes,
            "{full:?} differs"
        );
    }
    let stats = seeder.stats().await.expect("stats");
    assert!(stats.uploaded >= content.len() as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn we_fetch_metadata_and_content_from_a_webtorrent_seeder_by_info_hash() {
    let Some(interop) = interop_dir() else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let input = work.path().join("from-js");
    std::fs::create_dir_all(input.join("nested")).expect("input");
    let files = [
        (vec!["one.bin".to_string()], random_bytes(3, 400_000)),
        (
            vec!["nested".to_string(), "two.bin".to_string()],
            random_bytes(4, 77_777),
        ),
    ];
    for (path, bytes) in &files {
        let mut full = input.clone();
        full.extend(path);
        std::fs::write(&full, bytes).expect("input file");
    }
    let mut child = tokio::process::Command::new("node")
        .arg(script())
        .arg(&interop)
        .arg("seed")
        .arg(&input)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .expect("WebTorrent seeds in time")
        .expect("read")
        .expect("a line");
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some("ready"), "{line}");
    let info_hash: InfoHash = words.next().expect("info-hash").parse().expect("hex");
    let port: u16 = words.next().expect("port").parse().expect("port");

    let out = work.path().join("out");
    let engine = Engine::new(EngineConfig::default());
    let leecher = engine
        .add_torrent(
            TorrentSource::InfoHash(info_hash),
            Storage::Disk(out.clone()),
        )
        .expect("leecher");
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to WebTorrent");
    leecher.add_peer(stream).expect("running");
    tokio::time::timeout(DEADLINE, leecher.wait_complete())
        .await
        .expect("complete in time")
        .expect("complete");
    for (path, bytes) in &files {
        let mut full = out.join("from-js");
        full.extend(path);
        assert!(
            std::fs::read(&full).expect("file") == *bytes,
            "{full:?} differs"
        );
    }
    drop(child.stdin.take());
    let _ = tokio::time::timeout(DEADLINE, child.wait()).await;
}
