//! Piece verification: SHA-1 of a piece's bytes against the torrent's hash, run on
//! tokio's blocking pool so hashing never stalls the async executor.

use sha1::{Digest, Sha1};

use crate::layout::PieceHash;

/// The SHA-1 digest of `data`.
pub fn sha1(data: &[u8]) -> PieceHash {
    Sha1::digest(data).into()
}

/// Whether `data` hashes to `expected`.
pub fn matches(data: &[u8], expected: &PieceHash) -> bool {
    &sha1(data) == expected
}

/// Runs `job` on the blocking pool and returns its result; a panicking job becomes `None`.
pub async fn off_executor<T, F>(job: F) -> Option<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(job).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // SHA-1("abc") from FIPS 180-1.
        let expected = [
            0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
            0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d,
        ];
        assert!(matches(b"abc", &expected));
        assert!(!matches(b"abd", &expected));
    }
}
