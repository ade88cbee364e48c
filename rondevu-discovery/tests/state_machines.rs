//! Property tests for the sans-IO parts, driven with a fake clock.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rondevu_discovery::{keeps_connection, AdaptivePoll, Backoff, KnownPeers, OfferPool, Role};

#[derive(Debug, Clone)]
enum PoolOp {
    Tick(u64),
    PublishWanted { free_slots: usize, ttl_secs: u64 },
    Answer(usize),
    Shrink(usize),
}

fn pool_op() -> impl Strategy<Value = PoolOp> {
    prop_oneof![
        (0u64..120).prop_map(PoolOp::Tick),
        (0usize..12, 20u64..300).prop_map(|(free_slots, ttl_secs)| PoolOp::PublishWanted {
            free_slots,
            ttl_secs
        }),
        (0usize..16).prop_map(PoolOp::Answer),
        (0usize..12).prop_map(PoolOp::Shrink),
    ]
}

proptest! {
    /// Every offer the pool is told about leaves it exactly once, the pool never holds more
    /// than its capacity or than the free slots it was last asked to fill, and nothing it holds
    /// is about to expire after a refresh.
    #[test]
    fn offer_pool_never_leaks(capacity in 1usize..8, ops in prop::collection::vec(pool_op(), 1..200)) {
        let start = Instant::now();
        let margin = Duration::from_secs(10);
        let mut pool: OfferPool<u64> = OfferPool::new(capacity, margin);
        let mut now = start;
        let mut next_id = 0u64;
        let mut published = HashSet::new();
        let mut left = HashSet::new();
        let take = |ids: Vec<u64>, left: &mut HashSet<u64>| {
            for id in ids {
                assert!(left.insert(id), "offer {id} left the pool twice");
            }
        };
        for op in ops {
            match op {
                PoolOp::Tick(secs) => {
                    now += Duration::from_secs(secs);
                    take(pool.take_expiring(now), &mut left);
                    for offer in pool.outstanding() {
                        prop_assert!(offer.expires_at > now + margin);
                    }
                }
                PoolOp::PublishWanted { free_slots, ttl_secs } => {
                    take(pool.take_surplus(free_slots), &mut left);
                    for _ in 0..pool.wanted(free_slots) {
                        next_id += 1;
                        published.insert(next_id);
                        pool.published(next_id, now, now + Duration::from_secs(ttl_secs));
                    }
                    prop_assert!(pool.outstanding().len() <= capacity.min(free_slots));
                }
                PoolOp::Answer(index) => {
                    if let Some(offer) = pool.outstanding().get(index).cloned() {
                        prop_assert!(pool.answered(&offer.id));
                        take(vec![offer.id], &mut left);
                        prop_assert!(!pool.answered(&offer.id));
                    }
                }
                PoolOp::Shrink(free_slots) => {
                    take(pool.take_surplus(free_slots), &mut left);
                    prop_assert!(pool.outstanding().len() <= free_slots.min(capacity));
                }
            }
            prop_assert!(pool.outstanding().len() <= capacity);
        }
        take(pool.drain(), &mut left);
        prop_assert!(pool.outstanding().is_empty());
        prop_assert_eq!(published, left);
    }

    /// Delays stay within [cap/2, cap], caps never exceed the maximum and never shrink until a
    /// reset, and a reset starts again from the base.
    #[test]
    fn backoff_is_bounded(base_ms in 1u64..1000, max_ms in 1u64..60_000, seed in any::<u64>(), steps in 1usize..80) {
        let base = Duration::from_millis(base_ms);
        let max = Duration::from_millis(max_ms).max(base);
        let mut backoff = Backoff::new(base, max, seed);
        let mut previous_cap = Duration::ZERO;
        for _ in 0..steps {
            let cap = backoff.current_cap();
            prop_assert!(cap <= max && cap >= previous_cap);
            let delay = backoff.next_delay();
            prop_assert!(delay <= cap && delay >= cap / 2, "delay {delay:?} cap {cap:?}");
            previous_cap = cap;
        }
        backoff.reset();
        prop_assert!(backoff.next_delay() <= base);
    }

    /// Polling is never slower than the slowest interval nor faster than the fastest, and a
    /// kick always brings the next poll within the fastest interval.
    #[test]
    fn adaptive_poll_stays_in_range(events in prop::collection::vec((0u64..5000, any::<bool>(), any::<bool>()), 1..100)) {
        let fastest = Duration::from_millis(20);
        let slowest = Duration::from_secs(30);
        let mut now = Instant::now();
        let mut poll = AdaptivePoll::new(now, fastest, slowest);
        for (advance_ms, kick, progressed) in events {
            now += Duration::from_millis(advance_ms);
            if kick {
                poll.kick(now);
                prop_assert!(poll.deadline() <= now + fastest);
            }
            if progressed && advance_ms % 7 == 0 {
                poll.poll_now(now);
                prop_assert!(poll.is_due(now));
            }
            if poll.is_due(now) {
                poll.polled(now, progressed);
            }
            prop_assert!(poll.interval() >= fastest && poll.interval() <= slowest);
            prop_assert!(poll.deadline() <= now + slowest);
        }
    }

    /// Ourselves and connected peers are always in the filter; peers past their cool-down are
    /// no longer known; the filter stays under the rebuild threshold.
    #[test]
    fn known_peers_filter_hides_exactly_what_it_should(
        connected in prop::collection::hash_set("[0-9a-f]{32}", 0..300),
        failed in prop::collection::hash_set("[0-9a-f]{32}", 0..300),
    ) {
        let now = Instant::now();
        let cool_down = Duration::from_secs(60);
        let mut known = KnownPeers::new("0000", cool_down);
        for peer in &failed {
            known.failed(peer, now);
        }
        for peer in &connected {
            known.connected(peer);
        }
        let bloom = known.bloom(now).clone();
        prop_assert!(bloom.contains("0000"));
        for peer in connected.iter().chain(&failed) {
            prop_assert!(bloom.contains(peer));
            prop_assert!(known.is_known(peer, now));
        }
        prop_assert!(bloom.estimated_false_positive_rate() <= rondevu_discovery::MAX_FALSE_POSITIVE_RATE);
        prop_assert_eq!(bloom.bit_len() % 8, 0);
        prop_assert_eq!(bloom.hashes(), 3);
        let later = now + cool_down;
        known.bloom(later);
        for peer in failed.difference(&connected) {
            prop_assert!(!known.is_known(peer, later));
        }
        prop_assert_eq!(known.len(), connected.len());
    }

    /// Both sides of a double connection close the same one, and exactly one survives.
    #[test]
    fn tie_break_leaves_one_connection(a in "[0-9a-f]{32}", b in "[0-9a-f]{32}") {
        prop_assume!(a != b);
        // Connection 1: a offered, b answered. Connection 2: b offered, a answered.
        let first_kept_by_a = keeps_connection(&a, &b, Role::Offerer);
        let first_kept_by_b = keeps_connection(&b, &a, Role::Answerer);
        let second_kept_by_a = keeps_connection(&a, &b, Role::Answerer);
        let second_kept_by_b = keeps_connection(&b, &a, Role::Offerer);
        prop_assert_eq!(first_kept_by_a, first_kept_by_b);
        prop_assert_eq!(second_kept_by_a, second_kept_by_b);
        prop_assert!(first_kept_by_a != second_kept_by_a);
    }
}

