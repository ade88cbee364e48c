//! `cargo xtask bench interop`: one file through our signaling server between WebTorrent (JS,
//! Node) and `rondevu` (Rust, release build) peers, in the four directions JS→JS, JS→Rust,
//! Rust→JS and Rust→Rust, in one run.
//!
//! Each direction starts one seeder, then fetches the file `--runs` times with a fresh leecher
//! (one after another), checks every byte, and reports the median. Throughput is file bytes /
//! (leecher start → leecher reports completion), MB = 10^6 bytes; time to first peer is leecher
//! start → its first connected peer; both are timed here, from outside, the same way for both
//! languages. The whole measurement runs inside a fresh network namespace with only `lo` (see
//! `netns`), so no packet can take another interface.
//!
//! Options after `--`: `--mib N` (64), `--runs N` (3). `RONDEVU_BENCH_BIN=PATH` measures that
//! `rondevu` binary instead of building one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::netns;
use crate::process::{cargo, target_dir, workspace_root};

/// Names the `rondevu` binary to measure (a release build); without it the bench builds one.
const BINARY_VAR: &str = "RONDEVU_BENCH_BIN";

/// How long one leecher may take, at most.
const LEECH_LIMIT: Duration = Duration::from_secs(300);

/// Runs the interop benchmark.
pub fn run(args: &[String]) -> Result<(), String> {
    let option = |name: &str, default: u64| -> Result<u64, String> {
        match args.iter().position(|arg| arg == name) {
            Some(index) => args
                .get(index + 1)
                .and_then(|value| value.parse().ok())
                .ok_or_else(|| format!("{name} needs a number")),
            None => Ok(default),
        }
    };
    let mib = option("--mib", 64)?.max(1);
    let runs = option("--runs", 3)?.max(1);
    let interop = std::env::var_os("RONDEVU_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("interop"));
    if !interop.join("node_modules").is_dir() {
        let reason = format!(
            "{} has no node_modules: run `cargo xtask npm-install` first",
            interop.display()
        );
        if std::env::var("RONDEVU_REQUIRE_NODE").as_deref() == Ok("1") {
            return Err(reason);
        }
        eprintln!("skipped: {reason}");
        return Ok(());
    }
    if std::env::var(netns::INSIDE_MARKER).as_deref() != Ok("1") {
        let built = match std::env::var_os(BINARY_VAR) {
            Some(given) => PathBuf::from(given),
            None => {
                eprintln!("building the rondevu CLI (release)…");
                let status = cargo()
                    .args(["build", "--release", "-q", "-p", "rondevu-cli"])
                    .status()
                    .map_err(|error| format!("cannot run cargo: {error}"))?;
                if !status.success() {
                    return Err(format!("building rondevu (release) failed ({status})"));
                }
                target_dir().join("release").join("rondevu")
            }
        };
        // A private copy: a target folder shared with other checkouts may get another
        // build of the binary while we measure.
        let private =
            std::env::temp_dir().join(format!("rondevu-bench-interop-bin-{}", std::process::id()));
        std::fs::copy(&built, &private)
            .map_err(|error| format!("cannot copy {}: {error}", built.display()))?;
        // Measure inside a namespace with only `lo`: this same command, run again there.
        let mut again = Command::new(
            std::env::current_exe().map_err(|error| format!("cannot find xtask: {error}"))?,
        );
        again
            .args(["bench", "interop", "--"])
            .args(args)
            .env("RONDEVU_INTEROP_DIR", &interop)
            .env(BINARY_VAR, &private);
        let status = netns::isolated(&again)
            .status()
            .map_err(|error| format!("cannot run the benchmark in a namespace: {error}"));
        let _ = std::fs::remove_file(&private);
        let status = status?;
        return if status.success() {
            Ok(())
        } else {
            Err(format!("bench interop failed ({status})"))
        };
    }

    let rondevu = std::env::var_os(BINARY_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("release").join("rondevu"));
    let bench = Bench::start(&rondevu, &interop, mib)?;
    let mut rows = Vec::new();
    for (seeder, leecher) in [
        (Side::Js, Side::Js),
        (Side::Js, Side::Rust),
        (Side::Rust, Side::Js),
        (Side::Rust, Side::Rust),
    ] {
        let results = bench.direction(seeder, leecher, runs)?;
        rows.push((seeder, leecher, results));
    }

    let median = |values: &mut Vec<f64>| -> f64 {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let mut summary = Vec::new();
    for (seeder, leecher, results) in &rows {
        let mut speeds: Vec<f64> = results.iter().map(|run| run.mb_per_s).collect();
        let mut firsts: Vec<f64> = results.iter().map(|run| run.first_peer_ms).collect();
        summary.push((
            format!("{}→{}", seeder.name(), leecher.name()),
            median(&mut speeds),
            median(&mut firsts),
            speeds,
        ));
    }
    let baseline = summary[0].1;
    println!(
        "\nInterop (WebTorrent): {mib} MiB through our signaling server on loopback, median of {runs}"
    );
    println!("| seeder → leecher | throughput | vs JS→JS | time to first peer | runs (MB/s) |");
    println!("|---|---:|---:|---:|---|");
    for (name, speed, first, speeds) in &summary {
        let each: Vec<String> = speeds.iter().map(|speed| format!("{speed:.1}")).collect();
        println!(
            "| {name} | {speed:.1} MB/s | {:.2}× | {first:.0} ms | {} |",
            speed / baseline,
            each.join(", ")
        );
    }
    println!("Targets: Rust→Rust ≥ 3.00× JS→JS; JS→Rust ≥ 1.00× JS→JS.");
    Ok(())
}

/// Which implementation a peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Js,
    Rust,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Js => "JS",
            Side::Rust => "Rust",
        }
    }
}

