//! The transfer demo: `rondevu server`, `rondevu seed` and `rondevu get` as separate
//! processes on 127.0.0.1, a random file fetched by magnet link alone, checked by SHA-256.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::process::{cargo, run_step, target_dir};

/// The longest the leechers may take (the demo normally needs seconds).
const GET_TIMEOUT_SECS: u64 = 300;

/// Runs the demo: one seeder, `leechers` leechers, a file of `size_mib` MiB.
pub fn run(size_mib: u64, leechers: usize) -> Result<(), String> {
    run_step(
        "cargo build --release -p rondevu-cli",
        cargo().args(["build", "--release", "-p", "rondevu-cli"]),
    )?;
    let binary = target_dir().join("release").join("rondevu");
    let scratch = Scratch::new()?;
    let started = Instant::now();

    let name = format!("demo-{size_mib}MiB.bin");
    let source = scratch.0.join("seed").join(&name);
    say(&format!(
        "writing {size_mib} MiB of random data to {}",
        source.display()
    ));
    write_random(&source, size_mib << 20)?;

    let (lines, received) = mpsc::channel();
    say("starting `rondevu server` on 127.0.0.1");
    let mut server = Process::spawn(
        "server",
        Command::new(&binary).args(["server", "--listen", "127.0.0.1:0"]),
        &lines,
    )?;
    let url = wait_for_line(
        &received,
        "server",
        "listening on ",
        Duration::from_secs(30),
    )?
    .trim_start_matches("listening on ")
    .to_string();

    say(&format!(
        "starting `rondevu seed {name}` against {url} (loopback only)"
    ));
    let mut seeder = Process::spawn(
        "seed",
        Command::new(&binary)
            .arg("seed")
            .arg(&source)
            .args(["--server", &url, "--bind", "loopback"]),
        &lines,
    )?;
    let magnet = wait_for_line(&received, "seed", "magnet: ", Duration::from_secs(120))?
        .trim_start_matches("magnet: ")
        .to_string();
    wait_for_line(&received, "seed", "seeding", Duration::from_secs(120))?;

    say(&format!(
        "starting {leechers} × `rondevu get` with only the magnet link"
    ));
    let get_started = Instant::now();
    let mut getters = Vec::with_capacity(leechers);
    for index in 0..leechers {
        let tag = format!("get {}", index + 1);
        let output = scratch.0.join(format!("leecher-{}", index + 1));
        getters.push(Process::spawn(
            &tag,
            Command::new(&binary)
                .args(["get", &magnet, "-o"])
                .arg(&output)
                .args(["--server", &url, "--bind", "loopback", "--timeout"])
                .arg(GET_TIMEOUT_SECS.to_string()),
            &lines,
        )?);
    }
    let reports = collect_reports(&received, &mut getters, get_started)?;

    say("comparing SHA-256 of the source and every download");
    let expected = sha256_of(&source)?;
    println!("      source      {expected}");
    for index in 0..leechers {
        let fetched = scratch.0.join(format!("leecher-{}", index + 1)).join(&name);
        let actual = sha256_of(&fetched)?;
        println!("      leecher {:<3} {actual}", index + 1);
        if actual != expected {
            return Err(format!("leecher {} got different bytes", index + 1));
        }
    }

    say("stopping the seeder (it deletes its offers) and the server");
    seeder.terminate()?;
    server.terminate()?;

    let bytes = (size_mib << 20) as f64;
    println!("\nsummary");
    println!(
        "  size                {size_mib} MiB ({} bytes), {leechers} leecher(s)",
        size_mib << 20
    );
    for (index, report) in reports.iter().enumerate() {
        println!(
            "  leecher {:<3}         first peer after {} ms, transfer {:.2} s, {:.1} MB/s, done {:.2} s after start",
            index + 1,
            report.first_peer_ms.map_or("?".to_string(), |ms| ms.to_string()),
            report.transfer.as_secs_f64(),
            bytes / report.transfer.as_secs_f64().max(0.001) / 1e6,
            report.wall.as_secs_f64()
        );
    }
    println!("  SHA-256             equal ({expected})");
    println!(
        "  demo total          {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// What one leecher reported.
struct Report {
    first_peer_ms: Option<u64>,
    transfer: Duration,
    wall: Duration,
}

/// Waits for every leecher to exit, reading its lines: all must succeed.
fn collect_reports(
    received: &Receiver<(String, String)>,
    getters: &mut [Process],
    started: Instant,
) -> Result<Vec<Report>, String> {
    let mut first_peer: Vec<Option<u64>> = vec![None; getters.len()];
    let mut transfer: Vec<Option<Duration>> = vec![None; getters.len()];
    let mut wall: Vec<Option<Duration>> = vec![None; getters.len()];
    let deadline = started + Duration::from_secs(GET_TIMEOUT_SECS + 30);
    while wall.iter().any(Option::is_none) {
        if Instant::now() > deadline {
            return Err("the leechers did not finish in time".to_string());
        }
        if let Ok((tag, line)) = received.recv_timeout(Duration::from_millis(100)) {
            let Some(index) = tag
                .strip_prefix("get ")
                .and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            let index = index - 1;
            if let Some(ms) = line
                .strip_prefix("first peer connected after ")
                .and_then(|rest| rest.trim_end_matches(" ms").parse().ok())
            {
                first_peer[index] = Some(ms);
            }
            if let Some(time) = transfer_time(&line) {
                transfer[index] = Some(time);
            }
        }
        for (index, getter) in getters.iter_mut().enumerate() {
            if wall[index].is_none() {
                if let Some(status) = getter.try_wait()? {
                    if !status.success() {
                        return Err(format!("leecher {} failed ({status})", index + 1));
                    }
                    wall[index] = Some(started.elapsed());
                }
            }
        }
    }
    // Lines printed just before exit may still be in flight.
    while let Ok((tag, line)) = received.recv_timeout(Duration::from_millis(200)) {
        if let Some(index) = tag
            .strip_prefix("get ")
            .and_then(|n| n.parse::<usize>().ok())
        {
            if let Some(time) = transfer_time(&line) {
                transfer[index - 1].get_or_insert(time);
            }
        }
    }
    (0..getters.len())
        .map(|index| {
            Ok(Report {
                first_peer_ms: first_peer[index],
                transfer: transfer[index]
                    .ok_or(format!("leecher {} printed no summary", index + 1))?,
                wall: wall[index].unwrap_or_default(),
            })
        })
        .collect()
}

/// The transfer time in `rondevu get`'s last line (`complete: … in 1.74 s, 38.6 MB/s`).
fn transfer_time(line: &str) -> Option<Duration> {
    line.strip_prefix("complete:")?
        .rsplit(" in ")
        .next()?
        .split(" s,")
        .next()?
        .parse::<f64>()
        .ok()
        .map(Duration::from_secs_f64)
}

/// Reads lines until one from `tag` starts with `prefix`.
fn wait_for_line(
    received: &Receiver<(String, String)>,
    tag: &str,
    prefix: &str,
    limit: Duration,
) -> Result<String, String> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok((from, line)) if from == tag && line.starts_with(prefix) => return Ok(line),
            Ok(_) => {}
            Err(_) => return Err(format!("`rondevu {tag}` did not print `{prefix}…` in time")),
        }
    }
}

