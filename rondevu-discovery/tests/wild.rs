//! Real clients in the wild, and what we do better than the original: an offerer that posts
//! no candidates, taken and stale offers under a topic, the bloom filter checked against
//! the server's own answers, one connection per pair, and set-up that does not wait for a
//! refresh. Real server, real WebRTC on loopback, real engines.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bt_swarm::Storage;
use common::*;
use rondevu_discovery::{DiscoveryEvent, Role};

/// Our answerer facing an offerer that never posts a candidate (the reference client's
/// offerer) still connects: it posts its own candidates after its answer is accepted, and
/// the offerer's checks reach them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answerer_connects_when_the_offerer_posts_no_candidates() {
    init_tracing();
    let server = server();
    let url = server.url();
    let content = Content::new(11, 256 * 1024);

    let silent = Recording::new(&url);
    silent
        .log
        .drop_candidate_posts
        .store(true, Ordering::Relaxed);
    silent.log.blind.store(true, Ordering::Relaxed); // it only offers, like a reference peer
    let seeder = peer_with(options(&url), silent.clone()).await;
    let mut seeder_events = seeder.events();
    seeder
        .add_torrent(content.metainfo.clone(), content.seed_storage())
        .expect("seeder");
    wait_event(&mut seeder_events, "seeder publishes", |event| {
        matches!(event, DiscoveryEvent::OfferPublished { .. })
    })
    .await;

    let leecher = peer(options(&url)).await;
    let mut events = leecher.events();
    let torrent = leecher
        .add_torrent(content.info_hash(), Storage::Memory)
        .expect("leecher");
    let connected = wait_event(&mut events, "leecher connects", |event| {
        matches!(event, DiscoveryEvent::PeerConnected { .. })
    })
    .await;
    assert!(
        matches!(
            connected,
            DiscoveryEvent::PeerConnected {
                role: Role::Answerer,
                ..
            }
        ),
        "{connected:?}"
    );
    within("leecher completes", torrent.wait_complete())
        .await
        .expect("complete");
    content.assert_identical(&torrent).await;
    let dropped: usize = silent.log.posted.lock().unwrap().values().sum();
    assert!(dropped > 0, "the seeder had candidates it did not post");
    leecher.destroy().await.expect("destroy");
    seeder.destroy().await.expect("destroy");
}

/// Offers already answered (listed without `answererPeerId`, as the reference server
/// does) are answered, refused with `Offer already answered`, and taken as normal: no
/// failure, and the swarm completes. Our offerer posts every candidate of every offer
/// that was answered, those gathered before the offer id was known included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taken_offers_are_normal_and_every_candidate_is_posted() {
    init_tracing();
    let server = server();
    let url = server.url();
    let content = Content::new(12, 256 * 1024);
    let topic = content.info_hash().to_hex();

    // A stale offer under the topic, already taken by someone else.
    let api = rondevu_api::Client::new(&url).expect("client");
    let (ghost, taker) = (api.register().unwrap(), api.register().unwrap());
    let ghost_driver = rondevu_rtc::Driver::start(rondevu_rtc::DriverConfig::default())
        .await
        .unwrap();
    let ghost_peer = ghost_driver.new_peer().unwrap();
    let sdp = ghost_peer.create_offer().await.unwrap();
    let stale = api
        .publish(&ghost, &[rondevu_api::NewOffer::new(sdp, [topic.clone()])])
        .unwrap();
    api.answer(&taker, &stale[0].id, "v=0\r\n", None).unwrap();

    let seeder_signaling = Recording::new(&url);
    let seeder = peer_with(options(&url), seeder_signaling.clone()).await;
    let mut seeder_events = seeder.events();
    seeder
        .add_torrent(content.metainfo.clone(), content.seed_storage())
        .expect("seeder");

    let reference_server = Recording::new(&url);
    reference_server
        .log
        .strip_answerer
        .store(true, Ordering::Relaxed);
    let leecher = peer_with(options(&url), reference_server.clone()).await;
    let mut events = leecher.events();
    let torrent = leecher
        .add_torrent(content.info_hash(), Storage::Memory)
        .expect("leecher");
    within("leecher completes", torrent.wait_complete())
        .await
        .expect("complete");
    content.assert_identical(&torrent).await;

    let saw_stale = reference_server
        .log
        .topic_responses
        .lock()
        .unwrap()
        .iter()
        .any(|found| found.offers.iter().any(|offer| offer.id == stale[0].id));
    assert!(saw_stale, "the taken offer was listed to the leecher");
    let stats = leecher.torrent_stats(&content.info_hash()).unwrap();
    assert_eq!(stats.connections_failed, 0, "{stats:?}");
    while let Ok(Some(event)) = tokio::time::timeout(Duration::ZERO, events.recv()).await {
        assert!(
            !matches!(event, DiscoveryEvent::PeerFailed { .. }),
            "{event:?}"
        );
    }

    // Every answered offer of the seeder had its candidates posted.
    let mut answered = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::ZERO, seeder_events.recv()).await {
        if let DiscoveryEvent::AnswerReceived { offer_id, .. } = event {
            answered.push(offer_id);
        }
    }
    let posted = seeder_signaling.log.posted.lock().unwrap().clone();
    for offer_id in &answered {
        assert!(
            posted.get(offer_id).copied().unwrap_or(0) > 0,
            "no candidate posted for {offer_id}"
        );
    }
    leecher.destroy().await.expect("destroy");
    seeder.destroy().await.expect("destroy");
}

