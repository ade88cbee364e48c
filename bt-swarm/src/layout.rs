//! The shape of a torrent's content: piece length, files, piece hashes, and the arithmetic
//! that maps pieces and blocks onto byte ranges and files.

use crate::safe_path::{SafeRelativePath, UnsafeComponent};

/// The size of a block, the unit of requests on the wire (16 KiB, as WebTorrent uses).
pub const BLOCK_LEN: u32 = 16 * 1024;

/// The largest piece length accepted (64 MiB): a piece is buffered whole before it is verified.
pub const MAX_PIECE_LEN: u32 = 64 * 1024 * 1024;

/// A SHA-1 digest of a piece.
pub type PieceHash = [u8; 20];

/// One file of a torrent: where it goes and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// The path below the output folder, torrent name first for multi-file torrents.
    pub path: SafeRelativePath,
    /// The file's length in bytes.
    pub length: u64,
}

/// Why a torrent's layout was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// A file path would leave the output folder or use a reserved name.
    #[error("file {file_index} has an unsafe path: {reason}")]
    UnsafePath {
        /// Index of the file in the torrent's list.
        file_index: usize,
        /// What is wrong with it.
        reason: UnsafeComponent,
    },
    /// The piece length is zero or larger than [`MAX_PIECE_LEN`].
    #[error("piece length {0} is out of range (1..={MAX_PIECE_LEN})")]
    PieceLength(u64),
    /// The number of piece hashes does not match the total length.
    #[error("{hashes} piece hashes for {total_length} bytes in pieces of {piece_length}")]
    PieceCount {
        /// Hashes given.
        hashes: usize,
        /// Total content length.
        total_length: u64,
        /// Piece length.
        piece_length: u32,
    },
    /// The torrent has no files or no bytes.
    #[error("the torrent has no content")]
    Empty,
}

/// Where a range of a piece lies inside one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileSpan {
    /// Index into [`TorrentLayout::files`].
    pub file_index: usize,
    /// Offset inside the file.
    pub file_offset: u64,
    /// Offset inside the piece (or inside the requested range).
    pub range_offset: u64,
    /// Number of bytes.
    pub len: u64,
}

/// A torrent's content layout: files in order, cut into pieces of equal length (except the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TorrentLayout {
    piece_length: u32,
    total_length: u64,
    files: Vec<FileEntry>,
    file_starts: Vec<u64>,
    piece_hashes: Vec<PieceHash>,
}

impl TorrentLayout {
    /// Builds and checks a layout. `files` are path components (for a multi-file torrent the
    /// torrent's name comes first) with lengths; every component is checked by
    /// [`crate::safe_path::check_component`].
    pub fn new(
        piece_length: u64,
        files: Vec<(Vec<String>, u64)>,
        piece_hashes: Vec<PieceHash>,
    ) -> Result<Self, LayoutError> {
        if piece_length == 0 || piece_length > u64::from(MAX_PIECE_LEN) {
            return Err(LayoutError::PieceLength(piece_length));
        }
        let piece_length = piece_length as u32;
        let mut checked = Vec::with_capacity(files.len());
        let mut file_starts = Vec::with_capacity(files.len());
        let mut total_length: u64 = 0;
        for (file_index, (components, length)) in files.into_iter().enumerate() {
            let path = SafeRelativePath::new(&components)
                .map_err(|reason| LayoutError::UnsafePath { file_index, reason })?;
            file_starts.push(total_length);
            total_length = total_length.checked_add(length).ok_or(LayoutError::Empty)?;
            checked.push(FileEntry { path, length });
        }
        if checked.is_empty() || total_length == 0 {
            return Err(LayoutError::Empty);
        }
        let expected = total_length.div_ceil(u64::from(piece_length));
        if expected != piece_hashes.len() as u64 || expected > u64::from(u32::MAX) {
            return Err(LayoutError::PieceCount {
                hashes: piece_hashes.len(),
                total_length,
                piece_length,
            });
        }
        Ok(Self {
            piece_length,
            total_length,
            files: checked,
            file_starts,
            piece_hashes,
        })
    }

    /// The layout of a parsed info dictionary. For a multi-file torrent the torrent's name
    /// becomes the first path component (the folder); every component is checked.
    pub fn from_info(info: &bt_wire::Info) -> Result<Self, LayoutError> {
        let files = info
            .files()
            .iter()
            .map(|file| {
                let mut path = Vec::with_capacity(file.path.len() + 1);
                if info.is_multi_file() {
                    path.push(info.name().to_string());
                }
                path.extend(file.path.iter().cloned());
                (path, file.length)
            })
            .collect();
        Self::new(
            u64::from(info.piece_length()),
            files,
            info.pieces().to_vec(),
        )
    }

    /// The nominal piece length.
    pub fn piece_length(&self) -> u32 {
        self.piece_length
    }

    /// Total content length in bytes.
    pub fn total_length(&self) -> u64 {
        self.total_length
    }

    /// The files, in torrent order.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// Number of pieces.
    pub fn piece_count(&self) -> u32 {
        self.piece_hashes.len() as u32
    }

    /// The expected SHA-1 of `piece`, if it exists.
    pub fn piece_hash(&self, piece: u32) -> Option<&PieceHash> {
        self.piece_hashes.get(piece as usize)
    }

