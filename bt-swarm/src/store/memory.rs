//! An in-memory piece store for tests and benchmarks: one lazily allocated buffer per piece.

use std::sync::{Arc, RwLock};

use super::{PieceStore, StoreError};
use crate::layout::TorrentLayout;

/// Keeps pieces in memory; a piece takes memory only once it is written.
#[derive(Debug)]
pub struct MemoryStore {
    layout: Arc<TorrentLayout>,
    pieces: Vec<RwLock<Option<Box<[u8]>>>>,
}

impl MemoryStore {
    /// An empty store for `layout`.
    pub fn new(layout: Arc<TorrentLayout>) -> Self {
        let pieces = (0..layout.piece_count())
            .map(|_| RwLock::new(None))
            .collect();
        Self { layout, pieces }
    }

    /// A store already holding `content` (the whole torrent, in order), as a seeder has.
    /// Content shorter than the torrent leaves the remaining pieces empty.
    pub fn with_content(layout: Arc<TorrentLayout>, content: &[u8]) -> Self {
        let store = Self::new(layout.clone());
        for piece in 0..layout.piece_count() {
            let start = layout.piece_offset(piece) as usize;
            let end = start + layout.piece_len(piece) as usize;
            if let Some(bytes) = content.get(start..end) {
                if let Some(slot) = store.pieces.get(piece as usize) {
                    *slot.write().unwrap_or_else(|poison| poison.into_inner()) = Some(bytes.into());
                }
            }
        }
        store
    }

    /// The whole content in order, with unwritten pieces as zeros.
    pub fn content(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.layout.total_length() as usize);
        for (piece, slot) in self.pieces.iter().enumerate() {
            let guard = slot.read().unwrap_or_else(|poison| poison.into_inner());
            match guard.as_deref() {
                Some(bytes) => out.extend_from_slice(bytes),
                None => out.resize(out.len() + self.layout.piece_len(piece as u32) as usize, 0),
            }
        }
        out
    }

    fn check(&self, piece: u32, offset: u32, len: usize) -> Result<(), StoreError> {
        let fits = u32::try_from(len)
            .map(|len| len == 0 || self.layout.contains_range(piece, offset, len))
            .unwrap_or(false);
        if fits {
            Ok(())
        } else {
            Err(StoreError::OutOfRange { piece, offset, len })
        }
    }
}

impl PieceStore for MemoryStore {
    fn write(&self, piece: u32, offset: u32, data: &[u8]) -> Result<(), StoreError> {
        self.check(piece, offset, data.len())?;
        let slot = &self.pieces[piece as usize];
        let mut guard = slot.write().unwrap_or_else(|poison| poison.into_inner());
        let buffer = guard.get_or_insert_with(|| {
            vec![0; self.layout.piece_len(piece) as usize].into_boxed_slice()
        });
        let start = offset as usize;
        buffer[start..start + data.len()].copy_from_slice(data);
        Ok(())
    }

    fn write_piece(&self, piece: u32, data: Vec<u8>) -> Result<(), StoreError> {
        if data.len() != self.layout.piece_len(piece) as usize || data.is_empty() {
            return Err(StoreError::OutOfRange {
                piece,
                offset: 0,
                len: data.len(),
            });
        }
        let slot = &self.pieces[piece as usize];
        *slot.write().unwrap_or_else(|poison| poison.into_inner()) = Some(data.into_boxed_slice());
        Ok(())
    }

    fn read(&self, piece: u32, offset: u32, buf: &mut [u8]) -> Result<(), StoreError> {
        self.check(piece, offset, buf.len())?;
        let guard = self.pieces[piece as usize]
            .read()
            .unwrap_or_else(|poison| poison.into_inner());
        let bytes = guard.as_deref().ok_or(StoreError::Missing(piece))?;
        let start = offset as usize;
        buf.copy_from_slice(&bytes[start..start + buf.len()]);
        Ok(())
    }
}
