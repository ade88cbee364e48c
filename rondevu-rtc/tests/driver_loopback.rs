//! Two driver peers on loopback: the channel opens and 32 MiB cross in both directions
//! intact; STUN gathering against a responder on 127.0.0.1; many peers on one driver.

use std::time::Duration;

use rondevu_rtc::{
    stun, DataStream, Driver, DriverConfig, IceCandidateInit, PeerHandle, PeerNotice,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Runs offer/answer and trickles candidates both ways until both channels are open.
async fn connect(offerer: &mut PeerHandle, answerer: &mut PeerHandle) -> (DataStream, DataStream) {
    let offer = offerer.create_offer().await.unwrap();
    let answer = answerer.accept_offer(&offer).await.unwrap();
    offerer.accept_answer(&answer).await.unwrap();
    let (mut offerer_stream, mut answerer_stream) = (None, None);
    while offerer_stream.is_none() || answerer_stream.is_none() {
        tokio::select! {
            notice = offerer.next_notice() => match notice.expect("offerer alive") {
                PeerNotice::LocalCandidate(c) => { answerer.add_remote_candidate(c).await.unwrap(); }
                PeerNotice::Open(stream) => offerer_stream = Some(stream),
                PeerNotice::Failed(reason) => panic!("offerer failed: {reason}"),
                _ => {}
            },
            notice = answerer.next_notice() => match notice.expect("answerer alive") {
                PeerNotice::LocalCandidate(c) => { offerer.add_remote_candidate(c).await.unwrap(); }
                PeerNotice::Open(stream) => answerer_stream = Some(stream),
                PeerNotice::Failed(reason) => panic!("answerer failed: {reason}"),
                _ => {}
            },
        }
    }
    (offerer_stream.unwrap(), answerer_stream.unwrap())
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ seed)
        .collect()
}