    /// Byte offset of `piece` in the whole content.
    pub fn piece_offset(&self, piece: u32) -> u64 {
        u64::from(piece) * u64::from(self.piece_length)
    }

    /// Length of `piece` (the last one may be shorter); 0 when out of range.
    pub fn piece_len(&self, piece: u32) -> u32 {
        if piece >= self.piece_count() {
            return 0;
        }
        let rest = self.total_length - self.piece_offset(piece);
        rest.min(u64::from(self.piece_length)) as u32
    }

    /// Number of blocks in `piece`.
    pub fn block_count(&self, piece: u32) -> u32 {
        self.piece_len(piece).div_ceil(BLOCK_LEN)
    }

    /// Length of block `block` of `piece` (the last block may be shorter); 0 when out of range.
    pub fn block_len(&self, piece: u32, block: u32) -> u32 {
        let piece_len = self.piece_len(piece);
        let start = u64::from(block) * u64::from(BLOCK_LEN);
        if start >= u64::from(piece_len) {
            return 0;
        }
        (u64::from(piece_len) - start).min(u64::from(BLOCK_LEN)) as u32
    }

    /// Whether `(piece, offset, len)` is a range inside one existing piece.
    pub fn contains_range(&self, piece: u32, offset: u32, len: u32) -> bool {
        let piece_len = u64::from(self.piece_len(piece));
        len > 0 && u64::from(offset) + u64::from(len) <= piece_len
    }

    /// The file spans covering `len` bytes at `offset` inside `piece`, in order.
    /// Zero-length files are skipped. The range must be inside the piece.
    pub fn spans(&self, piece: u32, offset: u32, len: u32) -> Vec<FileSpan> {
        let mut spans = Vec::new();
        let start = self.piece_offset(piece) + u64::from(offset);
        let end = (start + u64::from(len)).min(self.total_length);
        // The first file whose end lies after `start`.
        let first = self
            .file_starts
            .partition_point(|&file_start| file_start <= start)
            .saturating_sub(1);
        let mut cursor = start;
        for file_index in first..self.files.len() {
            if cursor >= end {
                break;
            }
            let file_start = self.file_starts[file_index];
            let file_end = file_start + self.files[file_index].length;
            if file_end <= cursor {
                continue;
            }
            let span_end = file_end.min(end);
            spans.push(FileSpan {
                file_index,
                file_offset: cursor - file_start,
                range_offset: cursor - start,
                len: span_end - cursor,
            });
            cursor = span_end;
        }
        spans
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn layout(piece_length: u64, lengths: &[u64]) -> TorrentLayout {
        let total: u64 = lengths.iter().sum();
        let files = lengths
            .iter()
            .enumerate()
            .map(|(i, &len)| (vec!["t".to_string(), format!("f{i}")], len))
            .collect();
        let hashes = vec![[0u8; 20]; total.div_ceil(piece_length) as usize];
        TorrentLayout::new(piece_length, files, hashes).expect("valid layout")
    }

    #[test]
    fn last_piece_and_last_block_are_short() {
        let l = layout(40_000, &[100_000]);
        assert_eq!(l.piece_count(), 3);
        assert_eq!(l.piece_len(2), 20_000);
        assert_eq!(l.block_count(0), 3);
        assert_eq!(l.block_len(0, 2), 40_000 - 2 * BLOCK_LEN);
        assert_eq!(l.block_len(2, 1), 20_000 - BLOCK_LEN);
        assert_eq!(l.block_len(2, 2), 0);
    }

    #[test]
    fn wrong_hash_count_and_unsafe_paths_are_refused() {
        let bad = TorrentLayout::new(10, vec![(vec!["a".into()], 25)], vec![[0; 20]; 2]);
        assert!(matches!(bad, Err(LayoutError::PieceCount { .. })));
        let escape = TorrentLayout::new(
            10,
            vec![(vec!["t".into(), "..".into(), "x".into()], 5)],
            vec![[0; 20]],
        );
        assert!(matches!(
            escape,
            Err(LayoutError::UnsafePath { file_index: 0, .. })
        ));
    }

    proptest! {
        /// The spans of every piece tile the piece exactly and stay inside their files.
        #[test]
        fn spans_tile_each_piece(
            lengths in proptest::collection::vec(0u64..5_000, 1..8),
            piece_length in 1u64..3_000,
        ) {
            prop_assume!(lengths.iter().sum::<u64>() > 0);
            let l = layout(piece_length, &lengths);
            let mut covered = 0u64;
            for piece in 0..l.piece_count() {
                let spans = l.spans(piece, 0, l.piece_len(piece));
                let mut expected_offset = 0;
                for span in &spans {
                    prop_assert_eq!(span.range_offset, expected_offset);
                    prop_assert!(span.len > 0);
                    prop_assert!(span.file_offset + span.len <= l.files()[span.file_index].length);
                    expected_offset += span.len;
                }
                prop_assert_eq!(expected_offset, u64::from(l.piece_len(piece)));
                let blocks: u64 = (0..l.block_count(piece)).map(|b| u64::from(l.block_len(piece, b))).sum();
                prop_assert_eq!(blocks, u64::from(l.piece_len(piece)));
                covered += expected_offset;
            }
            prop_assert_eq!(covered, l.total_length());
        }
    }
}