/// A child process whose output is shown with a tag, killed if the demo ends early.
struct Process {
    tag: String,
    child: Child,
}

impl Process {
    fn spawn(
        tag: &str,
        command: &mut Command,
        lines: &Sender<(String, String)>,
    ) -> Result<Self, String> {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env_remove("RUST_LOG")
            .spawn()
            .map_err(|error| format!("could not start `rondevu {tag}`: {error}"))?;
        relay(tag, child.stdout.take(), lines.clone());
        relay(tag, child.stderr.take(), lines.clone());
        Ok(Self {
            tag: tag.to_string(),
            child,
        })
    }

    fn try_wait(&mut self) -> Result<Option<std::process::ExitStatus>, String> {
        self.child
            .try_wait()
            .map_err(|error| format!("`rondevu {}`: {error}", self.tag))
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit.
    fn terminate(&mut self) -> Result<(), String> {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.try_wait()? {
                return if status.success() {
                    Ok(())
                } else {
                    Err(format!("`rondevu {}` stopped with {status}", self.tag))
                };
            }
            if Instant::now() > deadline {
                return Err(format!("`rondevu {}` did not stop", self.tag));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Prints each line of `stream` as `[tag] line` and passes it on.
fn relay(tag: &str, stream: Option<impl Read + Send + 'static>, lines: Sender<(String, String)>) {
    let Some(stream) = stream else { return };
    let tag = tag.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            println!("  [{tag:<6}] {line}");
            let _ = lines.send((tag.clone(), line));
        }
    });
}

/// A demo folder under the system temp folder, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Self, String> {
        let path = std::env::temp_dir().join(format!("rondevu-demo-{}", std::process::id()));
        std::fs::create_dir_all(path.join("seed"))
            .map_err(|error| format!("cannot create {}: {error}", path.display()))?;
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `length` pseudo-random bytes (xorshift64*, seeded from the clock).
fn write_random(path: &Path, length: u64) -> Result<(), String> {
    let mut file =
        File::create(path).map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    let mut state = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9e37_79b9_7f4a_7c15, |elapsed| elapsed.as_nanos() as u64)
        | 1;
    let mut buffer = vec![0u8; 1 << 20];
    let mut left = length;
    while left > 0 {
        for word in buffer.chunks_exact_mut(8) {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            word.copy_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        let take = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        file.write_all(&buffer[..take])
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        left -= take as u64;
    }
    Ok(())
}

/// The SHA-256 of a file, as lowercase hex.
fn sha256_of(path: &Path) -> Result<String, String> {
    let mut file =
        File::open(path).map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

fn say(step: &str) {
    println!("==> {step}");
}
