//! Resuming: which pieces a store already holds, checked by hashing what is there.

use bitvec::prelude::{BitVec, Msb0};

use crate::layout::TorrentLayout;
use crate::store::PieceStore;
use crate::verify;

/// Hashes every piece the store can read and returns the ones that match the torrent.
/// Missing or short files simply leave their pieces unset. Blocking: call it off the
/// async executor.
pub fn verified_pieces(layout: &TorrentLayout, store: &dyn PieceStore) -> BitVec<u8, Msb0> {
    let mut have = BitVec::repeat(false, layout.piece_count() as usize);
    let mut buffer = vec![0u8; layout.piece_length() as usize];
    for piece in 0..layout.piece_count() {
        let len = layout.piece_len(piece) as usize;
        let data = &mut buffer[..len];
        if store.read(piece, 0, data).is_err() {
            continue;
        }
        if layout
            .piece_hash(piece)
            .is_some_and(|expected| verify::matches(data, expected))
        {
            have.set(piece as usize, true);
        }
    }
    have
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::DiskStore;

    #[test]
    fn keeps_good_pieces_and_drops_damaged_or_missing_ones() {
        let content: Vec<u8> = (0..50u32).map(|i| (i * 7) as u8).collect();
        let hashes = content.chunks(10).map(verify::sha1).collect();
        let files = vec![
            (vec!["t".to_string(), "a".to_string()], 25),
            (vec!["t".to_string(), "b".to_string()], 25),
        ];
        let layout = Arc::new(TorrentLayout::new(10, files, hashes).expect("layout"));
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("t")).expect("mkdir");
        let mut damaged = content[..25].to_vec();
        damaged[3] ^= 1;
        std::fs::write(dir.path().join("t/a"), &damaged).expect("write a");
        // File b is missing: pieces 3 and 4 lie in it, piece 2 spans both files.
        let store = DiskStore::new(layout.clone(), dir.path());
        let have = verified_pieces(&layout, &store);
        assert_eq!(
            have.iter().by_vals().collect::<Vec<_>>(),
            [false, true, false, false, false]
        );
        std::fs::write(dir.path().join("t/b"), &content[25..]).expect("write b");
        let have = verified_pieces(&layout, &DiskStore::new(layout.clone(), dir.path()));
        assert_eq!(
            have.iter().by_vals().collect::<Vec<_>>(),
            [false, true, true, true, true]
        );
    }
}
