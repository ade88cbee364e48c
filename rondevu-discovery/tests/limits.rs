//! `max_peers_per_torrent` under pressure: twenty peers on one topic, five slots each, all
//! starting at once; full peers close idle connections so that every peer completes.
//! Real server on 127.0.0.1, real WebRTC on loopback, real engines.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use bt_swarm::Storage;
use common::*;
use rondevu_discovery::{DiscoveryEvent, DiscoveryOptions};

const LIMIT: usize = 5;

/// Follows a manager's events: open connections now, and the most ever open at once.
#[derive(Default)]
struct OpenCount {
    now: AtomicI64,
    peak: AtomicI64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_peers_per_torrent_holds_with_twenty_peers_and_five_slots() {
    init_tracing();
    let server = server();
    let url = server.url();
    let content = Content::new(31, 512 * 1024);
    let info_hash = content.info_hash();
    // Rounds and idle checks every second: a full peer closes an idle connection to let
    // others in (a cluster of peers without the data would otherwise stay stuck).
    let limited = || DiscoveryOptions {
        max_peers_per_torrent: LIMIT,
        refresh_interval: std::time::Duration::from_secs(1),
        ..options(&url)
    };

    let mut peers = Vec::new();
    let mut counts = Vec::new();
    for index in 0..20 {
        let manager = peer(limited()).await;
        let count = Arc::new(OpenCount::default());
        let mut events = manager.events();
        let counter = count.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let delta = match event {
                    DiscoveryEvent::PeerConnected { .. } => 1,
                    DiscoveryEvent::PeerDisconnected { .. } => -1,
                    _ => continue,
                };
                let open = counter.now.fetch_add(delta, Ordering::SeqCst) + delta;
                counter.peak.fetch_max(open, Ordering::SeqCst);
            }
        });
        let torrent = if index == 0 {
            manager.add_torrent(content.metainfo.clone(), content.seed_storage())
        } else {
            manager.add_torrent(info_hash, Storage::Memory)
        }
        .expect("torrent");
        peers.push((manager, torrent));
        counts.push(count);
    }
    for (index, (manager, torrent)) in peers.iter().enumerate() {
        within(&format!("peer {index} completes"), torrent.wait_complete())
            .await
            .expect("complete");
        let stats = manager.torrent_stats(&info_hash).unwrap();
        assert!(stats.connected_peers as usize <= LIMIT, "{stats:?}");
        let engine = torrent.stats().await.unwrap();
        assert!(
            engine.peers.len() <= LIMIT,
            "engine holds {} peers",
            engine.peers.len()
        );
    }
    for (manager, torrent) in &peers {
        content.assert_identical(torrent).await;
        manager.destroy().await.expect("destroy");
    }
    let peaks: Vec<i64> = counts
        .iter()
        .map(|count| count.peak.load(Ordering::SeqCst))
        .collect();
    assert!(
        peaks.iter().all(|peak| *peak as usize <= LIMIT),
        "peaks {peaks:?}"
    );
    assert!(
        peaks.iter().any(|peak| *peak as usize == LIMIT),
        "the limit was reached: {peaks:?}"
    );
}
