//! Property tests: no false negatives, lossless base64, and a false-positive rate that keeps
//! its promise.

use peer_bloom::{BloomError, PeerBloom, SERVER_HASHES};
use proptest::prelude::*;

fn peer_id() -> impl Strategy<Value = String> {
    "[0-9a-f]{32}"
}

proptest! {
    #[test]
    fn never_a_false_negative(
        bits in 1usize..4096,
        hashes in 1u32..8,
        ids in prop::collection::vec(any::<String>(), 0..64),
    ) {
        let mut filter = PeerBloom::new(bits, hashes).unwrap();
        for id in &ids {
            filter.insert(id);
        }
        for id in &ids {
            prop_assert!(filter.contains(id));
        }
    }

    #[test]
    fn base64_round_trip_keeps_every_bit(
        bytes in 1usize..512,
        ids in prop::collection::vec(peer_id(), 0..100),
    ) {
        let mut filter = PeerBloom::new(bytes * 8, SERVER_HASHES).unwrap();
        for id in &ids {
            filter.insert(id);
        }
        let decoded = PeerBloom::from_base64(&filter.to_base64(), SERVER_HASHES).unwrap();
        prop_assert_eq!(&decoded, &filter);
        for id in &ids {
            prop_assert!(decoded.contains(id));
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>(), hashes in 0u32..100) {
        match PeerBloom::from_base64(&text, hashes) {
            Ok(filter) => {
                prop_assert!(filter.bit_len() > 0);
                prop_assert_eq!(filter.to_base64().len(), text.len());
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }

    #[test]
    fn sized_filters_are_byte_aligned_with_three_hashes(items in 0usize..5000, rate in 0.0001f64..0.5) {
        let filter = PeerBloom::with_false_positive_rate(items, rate).unwrap();
        prop_assert_eq!(filter.bit_len() % 8, 0);
        prop_assert_eq!(filter.hashes(), SERVER_HASHES);
    }
}

/// Fills a filter sized for `items` at `rate` and measures how often ids never inserted test
/// positive. The margin is three binomial standard deviations over 20,000 probes plus 10% of
/// the target (the sizing formula assumes independent uniform hashes).
fn measured_rate(items: usize, rate: f64, seed: u64) -> (f64, f64) {
    let mut filter = PeerBloom::with_false_positive_rate(items, rate).unwrap();
    let mut next = seed;
    let mut fresh_id = || {
        // SplitMix64: a fixed, seeded stream of distinct-looking peer ids.
        next = next.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = next;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        format!("{:016x}{:016x}", z ^ (z >> 31), z.rotate_left(17))
    };
    for _ in 0..items {
        filter.insert(&fresh_id());
    }
    let probes = 20_000;
    let positives = (0..probes).filter(|_| filter.contains(&fresh_id())).count();
    let measured = positives as f64 / probes as f64;
    let margin = 3.0 * (rate * (1.0 - rate) / probes as f64).sqrt() + 0.1 * rate;
    (measured, rate + margin)
}

#[test]
fn false_positive_rate_is_within_the_promise() {
    for (items, rate, seed) in [
        (50, 0.01, 1),
        (200, 0.01, 2),
        (1000, 0.001, 3),
        (100, 0.05, 4),
    ] {
        let (measured, bound) = measured_rate(items, rate, seed);
        assert!(
            measured <= bound,
            "{items} items at {rate}: measured {measured}, allowed {bound}"
        );
    }
}

#[test]
fn estimate_tracks_the_fill() {
    let mut filter = PeerBloom::with_false_positive_rate(100, 0.01).unwrap();
    assert_eq!(filter.estimated_false_positive_rate(), 0.0);
    for n in 0..100 {
        filter.insert(&format!("peer-{n}"));
    }
    let estimate = filter.estimated_false_positive_rate();
    assert!(estimate > 0.001 && estimate < 0.02, "estimate {estimate}");
}

#[test]
fn bad_input_is_a_typed_error() {
    assert_eq!(PeerBloom::new(0, 3), Err(BloomError::InvalidSize(0)));
    assert_eq!(PeerBloom::new(8, 0), Err(BloomError::InvalidHashCount(0)));
    assert!(matches!(
        PeerBloom::from_base64("not base64!", 3),
        Err(BloomError::InvalidBase64(_))
    ));
    assert_eq!(PeerBloom::from_base64("", 3), Err(BloomError::Empty));
    assert!(matches!(
        PeerBloom::with_false_positive_rate(10, 0.0),
        Err(BloomError::InvalidRate(_))
    ));
    assert!(matches!(
        PeerBloom::with_false_positive_rate(10, 1.0),
        Err(BloomError::InvalidRate(_))
    ));
    let huge = "A".repeat(4 * 1024 * 1024);
    assert!(matches!(
        PeerBloom::from_base64(&huge, 3),
        Err(BloomError::TooLarge(_))
    ));
}
