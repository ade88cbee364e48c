//! Whole swarms found through a real Rondevu server on 127.0.0.1, connected over real
//! WebRTC (str0m, loopback only), moving a real torrent between real engines.

mod common;

use common::*;
use std::time::Instant;

/// One seeder and ten leechers, each with its own manager and engine, sharing only the
/// info-hash: every leecher fetches the metadata and every piece, verified, and `destroy`
/// leaves no offer behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeder_and_ten_leechers_complete_from_the_info_hash_alone() {
    init_tracing();
    let server = server();
    let url = server.url();
    let content = Content::new(7, 1024 * 1024 + 5000);
    let info_hash = content.info_hash();

    let seeder = peer(options(&url)).await;
    let seeded = seeder
        .add_torrent(content.metainfo.clone(), content.seed_storage())
        .expect("seeder torrent");
    within("seeder ready", seeded.wait_complete())
        .await
        .expect("seeding");

    let started = Instant::now();
    let mut leechers = Vec::new();
    for _ in 0..10 {
        let leecher = peer(options(&url)).await;
        let torrent = leecher
            .add_torrent(info_hash, bt_swarm::Storage::Memory)
            .expect("leecher torrent");
        leechers.push((leecher, torrent));
    }
    for (index, (_, torrent)) in leechers.iter().enumerate() {
        within(
            &format!("leecher {index} completes"),
            torrent.wait_complete(),
        )
        .await
        .expect("complete");
        content.assert_identical(torrent).await;
    }
    eprintln!("ten leechers complete in {:?}", started.elapsed());

    for (leecher, _) in &leechers {
        let stats = leecher.torrent_stats(&info_hash).expect("stats");
        assert!(stats.connected_peers >= 1, "{stats:?}");
        assert!(stats.bytes_downloaded > 0, "{stats:?}");
    }
    // The pool never leaks: the seeder's unanswered offers on the server are at most its
    // pool (answered ones stay only until their connection opens or fails).
    let seeder_credentials = seeder.credentials().expect("registered");
    let mine = rondevu_api::Client::new(&url)
        .unwrap()
        .my_offers(&seeder_credentials)
        .unwrap();
    let waiting = mine
        .offers
        .iter()
        .filter(|offer| offer.answerer_peer_id.is_none())
        .count();
    assert!(
        waiting <= seeder.options().offer_pool_size,
        "{waiting} unanswered offers on the server"
    );
    let seeder_stats = seeder.torrent_stats(&info_hash).expect("seeder stats");
    assert!(seeder_stats.bytes_uploaded > 0, "{seeder_stats:?}");
    assert!(seeder_stats.offers_published >= 1, "{seeder_stats:?}");

    let everyone = std::iter::once(&seeder).chain(leechers.iter().map(|(leecher, _)| leecher));
    for manager in everyone {
        let credentials = manager.credentials().expect("registered");
        within("destroy", manager.destroy())
            .await
            .expect("destroyed");
        assert_no_offers_left(&url, &credentials);
    }
}
