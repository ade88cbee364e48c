//! Who may download from us: a sans-IO choker with a bounded number of upload slots given
//! to the interested peers with the best rates, re-evaluated periodically, plus one
//! optimistic slot that rotates so newcomers get a chance.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::picker::PeerKey;

/// Tuning of the choker.
#[derive(Debug, Clone)]
pub struct ChokerConfig {
    /// Regular upload slots (the optimistic slot comes on top).
    pub upload_slots: usize,
    /// How often the regular slots are re-evaluated.
    pub rechoke_interval: Duration,
    /// How often the optimistic slot moves to another peer.
    pub optimistic_interval: Duration,
}

impl Default for ChokerConfig {
    fn default() -> Self {
        Self {
            upload_slots: 4,
            rechoke_interval: Duration::from_secs(10),
            optimistic_interval: Duration::from_secs(30),
        }
    }
}

/// What the choker needs to know about one connected peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadCandidate {
    /// The connection.
    pub peer: PeerKey,
    /// The peer wants pieces from us.
    pub interested: bool,
    /// Its merit in bytes per second: what it gives us while we download, what it takes
    /// while we seed.
    pub rate: u64,
}

/// A change of choke state to send to a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChokeChange {
    /// Send `unchoke`.
    Unchoke(PeerKey),
    /// Send `choke`.
    Choke(PeerKey),
}

/// Upload slot bookkeeping for one torrent.
#[derive(Debug)]
pub struct Choker {
    config: ChokerConfig,
    unchoked: HashSet<PeerKey>,
    optimistic: Option<PeerKey>,
    next_rechoke: Option<Instant>,
    next_optimistic: Option<Instant>,
    rng: fastrand::Rng,
}

impl Choker {
    /// A choker with every peer choked; `seed` drives the optimistic choice.
    pub fn new(config: ChokerConfig, seed: u64) -> Self {
        Self {
            config,
            unchoked: HashSet::new(),
            optimistic: None,
            next_rechoke: None,
            next_optimistic: None,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// Whether `peer` is unchoked.
    pub fn is_unchoked(&self, peer: PeerKey) -> bool {
        self.unchoked.contains(&peer)
    }

    /// Number of unchoked peers.
    pub fn unchoked_count(&self) -> usize {
        self.unchoked.len()
    }

    /// A peer became interested: it is unchoked at once while a slot is free.
    pub fn peer_interested(&mut self, peer: PeerKey) -> Option<ChokeChange> {
        if self.unchoked.contains(&peer) || self.unchoked.len() > self.config.upload_slots {
            return None;
        }
        self.unchoked.insert(peer);
        Some(ChokeChange::Unchoke(peer))
    }

    /// A peer disconnected: its slot is free.
    pub fn peer_removed(&mut self, peer: PeerKey) {
        self.unchoked.remove(&peer);
        if self.optimistic == Some(peer) {
            self.optimistic = None;
        }
    }

    /// Re-evaluates the slots when their time has come; returns the changes to send.
    pub fn tick(&mut self, now: Instant, candidates: &[UploadCandidate]) -> Vec<ChokeChange> {
        let rechoke_due = self.next_rechoke.is_none_or(|due| now >= due);
        let optimistic_due = self.next_optimistic.is_none_or(|due| now >= due);
        if !rechoke_due && !optimistic_due {
            return Vec::new();
        }
        self.next_rechoke = Some(now + self.config.rechoke_interval);
        let mut interested: Vec<&UploadCandidate> =
            candidates.iter().filter(|c| c.interested).collect();
        interested.sort_by(|a, b| b.rate.cmp(&a.rate).then(a.peer.cmp(&b.peer)));
        let regular: HashSet<PeerKey> = interested
            .iter()
            .take(self.config.upload_slots)
            .map(|c| c.peer)
            .collect();
        let optimistic_alive = self.optimistic.is_some_and(|peer| {
            interested.iter().any(|c| c.peer == peer) && !regular.contains(&peer)
        });
        if optimistic_due || !optimistic_alive {
            let others: Vec<PeerKey> = interested
                .iter()
                .map(|c| c.peer)
                .filter(|peer| !regular.contains(peer))
                .collect();
            self.optimistic = if others.is_empty() {
                None
            } else {
                Some(others[self.rng.usize(..others.len())])
            };
            self.next_optimistic = Some(now + self.config.optimistic_interval);
        }
        let mut wanted = regular;
        wanted.extend(self.optimistic);
        let mut changes: Vec<ChokeChange> = self
            .unchoked
            .difference(&wanted)
            .map(|&peer| ChokeChange::Choke(peer))
            .collect();
        changes.extend(
            wanted
                .difference(&self.unchoked)
                .map(|&peer| ChokeChange::Unchoke(peer)),
        );
        changes.sort_by_key(|change| match change {
            ChokeChange::Choke(peer) | ChokeChange::Unchoke(peer) => *peer,
        });
        self.unchoked = wanted;
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(peer: PeerKey, rate: u64) -> UploadCandidate {
        UploadCandidate {
            peer,
            interested: true,
            rate,
        }
    }

    #[test]
    fn best_rates_keep_slots_and_one_optimistic_rotates() {
        let config = ChokerConfig {
            upload_slots: 2,
            rechoke_interval: Duration::from_secs(10),
            optimistic_interval: Duration::from_secs(30),
        };
        let mut choker = Choker::new(config, 11);
        let start = Instant::now();
        let peers: Vec<UploadCandidate> = (1..=6).map(|peer| candidate(peer, peer * 100)).collect();
        for peer in 1..=6 {
            choker.peer_interested(peer);
        }
        assert_eq!(choker.unchoked_count(), 3, "slots are bounded");
        choker.tick(start, &peers);
        assert_eq!(choker.unchoked_count(), 3);
        assert!(choker.is_unchoked(6) && choker.is_unchoked(5));
        let first_optimistic: Vec<PeerKey> =
            (1..=4).filter(|peer| choker.is_unchoked(*peer)).collect();
        assert_eq!(first_optimistic.len(), 1);
        // Within the interval nothing moves.
        assert!(choker
            .tick(start + Duration::from_secs(5), &peers)
            .is_empty());
        // Over many rotations the optimistic slot visits more than one peer.
        let mut seen = HashSet::new();
        for round in 1..=20 {
            choker.tick(start + Duration::from_secs(30 * round), &peers);
            assert!(choker.is_unchoked(6) && choker.is_unchoked(5));
            seen.extend((1..=4).filter(|peer| choker.is_unchoked(*peer)));
        }
        assert!(seen.len() > 1);
    }

    #[test]
    fn uninterested_peers_lose_their_slot() {
        let mut choker = Choker::new(ChokerConfig::default(), 1);
        assert_eq!(choker.peer_interested(1), Some(ChokeChange::Unchoke(1)));
        let gone = [UploadCandidate {
            peer: 1,
            interested: false,
            rate: 0,
        }];
        assert_eq!(
            choker.tick(Instant::now(), &gone),
            vec![ChokeChange::Choke(1)]
        );
    }
}
