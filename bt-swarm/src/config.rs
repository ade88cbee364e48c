//! Engine settings: limits, timers and the tuning of the picker and choker.

use std::time::Duration;

use crate::choker::ChokerConfig;
use crate::picker::PickerConfig;

/// Settings shared by every torrent of an [`crate::Engine`].
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Most connections one torrent keeps; further peers are refused.
    pub max_peers_per_torrent: usize,
    /// Piece picking: memory for blocks in flight (`max_inflight_bytes`), most outstanding
    /// requests per peer (`max_queue_depth`), request timeout, endgame.
    pub picker: PickerConfig,
    /// Upload slots and their re-evaluation.
    pub choker: ChokerConfig,
    /// Strikes (failed pieces a peer contributed to) before it is banned.
    pub strike_limit: u32,
    /// How often timers run: request timeouts, choking, rates and the stats event.
    pub tick_interval: Duration,
    /// A peer that has not completed its handshake after this long is dropped.
    pub handshake_timeout: Duration,
    /// Most block requests queued from one peer before it is dropped for flooding.
    pub max_queued_uploads: usize,
    /// Unrequested block bytes tolerated from one peer before it is dropped.
    pub max_wasted_bytes: u64,
    /// Seed of the random choices (first piece, optimistic unchoke); `None` picks one.
    pub seed: Option<u64>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_peers_per_torrent: 50,
            picker: PickerConfig::default(),
            choker: ChokerConfig::default(),
            strike_limit: 3,
            tick_interval: Duration::from_millis(500),
            handshake_timeout: Duration::from_secs(20),
            max_queued_uploads: 512,
            max_wasted_bytes: 4 * 1024 * 1024,
            seed: None,
        }
    }
}
