//! `cargo xtask bench server`: load on the signaling server over loopback.
//!
//! The server (`rondevu-server`, in-memory SQLite) and the load generator share this process
//! and the machine's cores. The generator is tokio + hyper's HTTP/1.1 client connections
//! (one keep-alive connection per worker task, no pool in the way): hyper is already compiled
//! for the server, and a bare connection per task measures the server rather than a client
//! pool. Every phase is bounded by a request count and by time, whichever comes first.
//!
//! Phases: the baseline, `GET /health` (a tiny answer: the floor of this HTTP stack and
//! generator on this machine, measured in the same run); `GET /offers/by-topic/:topic?limit=50`
//! with 100 offers of ~500-character SDPs on the topic; `POST /offers` +
//! `POST /offers/:id/answer` pairs; both at once on half the connections each; and reads of
//! the topic while the other half publish and delete offers under that same topic (the
//! listing cache's worst case: every write is followed by a refresh from SQLite).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rondevu_api::{Client, Credentials, NewOffer};
use rondevu_server::ServerConfig;

use crate::process;

/// Set when this process is the release build started by the debug one.
const RELEASE_MARKER: &str = "RONDEVU_BENCH_RELEASE";
/// The topic the read phase lists.
const TOPIC: &str = "5f1c5c8a9c3e4b7d8e2f1a0b9c8d7e6f5a4b3c2d";
/// Offers on that topic.
const OFFERS_ON_TOPIC: usize = 100;
/// Approximate SDP length of each offer.
const SDP_LEN: usize = 500;
/// Listing page size.
const LIMIT: usize = 50;

/// Command-line settings.
#[derive(Debug, Clone, Copy)]
struct Settings {
    seconds: u64,
    max_reads: u64,
    max_pairs: u64,
    connections: usize,
}

impl Settings {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut settings = Settings {
            seconds: 10,
            max_reads: 1_000_000,
            max_pairs: 200_000,
            connections: 32,
        };
        let mut iter = args.iter();
        while let Some(flag) = iter.next() {
            let mut value = || -> Result<u64, String> {
                iter.next()
                    .ok_or_else(|| format!("{flag} needs a value"))?
                    .parse()
                    .map_err(|error| format!("{flag}: {error}"))
            };
            match flag.as_str() {
                "--seconds" => settings.seconds = value()?.clamp(1, 300),
                "--max-reads" => settings.max_reads = value()?.max(1),
                "--max-pairs" => settings.max_pairs = value()?.max(1),
                "--connections" => {
                    settings.connections = usize::try_from(value()?.clamp(1, 1024)).unwrap_or(32)
                }
                other => {
                    return Err(format!(
                        "unknown option `{other}` (known: --seconds N, --max-reads N, --max-pairs N, --connections N)"
                    ));
                }
            }
        }
        Ok(settings)
    }
}

