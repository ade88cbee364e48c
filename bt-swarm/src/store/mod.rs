//! Where verified pieces live: the [`PieceStore`] trait, with a disk store and a memory store.

mod disk;
mod memory;

pub use disk::DiskStore;
pub use memory::MemoryStore;

use std::path::PathBuf;

/// A failure of a piece store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The range is not inside the piece (or the piece does not exist).
    #[error("range {offset}+{len} is outside piece {piece}")]
    OutOfRange {
        /// Piece index.
        piece: u32,
        /// Offset inside the piece.
        offset: u32,
        /// Length of the range.
        len: usize,
    },
    /// The data has never been written (a missing file or an empty piece slot).
    #[error("piece {0} is not stored")]
    Missing(u32),
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done (`open`, `read`, `write`, `create folder`).
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// Storage for a torrent's pieces, addressed by piece and offset. Implementations use
/// positioned I/O through `&self` so reads and writes of different pieces run in parallel;
/// the engine calls them from blocking threads, never from the async executor.
pub trait PieceStore: Send + Sync + 'static {
    /// Writes `data` at `offset` inside `piece`.
    fn write(&self, piece: u32, offset: u32, data: &[u8]) -> Result<(), StoreError>;

    /// Writes a whole piece, handing over its buffer (a memory store keeps it as is).
    fn write_piece(&self, piece: u32, data: Vec<u8>) -> Result<(), StoreError> {
        self.write(piece, 0, &data)
    }

    /// Fills `buf` with the bytes at `offset` inside `piece`.
    fn read(&self, piece: u32, offset: u32, buf: &mut [u8]) -> Result<(), StoreError>;

    /// Called once when every piece is verified (the disk store creates empty files then).
    fn finish(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
