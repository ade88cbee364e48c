//! Runs the real `rondevu` binary: `seed` and `get` through a real signaling server, real
//! WebRTC peers on loopback and the real engine; resume; every error case with its message
//! and exit code; `--credentials` reuse; offers deleted on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rondevu_server::{serve, ServerConfig, ServerHandle};

/// A child process killed when the test ends, whatever happens.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    /// Sends SIGTERM and waits for a clean exit.
    fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        self.0.wait().expect("wait for rondevu")
    }
}

/// A fresh folder under the system temp folder, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("rondevu-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
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

fn rondevu(server: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rondevu"));
    command
        .env_remove("RONDEVU_SERVER")
        .env("RUST_LOG", "warn")
        .env("RONDEVU_SERVER", server);
    command
}

/// Deterministic pseudo-random bytes.
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Starts `rondevu seed` and returns it once it prints `seeding`, with its magnet link and the
/// lines it printed before.
fn start_seed(server: &str, args: &[&str]) -> (Running, String, Vec<String>) {
    let mut child = rondevu(server)
        .arg("seed")
        .args(args)
        .args(["--bind", "loopback"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rondevu seed");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut magnet = None;
    let mut printed = Vec::new();
    loop {
        let line = received
            .recv_timeout(Duration::from_secs(60))
            .expect("rondevu seed did not start seeding");
        if let Some(link) = line.strip_prefix("magnet: ") {
            magnet = Some(link.to_string());
        }
        if line.starts_with("seeding") {
            break;
        }
        printed.push(line);
    }
    let magnet = magnet.expect("rondevu seed printed no magnet link");
    (running, magnet, printed)
}

fn get(server: &str, torrent: &str, out: &Path, extra: &[&str]) -> Output {
    rondevu(server)
        .args(["get", torrent, "-o"])
        .arg(out)
        .args(["--bind", "loopback", "--timeout", "60", "-q"])
        .args(extra)
        .output()
        .expect("run rondevu get")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_folder_seeded_by_one_peer_arrives_whole_by_magnet() {
    let server = server();
    let scratch = Scratch::new("round-trip");
    let shared = scratch.0.join("album");
    std::fs::create_dir_all(shared.join("disc 2")).unwrap();
    let first = content(1_500_000, 1);
    let second = content(700_001, 2);
    std::fs::write(shared.join("one.bin"), &first).unwrap();
    std::fs::write(shared.join("disc 2").join("two.bin"), &second).unwrap();

    let (seeder, magnet, _) = start_seed(&server.url(), &[shared.to_str().unwrap()]);
    let out = scratch.0.join("out");
    let fetched = get(&server.url(), &magnet, &out, &[]);
    assert!(
        fetched.status.success(),
        "get failed: {}",
        text(&fetched.stderr)
    );
    let stdout = text(&fetched.stdout);
    assert!(stdout.starts_with("complete: album"), "{stdout}");
    assert_eq!(
        std::fs::read(out.join("album").join("one.bin")).unwrap(),
        first
    );
    assert_eq!(
        std::fs::read(out.join("album").join("disc 2").join("two.bin")).unwrap(),
        second
    );
    assert!(seeder.terminate().success());
}

#[test]
fn get_resumes_into_a_folder_that_holds_part_of_the_file() {
    let server = server();
    let scratch = Scratch::new("resume");
    let source = scratch.0.join("data.bin");
    let bytes = content(3_000_000, 3);
    std::fs::write(&source, &bytes).unwrap();
    let torrent_file = scratch.0.join("data.torrent");
    let (seeder, _, _) = start_seed(
        &server.url(),
        &[
            source.to_str().unwrap(),
            "--torrent-out",
            torrent_file.to_str().unwrap(),
        ],
    );

    // What an interrupted download leaves: the first part written, the rest missing, and one
    // damaged byte that must be fetched again.
    let out = scratch.0.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut partial = bytes[..1_800_000].to_vec();
    partial[10] ^= 0xff;
    std::fs::write(out.join("data.bin"), &partial).unwrap();

    let fetched = get(&server.url(), torrent_file.to_str().unwrap(), &out, &[]);
    assert!(
        fetched.status.success(),
        "get failed: {}",
        text(&fetched.stderr)
    );
    assert_eq!(std::fs::read(out.join("data.bin")).unwrap(), bytes);
    let stdout = text(&fetched.stdout);
    let already: u32 = stdout
        .split(" already on disk")
        .next()
        .and_then(|head| head.rsplit(", ").next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no resume count in {stdout:?}"));
    let total: u32 = stdout
        .split("every one of ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no piece count in {stdout:?}"));
    assert!(
        already > 0 && already < total,
        "resumed {already} of {total}: {stdout}"
    );
    assert!(seeder.terminate().success());
}

#[test]
fn seeding_with_credentials_reuses_the_identity_and_sigterm_deletes_the_offers() {
    let server = server();
    let scratch = Scratch::new("credentials");
    let source = scratch.0.join("shared.bin");
    std::fs::write(&source, content(100_000, 4)).unwrap();
    let credentials = scratch.0.join("identity.json");
    let api = rondevu_api::Client::new(&server.url()).unwrap();
    let args = [
        source.to_str().unwrap(),
        "--credentials",
        credentials.to_str().unwrap(),
    ];

    let mut peer_ids = Vec::new();
    for _ in 0..2 {
        let (seeder, _, _) = start_seed(&server.url(), &args);
        let stored: rondevu_api::Credentials =
            serde_json::from_str(&std::fs::read_to_string(&credentials).unwrap()).unwrap();
        // Offers are published right after start; give discovery a bounded moment.
        let published = (0..100).any(|_| {
            let listed = api.peer_offers(&stored.peer_id).unwrap();
            !listed.offers.is_empty() || {
                std::thread::sleep(Duration::from_millis(50));
                false
            }
        });
        assert!(published, "no offers under the stored peer id");
        assert!(seeder.terminate().success());
        let listed = api.peer_offers(&stored.peer_id).unwrap();
        assert!(
            listed.offers.is_empty(),
            "offers left after SIGTERM: {}",
            listed.offers.len()
        );
        peer_ids.push(stored.peer_id);
    }
    assert_eq!(
        peer_ids[0], peer_ids[1],
        "the second run registered a new identity"
    );
}

/// Asserts a one-sentence error on standard error and a failing exit code.
fn assert_fails_with(output: &Output, expected: &str) {
    assert_eq!(output.status.code(), Some(1), "exit code of {output:?}");
    let stderr = text(&output.stderr);
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: ") && last.contains(expected),
        "expected {expected:?} in {stderr:?}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
}

#[test]
fn errors_are_one_clear_sentence() {
    let scratch = Scratch::new("errors");
    let hash = "c3d0f1e2a1b2c3d4e5f60718293a4b5c6d7e8f90";

    // Nothing listens on a port that was free a moment ago.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = format!("http://{closed}");
    let output = get(&unreachable, hash, &scratch.0.join("out"), &[]);
    assert_fails_with(
        &output,
        &format!("the signaling server is unreachable at {unreachable}"),
    );

    let server = server();
    let output = get(
        &server.url(),
        "magnet:?xt=urn:btih:nothex",
        &scratch.0.join("out"),
        &[],
    );
    assert_fails_with(&output, "not a valid magnet link");

    let blocker = scratch.0.join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    let output = get(&server.url(), hash, &blocker.join("sub"), &[]);
    assert_fails_with(&output, "is not writable");

    let evil = scratch.0.join("evil.torrent");
    let data = b"escaping bytes";
    let torrent = bt_wire::TorrentBuilder::new("innocent", 16_384)
        .file(
            vec!["..".to_string(), "escaped.txt".to_string()],
            data.len() as u64,
        )
        .build_from_data(&[data])
        .unwrap();
    std::fs::write(&evil, torrent.to_bytes()).unwrap();
    let out = scratch.0.join("jail").join("out");
    let output = get(&server.url(), evil.to_str().unwrap(), &out, &[]);
    assert_fails_with(&output, "a file name would leave the output folder");
    assert!(!scratch.0.join("jail").join("escaped.txt").exists());
    assert!(!out.join("escaped.txt").exists());
}

#[test]
fn a_seeder_can_host_the_signaling_server_itself() {
    let scratch = Scratch::new("with-server");
    let source = scratch.0.join("hosted.bin");
    let bytes = content(400_000, 5);
    std::fs::write(&source, &bytes).unwrap();
    // No server of the test's own: the seeder is the whole rendezvous.
    let unused = "http://127.0.0.1:9";
    let (seeder, magnet, printed) = start_seed(
        unused,
        &[source.to_str().unwrap(), "--with-server", "127.0.0.1:0"],
    );
    let url = printed
        .iter()
        .find_map(|line| line.strip_prefix("signaling server listening on "))
        .unwrap_or_else(|| panic!("no server address in {printed:?}"))
        .to_string();
    let out = scratch.0.join("out");
    let fetched = get(&url, &magnet, &out, &[]);
    assert!(
        fetched.status.success(),
        "get failed: {}",
        text(&fetched.stderr)
    );
    assert_eq!(std::fs::read(out.join("hosted.bin")).unwrap(), bytes);
    assert!(seeder.terminate().success());
}