/// Runs the server benchmark (re-running itself as a release build when needed).
pub fn run(args: &[String]) -> Result<(), String> {
    let settings = Settings::parse(args)?;
    if cfg!(debug_assertions) && std::env::var_os(RELEASE_MARKER).is_none() {
        let mut command = process::cargo();
        command
            .args(["run", "--release", "--quiet", "--package", "xtask", "--"])
            .args(["bench", "server", "--"])
            .args(args)
            .env(RELEASE_MARKER, "1");
        return process::run_step("bench server (release build)", &mut command);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "bench server: {cores} cores shared by server and generator, {} connections, up to {} s per phase",
        settings.connections, settings.seconds
    );

    let server = rondevu_server::serve(ServerConfig {
        port: 0,
        offer_max_ttl_ms: 3_600_000,
        ..ServerConfig::default()
    })
    .map_err(|error| format!("server did not start: {error}"))?;
    let addr = server.local_addr();
    let client = Client::new(&server.url()).map_err(|error| error.to_string())?;
    seed_topic(&client)?;
    let offerer = client.register().map_err(|error| error.to_string())?;
    let answerer = client.register().map_err(|error| error.to_string())?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores)
        .enable_all()
        .thread_name("bench-load")
        .build()
        .map_err(|error| format!("load runtime: {error}"))?;
    let duration = Duration::from_secs(settings.seconds);

    // Warm-up (discarded), the baseline, then the measured read phase.
    runtime.block_on(load(
        addr,
        settings.connections,
        Duration::from_secs(1),
        settings.max_reads,
        Scenario::Read,
    ))?;
    let health = runtime
        .block_on(load(
            addr,
            settings.connections,
            duration,
            settings.max_reads,
            Scenario::Health,
        ))?
        .reads;
    let reads = runtime
        .block_on(load(
            addr,
            settings.connections,
            duration,
            settings.max_reads,
            Scenario::Read,
        ))?
        .reads;
    let credentials = Arc::new(PairCredentials {
        offerer: bearer(&offerer),
        answerer: bearer(&answerer),
        next: AtomicU64::new(0),
    });
    let pairs = runtime
        .block_on(load(
            addr,
            settings.connections,
            duration,
            settings.max_pairs,
            Scenario::PublishAnswer(Arc::clone(&credentials)),
        ))?
        .writes;
    let mixed = runtime.block_on(load(
        addr,
        settings.connections,
        duration,
        settings.max_reads.saturating_add(settings.max_pairs),
        Scenario::Mixed(Box::new(Scenario::PublishAnswer(Arc::clone(&credentials)))),
    ))?;
    let churn = runtime.block_on(load(
        addr,
        settings.connections,
        duration,
        settings.max_reads.saturating_add(settings.max_pairs),
        Scenario::Mixed(Box::new(Scenario::Churn(credentials))),
    ))?;
    server.shutdown();

    println!();
    health.print("baseline: GET /health");
    reads.print(&format!(
        "GET /offers/by-topic (limit {LIMIT}, {OFFERS_ON_TOPIC} offers of ~{SDP_LEN}-char SDPs)"
    ));
    pairs.print("POST /offers + POST /offers/:id/answer pairs");
    mixed.reads.print("mixed: by-topic reads beside writers");
    mixed.writes.print("mixed: publish+answer beside readers");
    churn
        .reads
        .print("churn: by-topic reads while the same topic changes");
    churn
        .writes
        .print("churn: publish+delete on the read topic");
    println!(
        "pairs: {:.0} publish+answer pairs/s",
        pairs.units as f64 / pairs.elapsed.as_secs_f64()
    );
    println!(
        "by-topic reads run at {:.2}x the /health floor",
        reads.rate() / health.rate()
    );
    println!("\n| phase | req/s | p50 ms | p99 ms | vs /health |\n|---|---:|---:|---:|---:|");
    for (name, phase) in [
        ("baseline: `GET /health`", &health),
        ("`GET /offers/by-topic` limit 50", &reads),
        ("`POST /offers` + `POST …/answer`", &pairs),
        ("mixed: by-topic reads (half the connections)", &mixed.reads),
        ("mixed: publish + answer (other half)", &mixed.writes),
        ("churn: by-topic reads, same topic written", &churn.reads),
        ("churn: publish + delete on that topic", &churn.writes),
    ] {
        let (p50, p99, _) = phase.percentiles();
        println!(
            "| {name} | {:.0} | {p50:.2} | {p99:.2} | {:.2}× |",
            phase.rate(),
            phase.rate() / health.rate()
        );
    }
    let errors = health.errors
        + reads.errors
        + pairs.errors
        + mixed.reads.errors
        + mixed.writes.errors
        + churn.reads.errors
        + churn.writes.errors;
    if errors > 0 {
        return Err(format!("{errors} failed requests during the benchmark"));
    }
    Ok(())
}

/// Publishes the read phase's offers (one peer each, like a real swarm) and checks the page.
fn seed_topic(client: &Client) -> Result<(), String> {
    for index in 0..OFFERS_ON_TOPIC {
        let peer = client.register().map_err(|error| error.to_string())?;
        let mut offer = NewOffer::new(sdp(index as u64, "seed"), [TOPIC]);
        offer.ttl = Some(3_600_000);
        client
            .publish(&peer, &[offer])
            .map_err(|error| error.to_string())?;
    }
    let page = client
        .offers_by_topic(TOPIC, Some(LIMIT as u32), None)
        .map_err(|error| error.to_string())?;
    if page.returned != LIMIT as u64 || page.total != OFFERS_ON_TOPIC as u64 {
        return Err(format!(
            "seeded topic lists {} of {} offers",
            page.returned, page.total
        ));
    }
    Ok(())
}

