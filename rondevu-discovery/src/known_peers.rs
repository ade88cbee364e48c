//! The peers a torrent already knows, and the bloom filter that hides them from discovery.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use peer_bloom::{PeerBloom, SERVER_HASHES};

/// The false-positive rate past which the filter is rebuilt larger.
pub const MAX_FALSE_POSITIVE_RATE: f64 = 0.01;

/// The false-positive rate a rebuilt filter is sized for.
const REBUILD_FALSE_POSITIVE_RATE: f64 = 0.001;

/// Why a peer is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownAs {
    /// Connected (or connecting) now.
    Connected,
    /// Tried and failed or disconnected; hidden until the instant, then offered again.
    CoolingDown(Instant),
}

/// Peers to leave out of `GET /offers/by-topic`: ourselves, peers we are connected to, and
/// peers that failed recently (for a cool-down).
///
/// The bloom filter is derived from the exact set: a peer whose cool-down ends is removed by
/// rebuilding the filter, and when the filter's estimated false-positive rate passes
/// [`MAX_FALSE_POSITIVE_RATE`] it is rebuilt larger (byte-aligned, k = 3), so saturation never
/// hides new peers.
///
/// ```
/// use std::time::{Duration, Instant};
/// use rondevu_discovery::KnownPeers;
///
/// let now = Instant::now();
/// let mut known = KnownPeers::new("me", Duration::from_secs(60));
/// known.connected("alice");
/// known.failed("bob", now);
/// let bloom = known.bloom(now);
/// assert!(bloom.contains("me") && bloom.contains("alice") && bloom.contains("bob"));
/// // After the cool-down bob may be tried again.
/// assert!(!known.is_known("bob", now + Duration::from_secs(61)));
/// ```
#[derive(Debug, Clone)]
pub struct KnownPeers {
    own_peer_id: String,
    cool_down: Duration,
    peers: HashMap<String, KnownAs>,
    bloom: PeerBloom,
    stale: bool,
}

impl KnownPeers {
    /// A set holding only ourselves; failed peers are hidden for `cool_down`.
    pub fn new(own_peer_id: &str, cool_down: Duration) -> Self {
        let mut known = Self {
            own_peer_id: own_peer_id.to_string(),
            cool_down,
            peers: HashMap::new(),
            bloom: PeerBloom::reference(),
            stale: true,
        };
        known.rebuild();
        known
    }

    /// Our own peer id changed (registered again after a 401).
    pub fn set_own_peer_id(&mut self, own_peer_id: &str) {
        self.own_peer_id = own_peer_id.to_string();
        self.stale = true;
    }

    /// A connection with `peer_id` is being made or is open.
    pub fn connected(&mut self, peer_id: &str) {
        self.peers.insert(peer_id.to_string(), KnownAs::Connected);
        self.bloom.insert(peer_id);
    }

    /// A connection with `peer_id` failed or closed at `now`: hide it for the cool-down.
    pub fn failed(&mut self, peer_id: &str, now: Instant) {
        self.peers.insert(
            peer_id.to_string(),
            KnownAs::CoolingDown(now + self.cool_down),
        );
        self.bloom.insert(peer_id);
    }

    /// Drops `peer_id` from the set (an attempt that ended without fault, e.g. a stale
    /// offer): it may be found again at once. The filter is rebuilt on the next query.
    pub fn forget(&mut self, peer_id: &str) {
        if self.peers.remove(peer_id).is_some() {
            self.stale = true;
        }
    }

    /// Whether `peer_id` is ourselves, connected, or still cooling down at `now` (exact, no
    /// false positives).
    pub fn is_known(&self, peer_id: &str, now: Instant) -> bool {
        peer_id == self.own_peer_id
            || match self.peers.get(peer_id) {
                Some(KnownAs::Connected) => true,
                Some(KnownAs::CoolingDown(until)) => now < *until,
                None => false,
            }
    }

    /// Why `peer_id` is known, if it is in the set.
    pub fn get(&self, peer_id: &str) -> Option<KnownAs> {
        self.peers.get(peer_id).copied()
    }

    /// The filter to send with a by-topic query at `now`: cooled-down peers are dropped and the
    /// filter rebuilt when needed.
    pub fn bloom(&mut self, now: Instant) -> &PeerBloom {
        let before = self.peers.len();
        self.peers.retain(|_, known| match known {
            KnownAs::Connected => true,
            KnownAs::CoolingDown(until) => now < *until,
        });
        if self.stale
            || self.peers.len() != before
            || self.bloom.estimated_false_positive_rate() > MAX_FALSE_POSITIVE_RATE
        {
            self.rebuild();
        }
        &self.bloom
    }

    /// How many peers (besides ourselves) are in the set.
    pub fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether no peer besides ourselves is in the set.
    pub fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    fn rebuild(&mut self) {
        let members = self.peers.len() + 1;
        // Room for twice the members, so inserts between rebuilds keep the rate low.
        self.bloom = PeerBloom::with_false_positive_rate(members * 2, REBUILD_FALSE_POSITIVE_RATE)
            .ok()
            .filter(|sized| sized.bit_len() >= PeerBloom::reference().bit_len())
            .unwrap_or_else(PeerBloom::reference);
        debug_assert_eq!(self.bloom.hashes(), SERVER_HASHES);
        self.bloom.insert(&self.own_peer_id);
        for peer_id in self.peers.keys() {
            self.bloom.insert(peer_id);
        }
        self.stale = false;
    }
}