/// With a peer connected, a round by topic sends a bloom filter holding it, and the
/// server's answer leaves that peer's offers out although the server holds some.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bloom_keeps_known_peers_out_of_topic_answers() {
    init_tracing();
    let server = server();
    let url = server.url();
    let content = Content::new(13, 64 * 1024);
    let info_hash = content.info_hash();

    let seeder = peer(options(&url)).await;
    seeder
        .add_torrent(content.metainfo.clone(), content.seed_storage())
        .expect("seeder");
    let recording = Recording::new(&url);
    let leecher = peer_with(options(&url), recording.clone()).await;
    let mut events = leecher.events();
    let torrent = leecher
        .add_torrent(info_hash, Storage::Memory)
        .expect("leecher");
    wait_event(&mut events, "connected", |event| {
        matches!(event, DiscoveryEvent::PeerConnected { .. })
    })
    .await;
    within("complete", torrent.wait_complete())
        .await
        .expect("complete");

    let seeder_id = seeder.credentials().expect("registered").peer_id;
    let api = rondevu_api::Client::new(&url).unwrap();
    let unfiltered = within("seeder republished", async {
        loop {
            let found = api
                .offers_by_topic(&info_hash.to_hex(), None, None)
                .unwrap();
            if found.offers.iter().any(|offer| offer.peer_id == seeder_id) {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(unfiltered
        .offers
        .iter()
        .any(|offer| offer.peer_id == seeder_id));

    let before = recording.log.topic_responses.lock().unwrap().len();
    leecher.discover_peers(&info_hash).await.expect("round");
    let responses = recording.log.topic_responses.lock().unwrap().clone();
    assert!(
        responses.len() > before,
        "the manual round queried the server"
    );
    let latest = responses.last().unwrap();
    assert!(
        latest.offers.iter().all(|offer| offer.peer_id != seeder_id),
        "the server listed a connected peer: {latest:?}"
    );
    assert!(latest.total > latest.returned || latest.offers.is_empty());
    leecher.destroy().await.expect("destroy");
    seeder.destroy().await.expect("destroy");
}

/// Two peers that answer each other's offers at the same moment end up with exactly one
/// connection (the one through the lower peer id's offer), on both sides.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_that_answer_each_other_at_once_keep_one_connection() {
    init_tracing();
    let server = server();
    let url = server.url();
    let content = Content::new(14, 64 * 1024);
    let info_hash = content.info_hash();

    let mut sides = Vec::new();
    for _ in 0..2 {
        let signaling = Recording::new(&url);
        signaling.log.blind.store(true, Ordering::Relaxed);
        let manager = peer_with(options(&url), signaling.clone()).await;
        let events = manager.events();
        let torrent = manager
            .add_torrent(content.metainfo.clone(), content.seed_storage())
            .expect("torrent");
        sides.push((manager, signaling, events, torrent));
    }
    for (_, _, events, _) in &mut sides {
        wait_event(events, "offers published", |event| {
            matches!(event, DiscoveryEvent::OfferPublished { .. })
        })
        .await;
    }
    for (_, signaling, _, _) in &sides {
        signaling.log.blind.store(false, Ordering::Relaxed);
    }
    let (a, b) = (&sides[0].0, &sides[1].0);
    // (A side's first automatic round may already have answered; either way each side
    // answers the other's offer once, which the `AnswerReceived` on both sides shows.)
    let (found_a, found_b) =
        tokio::join!(a.discover_peers(&info_hash), b.discover_peers(&info_hash));
    found_a.expect("round a");
    found_b.expect("round b");

    for (_, _, events, _) in &mut sides {
        // Both, in either order: an answer to our offer (so the pair had two attempts) and
        // the surviving connection.
        let (mut answered, mut connected) = (false, false);
        while !(answered && connected) {
            match wait_event(events, "answer and connection", |event| {
                matches!(
                    event,
                    DiscoveryEvent::AnswerReceived { .. } | DiscoveryEvent::PeerConnected { .. }
                )
            })
            .await
            {
                DiscoveryEvent::AnswerReceived { .. } => answered = true,
                _ => connected = true,
            }
        }
    }
    for (manager, _, _, torrent) in &sides {
        let stats = manager.torrent_stats(&info_hash).unwrap();
        assert_eq!(stats.connected_peers, 1, "{stats:?}");
        let engine_stats = torrent.stats().await.unwrap();
        assert!(engine_stats.peers.len() <= 1, "{:?}", engine_stats.peers);
    }
    for (manager, ..) in &sides {
        manager.destroy().await.expect("destroy");
    }
}

/// Set-up does not wait for a refresh: with an hour between rounds, a newcomer still
/// connects, because answers and candidates are polled fast right after publishing and
/// answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_connect_without_waiting_for_a_refresh() {
    init_tracing();
    let server = server();
    let url = server.url();
    let content = Content::new(15, 64 * 1024);
    let slow = || rondevu_discovery::DiscoveryOptions {
        refresh_interval: Duration::from_secs(3600),
        ..options(&url)
    };
    let seeder = peer(slow()).await;
    seeder
        .add_torrent(content.metainfo.clone(), content.seed_storage())
        .expect("seeder");
    let leecher = peer(slow()).await;
    let torrent = leecher
        .add_torrent(content.info_hash(), Storage::Memory)
        .expect("leecher");
    within("complete", torrent.wait_complete())
        .await
        .expect("complete");
    content.assert_identical(&torrent).await;
    leecher.destroy().await.expect("destroy");
    seeder.destroy().await.expect("destroy");
}
