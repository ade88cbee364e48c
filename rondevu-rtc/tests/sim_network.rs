//! Two sans-IO peers in one thread, joined by a simulated network with a seeded RNG: loss,
//! reordering and delay, with the clock advanced by the test (no sleeping, no sockets).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rondevu_rtc::{Peer, PeerConfig, PeerEvent, PeerOutput, Transmit};

/// A small deterministic RNG (SplitMix64): enough for loss and jitter decisions.
struct SeededRng(u64);

impl SeededRng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform float in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How the simulated network treats each datagram.
#[derive(Debug, Clone, Copy)]
struct Conditions {
    loss: f64,
    delay: Duration,
    /// Extra random delay in [0, jitter): datagrams overtake one another.
    jitter: Duration,
}

/// One datagram in flight.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    arrival: Instant,
    sequence: u64,
    source: SocketAddr,
    destination: SocketAddr,
    contents: Vec<u8>,
}

struct SimNetwork {
    conditions: Conditions,
    rng: SeededRng,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    sequence: u64,
    sent: u64,
    dropped: u64,
}

impl SimNetwork {
    fn new(conditions: Conditions, seed: u64) -> Self {
        SimNetwork {
            conditions,
            rng: SeededRng(seed),
            in_flight: BinaryHeap::new(),
            sequence: 0,
            sent: 0,
            dropped: 0,
        }
    }

    fn send(&mut self, now: Instant, transmit: Transmit) {
        self.sent += 1;
        if self.rng.unit() < self.conditions.loss {
            self.dropped += 1;
            return;
        }
        let jitter = self.conditions.jitter.mul_f64(self.rng.unit());
        self.sequence += 1;
        self.in_flight.push(Reverse(InFlight {
            arrival: now + self.conditions.delay + jitter,
            sequence: self.sequence,
            source: transmit.source,
            destination: transmit.destination,
            contents: transmit.contents,
        }));
    }

    fn next_arrival(&self) -> Option<Instant> {
        self.in_flight.peek().map(|Reverse(d)| d.arrival)
    }

    fn pop_due(&mut self, now: Instant) -> Option<InFlight> {
        if self.next_arrival()? <= now {
            self.in_flight.pop().map(|Reverse(d)| d)
        } else {
            None
        }
    }
}

struct Node {
    peer: Peer,
    addr: SocketAddr,
    deadline: Instant,
    open: bool,
    received: Vec<u8>,
    candidates: Vec<rondevu_rtc::IceCandidateInit>,
}

impl Node {
    fn new(addr: &str, now: Instant) -> Self {
        let config = PeerConfig {
            loopback_only: true,
            ..PeerConfig::default()
        };
        let addr: SocketAddr = addr.parse().unwrap();
        let mut peer = Peer::new(config, now);
        peer.add_host_candidate(addr).unwrap();
        Node {
            peer,
            addr,
            deadline: now,
            open: false,
            received: Vec::new(),
            candidates: Vec::new(),
        }
    }

    /// Polls until the deadline, sending datagrams into the network.
    fn drain(&mut self, now: Instant, network: &mut SimNetwork) {
        loop {
            match self.peer.poll_output() {
                PeerOutput::Transmit(transmit) => {
                    assert_eq!(transmit.source, self.addr);
                    network.send(now, transmit);
                }
                PeerOutput::Event(event) => match event {
                    PeerEvent::ChannelOpen { .. } => self.open = true,
                    PeerEvent::Data(data) => self.received.extend_from_slice(&data),
                    PeerEvent::LocalCandidate(candidate) => self.candidates.push(candidate),
                    PeerEvent::Failed(reason) => panic!("peer failed: {reason}"),
                    _ => {}
                },
                PeerOutput::Timeout(at) => {
                    self.deadline = at;
                    return;
                }
            }
        }
    }
}

fn payload(len: usize) -> Vec<u8> {
    let mut rng = SeededRng(7);
    (0..len).map(|_| rng.next_u64() as u8).collect()
}

