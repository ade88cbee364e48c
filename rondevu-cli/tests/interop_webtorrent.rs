//! Interoperation with real WebTorrent peers (issue 9): our `rondevu` binary and our signaling
//! server against the JavaScript peers in `interop/` (WebTorrent 2 on `@roamhq/wrtc` in Node,
//! and headless Chromium), both directions, both signaling styles, a mixed swarm and hostile
//! peers. Every peer runs on this machine and talks over loopback only.
//!
//! The binary is the one cargo builds (or `RONDEVU_BIN`). Needs `interop/node_modules` (`cargo xtask npm-install`); the folder comes from
//! `RONDEVU_INTEROP_DIR` (default `<workspace>/interop`). Without it every test skips with a
//! message, unless `RONDEVU_REQUIRE_NODE=1`. The browser test also needs `/usr/bin/chromium`
//! (or `RONDEVU_CHROMIUM`) and skips without it unless `RONDEVU_REQUIRE_BROWSER=1`.
//!
//! Isolation: libwebrtc pairs sockets on other interfaces with remote loopback candidates, so
//! each test runs inside a fresh network namespace with only `lo`. `cargo xtask test` already
//! runs everything in one (and sets `RONDEVU_NETNS_INSIDE=1`); under a plain `cargo test` each
//! test re-runs itself there with `unshare -n` (needs root), or runs on the host with a warning
//! when that is impossible (the peers still announce and accept only loopback candidates).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rondevu_server::{serve, ServerConfig, ServerHandle};
use serde_json::Value;

/// Size of the test files: a few MiB, and not a multiple of any piece length, so the last
/// piece is short.
const FILE_LEN: usize = 3 * 1024 * 1024 + 12_345;

/// Every child process of a test gets at most this long (its own `--timeout` flag).
const CHILD_TIMEOUT_SECS: u64 = 60;

/// How long a test waits for one expected event before it fails.
const EVENT_WAIT: Duration = Duration::from_secs(60);

/// What our binary logs: warnings, and the engine's peer drops (with their reason).
const RUST_LOG: &str = "warn,bt_swarm=info";

/// Set inside a network namespace made for the tests (by `cargo xtask test` or by us).
const NETNS_MARKER: &str = "RONDEVU_NETNS_INSIDE";

// ---------------------------------------------------------------------------------------------
// Environment: Node, Chromium, the network namespace.

/// The interop folder with its packages installed, or `None` (after printing why) when the
/// test should skip.
fn interop_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RONDEVU_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../interop"));
    let node_works = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    let missing = if !dir.join("node_modules").is_dir() {
        Some(format!(
            "{} has no node_modules (run `cargo xtask npm-install`)",
            dir.display()
        ))
    } else if !node_works {
        Some("`node` is not on PATH".to_string())
    } else {
        None
    };
    match missing {
        None => Some(dir),
        Some(reason) if std::env::var("RONDEVU_REQUIRE_NODE").as_deref() == Ok("1") => {
            panic!("{reason}; RONDEVU_REQUIRE_NODE=1 forbids skipping")
        }
        Some(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
    }
}

/// Whether headless Chromium is there, or `false` (after printing why) when the test should
/// skip.
fn chromium_available() -> bool {
    let path = std::env::var_os("RONDEVU_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.exists() {
        return true;
    }
    let reason = format!("no Chromium at {}", path.display());
    if std::env::var("RONDEVU_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("{reason}; RONDEVU_REQUIRE_BROWSER=1 forbids skipping");
    }
    eprintln!("skipped: {reason}");
    false
}

