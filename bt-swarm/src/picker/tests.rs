use std::collections::{HashMap, HashSet};

use proptest::prelude::*;

use super::*;

fn layout(piece_length: u64, total: u64) -> Arc<TorrentLayout> {
    let hashes = vec![[0u8; 20]; total.div_ceil(piece_length) as usize];
    Arc::new(
        TorrentLayout::new(piece_length, vec![(vec!["f".into()], total)], hashes).expect("layout"),
    )
}

fn all_blocks(layout: &TorrentLayout) -> usize {
    (0..layout.piece_count())
        .map(|piece| layout.block_count(piece) as usize)
        .sum()
}

#[test]
fn rarest_piece_is_picked_after_the_first() {
    let layout = layout(u64::from(BLOCK_LEN), 4 * u64::from(BLOCK_LEN));
    let mut picker = Picker::new(layout.clone(), BitVec::new(), PickerConfig::default(), 7);
    let have_first = BitVec::<u8, Msb0>::from_iter([true, false, false, false]);
    let mut picker_with_one = Picker::new(layout, have_first, PickerConfig::default(), 7);
    for picker in [&mut picker, &mut picker_with_one] {
        for peer in 1..=3 {
            picker.add_peer(peer);
            picker.peer_has_all(peer);
        }
        // Piece 2 is held by peer 4 too: pieces 1 and 3 are rarer.
        picker.add_peer(4);
        picker.peer_has(4, 2);
        picker.peer_choking(1, false);
    }
    let picked = picker_with_one.next_requests(1, Instant::now());
    assert!(!picked.is_empty());
    assert_ne!(
        picked[0].piece, 2,
        "the most common piece is not picked first"
    );
    assert_ne!(picked[0].piece, 0, "a verified piece is never requested");
}

#[test]
fn timed_out_requests_go_to_another_peer_and_shrink_the_queue() {
    let layout = layout(u64::from(BLOCK_LEN) * 4, u64::from(BLOCK_LEN) * 4);
    let config = PickerConfig {
        request_timeout: Duration::from_secs(5),
        initial_queue_depth: 4,
        endgame_requesters: 1,
        ..PickerConfig::default()
    };
    let mut picker = Picker::new(layout, BitVec::new(), config, 1);
    let start = Instant::now();
    for peer in [1, 2] {
        picker.add_peer(peer);
        picker.peer_has_all(peer);
        picker.peer_choking(peer, false);
    }
    let slow = picker.next_requests(1, start);
    assert_eq!(slow.len(), 4);
    assert!(
        picker.next_requests(2, start).is_empty(),
        "no duplicates allowed"
    );
    assert!(picker
        .expire_requests(start + Duration::from_secs(4))
        .is_empty());
    let expired = picker.expire_requests(start + Duration::from_secs(5));
    assert_eq!(expired.len(), 4);
    assert_eq!(picker.queue_depth(1), 2);
    assert!(
        picker
            .next_requests(1, start + Duration::from_secs(5))
            .is_empty(),
        "the slow peer is not asked again while another peer can be"
    );
    let retry = picker.next_requests(2, start + Duration::from_secs(5));
    let mut retry_sorted = retry.clone();
    retry_sorted.sort();
    let mut slow_sorted = slow.clone();
    slow_sorted.sort();
    assert_eq!(retry_sorted, slow_sorted);
    // The slow peer's late answer is still welcome and cancels the retry.
    let arrival = picker.block_received(1, slow[0]);
    assert_eq!(
        arrival,
        Arrival::Accepted {
            piece_complete: false,
            cancel: vec![2]
        }
    );
}

#[test]
fn queue_depth_grows_with_delivered_blocks() {
    let layout = layout(u64::from(BLOCK_LEN) * 64, u64::from(BLOCK_LEN) * 64);
    let mut picker = Picker::new(layout, BitVec::new(), PickerConfig::default(), 3);
    picker.add_peer(1);
    picker.peer_has_all(1);
    picker.peer_choking(1, false);
    let now = Instant::now();
    let first = picker.next_requests(1, now);
    assert_eq!(first.len(), 16);
    for block in &first[..8] {
        picker.block_received(1, *block);
    }
    assert_eq!(picker.queue_depth(1), 24);
    assert_eq!(picker.next_requests(1, now).len(), 16);
}

#[test]
fn endgame_duplicates_the_tail_and_cancels_on_arrival() {
    let layout = layout(u64::from(BLOCK_LEN) * 2, u64::from(BLOCK_LEN) * 2);
    let mut picker = Picker::new(layout, BitVec::new(), PickerConfig::default(), 5);
    let now = Instant::now();
    for peer in [1, 2] {
        picker.add_peer(peer);
        picker.peer_has_all(peer);
        picker.peer_choking(peer, false);
    }
    assert_eq!(picker.next_requests(1, now).len(), 2);
    assert!(picker.in_endgame());
    assert_eq!(picker.next_requests(2, now).len(), 2);
    let block = BlockRef { piece: 0, block: 1 };
    assert_eq!(
        picker.block_received(2, block),
        Arrival::Accepted {
            piece_complete: false,
            cancel: vec![1]
        }
    );
    assert_eq!(picker.block_received(1, block), Arrival::Duplicate);
    assert_eq!(picker.outstanding(1), 1);
}