/// Connects two peers through `conditions` and sends `len` bytes from the offerer (or the
/// answerer) to the other side; returns the simulated time it took.
fn transfer(conditions: Conditions, seed: u64, len: usize, offerer_sends: bool) -> Duration {
    let start = Instant::now();
    let mut now = start;
    let mut network = SimNetwork::new(conditions, seed);
    let mut nodes = [
        Node::new("127.0.0.1:10000", now),
        Node::new("127.0.0.2:20000", now),
    ];

    let offer = nodes[0].peer.create_offer().unwrap();
    let answer = nodes[1].peer.accept_offer(&offer).unwrap();
    nodes[0].peer.accept_answer(&answer).unwrap();
    for node in nodes.iter_mut() {
        node.drain(now, &mut network);
    }
    // Trickle too (the candidates are in the SDP as well; duplicates must be harmless).
    for (from, to) in [(0, 1), (1, 0)] {
        for candidate in std::mem::take(&mut nodes[from].candidates) {
            nodes[to].peer.add_remote_candidate(&candidate).unwrap();
            nodes[to].drain(now, &mut network);
        }
    }

    let data = payload(len);
    let (sender, receiver) = if offerer_sends { (0, 1) } else { (1, 0) };
    let chunk = 16 * 1024;
    let mut written = 0;
    let limit = start + Duration::from_secs(600);
    while nodes[receiver].received.len() < len {
        assert!(
            now < limit,
            "transfer stalled: {} of {len} bytes",
            nodes[receiver].received.len()
        );
        // Write as much as the sender's buffer takes, then drain.
        if nodes[sender].open && nodes[receiver].open {
            while written < len {
                let end = (written + chunk).min(len);
                if !nodes[sender].peer.write(&data[written..end]).unwrap() {
                    break;
                }
                written = end;
            }
            nodes[sender].drain(now, &mut network);
        }
        // Advance the clock to the next thing that happens.
        let next = [nodes[0].deadline, nodes[1].deadline]
            .into_iter()
            .chain(network.next_arrival())
            .min()
            .unwrap();
        now = now.max(next);
        while let Some(datagram) = network.pop_due(now) {
            let node = nodes
                .iter_mut()
                .find(|node| node.addr == datagram.destination)
                .expect("datagram to a known node");
            node.peer
                .handle_receive(
                    now,
                    datagram.source,
                    datagram.destination,
                    &datagram.contents,
                )
                .unwrap();
            node.drain(now, &mut network);
        }
        for node in nodes.iter_mut() {
            if node.deadline <= now {
                node.peer.handle_timeout(now).unwrap();
                node.drain(now, &mut network);
            }
        }
    }
    assert!(nodes[receiver].received == data, "bytes differ");
    eprintln!(
        "{conditions:?}: {len} bytes in {:?} simulated, {} datagrams sent, {} dropped",
        now - start,
        network.sent,
        network.dropped
    );
    now - start
}

const FOUR_MIB: usize = 4 * 1024 * 1024;

#[test]
fn four_mib_over_a_perfect_network() {
    let conditions = Conditions {
        loss: 0.0,
        delay: Duration::from_millis(1),
        jitter: Duration::ZERO,
    };
    transfer(conditions, 1, FOUR_MIB, true);
}

#[test]
fn four_mib_with_ten_percent_loss() {
    let conditions = Conditions {
        loss: 0.10,
        delay: Duration::from_millis(2),
        jitter: Duration::ZERO,
    };
    transfer(conditions, 2, FOUR_MIB, true);
}

#[test]
fn four_mib_with_reordering() {
    let conditions = Conditions {
        loss: 0.0,
        delay: Duration::from_millis(5),
        jitter: Duration::from_millis(10),
    };
    transfer(conditions, 3, FOUR_MIB, false);
}

#[test]
fn four_mib_with_fifty_ms_delay() {
    let conditions = Conditions {
        loss: 0.0,
        delay: Duration::from_millis(50),
        jitter: Duration::ZERO,
    };
    transfer(conditions, 4, FOUR_MIB, false);
}
