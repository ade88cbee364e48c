//! # bt-swarm
//!
//! A small torrent engine that seeds and leeches over any byte stream: the runtime half
//! (tasks, storage, timers) above [`bt_wire`]'s sans-IO protocol, as `quinn` sits above
//! `quinn-proto`. Each peer is any ordered, reliable `AsyncRead + AsyncWrite` stream — a
//! WebRTC data-channel stream, a TCP socket, a tokio duplex pipe.
//!
//! ## Seeding and fetching over a pipe
//!
//! ```
//! use std::sync::Arc;
//! use bt_swarm::{layout::TorrentLayout, store::MemoryStore, Engine, EngineConfig, Storage};
//! use bt_wire::TorrentBuilder;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let data = vec![7u8; 100_000];
//! let torrent = TorrentBuilder::new("hello.bin", 16 * 1024)
//!     .single_file(data.len() as u64)
//!     .build_from_data(&[&data])?;
//! let layout = Arc::new(TorrentLayout::from_info(&torrent.info)?);
//! let store = Arc::new(MemoryStore::with_content(layout, &data));
//!
//! let seeder_engine = Engine::new(EngineConfig::default());
//! let leecher_engine = Engine::new(EngineConfig::default());
//! let seeder = seeder_engine.add_torrent(torrent.clone(), Storage::Store(store))?;
//! // The leecher knows only the info-hash: it fetches the info dictionary over ut_metadata.
//! let leecher = leecher_engine.add_torrent(torrent.info_hash(), Storage::Memory)?;
//!
//! let (a, b) = tokio::io::duplex(64 * 1024);
//! seeder.add_peer(a)?;
//! leecher.add_peer(b)?;
//! leecher.wait_complete().await?;
//! assert_eq!(leecher.read_piece(0).await.as_deref(), Some(&data[..16 * 1024]));
//! # Ok(())
//! # }
//! ```
//!
//! ## Shape
//!
//! * [`Engine`] adds torrents ([`TorrentSource`]: an info dictionary, or an info-hash /
//!   magnet alone) with a [`Storage`] (an output folder, memory, or your own
//!   [`store::PieceStore`]) and returns a [`TorrentHandle`]: [`TorrentHandle::add_peer`],
//!   [`TorrentHandle::subscribe`] ([`TorrentEvent`]s), [`TorrentHandle::progress`] /
//!   [`TorrentHandle::wait_complete`], [`TorrentHandle::stats`] (per-peer rates),
//!   [`TorrentHandle::stop`]. [`PeerSink`] is the one-method trait a discovery layer needs.
//! * Sans-IO parts, usable and tested alone: [`layout`] (pieces, blocks, file spans),
//!   [`safe_path`] (torrent file names never leave the output folder), [`picker`]
//!   (rarest-first, pipelining, timeouts, endgame), [`choker`] (upload slots, optimistic
//!   unchoke), [`reputation`] (strikes and proven bans), [`resume`], [`verify`] (SHA-1).
//! * Runtime: one task per torrent owns the decisions; one task per connection drives a
//!   [`bt_wire::Session`], serves blocks from the store and `ut_metadata` from the info
//!   dictionary. Hashing and disk I/O run on tokio's blocking pool.
//!
//! Every piece is SHA-1 verified before it counts, is announced, or is served. A peer that
//! breaks the protocol is dropped with a logged reason (`tracing`); nothing a peer or a
//! torrent file sends can take the process down.

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