#[test]
fn memory_budget_bounds_pieces_in_progress() {
    let piece = u64::from(BLOCK_LEN) * 2;
    let layout = layout(piece, piece * 10);
    let config = PickerConfig {
        max_inflight_bytes: piece * 3,
        initial_queue_depth: 100,
        max_queue_depth: 100,
        ..PickerConfig::default()
    };
    let mut picker = Picker::new(layout, BitVec::new(), config, 9);
    picker.add_peer(1);
    picker.peer_has_all(1);
    picker.peer_choking(1, false);
    let picked = picker.next_requests(1, Instant::now());
    let pieces: HashSet<u32> = picked.iter().map(|block| block.piece).collect();
    assert_eq!(picked.len(), 6);
    assert_eq!(pieces.len(), 3);
    assert!(!picker.in_endgame());
}

/// One step of a simulated swarm.
#[derive(Debug, Clone)]
enum Step {
    Request(u64),
    Deliver(u64, usize),
    Choke(u64),
    Unchoke(u64),
    Reconnect(u64),
    FailNextPiece,
    Tick(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u64..4).prop_map(Step::Request),
        6 => (0u64..4, any::<usize>()).prop_map(|(peer, index)| Step::Deliver(peer, index)),
        1 => (0u64..4).prop_map(Step::Choke),
        2 => (0u64..4).prop_map(Step::Unchoke),
        1 => (0u64..4).prop_map(Step::Reconnect),
        1 => Just(Step::FailNextPiece),
        1 => (0u64..20).prop_map(Step::Tick),
    ]
}

/// A swarm of four peers (peer 0 a seeder, the others random) around one picker.
struct Swarm {
    picker: Picker,
    bitfields: Vec<BitVec<u8, Msb0>>,
    /// What each peer was asked for and has not answered.
    asked: HashMap<u64, Vec<BlockRef>>,
    now: Instant,
}

impl Swarm {
    fn new(layout: Arc<TorrentLayout>, bits: &[Vec<bool>], seed: u64) -> Self {
        let config = PickerConfig {
            max_inflight_bytes: u64::from(layout.piece_length()) * 3,
            initial_queue_depth: 3,
            max_queue_depth: 12,
            request_timeout: Duration::from_secs(10),
            ..PickerConfig::default()
        };
        let mut picker = Picker::new(layout.clone(), BitVec::new(), config, seed);
        let count = layout.piece_count() as usize;
        let mut bitfields = vec![BitVec::repeat(true, count)];
        for peer_bits in bits {
            bitfields.push(
                (0..count)
                    .map(|i| peer_bits.get(i).copied().unwrap_or(false))
                    .collect(),
            );
        }
        for (peer, bitfield) in bitfields.iter().enumerate() {
            picker.add_peer(peer as u64);
            picker.peer_bitfield(peer as u64, bitfield);
            picker.peer_choking(peer as u64, false);
        }
        Self {
            picker,
            bitfields,
            asked: HashMap::new(),
            now: Instant::now(),
        }
    }

    /// Requests from `peer`, returning the blocks asked for.
    fn request(&mut self, peer: u64) -> Vec<BlockRef> {
        let lacking = self.bitfields[peer as usize]
            .iter_ones()
            .any(|piece| !self.picker.have()[piece]);
        assert_eq!(
            self.picker.is_interesting(peer),
            lacking,
            "interest bookkeeping"
        );
        let blocks = self.picker.next_requests(peer, self.now);
        for block in &blocks {
            assert!(
                self.bitfields[peer as usize][block.piece as usize],
                "asked a peer for a piece it lacks"
            );
            assert!(
                !self.picker.have()[block.piece as usize],
                "asked for a verified piece"
            );
        }
        self.asked.entry(peer).or_default().extend(&blocks);
        blocks
    }

    fn deliver(&mut self, peer: u64, index: usize, fail: bool) -> Option<u32> {
        let asked = self.asked.entry(peer).or_default();
        if asked.is_empty() {
            return None;
        }
        let block = asked.swap_remove(index % asked.len());
        match self.picker.block_received(peer, block) {
            Arrival::Accepted {
                piece_complete,
                cancel,
            } => {
                for other in cancel {
                    if let Some(list) = self.asked.get_mut(&other) {
                        list.retain(|b| *b != block);
                    }
                }
                if piece_complete {
                    if fail {
                        self.picker.piece_failed(block.piece);
                    } else {
                        self.picker.piece_verified(block.piece);
                    }
                    return Some(block.piece);
                }
            }
            Arrival::Duplicate | Arrival::Unexpected => {}
        }
        None
    }

