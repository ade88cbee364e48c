//! Our crate in `cargo xtask bench rtc`: two drivers, each on its own thread (a current-thread
//! tokio runtime), one peer each, the offerer writing through its `DataStream` and the
//! answerer reading. Set-up (ICE, DTLS, SCTP) is included in the time, as in the baseline.
//!
//! `cargo run --release -p rondevu-rtc --example bench_driver -- <MiB>`; prints
//! `RESULT bytes=<n> seconds=<s> cpu=<s>`.

use std::thread;
use std::time::Instant;

use rondevu_rtc::{Driver, DriverConfig, IceCandidateInit, PeerNotice};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Signaling between the two threads.
enum Signal {
    Offer(String),
    Answer(String),
    Candidate(IceCandidateInit),
    Done(Instant),
}

/// Process CPU time (user + system) from /proc/self/stat, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn side(
    offerer: bool,
    total: usize,
    to_other: mpsc::UnboundedSender<Signal>,
    mut from_other: mpsc::UnboundedReceiver<Signal>,
) -> Option<Instant> {
    let driver = Driver::start(DriverConfig::default()).await.unwrap();
    let mut peer = driver.new_peer().unwrap();
    if offerer {
        let offer = peer.create_offer().await.unwrap();
        to_other.send(Signal::Offer(offer)).ok()?;
    }
    let mut stream = loop {
        tokio::select! {
            signal = from_other.recv() => match signal? {
                Signal::Offer(sdp) => {
                    let answer = peer.accept_offer(&sdp).await.unwrap();
                    to_other.send(Signal::Answer(answer)).ok()?;
                }
                Signal::Answer(sdp) => peer.accept_answer(&sdp).await.unwrap(),
                Signal::Candidate(c) => { peer.add_remote_candidate(c).await.unwrap(); }
                Signal::Done(_) => unreachable!("done before open"),
            },
            notice = peer.next_notice() => match notice? {
                PeerNotice::LocalCandidate(c) => { to_other.send(Signal::Candidate(c)).ok()?; }
                PeerNotice::Open(stream) => break stream,
                PeerNotice::Failed(reason) => panic!("{reason}"),
                _ => {}
            },
        }
    };
    if offerer {
        let chunk = vec![0xa5u8; 1024 * 1024];
        let mut written = 0;
        while written < total {
            let n = chunk.len().min(total - written);
            stream.write_all(&chunk[..n]).await.unwrap();
            written += n;
        }
        stream.flush().await.unwrap();
        loop {
            if let Signal::Done(at) = from_other.recv().await? {
                return Some(at);
            }
        }
    } else {
        let mut buf = vec![0u8; 256 * 1024];
        let mut received = 0;
        while received < total {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "stream ended early");
            received += n;
        }
        to_other.send(Signal::Done(Instant::now())).ok()?;
        None
    }
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let total = mib * 1024 * 1024;
    let (to_b, from_a) = mpsc::unbounded_channel();
    let (to_a, from_b) = mpsc::unbounded_channel();
    let cpu_start = cpu_seconds();
    let started = Instant::now();
    let a = thread::spawn(move || runtime().block_on(side(true, total, to_b, from_b)));
    let b = thread::spawn(move || runtime().block_on(side(false, total, to_a, from_a)));
    let finished = a.join().unwrap().expect("transfer finishes");
    b.join().unwrap();
    let seconds = (finished - started).as_secs_f64();
    println!(
        "RESULT bytes={total} seconds={seconds:.4} cpu={:.2}",
        cpu_seconds() - cpu_start
    );
}
