//! Real clients in the wild: a WebTorrent peer in Node (`interop/rondevu-peer.mjs`,
//! libwebrtc) signaling like the reference JavaScript client 0.7.x (`--reference-client`: its
//! offerer posts no candidates, its answerer only early ones, it polls every 1–2 s and gives
//! an offer 30 s), against our manager through our server on 127.0.0.1: a JavaScript seeder
//! that only offers (our leecher answers and downloads everything, verified), and a
//! JavaScript leecher that only answers and connects to our offering seeder.
//!
//! Finds Node packages through `RONDEVU_INTEROP_DIR` (default `<workspace>/interop`); skips
//! with a message when `node_modules` is missing, unless `RONDEVU_REQUIRE_NODE=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

use bt_swarm::{Storage, TorrentHandle};
use bt_wire::InfoHash;
use common::*;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The interop folder, or `None` (after saying why) when the test should be skipped.
fn interop_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RONDEVU_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop"));
    if dir.join("node_modules/webtorrent").is_dir()
        && dir.join("node_modules/@roamhq/wrtc").is_dir()
    {
        return Some(dir);
    }
    let message = format!(
        "{}/node_modules (webtorrent, @roamhq/wrtc) is missing (run `cargo xtask npm-install`)",
        dir.display()
    );
    if std::env::var("RONDEVU_REQUIRE_NODE").as_deref() == Ok("1") {
        panic!("{message}, and RONDEVU_REQUIRE_NODE=1");
    }
    eprintln!("skipping the WebTorrent interop test: {message}");
    None
}

/// The JavaScript peer and its JSON-lines events.
struct JsPeer {
    _child: Child,
    events: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl JsPeer {
    fn spawn(dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new("node")
            .arg("rondevu-peer.mjs")
            .args(args)
            .args(["--timeout", "60"])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().expect("stdout");
        Self {
            _child: child,
            events: BufReader::new(stdout).lines(),
        }
    }

    /// The next event named `name` (an `error` event fails the test).
    async fn wait(&mut self, name: &str) -> serde_json::Value {
        within(&format!("JavaScript peer: {name}"), async {
            loop {
                let line = self
                    .events
                    .next_line()
                    .await
                    .expect("stdout readable")
                    .unwrap_or_else(|| panic!("the JavaScript peer exited before {name}"));
                let event: serde_json::Value = serde_json::from_str(&line).expect("JSON line");
                match event["event"].as_str() {
                    Some(found) if found == name => return event,
                    Some("error") => panic!("JavaScript peer error: {event}"),
                    _ => {}
                }
            }
        })
        .await
    }
}

/// Every verified piece of `torrent`, concatenated.
async fn read_all(torrent: &TorrentHandle) -> Vec<u8> {
    let pieces = torrent.progress().piece_count;
    let mut bytes = Vec::new();
    for piece in 0..pieces {
        bytes.extend(torrent.read_piece(piece).await.expect("verified piece"));
    }
    bytes
}

/// A reference-client JavaScript seeder that only offers and never posts a candidate; our
/// leecher finds it by the info-hash alone, answers (posting its own candidates after the
/// answer), and gets every byte (metadata over `ut_metadata`, pieces verified).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_leecher_downloads_from_a_javascript_seeder() {
    init_tracing();
    let Some(dir) = interop_dir() else { return };
    let server = server();
    let url = server.url();
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("from-js.bin");
    let content = Content::new(41, 300 * 1024);
    std::fs::write(&file, &content.bytes).unwrap();

    let mut seeder = JsPeer::spawn(
        &dir,
        &[
            "seed",
            file.to_str().unwrap(),
            "--server",
            &url,
            "--signal-role",
            "offerer",
            "--reference-client",
        ],
    );
    let ready = seeder.wait("ready").await;
    let info_hash: InfoHash = ready["infoHash"].as_str().unwrap().parse().unwrap();

    let leecher = peer(options(&url)).await;
    let torrent = leecher
        .add_torrent(info_hash, Storage::Memory)
        .expect("leecher");
    within("leecher completes", torrent.wait_complete())
        .await
        .expect("complete");
    assert!(
        read_all(&torrent).await == content.bytes,
        "the download differs"
    );
    let credentials = leecher.credentials().unwrap();
    leecher.destroy().await.expect("destroy");
    assert_no_offers_left(&url, &credentials);
}

/// Our seeder offers; a JavaScript leecher signaling like the reference client (it only
/// answers, and posts only the candidates it gathered early) connects to it: both sides
/// report the connection and the leecher gets the torrent's metadata from our engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_javascript_leecher_connects_to_a_rust_seeder() {
    init_tracing();
    let Some(dir) = interop_dir() else { return };
    let server = server();
    let url = server.url();
    let content = Content::new(42, 300 * 1024);
    let seeder = peer(options(&url)).await;
    let mut events = seeder.events();
    seeder
        .add_torrent(content.metainfo.clone(), content.seed_storage())
        .expect("seeder");

    let out = tempfile::tempdir().unwrap();
    let info_hash = content.info_hash().to_hex();
    let mut leecher = JsPeer::spawn(
        &dir,
        &[
            "get",
            &info_hash,
            "--out",
            out.path().to_str().unwrap(),
            "--server",
            &url,
            "--signal-role",
            "answerer",
            "--reference-client",
        ],
    );
    let connected = leecher.wait("peer").await;
    assert_eq!(connected["role"], "answerer", "{connected}");
    let ours = wait_event(&mut events, "our side connected", |event| {
        matches!(
            event,
            rondevu_discovery::DiscoveryEvent::PeerConnected { .. }
        )
    })
    .await;
    assert!(
        matches!(
            ours,
            rondevu_discovery::DiscoveryEvent::PeerConnected {
                role: rondevu_discovery::Role::Offerer,
                ..
            }
        ),
        "{ours:?}"
    );
    let credentials = seeder.credentials().unwrap();
    seeder.destroy().await.expect("destroy");
    assert_no_offers_left(&url, &credentials);
}