/// Runs `body` inside a network namespace with only `lo`: directly when this process is
/// already in one, else by re-running just this test (`name`) under `unshare -n`.
fn isolated(name: &str, body: impl FnOnce()) {
    if std::env::var(NETNS_MARKER).as_deref() == Ok("1") {
        return body();
    }
    let can_unshare = Command::new("unshare")
        .args(["-n", "sh", "-c", "ip link set lo up"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !can_unshare {
        eprintln!(
            "warning: cannot create a network namespace (needs root, unshare and ip); running \
             on the host network with loopback-only candidates"
        );
        return body();
    }
    let output = Command::new("unshare")
        .args(["-n", "sh", "-c", "ip link set lo up && exec \"$0\" \"$@\""])
        .arg(std::env::current_exe().expect("the test binary's path"))
        .args([name, "--exact", "--nocapture", "--test-threads", "1"])
        .env(NETNS_MARKER, "1")
        .output()
        .expect("run the test inside unshare -n");
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprint!("{stdout}");
    assert!(
        output.status.success(),
        "{name} failed inside its network namespace ({})",
        output.status
    );
    assert!(
        stdout.contains("1 passed"),
        "{name} did not run inside its network namespace: {stdout}"
    );
}

/// The `rondevu` binary under test: `RONDEVU_BIN` when set (as for the JS tests), else the one
/// cargo built for this test.
fn rondevu_binary() -> PathBuf {
    std::env::var_os("RONDEVU_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rondevu")))
}

// ---------------------------------------------------------------------------------------------
// Processes: JS peers (JSON lines) and our binary (text lines).

/// A child process whose stdout lines and stderr are collected as they arrive; killed when
/// dropped.
struct Peer {
    name: String,
    child: Child,
    lines: Arc<(Mutex<Vec<String>>, Condvar)>,
    stderr: Arc<Mutex<String>>,
}