/// A browser-like SDP of about [`SDP_LEN`] characters, distinct per `n`.
fn sdp(n: u64, tag: &str) -> String {
    let mut text = format!(
        "v=0\r\no=- {n} 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
         m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
         a=ice-ufrag:{tag}{n}\r\na=ice-pwd:bench-password-0123456789abcdef\r\n\
         a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
         a=setup:actpass\r\na=mid:0\r\na=sctp-port:5000\r\n"
    );
    while text.len() < SDP_LEN {
        text.push_str("a=max-message-size:262144\r\n");
    }
    text
}

fn bearer(credentials: &Credentials) -> String {
    format!("Bearer {}:{}", credentials.peer_id, credentials.secret)
}

/// Authorization for the publish/answer phase and a counter for unique SDPs.
struct PairCredentials {
    offerer: String,
    answerer: String,
    next: AtomicU64,
}

/// What each connection does in a loop.
#[derive(Clone)]
enum Scenario {
    /// One `GET /health` per unit (the baseline).
    Health,
    /// One by-topic listing per unit.
    Read,
    /// One publish and one answer per unit.
    PublishAnswer(Arc<PairCredentials>),
    /// Publish an offer under the read topic, then delete it (every write changes the
    /// listing the readers want, so each is followed by a refresh from SQLite).
    Churn(Arc<PairCredentials>),
    /// Half the connections read by topic while the other half run the given writing
    /// scenario.
    Mixed(Box<Scenario>),
}

/// What one phase measured.
struct PhaseResult {
    /// Completed units (reads, or publish+answer pairs).
    units: u64,
    /// Per-request latencies in microseconds.
    latencies: Vec<u32>,
    errors: u64,
    elapsed: Duration,
}

impl PhaseResult {
    /// Requests per second.
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// p50, p99 and maximum latency in milliseconds.
    fn percentiles(&self) -> (f64, f64, f64) {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let at = |fraction: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
            f64::from(sorted[index.min(sorted.len() - 1)]) / 1000.0
        };
        (at(0.50), at(0.99), at(1.0))
    }

    fn print(&self, name: &str) {
        let (p50, p99, max) = self.percentiles();
        println!(
            "{name}: {} requests in {:.2} s = {:.0} req/s, p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms, errors {}",
            self.latencies.len(),
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.errors
        );
    }
}