/// Writes `data` and reads `expected_len` bytes at the same time.
async fn exchange(stream: DataStream, data: Vec<u8>, expected_len: usize) -> Vec<u8> {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = tokio::spawn(async move {
        writer.write_all(&data).await.unwrap();
        writer.flush().await.unwrap();
        writer
    });
    let mut received = vec![0u8; expected_len];
    reader.read_exact(&mut received).await.unwrap();
    let _writer = write.await.unwrap();
    received
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_mib_both_ways_between_two_drivers() {
    let left = Driver::start(DriverConfig::default()).await.unwrap();
    let right = Driver::start(DriverConfig::default()).await.unwrap();
    assert!(left.bind_addresses().iter().all(|ip| ip.is_loopback()));
    let mut offerer = left.new_peer().unwrap();
    let mut answerer = right.new_peer().unwrap();
    let (a, b) = tokio::time::timeout(TIMEOUT, connect(&mut offerer, &mut answerer))
        .await
        .expect("connected in time");
    assert_eq!(a.label(), "webtorrent");
    assert_eq!(b.label(), "webtorrent");

    const LEN: usize = 32 * 1024 * 1024;
    let (to_right, to_left) = (pattern(LEN, 1), pattern(LEN, 2));
    let started = std::time::Instant::now();
    let (at_right, at_left) = tokio::time::timeout(TIMEOUT, async {
        tokio::join!(
            exchange(b, to_left.clone(), LEN),
            exchange(a, to_right.clone(), LEN)
        )
    })
    .await
    .expect("transferred in time");
    eprintln!("32 MiB each way in {:?}", started.elapsed());
    assert!(at_right == to_right, "bytes to the answerer differ");
    assert!(at_left == to_left, "bytes to the offerer differ");
}

#[tokio::test]
async fn many_peers_share_one_driver_and_shutdown_ends_the_remote_read() {
    let left = Driver::start(DriverConfig::default()).await.unwrap();
    let right = Driver::start(DriverConfig::default()).await.unwrap();
    let mut pairs = Vec::new();
    for index in 0..6 {
        // Pairs within one driver and across the two.
        let mut offerer = left.new_peer().unwrap();
        let mut answerer = if index % 2 == 0 { &right } else { &left }
            .new_peer()
            .unwrap();
        let streams = tokio::time::timeout(TIMEOUT, connect(&mut offerer, &mut answerer))
            .await
            .expect("connected in time");
        pairs.push((offerer, answerer, streams));
    }
    for (index, (_offerer, _answerer, (mut a, mut b))) in pairs.into_iter().enumerate() {
        let message = format!("hello from pair {index}");
        a.write_all(message.as_bytes()).await.unwrap();
        a.shutdown().await.unwrap();
        let mut received = String::new();
        tokio::time::timeout(TIMEOUT, b.read_to_string(&mut received))
            .await
            .expect("read in time")
            .unwrap();
        assert_eq!(received, message);
    }
}

#[tokio::test]
async fn server_reflexive_candidates_come_from_the_configured_stun_server() {
    // A tiny STUN responder on 127.0.0.1 that says every requester is seen at 127.0.0.3.
    let responder = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let server = responder.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((len, from)) = responder.recv_from(&mut buf).await {
            let mapped = std::net::SocketAddr::new([127, 0, 0, 3].into(), from.port());
            if let Some(response) = stun::binding_success_for(&buf[..len], mapped) {
                responder.send_to(&response, from).await.unwrap();
            }
        }
    });
    let config = DriverConfig {
        ice_servers: vec![format!("stun:{server}")],
        ..DriverConfig::default()
    };
    let driver = Driver::start(config).await.unwrap();
    // The reflexive candidate is trickled whether it arrives before or after the offer.
    let mut peer = driver.new_peer().unwrap();
    peer.create_offer().await.unwrap();
    let found = tokio::time::timeout(TIMEOUT, async {
        loop {
            match peer.next_notice().await.expect("peer alive") {
                PeerNotice::LocalCandidate(IceCandidateInit { candidate, .. })
                    if candidate.contains(" 127.0.0.3 ") && candidate.contains("typ srflx") =>
                {
                    return candidate;
                }
                _ => {}
            }
        }
    })
    .await
    .expect("srflx candidate announced");
    assert!(found.starts_with("candidate:"));
}

#[tokio::test]
async fn the_driver_task_ends_when_everything_is_dropped() {
    let driver = Driver::start(DriverConfig::default()).await.unwrap();
    let mut offerer = driver.new_peer().unwrap();
    let mut answerer = driver.new_peer().unwrap();
    let (a, b) = tokio::time::timeout(TIMEOUT, connect(&mut offerer, &mut answerer))
        .await
        .expect("connected in time");
    drop((a, b, offerer, answerer, driver));
    // With nothing left to drive, the task (and with it the runtime's last task) finishes.
    tokio::time::timeout(TIMEOUT, async {
        while tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
            > 0
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("driver task ended");
}

#[tokio::test]
async fn ipv6_loopback_carries_the_channel_too() {
    if std::net::UdpSocket::bind("[::1]:0").is_err() {
        eprintln!("skipping: no IPv6 loopback on this machine");
        return;
    }
    let config = DriverConfig {
        bind: rondevu_rtc::BindPolicy::Addresses(vec!["::1".parse().unwrap()]),
        ..DriverConfig::default()
    };
    let driver = Driver::start(config).await.unwrap();
    let mut offerer = driver.new_peer().unwrap();
    let mut answerer = driver.new_peer().unwrap();
    let (a, b) = tokio::time::timeout(TIMEOUT, connect(&mut offerer, &mut answerer))
        .await
        .expect("connected in time");
    const LEN: usize = 1024 * 1024;
    let received = tokio::time::timeout(TIMEOUT, async {
        tokio::join!(
            exchange(a, pattern(LEN, 3), 0),
            exchange(b, Vec::new(), LEN)
        )
        .1
    })
    .await
    .expect("transferred in time");
    assert!(received == pattern(LEN, 3));
}
