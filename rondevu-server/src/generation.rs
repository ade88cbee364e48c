//! Write generations per topic: a number that changes whenever a topic's listing may have.
//!
//! Topics hash onto a fixed set of counters (so memory stays bounded however many topics
//! come and go); a write bumps the counters of the topics it touches, a sweep bumps a global
//! one. A topic's generation is the sum of its counter and the global one, so any bump that
//! concerns it changes it. Two topics sharing a counter only cost an extra cache refresh.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters topics are spread over.
const STRIPES: usize = 4096;

/// Per-topic write generations.
pub struct TopicGenerations {
    global: AtomicU64,
    stripes: Box<[AtomicU64]>,
}

impl std::fmt::Debug for TopicGenerations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicGenerations")
            .field("global", &self.global)
            .finish_non_exhaustive()
    }
}

impl Default for TopicGenerations {
    fn default() -> Self {
        Self {
            global: AtomicU64::new(0),
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl TopicGenerations {
    fn stripe(&self, topic: &str) -> &AtomicU64 {
        let mut hasher = DefaultHasher::new();
        topic.hash(&mut hasher);
        let index = usize::try_from(hasher.finish() % STRIPES as u64).unwrap_or(0);
        &self.stripes[index]
    }

    /// The current generation of `topic`.
    pub fn current(&self, topic: &str) -> u64 {
        let global = self.global.load(Ordering::Acquire);
        global.wrapping_add(self.stripe(topic).load(Ordering::Acquire))
    }

    /// Marks `topics` as changed (call after the write is committed).
    pub fn bump<'a>(&self, topics: impl IntoIterator<Item = &'a String>) {
        for topic in topics {
            self.stripe(topic).fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Marks every topic as changed.
    pub fn bump_all(&self) {
        self.global.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps_change_only_what_they_concern() {
        let generations = TopicGenerations::default();
        let (a, b) = ("a".to_string(), "b".to_string());
        let (ga, gb) = (generations.current(&a), generations.current(&b));
        generations.bump([&a]);
        assert_ne!(generations.current(&a), ga);
        // `b` may share a stripe with `a` (then it changes too), but here they do not.
        if !std::ptr::eq(generations.stripe(&a), generations.stripe(&b)) {
            assert_eq!(generations.current(&b), gb);
        }
        let gb = generations.current(&b);
        generations.bump_all();
        assert_ne!(generations.current(&b), gb);
    }
}
