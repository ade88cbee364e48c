//! Piece and block arithmetic: how a torrent's bytes divide into pieces and 16 KiB blocks,
//! including the short last piece and the short last block.

use crate::error::{Error, Result};

/// The block size every client requests and WebTorrent uses: 16 KiB.
pub const BLOCK_SIZE: u32 = 16 * 1024;

/// One block: a piece index, an offset inside the piece, and a length.
///
/// The same triple is a `request`/`cancel` payload and the header of a `piece` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockRef {
    /// Piece index.
    pub piece: u32,
    /// Byte offset of the block inside the piece.
    pub offset: u32,
    /// Length in bytes.
    pub length: u32,
}

/// The shape of a torrent: total length and piece length. Every division lives here.
///
/// ```
/// use bt_wire::{PieceMath, BLOCK_SIZE};
/// let math = PieceMath::new(100_000, 32_768).unwrap();
/// assert_eq!(math.piece_count(), 4);
/// assert_eq!(math.piece_size(3), 100_000 - 3 * 32_768);
/// assert_eq!(math.block_count(0), 2);
/// assert_eq!(math.block_size(3, 0), 100_000 - 3 * 32_768);
/// assert_eq!(math.block(0, 1).unwrap().offset, BLOCK_SIZE);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PieceMath {
    total_length: u64,
    piece_length: u32,
    piece_count: u32,
}

impl PieceMath {
    /// The layout of `total_length` bytes in pieces of `piece_length`.
    ///
    /// # Errors
    /// [`Error::InvalidTorrent`] if the piece length is zero or the piece count overflows `u32`.
    pub fn new(total_length: u64, piece_length: u32) -> Result<Self> {
        if piece_length == 0 {
            return Err(Error::InvalidTorrent {
                reason: "piece length is zero",
            });
        }
        let piece_count =
            u32::try_from(total_length.div_ceil(u64::from(piece_length))).map_err(|_| {
                Error::InvalidTorrent {
                    reason: "more than 2^32 - 1 pieces",
                }
            })?;
        Ok(PieceMath {
            total_length,
            piece_length,
            piece_count,
        })
    }

    /// Total length of all files in bytes.
    pub fn total_length(&self) -> u64 {
        self.total_length
    }

    /// The nominal piece length (every piece but possibly the last).
    pub fn piece_length(&self) -> u32 {
        self.piece_length
    }

    /// Number of pieces (zero for an empty torrent).
    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    /// Byte offset of `piece` from the start of the torrent.
    pub fn piece_offset(&self, piece: u32) -> u64 {
        u64::from(piece) * u64::from(self.piece_length)
    }

    /// Size of `piece` in bytes: the piece length, shorter for the last piece, zero past the end.
    pub fn piece_size(&self, piece: u32) -> u32 {
        if piece >= self.piece_count {
            return 0;
        }
        let remaining = self.total_length - self.piece_offset(piece);
        // Bounded by piece_length, which is a u32.
        remaining.min(u64::from(self.piece_length)) as u32
    }

    /// Number of 16 KiB blocks in `piece` (zero past the end).
    pub fn block_count(&self, piece: u32) -> u32 {
        self.piece_size(piece).div_ceil(BLOCK_SIZE)
    }

    /// Size of block `block` of `piece`: 16 KiB, shorter for the last block, zero past the end.
    pub fn block_size(&self, piece: u32, block: u32) -> u32 {
        let size = self.piece_size(piece);
        let Some(offset) = block.checked_mul(BLOCK_SIZE) else {
            return 0;
        };
        size.saturating_sub(offset).min(BLOCK_SIZE)
    }

    /// The block `block` of `piece`, or `None` past the end.
    pub fn block(&self, piece: u32, block: u32) -> Option<BlockRef> {
        let length = self.block_size(piece, block);
        (length > 0).then(|| BlockRef {
            piece,
            offset: block * BLOCK_SIZE,
            length,
        })
    }

    /// Every block of `piece`, in order.
    pub fn blocks(&self, piece: u32) -> impl Iterator<Item = BlockRef> + '_ {
        (0..self.block_count(piece)).filter_map(move |block| self.block(piece, block))
    }

    /// Bytes in a bitfield for this torrent: one bit per piece, rounded up.
    pub fn bitfield_len(&self) -> usize {
        (self.piece_count as usize).div_ceil(8)
    }

    /// Checks that a requested or received block lies inside its piece and is at most one block.
    ///
    /// # Errors
    /// [`Error::BlockOutOfRange`] otherwise.
    pub fn check_block(&self, block: BlockRef) -> Result<()> {
        let size = self.piece_size(block.piece);
        let end = u64::from(block.offset) + u64::from(block.length);
        if block.length == 0 || block.length > BLOCK_SIZE || end > u64::from(size) {
            return Err(Error::BlockOutOfRange {
                piece: block.piece,
                offset: block.offset,
                length: block.length,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_multiple_has_full_last_piece() {
        let math = PieceMath::new(4 * 32_768, 32_768).expect("valid");
        assert_eq!(math.piece_count(), 4);
        assert_eq!(math.piece_size(3), 32_768);
        assert_eq!(math.piece_size(4), 0);
        assert_eq!(math.block_count(3), 2);
    }

    #[test]
    fn empty_torrent_has_no_pieces() {
        let math = PieceMath::new(0, 16_384).expect("valid");
        assert_eq!(math.piece_count(), 0);
        assert_eq!(math.bitfield_len(), 0);
        assert!(math.block(0, 0).is_none());
        assert!(PieceMath::new(1, 0).is_err());
    }

    #[test]
    fn check_block_rejects_overruns() {
        let math = PieceMath::new(20_000, 16_384).expect("valid");
        let last = math.block(1, 0).expect("exists");
        assert_eq!(last.length, 20_000 - 16_384);
        assert!(math.check_block(last).is_ok());
        assert!(math
            .check_block(BlockRef {
                length: last.length + 1,
                ..last
            })
            .is_err());
        assert!(math
            .check_block(BlockRef {
                piece: 2,
                offset: 0,
                length: 1
            })
            .is_err());
    }
}
