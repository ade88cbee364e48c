//! Recovery: the server restarted mid-swarm (same database and secret, and a new secret
//! that refuses every identity), a connection that never opens, and a removed torrent.
//! Real server on 127.0.0.1, real WebRTC on loopback, real engines.

mod common;

use std::path::Path;
use std::time::Duration;

use bt_swarm::Storage;
use common::*;
use rondevu_discovery::{DiscoveryEvent, DiscoveryEvents, DiscoveryOptions};
use rondevu_server::{AuthSecret, ServerConfig, ServerHandle};

fn serve_at(port: u16, db: &Path, secret: &AuthSecret) -> ServerHandle {
    rondevu_server::serve(ServerConfig {
        port,
        db_path: Some(db.to_path_buf()),
        auth_secret: Some(secret.clone()),
        worker_threads: Some(1),
        ..ServerConfig::default()
    })
    .expect("server starts")
}

/// Every event received so far.
async fn drain(events: &mut DiscoveryEvents) -> Vec<DiscoveryEvent> {
    let mut seen = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::ZERO, events.recv()).await {
        seen.push(event);
    }
    seen
}

/// A seeder and five leechers run; the server stops once the first leecher has a piece;
/// five more leechers start while it is down; it comes back on the same port and database,
/// with the same secret or a new one. Everyone completes, and `destroy` leaves no offer.
async fn restart_mid_swarm(new_secret: bool) {
    init_tracing();
    let folder = tempfile::tempdir().expect("temp dir");
    let db = folder.path().join("rondevu.sqlite");
    let secret = AuthSecret::from_bytes([7; 32]);
    let server = serve_at(0, &db, &secret);
    let port = server.local_addr().port();
    let url = server.url();
    let content = Content::new(21, 1024 * 1024);
    let info_hash = content.info_hash();

    let seeder = peer(options(&url)).await;
    let mut seeder_events = seeder.events();
    seeder
        .add_torrent(content.metainfo.clone(), content.seed_storage())
        .expect("seeder");
    let mut leechers = Vec::new();
    for _ in 0..5 {
        let leecher = peer(options(&url)).await;
        let torrent = leecher
            .add_torrent(info_hash, Storage::Memory)
            .expect("leecher");
        leechers.push((leecher, torrent));
    }
    within(
        "a first piece",
        leechers[0]
            .1
            .wait_for(|progress| progress.verified_pieces > 0),
    )
    .await
    .expect("progress");
    let identity_before = seeder.credentials().expect("registered");

    server.shutdown();
    wait_event(&mut seeder_events, "server down noticed", |event| {
        matches!(event, DiscoveryEvent::ServerDown { .. })
    })
    .await;
    for _ in 0..5 {
        // Started while the server is down: they register once it is back.
        let leecher = peer(options(&url)).await;
        let torrent = leecher
            .add_torrent(info_hash, Storage::Memory)
            .expect("leecher");
        leechers.push((leecher, torrent));
    }
    let secret = if new_secret {
        AuthSecret::from_bytes([8; 32])
    } else {
        secret
    };
    let server = serve_at(port, &db, &secret);
    wait_event(&mut seeder_events, "server up noticed", |event| {
        matches!(event, DiscoveryEvent::ServerUp)
    })
    .await;

    for (index, (_, torrent)) in leechers.iter().enumerate() {
        within(
            &format!("leecher {index} completes"),
            torrent.wait_complete(),
        )
        .await
        .expect("complete");
        content.assert_identical(torrent).await;
    }
    let identity_after = seeder.credentials().expect("registered");
    if new_secret {
        assert_ne!(
            identity_before.peer_id, identity_after.peer_id,
            "registered again after 401"
        );
        let registered = drain(&mut seeder_events)
            .await
            .into_iter()
            .any(|event| matches!(event, DiscoveryEvent::Registered { .. }));
        assert!(registered, "a Registered event after the 401");
    } else {
        assert_eq!(
            identity_before, identity_after,
            "the identity survives the restart"
        );
    }
    let everyone = std::iter::once(&seeder).chain(leechers.iter().map(|(leecher, _)| leecher));
    for manager in everyone {
        let credentials = manager.credentials().expect("registered");
        within("destroy", manager.destroy())
            .await
            .expect("destroyed");
        assert_no_offers_left(&url, &credentials);
    }
    server.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_completes_across_a_server_restart_with_the_same_secret() {
    restart_mid_swarm(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swarm_completes_across_a_server_restart_with_a_new_secret() {
    restart_mid_swarm(true).await;
}

/// A peer whose offers lead nowhere (its WebRTC side is gone): the attempt fails when the
/// channel does not open in time, the slot frees (the limit here is one peer), the peer is
/// left out of the next round by the bloom, and it is tried again after the cool-down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_never_opens_frees_its_slot_and_is_retried_after_the_cool_down() {
    init_tracing();
    let server = server();
    let url = server.url();
    let content = Content::new(22, 64 * 1024);
    let topic = content.info_hash().to_hex();

    let api = rondevu_api::Client::new(&url).unwrap();
    let ghost = api.register().unwrap();
    {
        let driver = rondevu_rtc::Driver::start(rondevu_rtc::DriverConfig::default())
            .await
            .unwrap();
        let mut offers = Vec::new();
        for _ in 0..2 {
            let peer = driver.new_peer().unwrap();
            let sdp = peer.create_offer().await.unwrap();
            offers.push(rondevu_api::NewOffer::new(sdp, [topic.clone()]));
        }
        api.publish(&ghost, &offers).unwrap();
        // The peers and their sockets are dropped here: nothing will ever answer.
    }

    let recording = Recording::new(&url);
    let leecher = peer_with(
        DiscoveryOptions {
            max_peers_per_torrent: 1,
            connect_timeout: Duration::from_millis(500),
            retry_cool_down: Duration::from_secs(1),
            refresh_interval: Duration::from_millis(300),
            ..options(&url)
        },
        recording.clone(),
    )
    .await;
    let mut events = leecher.events();
    leecher
        .add_torrent(content.info_hash(), Storage::Memory)
        .expect("leecher");
    let failed_from_ghost = |event: &DiscoveryEvent| matches!(event, DiscoveryEvent::PeerFailed { peer_id, .. } if *peer_id == ghost.peer_id);
    wait_event(&mut events, "first attempt fails", failed_from_ghost).await;
    let after_first = recording.log.topic_responses.lock().unwrap().len();
    let stats = leecher.torrent_stats(&content.info_hash()).unwrap();
    assert_eq!(
        (stats.connections_attempted, stats.connections_failed),
        (1, 1),
        "{stats:?}"
    );
    assert_eq!(stats.connected_peers, 0);

    wait_event(
        &mut events,
        "retried after the cool-down",
        failed_from_ghost,
    )
    .await;
    let stats = leecher.torrent_stats(&content.info_hash()).unwrap();
    assert_eq!(
        (stats.connections_attempted, stats.connections_failed),
        (2, 2),
        "{stats:?}"
    );
    let responses = recording.log.topic_responses.lock().unwrap().clone();
    let next = responses
        .get(after_first)
        .expect("a round after the failure");
    assert!(
        next.offers
            .iter()
            .all(|offer| offer.peer_id != ghost.peer_id),
        "the server left the cooling-down peer out: {next:?}"
    );
    leecher.destroy().await.expect("destroy");
}

/// Removing a torrent deletes its offers at once and closes its connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_torrent_withdraws_its_offers_and_closes_its_connections() {
    init_tracing();
    let server = server();
    let url = server.url();
    let content = Content::new(23, 64 * 1024);
    let info_hash = content.info_hash();
    let seeder = peer(options(&url)).await;
    seeder
        .add_torrent(content.metainfo.clone(), content.seed_storage())
        .expect("seeder");
    let leecher = peer(options(&url)).await;
    let mut events = leecher.events();
    let torrent = leecher
        .add_torrent(info_hash, Storage::Memory)
        .expect("leecher");
    within("complete", torrent.wait_complete())
        .await
        .expect("complete");

    assert!(seeder.remove_torrent(&info_hash).await);
    assert_no_offers_left(&url, &seeder.credentials().unwrap());
    assert!(seeder.torrent_stats(&info_hash).is_none());
    wait_event(&mut events, "leecher sees the connection close", |event| {
        matches!(event, DiscoveryEvent::PeerDisconnected { .. })
    })
    .await;
    leecher.destroy().await.expect("destroy");
    seeder.destroy().await.expect("destroy");
}