#[test]
fn saturated_filter_is_rebuilt_larger() {
    let now = Instant::now();
    let mut known = KnownPeers::new("me", Duration::from_secs(60));
    let initial_bits = known.bloom(now).bit_len();
    for n in 0..2000 {
        known.connected(&format!("{n:032x}"));
    }
    let bloom = known.bloom(now);
    assert!(bloom.bit_len() > initial_bits);
    assert!(bloom.estimated_false_positive_rate() <= rondevu_discovery::MAX_FALSE_POSITIVE_RATE);
}

proptest! {
    /// `forget` drops a peer at once (no cool-down) without touching the others, and the
    /// next filter no longer needs to hold it while ourselves and the rest stay in.
    #[test]
    fn forgotten_peers_leave_at_once(
        peers in prop::collection::hash_set("[0-9a-f]{32}", 1..100),
        forget_mask in prop::collection::vec(any::<bool>(), 100),
    ) {
        let now = Instant::now();
        let mut known = KnownPeers::new("me", Duration::from_secs(60));
        for (index, peer) in peers.iter().enumerate() {
            if index % 2 == 0 { known.connected(peer) } else { known.failed(peer, now) }
        }
        let mut kept = Vec::new();
        for (peer, forget) in peers.iter().zip(forget_mask) {
            if forget {
                known.forget(peer);
                prop_assert!(!known.is_known(peer, now));
            } else {
                kept.push(peer);
            }
        }
        prop_assert_eq!(known.len(), kept.len());
        let bloom = known.bloom(now).clone();
        prop_assert!(bloom.contains("me"));
        for peer in kept {
            prop_assert!(known.is_known(peer, now));
            prop_assert!(bloom.contains(peer));
        }
    }
}
