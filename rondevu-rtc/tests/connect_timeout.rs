//! A remote that never answers the checks: the peer reports `Failed` once the connect timeout
//! passes (simulated time, no sockets), instead of waiting forever.

use std::time::{Duration, Instant};

use rondevu_rtc::{Peer, PeerConfig, PeerEvent, PeerOutput};

#[test]
fn a_silent_remote_fails_the_peer_after_the_connect_timeout() {
    let start = Instant::now();
    let config = PeerConfig {
        loopback_only: true,
        connect_timeout: Duration::from_secs(5),
        ..PeerConfig::default()
    };
    let mut remote = Peer::new(config.clone(), start);
    remote
        .add_host_candidate("127.0.0.1:41000".parse().unwrap())
        .unwrap();
    let offer = remote.create_offer().unwrap();
    let mut ours = Peer::new(config, start);
    ours.add_host_candidate("127.0.0.1:41001".parse().unwrap())
        .unwrap();
    ours.accept_offer(&offer).unwrap();

    // Datagrams go nowhere; only the clock moves.
    let mut now = start;
    let failed_at = loop {
        assert!(now < start + Duration::from_secs(60), "never failed");
        let mut failed = false;
        let deadline = loop {
            match ours.poll_output() {
                PeerOutput::Event(PeerEvent::Failed(_)) => failed = true,
                PeerOutput::Event(_) | PeerOutput::Transmit(_) => {}
                PeerOutput::Timeout(at) => break at,
            }
        };
        if failed {
            break now;
        }
        now = deadline.max(now);
        ours.handle_timeout(now).unwrap();
    };
    assert!(failed_at >= start + Duration::from_secs(5));
    assert!(
        failed_at < start + Duration::from_secs(7),
        "{:?}",
        failed_at - start
    );
    assert!(!ours.is_alive());
}
