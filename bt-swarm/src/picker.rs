//! Which block to ask which peer for: a sans-IO state machine (time is passed in) doing
//! rarest-first with a random first piece, per-peer pipelining whose depth grows with
//! throughput, request timeouts that hand blocks to other peers, and endgame at the tail.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitvec::prelude::{BitSlice, BitVec, Msb0};

use crate::layout::{TorrentLayout, BLOCK_LEN};

/// The engine's name for one connection.
pub type PeerKey = u64;

/// One block of one piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockRef {
    /// Piece index.
    pub piece: u32,
    /// Block index inside the piece (its offset is `block * BLOCK_LEN`).
    pub block: u32,
}

impl BlockRef {
    /// Offset of the block inside its piece.
    pub fn offset(self) -> u32 {
        self.block * BLOCK_LEN
    }
}

/// Tuning of the picker.
#[derive(Debug, Clone)]
pub struct PickerConfig {
    /// Upper bound on the bytes of pieces being assembled (partial and awaiting verification).
    pub max_inflight_bytes: u64,
    /// Requests a new peer may have outstanding at first.
    pub initial_queue_depth: u32,
    /// Most requests one peer may have outstanding.
    pub max_queue_depth: u32,
    /// A request not answered within this time is given to other peers.
    pub request_timeout: Duration,
    /// In endgame, how many peers may be asked for the same block at once.
    pub endgame_requesters: usize,
    /// How many first pieces are picked at random rather than rarest-first.
    pub random_first_pieces: u32,
}

