//! Who sent bad data: strikes for every peer that contributed to a failed piece, and
//! proof once the piece later verifies (the peer whose block differs from the good data is
//! banned at once; the others are forgiven).

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use crate::layout::PieceHash;
use crate::verify::sha1;

/// What a verdict on a peer means for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<P> {
    /// The peer reached the strike limit or was proven to have sent a corrupt block.
    Ban(P),
}

/// Strike and ban bookkeeping for one torrent, keyed by a peer identity `P`.
#[derive(Debug)]
pub struct Reputation<P> {
    strike_limit: u32,
    strikes: HashMap<P, u32>,
    banned: HashSet<P>,
    /// For each failed piece not yet re-verified: block index → (contributor, hash of the
    /// bytes it sent).
    suspects: HashMap<u32, Vec<(u32, P, PieceHash)>>,
}

impl<P: Clone + Eq + Hash> Reputation<P> {
    /// A peer is banned after `strike_limit` strikes (at least 1).
    pub fn new(strike_limit: u32) -> Self {
        Self {
            strike_limit: strike_limit.max(1),
            strikes: HashMap::new(),
            banned: HashSet::new(),
            suspects: HashMap::new(),
        }
    }

    /// Whether `peer` is banned.
    pub fn is_banned(&self, peer: &P) -> bool {
        self.banned.contains(peer)
    }

    /// Whether `piece` failed before and its good bytes are needed to find the culprit.
    pub fn is_suspect(&self, piece: u32) -> bool {
        self.suspects.contains_key(&piece)
    }

    /// Strikes currently held by `peer`.
    pub fn strikes(&self, peer: &P) -> u32 {
        self.strikes.get(peer).copied().unwrap_or(0)
    }

    /// Bans `peer` outright (for example for breaking the protocol).
    pub fn ban(&mut self, peer: P) {
        self.strikes.remove(&peer);
        self.banned.insert(peer);
    }

    /// Records that `piece` failed verification. `blocks` lists, per block, who sent it and
    /// the bytes it sent. Every distinct contributor gets one strike; the peers that reach
    /// the limit are returned as bans.
    pub fn piece_failed<'a>(
        &mut self,
        piece: u32,
        blocks: impl IntoIterator<Item = (u32, P, &'a [u8])>,
    ) -> Vec<Verdict<P>> {
        let mut contributors: Vec<P> = Vec::new();
        let suspects = self.suspects.entry(piece).or_default();
        for (block, peer, bytes) in blocks {
            suspects.push((block, peer.clone(), sha1(bytes)));
            if !contributors.contains(&peer) {
                contributors.push(peer);
            }
        }
        let mut verdicts = Vec::new();
        for peer in contributors {
            if self.banned.contains(&peer) {
                continue;
            }
            let strikes = self.strikes.entry(peer.clone()).or_insert(0);
            *strikes += 1;
            if *strikes >= self.strike_limit {
                self.ban(peer.clone());
                verdicts.push(Verdict::Ban(peer));
            }
        }
        verdicts
    }

    /// Records that `piece` verified, with `block_bytes(block)` giving the good bytes of a
    /// block. A peer that earlier sent different bytes for one of its blocks is banned; a
    /// peer whose earlier blocks were all good loses the strike that failure gave it.
    pub fn piece_verified<'a>(
        &mut self,
        piece: u32,
        block_bytes: impl Fn(u32) -> &'a [u8],
    ) -> Vec<Verdict<P>> {
        let Some(suspects) = self.suspects.remove(&piece) else {
            return Vec::new();
        };
        let mut guilty: Vec<P> = Vec::new();
        let mut innocent: Vec<P> = Vec::new();
        for (block, peer, hash) in suspects {
            if sha1(block_bytes(block)) != hash {
                if !guilty.contains(&peer) {
                    guilty.push(peer);
                }
            } else if !innocent.contains(&peer) {
                innocent.push(peer);
            }
        }
        for peer in innocent.iter().filter(|peer| !guilty.contains(peer)) {
            if let Some(strikes) = self.strikes.get_mut(peer) {
                *strikes = strikes.saturating_sub(1);
            }
        }
        let mut verdicts = Vec::new();
        for peer in guilty {
            if !self.banned.contains(&peer) {
                self.ban(peer.clone());
                verdicts.push(Verdict::Ban(peer));
            }
        }
        verdicts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_bans_the_corrupter_and_forgives_the_honest() {
        let mut reputation = Reputation::new(3);
        let good = [1u8; 4];
        let bad = [9u8; 4];
        let verdicts =
            reputation.piece_failed(7, [(0, "honest", &good[..]), (1, "corrupter", &bad[..])]);
        assert!(verdicts.is_empty());
        assert_eq!(reputation.strikes(&"honest"), 1);
        let verdicts = reputation.piece_verified(7, |_| &good[..]);
        assert_eq!(verdicts, vec![Verdict::Ban("corrupter")]);
        assert!(reputation.is_banned(&"corrupter"));
        assert_eq!(reputation.strikes(&"honest"), 0);
    }

    #[test]
    fn repeated_failures_ban_without_proof() {
        let mut reputation = Reputation::new(2);
        let bytes = [0u8; 2];
        assert!(reputation
            .piece_failed(1, [(0, 5u8, &bytes[..])])
            .is_empty());
        assert_eq!(
            reputation.piece_failed(2, [(0, 5u8, &bytes[..]), (1, 5u8, &bytes[..])]),
            vec![Verdict::Ban(5)]
        );
        assert!(reputation.is_banned(&5));
    }
}