impl Peer {
    fn spawn(name: &str, command: &mut Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {name}: {error}"));
        let lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let (list, changed) = &*sink;
                list.lock().unwrap().push(line);
                changed.notify_all();
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let log = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(read @ 1..) = pipe.read(&mut chunk) {
                log.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..read]));
            }
        });
        Self {
            name: name.to_string(),
            child,
            lines,
            stderr,
        }
    }

    /// A JS peer: `node <interop>/<script> <args>` with the interop folder as working folder.
    fn node(name: &str, interop: &Path, script: &str, args: &[&str]) -> Self {
        Self::spawn(
            name,
            Command::new("node")
                .arg(interop.join(script))
                .args(args)
                .current_dir(interop),
        )
    }

    /// Our binary; `RUST_LOG` is `log`.
    fn rondevu(name: &str, log: &str, args: &[&str]) -> Self {
        Self::spawn(
            name,
            Command::new(rondevu_binary())
                .args(args)
                .env_remove("RONDEVU_SERVER")
                .env("RUST_LOG", log),
        )
    }

    fn stdout_lines(&self) -> Vec<String> {
        self.lines.0.lock().unwrap().clone()
    }

    fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Every JSON event printed so far.
    fn events(&self) -> Vec<Value> {
        self.stdout_lines()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .collect()
    }

    /// Every event named `name` printed so far.
    fn events_named(&self, name: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|event| event["event"] == name)
            .collect()
    }

    /// The first stdout line for which `pick` gives a value, waiting up to `limit`.
    fn wait_line<T>(&mut self, what: &str, limit: Duration, pick: impl Fn(&str) -> Option<T>) -> T {
        let deadline = Instant::now() + limit;
        let (list, changed) = &*Arc::clone(&self.lines);
        let mut lines = list.lock().unwrap();
        loop {
            if let Some(found) = lines.iter().find_map(|line| pick(line)) {
                return found;
            }
            let exited = self.child.try_wait().ok().flatten();
            let now = Instant::now();
            if now >= deadline || exited.is_some() {
                drop(lines);
                // Let the readers catch the last output of a process that just ended.
                std::thread::sleep(Duration::from_millis(200));
                panic!(
                    "{}: no {what} within {limit:?} (exit: {exited:?})\nstdout:\n{}\nstderr:\n{}",
                    self.name,
                    self.stdout_lines().join("\n"),
                    self.stderr_text()
                );
            }
            let wait = (deadline - now).min(Duration::from_millis(100));
            lines = changed.wait_timeout(lines, wait).unwrap().0;
        }
    }

    /// The first JSON event named `name`.
    fn wait_event(&mut self, name: &str) -> Value {
        self.wait_line(&format!("`{name}` event"), EVENT_WAIT, |line| {
            serde_json::from_str::<Value>(line)
                .ok()
                .filter(|event| event["event"] == name)
        })
    }

    /// Waits for the process to end by itself (bounded) and returns its status.
    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll a child") {
                // Let the readers drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{} did not end within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    self.name,
                    self.stdout_lines().join("\n"),
                    self.stderr_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends SIGTERM and waits (bounded) for the process to end.
    fn terminate(&mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        self.wait_exit(Duration::from_secs(15))
    }

    /// Panics with the process's output unless it ended with `code`.
    fn assert_exit(&mut self, status: ExitStatus, code: i32) {
        assert_eq!(
            status.code(),
            Some(code),
            "{} ended with {status}\nstdout:\n{}\nstderr:\n{}",
            self.name,
            self.stdout_lines().join("\n"),
            self.stderr_text()
        );
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// Shared steps.

/// A fresh folder under the system temp folder, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    /// A folder no other test of this process shares: tests run in parallel threads, and
    /// several use the same `name`.
    fn new(name: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let unique = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "rondevu-interop-{name}-{}-{unique}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn server() -> ServerHandle {
    serve(ServerConfig {
        port: 0,
        ..ServerConfig::default()
    })
    .expect("start the signaling server")
}

/// Writes `FILE_LEN` deterministic pseudo-random bytes to `path` and returns their SHA-256.
fn write_content(path: &Path, seed: u64) -> String {
    let mut state = seed | 1;
    let bytes: Vec<u8> = (0..FILE_LEN)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    std::fs::write(path, bytes).unwrap();
    sha256(path)
}

/// The SHA-256 of a file, in lowercase hex (coreutils' `sha256sum`).
fn sha256(path: &Path) -> String {
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    assert!(output.status.success(), "sha256sum {}", path.display());
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn timeout_arg() -> String {
    CHILD_TIMEOUT_SECS.to_string()
}

/// `rondevu seed FILE` on loopback; returns it once it seeds, with its magnet link.
fn rust_seeder(server: &str, file: &Path, extra: &[&str]) -> (Peer, String) {
    let mut args = vec![
        "seed",
        file.to_str().unwrap(),
        "--server",
        server,
        "--bind",
        "loopback",
    ];
    args.extend_from_slice(extra);
    let mut seeder = Peer::rondevu("rust seeder", RUST_LOG, &args);
    let magnet = seeder.wait_line("magnet link", EVENT_WAIT, |line| {
        line.strip_prefix("magnet: ").map(str::to_string)
    });
    seeder.wait_line("`seeding`", EVENT_WAIT, |line| {
        line.starts_with("seeding").then_some(())
    });
    (seeder, magnet)
}

/// `rondevu get TORRENT -o OUT` on loopback, running.
fn rust_leecher(name: &str, server: &str, torrent: &str, out: &Path, extra: &[&str]) -> Peer {
    let timeout = timeout_arg();
    let mut args = vec![
        "get",
        torrent,
        "-o",
        out.to_str().unwrap(),
        "--server",
        server,
        "--bind",
        "loopback",
        "--timeout",
        &timeout,
        "-q",
    ];
    args.extend_from_slice(extra);
    Peer::rondevu(name, RUST_LOG, &args)
}

/// Waits for a `rondevu get` to succeed; checks it said `complete` and reported its first peer.
fn assert_rust_download_completes(leecher: &mut Peer) {
    let status = leecher.wait_exit(Duration::from_secs(CHILD_TIMEOUT_SECS + 15));
    leecher.assert_exit(status, 0);
    let stdout = leecher.stdout_lines().join("\n");
    assert!(stdout.contains("complete: "), "{stdout}");
    assert!(
        leecher.stderr_text().contains("first peer connected after"),
        "{}",
        leecher.stderr_text()
    );
}

/// `node rondevu-peer.mjs seed FILE`; returns it once ready, with its magnet link.
fn js_seeder(interop: &Path, server: &str, file: &Path, extra: &[&str]) -> (Peer, String) {
    let timeout = timeout_arg();
    let mut args = vec![
        "seed",
        file.to_str().unwrap(),
        "--server",
        server,
        "--timeout",
        &timeout,
    ];
    args.extend_from_slice(extra);
    let mut seeder = Peer::node("js seeder", interop, "rondevu-peer.mjs", &args);
    let ready = seeder.wait_event("ready");
    (seeder, text(&ready["magnet"]).to_string())
}

/// `node rondevu-peer.mjs get MAGNET --out OUT`, running.
fn js_leecher(interop: &Path, server: &str, magnet: &str, out: &Path, extra: &[&str]) -> Peer {
    let timeout = timeout_arg();
    let mut args = vec![
        "get",
        magnet,
        "--out",
        out.to_str().unwrap(),
        "--server",
        server,
        "--timeout",
        &timeout,
    ];
    args.extend_from_slice(extra);
    Peer::node("js leecher", interop, "rondevu-peer.mjs", &args)
}

/// Waits for a JS leecher's `done` and clean exit.
fn assert_js_download_completes(leecher: &mut Peer) -> Value {
    let done = leecher.wait_event("done");
    assert_eq!(done["bytes"], FILE_LEN as u64, "{done}");
    let status = leecher.wait_exit(Duration::from_secs(CHILD_TIMEOUT_SECS + 15));
    leecher.assert_exit(status, 0);
    done
}

// ---------------------------------------------------------------------------------------------
// 1. A JavaScript WebTorrent seeder, our `rondevu get` by magnet.

/// The JS seeder serves a Rust `get` by magnet (metadata over ut_metadata, then every piece);
/// the file arrives with the same SHA-256, and the JS side counts the bytes it uploaded.
fn js_seeder_to_rust_leecher(js_flags: &[&str]) -> Vec<Value> {
    let Some(interop) = interop_dir() else {
        return Vec::new();
    };
    let server = server();
    let scratch = Scratch::new("js-to-rust");
    let source = scratch.path("source.bin");
    let expected = write_content(&source, 11);

    let (mut seeder, magnet) = js_seeder(&interop, &server.url(), &source, js_flags);
    assert!(magnet.starts_with("magnet:?xt=urn:btih:"), "{magnet}");
    let out = scratch.path("out");
    let mut leecher = rust_leecher("rust leecher", &server.url(), &magnet, &out, &[]);
    assert_rust_download_completes(&mut leecher);
    assert_eq!(sha256(&out.join("source.bin")), expected);

    let peers = seeder.events_named("peer");
    assert!(!peers.is_empty(), "the JS seeder saw no peer");
    // The seeder reports progress every 500 ms: wait for the upload to show.
    let uploaded = seeder.wait_line("upload progress", EVENT_WAIT, |line| {
        serde_json::from_str::<Value>(line)
            .ok()
            .filter(|event| event["event"] == "progress")
            .and_then(|event| event["uploaded"].as_u64())
            .filter(|&uploaded| uploaded >= FILE_LEN as u64)
    });
    assert!(uploaded >= FILE_LEN as u64);
    let status = seeder.terminate();
    seeder.assert_exit(status, 0);
    peers
}

#[test]
fn js_seeder_to_rust_get_by_magnet() {
    isolated("js_seeder_to_rust_get_by_magnet", || {
        js_seeder_to_rust_leecher(&[]);
    });
}

/// The JS seeder signals like the reference client and only offers: its offer carries no
/// candidates and it trickles none, so our answerer learns the JS side's address only from
/// its connectivity checks (a peer-reflexive candidate).
#[test]
fn reference_js_seeder_without_candidates_to_rust_get() {
    isolated("reference_js_seeder_without_candidates_to_rust_get", || {
        let peers = js_seeder_to_rust_leecher(&["--reference-client", "--signal-role", "offerer"]);
        for peer in &peers {
            assert_eq!(peer["role"], "offerer", "{peer}");
            assert_eq!(peer["candidatesPosted"], 0, "{peer}");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// 2. Our `rondevu seed`, a JavaScript WebTorrent leecher.

/// A Rust seeder serves a JS leecher that has only the magnet link; the file is equal.
fn rust_seeder_to_js_leecher(rust_flags: &[&str], js_flags: &[&str]) -> Vec<Value> {
    let Some(interop) = interop_dir() else {
        return Vec::new();
    };
    let server = server();
    let scratch = Scratch::new("rust-to-js");
    let source = scratch.path("shared.bin");
    let expected = write_content(&source, 22);

    let (mut seeder, magnet) = rust_seeder(&server.url(), &source, rust_flags);
    let out = scratch.path("out");
    let mut leecher = js_leecher(&interop, &server.url(), &magnet, &out, js_flags);
    let peer = leecher.wait_event("peer");
    let done = assert_js_download_completes(&mut leecher);
    assert_eq!(done["name"], "shared.bin", "{done}");
    assert_eq!(sha256(&out.join("shared.bin")), expected);
    assert!(seeder.terminate().success(), "{}", seeder.stderr_text());
    let mut peers = vec![peer];
    peers.extend(leecher.events_named("peer").into_iter().skip(1));
    peers
}

#[test]
fn rust_seed_to_js_leecher() {
    isolated("rust_seed_to_js_leecher", || {
        rust_seeder_to_js_leecher(&[], &[]);
    });
}

/// The JS leecher signals like the reference client (the answerer posts only the candidates
/// gathered before its ICE state changes; 2 s / 1 s polling).
#[test]
fn rust_seed_to_reference_js_leecher() {
    isolated("rust_seed_to_reference_js_leecher", || {
        rust_seeder_to_js_leecher(&[], &["--reference-client"]);
    });
}

/// The reference-style JS leecher is the only offerer and posts no candidates: our seeder
/// answers and must connect peer-reflexively. The leecher's offers appear after the seeder's
/// first discovery round, so this also shows the seeder keeps looking (adaptive rounds).
#[test]
fn rust_seed_to_reference_js_leecher_that_offers_without_candidates() {
    isolated(
        "rust_seed_to_reference_js_leecher_that_offers_without_candidates",
        || {
            let peers =
                rust_seeder_to_js_leecher(&[], &["--reference-client", "--signal-role", "offerer"]);
            for peer in &peers {
                assert_eq!(peer["role"], "offerer", "{peer}");
                assert_eq!(peer["candidatesPosted"], 0, "{peer}");
            }
        },
    );
}

// ---------------------------------------------------------------------------------------------
// 3. A mixed swarm.

/// A Rust seeder that accepts a single peer, a JS leecher and a Rust leecher. The seeder
/// serves only one of them at a time, so the leechers must trade pieces with each other: the
/// JS leecher connects to the Rust leecher (its `peer` events name the Rust leecher's Rondevu
/// id), and between them they pass pieces (the JS leecher uploaded bytes, or never connected
/// to the seeder at all and so got every byte from the Rust leecher).
#[test]
fn mixed_swarm_rust_seeder_js_and_rust_leechers_trade_pieces() {
    isolated(
        "mixed_swarm_rust_seeder_js_and_rust_leechers_trade_pieces",
        || {
            let Some(interop) = interop_dir() else {
                return;
            };
            let server = server();
            let url = server.url();
            let scratch = Scratch::new("mixed");
            let source = scratch.path("swarm.bin");
            let expected = write_content(&source, 33);
            let seeder_identity = scratch.path("seeder.json");
            let leecher_identity = scratch.path("leecher.json");

            let (mut seeder, magnet) = rust_seeder(
                &url,
                &source,
                &[
                    "--max-peers",
                    "1",
                    "--credentials",
                    seeder_identity.to_str().unwrap(),
                ],
            );
            let js_out = scratch.path("js-out");
            let rust_out = scratch.path("rust-out");
            let mut js = js_leecher(&interop, &url, &magnet, &js_out, &["--linger", "30"]);
            // The seeder takes one peer; the Rust leecher starts once the JS leecher holds the
            // metadata and some pieces, so whichever it meets first can serve it.
            js.wait_line("`progress` with bytes, or `done`", EVENT_WAIT, |line| {
                serde_json::from_str::<Value>(line).ok().filter(|event| {
                    event["event"] == "done"
                        || (event["event"] == "progress"
                            && event["downloaded"].as_u64().is_some_and(|bytes| bytes > 0))
                })
            });
            let mut rust = rust_leecher(
                "rust leecher",
                &url,
                &magnet,
                &rust_out,
                &[
                    "--seed-after",
                    "--credentials",
                    leecher_identity.to_str().unwrap(),
                ],
            );

            js.wait_event("done");
            rust.wait_line("`complete`", EVENT_WAIT, |line| {
                line.starts_with("complete: ").then_some(())
            });
            assert_eq!(sha256(&js_out.join("swarm.bin")), expected);
            assert_eq!(sha256(&rust_out.join("swarm.bin")), expected);

            let peer_id = |path: &Path| -> String {
                let stored: rondevu_api::Credentials =
                    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
                stored.peer_id
            };
            let (seeder_id, leecher_id) = (peer_id(&seeder_identity), peer_id(&leecher_identity));
            let remotes: Vec<String> = js
                .events_named("peer")
                .iter()
                .map(|peer| text(&peer["remotePeerId"]).to_string())
                .collect();
            assert!(
                remotes.contains(&leecher_id),
                "the JS leecher never connected to the Rust leecher {leecher_id}: {remotes:?}"
            );
            // Progress comes every 500 ms; the last one after `done` is final for the download.
            std::thread::sleep(Duration::from_millis(700));
            let uploaded = js
                .events_named("progress")
                .iter()
                .filter_map(|progress| progress["uploaded"].as_u64())
                .max()
                .unwrap_or(0);
            let js_met_seeder = remotes.contains(&seeder_id);
            assert!(
                uploaded > 0 || !js_met_seeder,
                "no pieces went between the leechers: the JS leecher uploaded nothing and also \
                 connected to the seeder ({remotes:?})"
            );
            eprintln!(
                "mixed swarm: JS leecher peers {remotes:?} (seeder {seeder_id}, Rust leecher \
                 {leecher_id}); JS leecher uploaded {uploaded} bytes"
            );

            let status = rust.terminate();
            rust.assert_exit(status, 0);
            let status = js.terminate();
            js.assert_exit(status, 0);
            assert!(seeder.terminate().success(), "{}", seeder.stderr_text());
        },
    );
}

// ---------------------------------------------------------------------------------------------
// 4. A browser.

/// Headless Chromium runs WebTorrent's browser build with the same signaling logic and fetches
/// from a Rust seeder; the SHA-256 the page computes (WebCrypto) equals the source's.
#[test]
fn headless_chromium_fetches_from_rust_seeder() {
    isolated("headless_chromium_fetches_from_rust_seeder", || {
        let Some(interop) = interop_dir() else {
            return;
        };
        if !chromium_available() {
            return;
        }
        let server = server();
        let scratch = Scratch::new("browser");
        let source = scratch.path("page.bin");
        let expected = write_content(&source, 44);
        let (mut seeder, magnet) = rust_seeder(&server.url(), &source, &[]);

        let timeout = (CHILD_TIMEOUT_SECS + 30).to_string();
        let mut browser = Peer::node(
            "chromium",
            &interop,
            "browser/run.mjs",
            &[&magnet, "--server", &server.url(), "--timeout", &timeout],
        );
        let status = browser.wait_exit(Duration::from_secs(CHILD_TIMEOUT_SECS + 45));
        if status.code() == Some(77)
            && std::env::var("RONDEVU_REQUIRE_BROWSER").as_deref() != Ok("1")
        {
            eprintln!("skipped: {}", browser.stdout_lines().join("\n"));
            return;
        }
        browser.assert_exit(status, 0);
        let done = browser
            .events_named("done")
            .pop()
            .expect("the page reported no `done`");
        let file = &done["files"][0];
        assert_eq!(file["length"], FILE_LEN as u64, "{done}");
        assert_eq!(text(&file["sha256"]), expected, "{done}");
        assert!(!browser.events_named("peer").is_empty());
        assert!(seeder.terminate().success(), "{}", seeder.stderr_text());
    });
}

// ---------------------------------------------------------------------------------------------
// 5. Hostile peers.

/// For each kind of garbage `bad-peer.mjs` knows: it joins a Rust seeder's swarm (where an
/// honest Rust leecher is fetching at the same time), completes the BitTorrent handshake (it
/// sees our info-hash and extension bit) and sends garbage; the Rust peer it attacked drops it
/// with a protocol violation, and the honest leecher completes. The seeder keeps serving
/// across all kinds.
///
/// `bad-piece` (a piece message for piece 0xFFFFFFF0) is not a drop today: bt-swarm does not
/// give its sessions the torrent's shape (`Session::set_piece_math`), and an unrequested piece
/// is ignored; for that kind the test proves only that it does no harm.
///
/// Known gap: the drop happens in our engine at once, but the remote is not told quickly
/// (str0m's close sends DTLS close_notify before the SCTP teardown, which libwebrtc does not
/// act on), so `bad-peer.mjs` reports `still-open`; the test reads the drop from our log.
#[test]
fn rust_side_drops_js_peers_that_send_garbage() {
    isolated("rust_side_drops_js_peers_that_send_garbage", || {
        let Some(interop) = interop_dir() else {
            return;
        };
        let server = server();
        let url = server.url();
        let scratch = Scratch::new("bad-peers");
        let source = scratch.path("target.bin");
        let expected = write_content(&source, 55);
        // The honest leecher starts from the .torrent, so it knows the torrent's shape (and
        // judges piece indices) from its first message on.
        let torrent = scratch.path("target.torrent");
        let (mut seeder, magnet) =
            rust_seeder(&url, &source, &["--torrent-out", torrent.to_str().unwrap()]);
        let info_hash = magnet
            .split("btih:")
            .nth(1)
            .and_then(|rest| rest.get(..40))
            .expect("an info-hash in the magnet link")
            .to_ascii_lowercase();
        let drops = |peers: &[&Peer]| -> usize {
            peers
                .iter()
                .map(|peer| {
                    peer.stderr_text()
                        .matches("dropping peer reason=protocol violation")
                        .count()
                })
                .sum()
        };

        for (kind, dropped) in [
            ("random", true),
            ("huge-length", true),
            ("bad-piece", false),
            ("bad-extended", true),
        ] {
            let out = scratch.path(&format!("out-{kind}"));
            let mut honest =
                rust_leecher("honest leecher", &url, torrent.to_str().unwrap(), &out, &[]);
            let before = drops(&[&seeder]);
            let timeout = timeout_arg();
            let mut bad = Peer::node(
                &format!("bad peer ({kind})"),
                &interop,
                "bad-peer.mjs",
                &[
                    &magnet,
                    "--server",
                    &url,
                    "--garbage",
                    kind,
                    "--drop-wait",
                    "30",
                    "--timeout",
                    &timeout,
                ],
            );
            let handshake = bad.wait_event("handshake");
            assert_eq!(text(&handshake["infoHash"]), info_hash, "{handshake}");
            assert!(
                text(&handshake["reserved"]).get(10..12) == Some("10"),
                "no extension bit: {handshake}"
            );
            bad.wait_event("garbage-sent");
            if !dropped {
                assert_rust_download_completes(&mut honest);
                assert_eq!(sha256(&out.join("target.bin")), expected, "{kind}");
                continue;
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while drops(&[&seeder, &honest]) == before && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            assert!(
                drops(&[&seeder, &honest]) > before,
                "no Rust peer dropped the {kind} garbage\nseeder:\n{}\nleecher:\n{}\nbad peer:\n{}",
                seeder.stderr_text(),
                honest.stderr_text(),
                bad.stderr_text()
            );
            assert_rust_download_completes(&mut honest);
            assert_eq!(sha256(&out.join("target.bin")), expected, "{kind}");
        }
        assert!(seeder.terminate().success(), "{}", seeder.stderr_text());
    });
}