impl Default for PickerConfig {
    fn default() -> Self {
        Self {
            max_inflight_bytes: 16 * 1024 * 1024,
            initial_queue_depth: 16,
            max_queue_depth: 256,
            request_timeout: Duration::from_secs(15),
            endgame_requesters: 2,
            random_first_pieces: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum BlockState {
    Missing,
    Requested(Vec<PeerKey>),
    Received(PeerKey),
}

#[derive(Debug)]
struct PieceProgress {
    blocks: Vec<BlockState>,
    missing: u32,
    received: u32,
}

#[derive(Debug)]
struct PeerState {
    has: BitVec<u8, Msb0>,
    choking_us: bool,
    outstanding: Vec<(BlockRef, Instant)>,
    queue_depth: u32,
    depth_limit: u32,
    /// Pieces it has that we lack.
    wanted: u32,
}

/// What [`Picker::block_received`] made of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// The block was needed and is now held. `piece_complete` says every block of its piece
    /// is in, so the piece should be verified; `cancel` lists the other peers that were asked
    /// for it (endgame) and should now get a cancel.
    Accepted {
        /// Every block of the piece has arrived.
        piece_complete: bool,
        /// Other peers with the same request outstanding.
        cancel: Vec<PeerKey>,
    },
    /// The block is already held or its piece is verified: drop the data.
    Duplicate,
    /// The block belongs to no piece being downloaded: drop the data.
    Unexpected,
}

/// Rarest-first piece picker and request bookkeeping for one torrent.
#[derive(Debug)]
pub struct Picker {
    layout: Arc<TorrentLayout>,
    config: PickerConfig,
    have: BitVec<u8, Msb0>,
    verified: u32,
    verified_bytes: u64,
    availability: Vec<u32>,
    in_progress: BTreeMap<u32, PieceProgress>,
    peers: HashMap<PeerKey, PeerState>,
    /// Peers whose request for a block timed out: not asked for it again while another
    /// peer can be.
    timed_out: HashMap<BlockRef, Vec<PeerKey>>,
    rng: fastrand::Rng,
}

impl Picker {
    /// A picker for `layout` holding the pieces set in `have`; `seed` drives the random
    /// choices (fixed seeds make tests reproducible).
    pub fn new(
        layout: Arc<TorrentLayout>,
        have: BitVec<u8, Msb0>,
        config: PickerConfig,
        seed: u64,
    ) -> Self {
        let count = layout.piece_count() as usize;
        let mut have = have;
        have.resize(count, false);
        let verified = have.count_ones() as u32;
        let verified_bytes = have
            .iter_ones()
            .map(|piece| u64::from(layout.piece_len(piece as u32)))
            .sum();
        Self {
            layout,
            config,
            have,
            verified,
            verified_bytes,
            availability: vec![0; count],
            in_progress: BTreeMap::new(),
            peers: HashMap::new(),
            timed_out: HashMap::new(),
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The verified pieces.
    pub fn have(&self) -> &BitSlice<u8, Msb0> {
        &self.have
    }

    /// Number of verified pieces.
    pub fn verified_count(&self) -> u32 {
        self.verified
    }

    /// Bytes in verified pieces.
    pub fn verified_bytes(&self) -> u64 {
        self.verified_bytes
    }

    /// Whether every piece is verified.
    pub fn is_complete(&self) -> bool {
        self.verified == self.layout.piece_count()
    }

    /// Whether the download is in endgame: every missing block is requested or in.
    pub fn in_endgame(&self) -> bool {
        !self.is_complete()
            && self.unstarted_pieces() == 0
            && self
                .in_progress
                .values()
                .all(|progress| progress.missing == 0)
    }

    fn unstarted_pieces(&self) -> usize {
        (self.layout.piece_count() - self.verified) as usize - self.in_progress.len()
    }

    /// Registers a connection; it starts choking us with an empty bitfield.
    pub fn add_peer(&mut self, peer: PeerKey) {
        let count = self.layout.piece_count() as usize;
        self.peers.insert(
            peer,
            PeerState {
                has: BitVec::repeat(false, count),
                choking_us: true,
                outstanding: Vec::new(),
                queue_depth: self.config.initial_queue_depth.max(1),
                depth_limit: self.config.max_queue_depth.max(1),
                wanted: 0,
            },
        );
    }

    /// Forgets a connection, releasing its requests and its pieces' availability.
    pub fn remove_peer(&mut self, peer: PeerKey) {
        self.release_all(peer);
        if let Some(state) = self.peers.remove(&peer) {
            for piece in state.has.iter_ones() {
                self.availability[piece] = self.availability[piece].saturating_sub(1);
            }
        }
    }

    /// Caps a peer's queue depth (its `reqq` from the extension handshake).
    pub fn limit_queue_depth(&mut self, peer: PeerKey, limit: u32) {
        if let Some(state) = self.peers.get_mut(&peer) {
            state.depth_limit = limit.clamp(1, self.config.max_queue_depth.max(1));
            state.queue_depth = state.queue_depth.min(state.depth_limit);
        }
    }

    /// The peer announced `piece`. Out-of-range indexes are ignored (the wire layer
    /// rejects them first).
    pub fn peer_has(&mut self, peer: PeerKey, piece: u32) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        if let Some(mut bit) = state.has.get_mut(piece as usize) {
            if !*bit {
                bit.set(true);
                self.availability[piece as usize] += 1;
                if !self.have[piece as usize] {
                    state.wanted += 1;
                }
            }
        }
    }

    /// The peer's bitfield (replaces what it had announced; extra bits are ignored).
    pub fn peer_bitfield(&mut self, peer: PeerKey, bits: &BitSlice<u8, Msb0>) {
        let count = self.layout.piece_count() as usize;
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        for piece in 0..count {
            let new = bits.get(piece).map(|bit| *bit).unwrap_or(false);
            let old = state.has[piece];
            if new != old {
                state.has.set(piece, new);
                let lacking = !self.have[piece];
                if new {
                    self.availability[piece] += 1;
                    state.wanted += u32::from(lacking);
                } else {
                    self.availability[piece] = self.availability[piece].saturating_sub(1);
                    state.wanted -= u32::from(lacking);
                }
            }
        }
    }

    /// The peer has every piece (a seeder, or BEP 6 have-all).
    pub fn peer_has_all(&mut self, peer: PeerKey) {
        let all = BitVec::<u8, Msb0>::repeat(true, self.layout.piece_count() as usize);
        self.peer_bitfield(peer, &all);
    }

    /// Whether the peer has a piece we lack (we should be interested).
    pub fn is_interesting(&self, peer: PeerKey) -> bool {
        self.peers.get(&peer).is_some_and(|state| state.wanted > 0)
    }

    /// The peer choked (`true`) or unchoked (`false`) us. Choking drops its requests (BEP 3),
    /// so they go back to the pool.
    pub fn peer_choking(&mut self, peer: PeerKey, choking: bool) {
        if choking {
            self.release_all(peer);
        }
        if let Some(state) = self.peers.get_mut(&peer) {
            state.choking_us = choking;
        }
    }

    /// Requests outstanding at `peer`.
    pub fn outstanding(&self, peer: PeerKey) -> usize {
        self.peers
            .get(&peer)
            .map_or(0, |state| state.outstanding.len())
    }

    /// The current queue depth of `peer`.
    pub fn queue_depth(&self, peer: PeerKey) -> u32 {
        self.peers.get(&peer).map_or(0, |state| state.queue_depth)
    }

    /// Picks blocks to request from `peer` now, filling its pipeline up to its queue depth.
    pub fn next_requests(&mut self, peer: PeerKey, now: Instant) -> Vec<BlockRef> {
        let mut picked = Vec::new();
        while let Some(state) = self.peers.get(&peer) {
            if state.choking_us || state.outstanding.len() as u32 >= state.queue_depth {
                break;
            }
            let Some(block) = self.pick_block(peer) else {
                break;
            };
            if let Some(progress) = self.in_progress.get_mut(&block.piece) {
                let slot = &mut progress.blocks[block.block as usize];
                match slot {
                    BlockState::Missing => {
                        progress.missing -= 1;
                        *slot = BlockState::Requested(vec![peer]);
                    }
                    BlockState::Requested(requesters) => requesters.push(peer),
                    BlockState::Received(_) => break,
                }
            }
            if let Some(state) = self.peers.get_mut(&peer) {
                state.outstanding.push((block, now));
            }
            picked.push(block);
        }
        picked
    }

    fn pick_block(&mut self, peer: PeerKey) -> Option<BlockRef> {
        let state = self.peers.get(&peer)?;
        // 1. Finish pieces already started.
        for (&piece, progress) in &self.in_progress {
            if progress.missing == 0 || !state.has[piece as usize] {
                continue;
            }
            let usable = progress
                .blocks
                .iter()
                .enumerate()
                .position(|(block, slot)| {
                    *slot == BlockState::Missing
                        && !self.avoids(
                            peer,
                            BlockRef {
                                piece,
                                block: block as u32,
                            },
                        )
                });
            if let Some(block) = usable {
                return Some(BlockRef {
                    piece,
                    block: block as u32,
                });
            }
        }
        // 2. Start a new piece, if the memory budget allows.
        let piece_budget =
            (self.config.max_inflight_bytes / u64::from(self.layout.piece_length())).max(1);
        if (self.in_progress.len() as u64) < piece_budget {
            if let Some(piece) = self.choose_new_piece(peer) {
                let blocks = self.layout.block_count(piece);
                self.in_progress.insert(
                    piece,
                    PieceProgress {
                        blocks: vec![BlockState::Missing; blocks as usize],
                        missing: blocks,
                        received: 0,
                    },
                );
                return Some(BlockRef { piece, block: 0 });
            }
        }
        // 3. Endgame: ask for blocks others were already asked for.
        if !self.in_endgame() {
            return None;
        }
        let state = self.peers.get(&peer)?;
        for (&piece, progress) in &self.in_progress {
            if !state.has[piece as usize] {
                continue;
            }
            for (block, slot) in progress.blocks.iter().enumerate() {
                if let BlockState::Requested(requesters) = slot {
                    if requesters.len() < self.config.endgame_requesters
                        && !requesters.contains(&peer)
                    {
                        return Some(BlockRef {
                            piece,
                            block: block as u32,
                        });
                    }
                }
            }
        }
        None
    }

    /// Whether `peer` already let a request for `block` time out while another unchoked
    /// peer that has the piece could be asked instead.
    fn avoids(&self, peer: PeerKey, block: BlockRef) -> bool {
        let Some(slow) = self.timed_out.get(&block) else {
            return false;
        };
        slow.contains(&peer)
            && self.peers.iter().any(|(other, state)| {
                *other != peer
                    && !state.choking_us
                    && state.has[block.piece as usize]
                    && !slow.contains(other)
            })
    }

    fn choose_new_piece(&mut self, peer: PeerKey) -> Option<u32> {
        let state = self.peers.get(&peer)?;
        let count = self.layout.piece_count() as usize;
        let wanted = |piece: usize| {
            state.has[piece] && !self.have[piece] && !self.in_progress.contains_key(&(piece as u32))
        };
        if self.verified < self.config.random_first_pieces {
            let candidates: Vec<usize> = (0..count).filter(|&piece| wanted(piece)).collect();
            if candidates.is_empty() {
                return None;
            }
            return Some(candidates[self.rng.usize(..candidates.len())] as u32);
        }
        // Rarest first; ties go to the first one found from a random starting point.
        let start = self.rng.usize(..count);
        let mut best: Option<(u32, usize)> = None;
        for step in 0..count {
            let piece = (start + step) % count;
            if !wanted(piece) {
                continue;
            }
            let availability = self.availability[piece];
            if best.is_none_or(|(rarest, _)| availability < rarest) {
                best = Some((availability, piece));
                if availability <= 1 {
                    // Nothing a peer has can be rarer.
                    break;
                }
            }
        }
        best.map(|(_, piece)| piece as u32)
    }

    /// Records a block from `peer`. The caller keeps the data only when the answer is
    /// [`Arrival::Accepted`].
    pub fn block_received(&mut self, peer: PeerKey, block: BlockRef) -> Arrival {
        let had_request = self.forget_request(peer, block);
        if had_request {
            if let Some(state) = self.peers.get_mut(&peer) {
                state.queue_depth = (state.queue_depth + 1).min(state.depth_limit);
            }
        }
        let Some(progress) = self.in_progress.get_mut(&block.piece) else {
            return if self.have.get(block.piece as usize).is_some_and(|bit| *bit) {
                Arrival::Duplicate
            } else {
                Arrival::Unexpected
            };
        };
        let Some(slot) = progress.blocks.get_mut(block.block as usize) else {
            return Arrival::Unexpected;
        };
        let cancel = match slot {
            BlockState::Received(_) => return Arrival::Duplicate,
            BlockState::Missing => {
                progress.missing -= 1;
                Vec::new()
            }
            BlockState::Requested(requesters) => {
                requesters.retain(|other| *other != peer);
                std::mem::take(requesters)
            }
        };
        *slot = BlockState::Received(peer);
        progress.received += 1;
        self.timed_out.remove(&block);
        let piece_complete = progress.received as usize == progress.blocks.len();
        for other in &cancel {
            self.forget_request(*other, block);
        }
        Arrival::Accepted {
            piece_complete,
            cancel,
        }
    }

    /// Who sent each block of a piece being assembled, as `(block, peer)`.
    pub fn contributors(&self, piece: u32) -> Vec<(u32, PeerKey)> {
        self.in_progress
            .get(&piece)
            .map(|progress| {
                progress
                    .blocks
                    .iter()
                    .enumerate()
                    .filter_map(|(block, slot)| match slot {
                        BlockState::Received(peer) => Some((block as u32, *peer)),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The piece passed verification.
    pub fn piece_verified(&mut self, piece: u32) {
        self.in_progress.remove(&piece);
        self.timed_out.retain(|block, _| block.piece != piece);
        if let Some(mut bit) = self.have.get_mut(piece as usize) {
            if !*bit {
                bit.set(true);
                self.verified += 1;
                self.verified_bytes += u64::from(self.layout.piece_len(piece));
                for state in self.peers.values_mut() {
                    if state.has[piece as usize] {
                        state.wanted -= 1;
                    }
                }
            }
        }
    }

    /// The piece failed verification: all its blocks are needed again.
    pub fn piece_failed(&mut self, piece: u32) {
        if let Some(progress) = self.in_progress.get_mut(&piece) {
            for slot in &mut progress.blocks {
                *slot = BlockState::Missing;
            }
            progress.missing = progress.blocks.len() as u32;
            progress.received = 0;
        }
    }

    /// Releases requests older than the timeout so other peers can be asked, and halves the
    /// slow peers' queue depth. Returns the expired requests (to cancel at their peer).
    pub fn expire_requests(&mut self, now: Instant) -> Vec<(PeerKey, BlockRef)> {
        let timeout = self.config.request_timeout;
        let mut expired = Vec::new();
        for (&peer, state) in &mut self.peers {
            let before = expired.len();
            state.outstanding.retain(|&(block, asked)| {
                let late = now.saturating_duration_since(asked) >= timeout;
                if late {
                    expired.push((peer, block));
                }
                !late
            });
            if expired.len() > before {
                state.queue_depth = (state.queue_depth / 2).max(1);
            }
        }
        for &(peer, block) in &expired {
            self.release_block(peer, block);
            let slow = self.timed_out.entry(block).or_default();
            if !slow.contains(&peer) {
                slow.push(peer);
            }
        }
        expired
    }

    /// The earliest time a request will expire, if any is outstanding.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.peers
            .values()
            .flat_map(|state| state.outstanding.iter().map(|&(_, asked)| asked))
            .min()
            .map(|asked| asked + self.config.request_timeout)
    }

    fn forget_request(&mut self, peer: PeerKey, block: BlockRef) -> bool {
        let Some(state) = self.peers.get_mut(&peer) else {
            return false;
        };
        match state.outstanding.iter().position(|&(b, _)| b == block) {
            Some(index) => {
                state.outstanding.swap_remove(index);
                true
            }
            None => false,
        }
    }

    fn release_all(&mut self, peer: PeerKey) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let blocks: Vec<BlockRef> = state
            .outstanding
            .drain(..)
            .map(|(block, _)| block)
            .collect();
        for block in blocks {
            self.release_block(peer, block);
        }
    }

    /// Removes `peer` from the requesters of `block`; with none left the block is missing.
    fn release_block(&mut self, peer: PeerKey, block: BlockRef) {
        let Some(progress) = self.in_progress.get_mut(&block.piece) else {
            return;
        };
        if let Some(slot) = progress.blocks.get_mut(block.block as usize) {
            if let BlockState::Requested(requesters) = slot {
                requesters.retain(|other| *other != peer);
                if requesters.is_empty() {
                    *slot = BlockState::Missing;
                    progress.missing += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