/// One leecher's figures.
struct RunResult {
    mb_per_s: f64,
    first_peer_ms: f64,
}

/// The server and the file shared by every direction.
struct Bench {
    rondevu: PathBuf,
    interop: PathBuf,
    folder: PathBuf,
    source: PathBuf,
    content: Vec<u8>,
    url: String,
    _server: Spawned,
}

impl Bench {
    fn start(rondevu: &Path, interop: &Path, mib: u64) -> Result<Self, String> {
        let folder =
            std::env::temp_dir().join(format!("rondevu-bench-interop-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        std::fs::create_dir_all(&folder)
            .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
        let source = folder.join("bench.bin");
        let content = pseudo_random((mib * 1024 * 1024) as usize);
        std::fs::write(&source, &content)
            .map_err(|error| format!("cannot write {}: {error}", source.display()))?;
        let mut server = Spawned::new(
            "server",
            Command::new(rondevu).args(["server", "--listen", "127.0.0.1:0"]),
        )?;
        let url = server.wait_for(Duration::from_secs(10), |line| {
            line.split("listening on ")
                .nth(1)
                .map(|url| url.trim().to_string())
        })?;
        Ok(Self {
            rondevu: rondevu.to_path_buf(),
            interop: interop.to_path_buf(),
            folder,
            source,
            content,
            url,
            _server: server,
        })
    }

    /// Starts a seeder, fetches `runs` times, stops the seeder.
    fn direction(&self, seeder: Side, leecher: Side, runs: u64) -> Result<Vec<RunResult>, String> {
        let source = self.source.to_str().unwrap_or_default();
        let (mut seeding, magnet) = match seeder {
            Side::Js => {
                let mut child = Spawned::new(
                    "js seeder",
                    &mut self.node(&[
                        "rondevu-peer.mjs",
                        "seed",
                        source,
                        "--server",
                        &self.url,
                        "--timeout",
                        "1800",
                    ]),
                )?;
                let magnet = child.wait_for(Duration::from_secs(120), |line| {
                    json_event(line, "ready")
                        .and_then(|event| event["magnet"].as_str().map(str::to_string))
                })?;
                (child, magnet)
            }
            Side::Rust => {
                let mut child = Spawned::new(
                    "rust seeder",
                    Command::new(&self.rondevu)
                        .args(["seed", source, "--server", &self.url, "--bind", "loopback"])
                        .env("RUST_LOG", "warn"),
                )?;
                let magnet = child.wait_for(Duration::from_secs(120), |line| {
                    line.strip_prefix("magnet: ").map(str::to_string)
                })?;
                child.wait_for(Duration::from_secs(10), |line| {
                    line.starts_with("seeding").then_some(())
                })?;
                (child, magnet)
            }
        };
        let mut results = Vec::new();
        for run in 1..=runs {
            let result = self.leech(leecher, &magnet, run);
            let result = match result {
                Ok(result) => result,
                Err(error) => {
                    seeding.stop();
                    return Err(error);
                }
            };
            eprintln!(
                "{}→{} run {run}: {:.1} MB/s, first peer after {:.0} ms",
                seeder.name(),
                leecher.name(),
                result.mb_per_s,
                result.first_peer_ms
            );
            results.push(result);
        }
        seeding.stop();
        Ok(results)
    }

    /// One fresh leecher fetching `magnet`; checks every byte.
    fn leech(&self, side: Side, magnet: &str, run: u64) -> Result<RunResult, String> {
        let out = self.folder.join(format!("out-{}-{run}", side.name()));
        let _ = std::fs::remove_dir_all(&out);
        let out_text = out.to_str().unwrap_or_default();
        let limit = LEECH_LIMIT.as_secs().to_string();
        let mut child = match side {
            Side::Js => Spawned::new(
                "js leecher",
                &mut self.node(&[
                    "rondevu-peer.mjs",
                    "get",
                    magnet,
                    "--out",
                    out_text,
                    "--server",
                    &self.url,
                    "--timeout",
                    &limit,
                ]),
            )?,
            Side::Rust => Spawned::new(
                "rust leecher",
                Command::new(&self.rondevu)
                    .args(["get", magnet, "-o", out_text, "--server", &self.url])
                    .args(["--bind", "loopback", "--timeout", &limit, "-q"])
                    .env("RUST_LOG", "warn"),
            )?,
        };
        let started = child.started;
        let mut first_peer = None;
        let done = child.wait_for_timed(LEECH_LIMIT, |line, at| {
            let is_peer = match side {
                Side::Js => json_event(line, "peer").is_some(),
                Side::Rust => line.starts_with("first peer connected after"),
            };
            if is_peer && first_peer.is_none() {
                first_peer = Some(at);
            }
            let is_done = match side {
                Side::Js => json_event(line, "done").is_some(),
                Side::Rust => line.starts_with("complete: "),
            };
            is_done.then_some(at)
        })?;
        child.stop();
        let fetched = std::fs::read(out.join("bench.bin"))
            .map_err(|error| format!("{} left no file: {error}", side.name()))?;
        if fetched != self.content {
            return Err(format!("the {} leecher's bytes differ", side.name()));
        }
        let _ = std::fs::remove_dir_all(&out);
        let seconds = (done - started).as_secs_f64();
        Ok(RunResult {
            mb_per_s: self.content.len() as f64 / seconds / 1e6,
            first_peer_ms: first_peer.map_or(f64::NAN, |at| (at - started).as_secs_f64() * 1e3),
        })
    }

    fn node(&self, args: &[&str]) -> Command {
        let mut command = Command::new("node");
        command.args(args).current_dir(&self.interop);
        command
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// A child whose stdout and stderr lines arrive, time-stamped, on one channel; killed when
/// dropped.
struct Spawned {
    name: &'static str,
    child: Child,
    started: Instant,
    lines: mpsc::Receiver<(Instant, String)>,
}

impl Spawned {
    fn new(name: &'static str, command: &mut Command) -> Result<Self, String> {
        let started = Instant::now();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start the {name}: {error}"))?;
        let (sender, lines) = mpsc::channel();
        let stdout = child
            .stdout
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn std::io::Read + Send>);
        let stderr = child
            .stderr
            .take()
            .map(|pipe| Box::new(pipe) as Box<dyn std::io::Read + Send>);
        for pipe in [stdout, stderr].into_iter().flatten() {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if sender.send((Instant::now(), line)).is_err() {
                        break;
                    }
                }
            });
        }
        Ok(Self {
            name,
            child,
            started,
            lines,
        })
    }

    fn wait_for<T>(
        &mut self,
        limit: Duration,
        mut pick: impl FnMut(&str) -> Option<T>,
    ) -> Result<T, String> {
        self.wait_for_timed(limit, |line, _| pick(line))
    }

    /// The first line for which `pick` gives a value, with the time it arrived.
    fn wait_for_timed<T>(
        &mut self,
        limit: Duration,
        mut pick: impl FnMut(&str, Instant) -> Option<T>,
    ) -> Result<T, String> {
        let deadline = Instant::now() + limit;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((at, line)) => {
                    if let Some(found) = pick(&line, at) {
                        return Ok(found);
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let tail = seen[seen.len().saturating_sub(20)..].join("\n");
                    return Err(format!(
                        "the {} did not get there within {limit:?} (exit: {:?}); last output:\n{tail}",
                        self.name,
                        self.child.try_wait().ok().flatten()
                    ));
                }
            }
        }
    }

    /// SIGTERM, then SIGKILL after a few seconds.
    fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON event named `name` on this line, if it is one.
fn json_event(line: &str, name: &str) -> Option<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .filter(|event| event["event"] == name)
}

/// Deterministic bytes that do not compress.
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}