    /// Runs without faults until complete; returns whether it completed.
    fn finish(&mut self) -> bool {
        for peer in 0..self.bitfields.len() as u64 {
            self.picker.peer_choking(peer, false);
        }
        for _ in 0..100_000 {
            if self.picker.is_complete() {
                return true;
            }
            for peer in 0..self.bitfields.len() as u64 {
                self.request(peer);
                self.deliver(peer, 0, false);
            }
        }
        false
    }
}

fn swarm_inputs() -> impl Strategy<Value = (u64, u64, Vec<Vec<bool>>, u64)> {
    (
        1u64..4,
        1u64..200_000,
        proptest::collection::vec(proptest::collection::vec(any::<bool>(), 0..16), 3),
        any::<u64>(),
    )
        .prop_map(|(blocks_per_piece, total, bits, seed)| {
            // Non-multiple piece lengths too: a piece of 1.5 blocks has a short last block.
            let piece_length = blocks_per_piece * u64::from(BLOCK_LEN) - (seed % 2) * 8_000;
            (piece_length, total, bits, seed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Without faults, every block is requested exactly once before endgame, and the
    /// download completes with every piece verified.
    #[test]
    fn each_block_requested_once_outside_endgame(
        (piece_length, total, bits, seed) in swarm_inputs(),
        order in proptest::collection::vec((0u64..4, any::<usize>(), any::<bool>()), 0..400),
    ) {
        let layout = layout(piece_length, total);
        let mut swarm = Swarm::new(layout.clone(), &bits, seed);
        let mut requested: HashSet<BlockRef> = HashSet::new();
        let mut record = |swarm: &Swarm, blocks: Vec<BlockRef>| -> Result<(), TestCaseError> {
            for block in blocks {
                let fresh = requested.insert(block);
                prop_assert!(fresh || swarm.picker.in_endgame(), "{block:?} requested twice outside endgame");
            }
            Ok(())
        };
        for (peer, index, request) in order {
            if request {
                let blocks = swarm.request(peer);
                record(&swarm, blocks)?;
            } else {
                swarm.deliver(peer, index, false);
            }
        }
        for _ in 0..100_000 {
            if swarm.picker.is_complete() {
                break;
            }
            for peer in 0..4 {
                let blocks = swarm.request(peer);
                record(&swarm, blocks)?;
                swarm.deliver(peer, 0, false);
            }
        }
        prop_assert!(swarm.picker.is_complete());
        prop_assert!(swarm.picker.have().all());
        prop_assert_eq!(swarm.picker.verified_count(), layout.piece_count());
        prop_assert_eq!(requested.len(), all_blocks(&layout));
    }

    /// With chokes, reconnects, timeouts and failed pieces: outside endgame a block is never
    /// asked of two peers at once, the memory budget holds, and completion happens exactly
    /// when every piece is verified.
    #[test]
    fn faults_never_double_request_and_completion_means_verified(
        (piece_length, total, bits, seed) in swarm_inputs(),
        steps in proptest::collection::vec(step(), 0..300),
    ) {
        let layout = layout(piece_length, total);
        let mut swarm = Swarm::new(layout.clone(), &bits, seed);
        let mut fail_next = false;
        let budget = 3usize;
        for step in steps {
            match step {
                Step::Request(peer) => {
                    let before: HashSet<BlockRef> = swarm.asked.values().flatten().copied().collect();
                    let blocks = swarm.request(peer);
                    if !swarm.picker.in_endgame() {
                        for block in &blocks {
                            prop_assert!(!before.contains(block), "{block:?} asked twice outside endgame");
                        }
                    }
                }
                Step::Deliver(peer, index) => {
                    if swarm.deliver(peer, index, fail_next).is_some() {
                        fail_next = false;
                    }
                }
                Step::Choke(peer) => {
                    swarm.picker.peer_choking(peer, true);
                    swarm.asked.remove(&peer);
                }
                Step::Unchoke(peer) => swarm.picker.peer_choking(peer, false),
                Step::Reconnect(peer) => {
                    swarm.picker.remove_peer(peer);
                    swarm.asked.remove(&peer);
                    swarm.picker.add_peer(peer);
                    let bitfield = swarm.bitfields[peer as usize].clone();
                    swarm.picker.peer_bitfield(peer, &bitfield);
                    swarm.picker.peer_choking(peer, false);
                }
                Step::FailNextPiece => fail_next = true,
                Step::Tick(seconds) => {
                    swarm.now += Duration::from_secs(seconds);
                    // Expired requests are cancelled at their peer.
                    for (peer, block) in swarm.picker.expire_requests(swarm.now) {
                        if let Some(list) = swarm.asked.get_mut(&peer) {
                            list.retain(|b| *b != block);
                        }
                    }
                }
            }
            prop_assert!(swarm.picker.in_progress.len() <= budget);
            prop_assert_eq!(swarm.picker.is_complete(), swarm.picker.have().all());
        }
        prop_assert!(swarm.finish());
        prop_assert!(swarm.picker.have().all());
    }
}
