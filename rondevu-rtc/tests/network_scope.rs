//! Network safety of a loopback-only peer: it announces, uses and talks to nothing but
//! loopback, whatever the remote offers (sans-IO: no datagram leaves the test).

use std::time::{Duration, Instant};

use rondevu_rtc::{CandidateOutcome, Error, Peer, PeerConfig, PeerEvent, PeerOutput, SkipReason};

fn loopback_peer(now: Instant) -> Peer {
    let config = PeerConfig {
        loopback_only: true,
        ..PeerConfig::default()
    };
    Peer::new(config, now)
}

#[test]
fn a_loopback_peer_refuses_other_local_addresses() {
    let mut peer = loopback_peer(Instant::now());
    assert!(matches!(
        peer.add_host_candidate("10.1.2.3:5000".parse().unwrap()),
        Err(Error::BadLocalCandidate { .. })
    ));
    assert!(matches!(
        peer.add_server_reflexive_candidate(
            "203.0.113.9:5000".parse().unwrap(),
            "127.0.0.1:5000".parse().unwrap()
        ),
        Err(Error::BadLocalCandidate { .. })
    ));
    peer.add_host_candidate("127.0.0.1:5000".parse().unwrap())
        .unwrap();
}

#[test]
fn a_loopback_peer_never_sends_to_remote_candidates_outside_loopback() {
    let start = Instant::now();
    // The remote announces a LAN address and a loopback one, in its SDP and by trickle.
    let mut remote = Peer::new(PeerConfig::default(), start);
    remote
        .add_host_candidate("192.168.7.20:40000".parse().unwrap())
        .unwrap();
    remote
        .add_host_candidate("127.0.0.1:40001".parse().unwrap())
        .unwrap();
    let offer = remote.create_offer().unwrap();
    assert!(offer.contains("192.168.7.20"));
    let mut trickled = Vec::new();
    while let PeerOutput::Event(event) = remote.poll_output() {
        if let PeerEvent::LocalCandidate(candidate) = event {
            trickled.push(candidate);
        }
    }

    let mut ours = loopback_peer(start);
    ours.add_host_candidate("127.0.0.1:40002".parse().unwrap())
        .unwrap();
    ours.accept_offer(&offer).unwrap();
    let mut outcomes = Vec::new();
    for candidate in &trickled {
        outcomes.push(ours.add_remote_candidate(candidate).unwrap());
    }
    assert!(outcomes.contains(&CandidateOutcome::Skipped(SkipReason::OutsideScope)));
    assert!(outcomes.contains(&CandidateOutcome::Added));

    // Run ICE for a while: every datagram goes to loopback, and some go to the remote's
    // loopback candidate.
    let mut now = start;
    let mut to_loopback = 0;
    while now < start + Duration::from_secs(5) {
        loop {
            match ours.poll_output() {
                PeerOutput::Transmit(transmit) => {
                    assert!(
                        transmit.destination.ip().is_loopback(),
                        "sent to {}",
                        transmit.destination
                    );
                    to_loopback += 1;
                }
                PeerOutput::Event(_) => {}
                PeerOutput::Timeout(at) => {
                    now = at.max(now + Duration::from_millis(1));
                    break;
                }
            }
        }
        ours.handle_timeout(now).unwrap();
    }
    assert!(
        to_loopback > 0,
        "ICE checks went out to the loopback candidate"
    );

    // A datagram from outside loopback is dropped, not an error.
    ours.handle_receive(
        now,
        "192.168.7.20:40000".parse().unwrap(),
        "127.0.0.1:40002".parse().unwrap(),
        &[0, 1, 0, 0],
    )
    .unwrap();
}
