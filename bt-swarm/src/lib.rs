//! bt-swarm: a small torrent engine that seeds and leeches over any byte stream.

pub mod choker;
pub mod layout;
pub mod picker;
pub mod reputation;
pub mod resume;
pub mod safe_path;
pub mod store;
pub mod verify;
