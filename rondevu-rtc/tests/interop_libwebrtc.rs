//! Interop with libwebrtc: `interop/rtc-peer.mjs` (@roamhq/wrtc) exchanges SDP and candidates
//! with our driver over JSON lines on stdin/stdout, then 8 MiB cross each way and are checked
//! on both sides. Both roles, with trickled candidates and with a JavaScript side that trickles
//! none at all (our side then learns it as a peer-reflexive candidate).
//!
//! Finds Node packages through `RONDEVU_INTEROP_DIR` (default `<workspace>/interop`); skips
//! with a message when `node_modules` is missing, unless `RONDEVU_REQUIRE_NODE=1`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use rondevu_rtc::{DataStream, Driver, DriverConfig, IceCandidateInit, PeerNotice};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

const BYTES: usize = 8 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(60);
/// Seeds of the byte pattern (see rtc-peer.mjs): ours and the script's.
const SEED_OURS: u8 = 0x52;
const SEED_THEIRS: u8 = 0x4a;

/// One JSON line between the test and the script.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Line {
    Offer { sdp: String },
    Answer { sdp: String },
    Candidate { candidate: IceCandidateInit },
    Ready { label: String },
    Received { ok: bool, bytes: usize },
    Sent { bytes: usize },
    Bye,
}

fn pattern_byte(i: usize, seed: u8) -> u8 {
    ((i as u32).wrapping_mul(2_654_435_761) >> 16) as u8 ^ seed
}

/// The interop folder, or `None` (after saying why) when the test should be skipped.
fn interop_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RONDEVU_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop"));
    if dir.join("node_modules/@roamhq/wrtc").is_dir() {
        return Some(dir);
    }
    let message = format!(
        "{}/node_modules/@roamhq/wrtc is missing (run `cargo xtask npm-install`)",
        dir.display()
    );
    if std::env::var("RONDEVU_REQUIRE_NODE").as_deref() == Ok("1") {
        panic!("{message}, and RONDEVU_REQUIRE_NODE=1");
    }
    eprintln!("skipping libwebrtc interop test: {message}");
    None
}

struct Script {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<Line>,
}

impl Script {
    fn spawn(dir: &std::path::Path, role: &str, candidates: &str) -> Script {
        let mut child = Command::new("node")
            .arg("rtc-peer.mjs")
            .args(["--role", role, "--candidates", candidates])
            .args(["--bytes", &BYTES.to_string()])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                let parsed: Line = serde_json::from_str(&line)
                    .unwrap_or_else(|error| panic!("bad line from script {line:?}: {error}"));
                if tx.send(parsed).is_err() {
                    break;
                }
            }
        });
        Script {
            child,
            stdin,
            lines,
        }
    }

    async fn send(&mut self, line: &Line) {
        let mut text = serde_json::to_string(line).unwrap();
        text.push('\n');
        self.stdin.write_all(text.as_bytes()).await.unwrap();
    }

    async fn next(&mut self) -> Line {
        self.lines.recv().await.expect("script still talking")
    }
}

/// Connects our peer (offering or answering) with the script, moves 8 MiB each way and checks
/// both directions.
async fn run(role_ours: &str, candidates: &str) {
    let Some(dir) = interop_dir() else { return };
    let role_theirs = if role_ours == "offer" {
        "answer"
    } else {
        "offer"
    };
    let mut script = Script::spawn(&dir, role_theirs, candidates);
    let driver = Driver::start(DriverConfig::default()).await.unwrap();
    let mut peer = driver.new_peer().unwrap();
    if role_ours == "offer" {
        let offer = peer.create_offer().await.unwrap();
        script.send(&Line::Offer { sdp: offer }).await;
    }
    let mut stream: Option<DataStream> = None;
    let mut ready = false;
    let mut trickled_to_us = 0;
    while stream.is_none() || !ready {
        tokio::select! {
            line = script.next() => match line {
                Line::Offer { sdp } => {
                    assert!(candidates != "none" || !sdp.contains("a=candidate"));
                    let answer = peer.accept_offer(&sdp).await.unwrap();
                    script.send(&Line::Answer { sdp: answer }).await;
                }
                Line::Answer { sdp } => {
                    assert!(candidates != "none" || !sdp.contains("a=candidate"));
                    peer.accept_answer(&sdp).await.unwrap();
                }
                Line::Candidate { candidate } => {
                    trickled_to_us += 1;
                    peer.add_remote_candidate(candidate).await.unwrap();
                }
                Line::Ready { label } => {
                    assert_eq!(label, "webtorrent");
                    ready = true;
                }
                other => panic!("unexpected before the channel opened: {other:?}"),
            },
            notice = peer.next_notice() => match notice.expect("peer alive") {
                PeerNotice::LocalCandidate(candidate) => {
                    assert!(candidate.candidate.contains(" 127.0.0.1 "), "{candidate:?}");
                    script.send(&Line::Candidate { candidate }).await;
                }
                PeerNotice::Open(open) => stream = Some(open),
                PeerNotice::Failed(reason) => panic!("our peer failed: {reason}"),
                _ => {}
            },
        }
    }
    if candidates == "none" {
        assert_eq!(
            trickled_to_us, 0,
            "the script trickled in no-candidates mode"
        );
    }
    // The script's handlers are attached ("ready"): now we may speak.
    let (mut reader, mut writer) = tokio::io::split(stream.unwrap());
    let write = tokio::spawn(async move {
        let data: Vec<u8> = (0..BYTES).map(|i| pattern_byte(i, SEED_OURS)).collect();
        writer.write_all(&data).await.unwrap();
        writer.flush().await.unwrap();
        writer
    });
    let mut received = vec![0u8; BYTES];
    reader.read_exact(&mut received).await.unwrap();
    let first_bad = received
        .iter()
        .enumerate()
        .position(|(i, byte)| *byte != pattern_byte(i, SEED_THEIRS));
    assert_eq!(first_bad, None, "bytes from libwebrtc differ");
    let _writer = write.await.unwrap();
    let (mut sent, mut checked) = (false, false);
    while !(sent && checked) {
        match script.next().await {
            Line::Sent { bytes } => {
                assert_eq!(bytes, BYTES);
                sent = true;
            }
            Line::Received { ok, bytes } => {
                assert!(ok, "libwebrtc saw different bytes ({bytes} received)");
                assert_eq!(bytes, BYTES);
                checked = true;
            }
            Line::Candidate { .. } => {}
            other => panic!("unexpected after the transfer: {other:?}"),
        }
    }
    script.send(&Line::Bye).await;
    let status = script.child.wait().await.unwrap();
    assert!(status.success(), "script exited with {status}");
}

async fn with_timeout(role_ours: &str, candidates: &str) {
    tokio::time::timeout(TIMEOUT, run(role_ours, candidates))
        .await
        .expect("interop run finished in time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_offers_libwebrtc_answers() {
    with_timeout("offer", "trickle").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libwebrtc_offers_rust_answers() {
    with_timeout("answer", "trickle").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_offers_to_a_libwebrtc_answerer_that_trickles_nothing() {
    with_timeout("offer", "none").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libwebrtc_offerer_that_trickles_nothing_reaches_our_answerer() {
    with_timeout("answer", "none").await;
}