/// Runs `scenario` on `connections` keep-alive connections until `max_units` are done or
/// `duration` has passed.
async fn load(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    max_units: u64,
    scenario: Scenario,
) -> Result<Split, String> {
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(connections);
    for index in 0..connections {
        let issued = Arc::clone(&issued);
        // In the mixed phase, even connections read and odd ones publish and answer.
        let scenario = match &scenario {
            Scenario::Mixed(_) if index % 2 == 0 => Scenario::Read,
            Scenario::Mixed(writers) => (**writers).clone(),
            other => other.clone(),
        };
        tasks.push(tokio::spawn(async move {
            let writes = matches!(scenario, Scenario::PublishAnswer(_) | Scenario::Churn(_));
            let outcome = connection_loop(addr, deadline, max_units, &issued, &scenario).await;
            outcome.map(|outcome| (writes, outcome))
        }));
    }
    let empty = || PhaseResult {
        units: 0,
        latencies: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    let (mut reads, mut writes) = (empty(), empty());
    for task in tasks {
        let (is_write, (units, latencies, errors)) = task
            .await
            .map_err(|error| format!("load task failed: {error}"))??;
        let bucket = if is_write { &mut writes } else { &mut reads };
        bucket.units += units;
        bucket.latencies.extend(latencies);
        bucket.errors += errors;
    }
    reads.elapsed = started.elapsed();
    writes.elapsed = reads.elapsed;
    Ok(Split { reads, writes })
}

/// A phase's results, split into reading and writing connections.
struct Split {
    reads: PhaseResult,
    writes: PhaseResult,
}

type LoopOutcome = Result<(u64, Vec<u32>, u64), String>;

async fn connection_loop(
    addr: SocketAddr,
    deadline: Instant,
    max_units: u64,
    issued: &AtomicU64,
    scenario: &Scenario,
) -> LoopOutcome {
    if !addr.ip().is_loopback() {
        return Err(format!("refusing to load a non-loopback address {addr}"));
    }
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|error| format!("connect {addr}: {error}"))?;
    stream
        .set_nodelay(true)
        .map_err(|error| format!("nodelay: {error}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|error| format!("handshake: {error}"))?;
    let driver = tokio::spawn(connection);
    let mut latencies = Vec::with_capacity(4096);
    let (mut units, mut errors) = (0u64, 0u64);
    let read_path = format!("/offers/by-topic/{TOPIC}?limit={LIMIT}");
    while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max_units {
        match scenario {
            Scenario::Health => {
                let (status, _) = timed(
                    &mut sender,
                    Method::GET,
                    "/health",
                    None,
                    Bytes::new(),
                    &mut latencies,
                )
                .await?;
                errors += u64::from(status != StatusCode::OK);
            }
            Scenario::Read => {
                let (status, _) = timed(
                    &mut sender,
                    Method::GET,
                    &read_path,
                    None,
                    Bytes::new(),
                    &mut latencies,
                )
                .await?;
                errors += u64::from(status != StatusCode::OK);
            }
            Scenario::Mixed(_) => {
                return Err("a mixed scenario is split per connection before it runs".to_string());
            }
            Scenario::PublishAnswer(credentials) => {
                let n = credentials.next.fetch_add(1, Ordering::Relaxed);
                let offer = serde_json::json!({
                    "offers": [{"sdp": sdp(n, "pair"), "topics": ["bench-pairs"], "ttl": 3_600_000}]
                });
                let (status, body) = timed(
                    &mut sender,
                    Method::POST,
                    "/offers",
                    Some(&credentials.offerer),
                    Bytes::from(offer.to_string()),
                    &mut latencies,
                )
                .await?;
                let id = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|json| json["offers"][0]["id"].as_str().map(str::to_string));
                let Some(id) = id.filter(|_| status == StatusCode::OK) else {
                    errors += 1;
                    continue;
                };
                let answer = serde_json::json!({"sdp": sdp(n, "answer")});
                let (status, _) = timed(
                    &mut sender,
                    Method::POST,
                    &format!("/offers/{id}/answer"),
                    Some(&credentials.answerer),
                    Bytes::from(answer.to_string()),
                    &mut latencies,
                )
                .await?;
                errors += u64::from(status != StatusCode::OK);
            }
            Scenario::Churn(credentials) => {
                let n = credentials.next.fetch_add(1, Ordering::Relaxed);
                let offer = serde_json::json!({
                    "offers": [{"sdp": sdp(n, "churn"), "topics": [TOPIC], "ttl": 3_600_000}]
                });
                let (status, body) = timed(
                    &mut sender,
                    Method::POST,
                    "/offers",
                    Some(&credentials.offerer),
                    Bytes::from(offer.to_string()),
                    &mut latencies,
                )
                .await?;
                let id = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|json| json["offers"][0]["id"].as_str().map(str::to_string));
                let Some(id) = id.filter(|_| status == StatusCode::OK) else {
                    errors += 1;
                    continue;
                };
                let (status, _) = timed(
                    &mut sender,
                    Method::DELETE,
                    &format!("/offers/{id}"),
                    Some(&credentials.offerer),
                    Bytes::new(),
                    &mut latencies,
                )
                .await?;
                errors += u64::from(status != StatusCode::OK);
            }
        }
        units += 1;
    }
    drop(sender);
    let _ = driver.await;
    Ok((units, latencies, errors))
}

/// Sends one request, reads the whole answer and records its latency.
async fn timed(
    sender: &mut SendRequest<Full<Bytes>>,
    method: Method,
    path: &str,
    authorization: Option<&str>,
    body: Bytes,
    latencies: &mut Vec<u32>,
) -> Result<(StatusCode, Bytes), String> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, "127.0.0.1");
    if let Some(authorization) = authorization {
        request = request.header(hyper::header::AUTHORIZATION, authorization);
    }
    if !body.is_empty() {
        request = request.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(Full::new(body))
        .map_err(|error| format!("request: {error}"))?;
    sender
        .ready()
        .await
        .map_err(|error| format!("connection: {error}"))?;
    let started = Instant::now();
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("request failed: {error}"))?;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|error| format!("response body: {error}"))?
        .to_bytes();
    latencies.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
    Ok((status, bytes))
}
