//! Runs the real `rondevu server` binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rondevu() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rondevu"));
    command
        .env_remove("AUTH_SECRET")
        .env_remove("PORT")
        .env("RUST_LOG", "warn");
    command
}

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read the reply");
    reply
}

/// Starts `rondevu server` on a free loopback port and returns it with its address.
fn start_server(extra: &[&str]) -> (Running, String) {
    let mut child = rondevu()
        .args(["server", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rondevu server");
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut line = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read the first line");
    assert!(Instant::now() < deadline);
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (running, addr)
}

#[test]
fn server_prints_its_address_and_answers_health() {
    let (_server, addr) = start_server(&[]);
    assert!(addr.starts_with("127.0.0.1:"));
    let reply = http_get(&addr, "/health");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains(r#""status":"ok""#), "{reply}");
}

fn http(addr: &str, method: &str, path: &str, headers: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to the server");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read the reply");
    reply
}

/// The value of a string field in a JSON reply (enough for these flat answers).
fn json_field(reply: &str, field: &str) -> String {
    let key = format!("\"{field}\":\"");
    let start = reply
        .find(&key)
        .unwrap_or_else(|| panic!("no {field} in {reply}"))
        + key.len();
    let end = reply[start..].find('"').unwrap() + start;
    reply[start..end].to_string()
}

#[test]
fn offers_and_credentials_survive_a_restart_on_the_same_database() {
    let folder = std::env::temp_dir().join(format!("rondevu-cli-db-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let db = folder.join("offers.sqlite");
    let secret = "ab".repeat(32);
    let args = [
        "--db",
        db.to_str().unwrap(),
        "--auth-secret",
        secret.as_str(),
    ];
    let topic = "c3d0f1e2a1b2c3d4e5f60718293a4b5c6d7e8f90";

    let (mut server, addr) = start_server(&args);
    let registered = http(&addr, "POST", "/register", "", "{}");
    let auth = format!(
        "Authorization: Bearer {}:{}\r\n",
        json_field(&registered, "peerId"),
        json_field(&registered, "secret")
    );
    let body = format!(r#"{{"offers":[{{"sdp":"v=0\r\n","topics":["{topic}"],"ttl":600000}}]}}"#);
    let published = http(&addr, "POST", "/offers", &auth, &body);
    assert!(published.starts_with("HTTP/1.1 200"), "{published}");
    let offer_id = json_field(&published, "id");

    // SIGTERM stops it cleanly.
    let status = Command::new("kill")
        .arg(server.0.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        server.0.wait().unwrap().success(),
        "rondevu server did not exit cleanly"
    );
    drop(server);

    let (_server, addr) = start_server(&args);
    let listed = http_get(&addr, &format!("/offers/by-topic/{topic}"));
    assert!(listed.contains(&offer_id), "{listed}");
    let mine = http(&addr, "GET", "/offers/mine", &auth, "");
    assert!(
        mine.starts_with("HTTP/1.1 200"),
        "old credentials refused: {mine}"
    );
    assert!(mine.contains(&offer_id), "{mine}");
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn bad_auth_secret_is_one_clear_error() {
    let output = rondevu()
        .args(["server", "--listen", "127.0.0.1:0", "--auth-secret", "xyz"])
        .output()
        .expect("run rondevu");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: --auth-secret is not a valid key"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

#[test]
fn address_in_use_is_one_clear_error() {
    let (_server, addr) = start_server(&[]);
    let output = rondevu()
        .args(["server", "--listen", &addr])
        .output()
        .expect("run rondevu");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("could not bind"), "{stderr}");
}
