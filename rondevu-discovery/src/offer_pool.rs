//! The pool of offers a peer keeps published for one torrent.

use std::time::{Duration, Instant};

/// One published offer the pool is waiting on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PooledOffer<Id> {
    /// The server's offer id.
    pub id: Id,
    /// When it was published.
    pub published_at: Instant,
    /// When the server forgets it.
    pub expires_at: Instant,
}

/// A small pool of published offers for one torrent, sized from the free peer slots.
///
/// The original plugin published a new offer on every refresh and left the old ones on the
/// server; this pool never leaks: every offer it was told about leaves it exactly once, through
/// [`answered`](OfferPool::answered), [`take_expiring`](OfferPool::take_expiring),
/// [`take_surplus`](OfferPool::take_surplus) or [`drain`](OfferPool::drain), and the caller
/// deletes what it takes (an answered offer is the connection's now).
///
/// Sans-IO: time is passed in; the caller publishes and deletes.
///
/// ```
/// use std::time::{Duration, Instant};
/// use rondevu_discovery::OfferPool;
///
/// let now = Instant::now();
/// let mut pool = OfferPool::new(3, Duration::from_secs(10));
/// assert_eq!(pool.wanted(50), 3); // publish three offers
/// for id in ["a", "b", "c"] {
///     pool.published(id.to_string(), now, now + Duration::from_secs(60));
/// }
/// assert!(pool.answered(&"b".to_string()));
/// assert_eq!(pool.wanted(49), 1); // replace the answered one at once
/// ```
#[derive(Debug, Clone)]
pub struct OfferPool<Id> {
    capacity: usize,
    refresh_margin: Duration,
    offers: Vec<PooledOffer<Id>>,
}

impl<Id: PartialEq + Clone> OfferPool<Id> {
    /// A pool of at most `capacity` offers; offers are replaced `refresh_margin` before they
    /// expire, so a peer always has a live offer on the server.
    pub fn new(capacity: usize, refresh_margin: Duration) -> Self {
        Self {
            capacity,
            refresh_margin,
            offers: Vec::new(),
        }
    }

    /// The most offers kept published at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many offers to publish now, given how many more peers the torrent may take.
    pub fn wanted(&self, free_peer_slots: usize) -> usize {
        self.capacity
            .min(free_peer_slots)
            .saturating_sub(self.offers.len())
    }

    /// Records an offer the server acknowledged.
    pub fn published(&mut self, id: Id, now: Instant, expires_at: Instant) {
        self.offers.push(PooledOffer {
            id,
            published_at: now,
            expires_at,
        });
    }

    /// Removes an offer that got an answer; `false` if the pool did not hold it.
    pub fn answered(&mut self, id: &Id) -> bool {
        match self.offers.iter().position(|offer| &offer.id == id) {
            Some(index) => {
                self.offers.swap_remove(index);
                true
            }
            None => false,
        }
    }

    /// Removes and returns the offers that expire within the refresh margin of `now`: delete
    /// them on the server (harmless if already gone) and publish fresh ones.
    pub fn take_expiring(&mut self, now: Instant) -> Vec<Id> {
        let margin = self.refresh_margin;
        self.take_where(|offer| offer.expires_at <= now + margin)
    }

    /// Removes and returns offers beyond what `free_peer_slots` allows (the oldest first), so a
    /// torrent at its peer limit stops inviting new peers.
    pub fn take_surplus(&mut self, free_peer_slots: usize) -> Vec<Id> {
        let keep = self.capacity.min(free_peer_slots);
        if self.offers.len() <= keep {
            return Vec::new();
        }
        self.offers.sort_by_key(|offer| offer.published_at);
        let surplus = self.offers.len() - keep;
        self.offers.drain(..surplus).map(|offer| offer.id).collect()
    }

    /// Removes and returns every offer (when the torrent is removed or the manager destroyed).
    pub fn drain(&mut self) -> Vec<Id> {
        self.offers.drain(..).map(|offer| offer.id).collect()
    }

    /// The offers waiting for an answer.
    pub fn outstanding(&self) -> &[PooledOffer<Id>] {
        &self.offers
    }

    /// When the next offer needs replacing, if any is published.
    pub fn next_refresh(&self) -> Option<Instant> {
        self.offers
            .iter()
            .map(|offer| {
                offer
                    .expires_at
                    .checked_sub(self.refresh_margin)
                    .unwrap_or(offer.published_at)
            })
            .min()
    }

    fn take_where(&mut self, mut expiring: impl FnMut(&PooledOffer<Id>) -> bool) -> Vec<Id> {
        let mut taken = Vec::new();
        self.offers.retain(|offer| {
            if expiring(offer) {
                taken.push(offer.id.clone());
                false
            } else {
                true
            }
        });
        taken
    }
}
