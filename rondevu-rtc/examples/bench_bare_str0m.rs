//! Baseline for `cargo xtask bench rtc`: the minimal bare-str0m program of the str0m notes.
//! Two `Rtc`s, one thread and one blocking UDP socket (4 MiB buffers) each on 127.0.0.1, host
//! candidates only, one ordered reliable channel, 16 KiB messages, backpressure through
//! `ChannelBufferedAmountLow`. No rondevu-rtc code is used.
//!
//! `cargo run --release -p rondevu-rtc --example bench_bare_str0m -- <MiB>`; prints
//! `RESULT bytes=<n> seconds=<s> cpu=<s>`.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use str0m::channel::ChannelId;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

/// A setting from the environment (`name`), or its default.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

fn socket() -> UdpSocket {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    socket.set_recv_buffer_size(SOCKET_BUFFER).unwrap();
    socket.set_send_buffer_size(SOCKET_BUFFER).unwrap();
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    socket.bind(&addr.into()).unwrap();
    socket.into()
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

enum Role {
    Send { channel: ChannelId, total: usize },
    Receive { total: usize },
}

/// Runs one peer until the transfer is done; the receiver returns when the last byte came.
fn run(mut rtc: Rtc, socket: UdpSocket, role: Role, done: Arc<AtomicBool>) -> Option<Instant> {
    let local = socket.local_addr().unwrap();
    let message = setting("BENCH_MESSAGE", 16 * 1024);
    let low_water = setting("BENCH_MAX_BUFFERED", 256 * 1024) / 2;
    let payload = vec![0xa5u8; message];
    let mut buf = vec![0u8; 2048];
    let mut written = 0usize;
    let mut received = 0usize;
    let mut open = false;
    loop {
        let timeout = loop {
            match rtc.poll_output().unwrap() {
                Output::Transmit(t) => {
                    socket.send_to(&t.contents, t.destination).unwrap();
                }
                Output::Timeout(t) => break t,
                Output::Event(event) => match (&role, event) {
                    (Role::Send { channel, .. }, Event::ChannelOpen(id, _)) if id == *channel => {
                        rtc.channel(id)
                            .unwrap()
                            .set_buffered_amount_low_threshold(low_water);
                        open = true;
                    }
                    (Role::Send { .. }, Event::ChannelBufferedAmountLow(_)) => {}
                    (Role::Receive { total }, Event::ChannelData(data)) => {
                        received += data.data.len();
                        if received >= *total {
                            done.store(true, Ordering::SeqCst);
                            return Some(Instant::now());
                        }
                    }
                    _ => {}
                },
            }
            if let Role::Send { channel, total } = role {
                if open && written < total {
                    let mut ch = rtc.channel(channel).unwrap();
                    while written < total {
                        let n = message.min(total - written);
                        if !ch.write(true, &payload[..n]).unwrap() {
                            break;
                        }
                        written += n;
                    }
                }
            }
        };
        if done.load(Ordering::SeqCst) {
            return None;
        }
        let now = Instant::now();
        let wait = timeout
            .saturating_duration_since(now)
            .min(Duration::from_millis(50));
        if wait.is_zero() {
            rtc.handle_input(Input::Timeout(now)).unwrap();
            continue;
        }
        socket.set_read_timeout(Some(wait)).unwrap();
        match socket.recv_from(&mut buf) {
            Ok((n, source)) => {
                let receive = Receive::new(Protocol::Udp, source, local, &buf[..n]).unwrap();
                rtc.handle_input(Input::Receive(Instant::now(), receive))
                    .unwrap();
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                rtc.handle_input(Input::Timeout(Instant::now())).unwrap();
            }
            Err(e) => panic!("recv: {e}"),
        }
    }
}

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let total = mib * 1024 * 1024;
    let (socket_a, socket_b) = (socket(), socket());
    let now = Instant::now();
    let max_buffered = setting("BENCH_MAX_BUFFERED", 256 * 1024);
    let mut a = Rtc::builder()
        .set_sctp_max_buffered_amount(max_buffered)
        .build(now);
    let mut b = Rtc::builder()
        .set_sctp_max_buffered_amount(max_buffered)
        .build(now);
    a.add_local_candidate(Candidate::host(socket_a.local_addr().unwrap(), "udp").unwrap());
    b.add_local_candidate(Candidate::host(socket_b.local_addr().unwrap(), "udp").unwrap());
    let mut api = a.sdp_api();
    let channel = api.add_channel("bench".to_owned());
    let (offer, pending) = api.apply().unwrap();
    let answer = b.sdp_api().accept_offer(offer).unwrap();
    a.sdp_api().accept_answer(pending, answer).unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let cpu_start = cpu_seconds();
    let started = Instant::now();
    let done_a = done.clone();
    let sender = thread::spawn(move || run(a, socket_a, Role::Send { channel, total }, done_a));
    let receiver = thread::spawn(move || run(b, socket_b, Role::Receive { total }, done));
    let finished = receiver.join().unwrap().expect("receiver finishes");
    sender.join().unwrap();
    let seconds = (finished - started).as_secs_f64();
    println!(
        "RESULT bytes={total} seconds={seconds:.4} cpu={:.2}",
        cpu_seconds() - cpu_start
    );
}
