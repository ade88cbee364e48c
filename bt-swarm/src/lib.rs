//! bt-swarm: a small torrent engine that seeds and leeches over any byte stream.

pub mod choker;
mod config;
mod engine;
mod events;
mod handle;
pub mod layout;
mod peer;
pub mod picker;
mod rate;
pub mod reputation;
pub mod resume;
pub mod safe_path;
mod shared;
pub mod store;
mod torrent;
pub mod verify;

pub use config::EngineConfig;
pub use engine::{AddTorrentError, Engine, Storage, TorrentSource};
pub use events::{Events, PeerStats, Progress, TorrentEvent, TorrentState, TorrentStats};
pub use handle::{PeerSink, TorrentHandle, TorrentStopped};
pub use peer::PeerStream;
