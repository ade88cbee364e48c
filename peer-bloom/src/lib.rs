//! A bloom filter of peer ids, bit-exact with the Rondevu reference client and server.
//!
//! A Rondevu client sends a filter of the peers it already knows with every
//! `GET /offers/by-topic` query, and the server leaves those peers' offers out. For that to work
//! the bits must be laid out exactly as the reference does it (see `rondevu-v0.1.md`, "Bloom
//! filter"): `m` bits in `ceil(m/8)` bytes, least significant bit first, `k` hash functions from
//! the [`hash`] family, and the bytes sent as standard base64.
//!
//! The server always tests with `k = 3` and `m = 8 × byte length`, so a filter meant for the
//! server should have a byte-aligned size and three hashes:
//! [`PeerBloom::with_false_positive_rate`] builds exactly that.
//!
//! ```
//! use peer_bloom::PeerBloom;
//!
//! let mut known = PeerBloom::with_false_positive_rate(100, 0.01)?;
//! known.insert("96176c2081626185c67b9d18451ae60f");
//! assert!(known.contains("96176c2081626185c67b9d18451ae60f"));
//!
//! // What the server does with the query parameter:
//! let on_server = PeerBloom::from_base64(&known.to_base64(), peer_bloom::SERVER_HASHES)?;
//! assert!(on_server.contains("96176c2081626185c67b9d18451ae60f"));
//! # Ok::<(), peer_bloom::BloomError>(())
//! ```

mod hash;

pub use hash::hash;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bitvec::order::Lsb0;
use bitvec::vec::BitVec;

/// The number of hash functions the Rondevu server tests with.
pub const SERVER_HASHES: u32 = 3;

/// The filter size the reference client uses, in bits.
pub const REFERENCE_BITS: usize = 1024;

/// The largest filter accepted, in bits (1 MiB of bytes): a filter is sent in a URL query, so
/// anything near this is already far beyond what a server will take, and decoding must not
/// allocate without bound.
pub const MAX_BITS: usize = 8 * 1024 * 1024;

/// The largest number of hash functions accepted.
pub const MAX_HASHES: u32 = 64;

/// Why a filter could not be made or decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BloomError {
    /// The size in bits was zero or above [`MAX_BITS`].
    #[error("bloom filter size must be 1..={MAX_BITS} bits, got {0}")]
    InvalidSize(usize),
    /// The number of hash functions was zero or above [`MAX_HASHES`].
    #[error("bloom filter needs 1..={MAX_HASHES} hash functions, got {0}")]
    InvalidHashCount(u32),
    /// The false-positive rate was not strictly between 0 and 1.
    #[error("false-positive rate must be strictly between 0 and 1, got {0}")]
    InvalidRate(f64),
    /// The text was not standard base64.
    #[error("bloom filter is not valid base64: {0}")]
    InvalidBase64(String),
    /// The text was valid base64 of no bytes at all.
    #[error("bloom filter is empty")]
    Empty,
    /// The text was longer than a filter of [`MAX_BITS`] can be.
    #[error("bloom filter of {0} base64 characters is larger than {MAX_BITS} bits")]
    TooLarge(usize),
}

/// A bloom filter of peer ids with the reference's hashing and bit layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerBloom {
    bits: BitVec<u8, Lsb0>,
    hashes: u32,
}

impl PeerBloom {
    /// An empty filter of `bits` bits tested with `hashes` hash functions.
    ///
    /// `bits` need not be a multiple of 8 (the reference allows any size), but the server only
    /// understands byte-aligned sizes; see [`PeerBloom::with_false_positive_rate`].
    pub fn new(bits: usize, hashes: u32) -> Result<Self, BloomError> {
        if bits == 0 || bits > MAX_BITS {
            return Err(BloomError::InvalidSize(bits));
        }
        if hashes == 0 || hashes > MAX_HASHES {
            return Err(BloomError::InvalidHashCount(hashes));
        }
        Ok(Self {
            bits: BitVec::repeat(false, bits),
            hashes,
        })
    }

    /// The reference client's filter: 1024 bits, 3 hashes.
    pub fn reference() -> Self {
        Self {
            bits: BitVec::repeat(false, REFERENCE_BITS),
            hashes: SERVER_HASHES,
        }
    }

    /// The smallest byte-aligned filter with `k = 3` whose false-positive rate stays at or below
    /// `rate` once `expected_items` ids are inserted, so the server excludes correctly.
    ///
    /// With `k` fixed, the rate after `n` insertions into `m` bits is `(1 - e^(-kn/m))^k`; this
    /// solves that for `m` and rounds up to whole bytes (at least one byte).
    pub fn with_false_positive_rate(expected_items: usize, rate: f64) -> Result<Self, BloomError> {
        if !(rate > 0.0 && rate < 1.0) {
            return Err(BloomError::InvalidRate(rate));
        }
        let k = f64::from(SERVER_HASHES);
        let items = expected_items.max(1) as f64;
        let bits = -k * items / (1.0 - rate.powf(1.0 / k)).ln();
        if !bits.is_finite() || bits > MAX_BITS as f64 {
            return Err(BloomError::InvalidSize(MAX_BITS.saturating_add(1)));
        }
        let bytes = (bits / 8.0).ceil().max(1.0) as usize;
        Self::new(bytes * 8, SERVER_HASHES)
    }

    /// Decodes the bytes of a filter from standard base64, as the server reads its `bloom`
    /// parameter: `m = 8 × byte length` bits, tested with `hashes` hash functions.
    pub fn from_base64(text: &str, hashes: u32) -> Result<Self, BloomError> {
        // 4 characters carry 3 bytes: refuse before decoding anything oversized.
        if text.len() / 4 * 3 > MAX_BITS / 8 + 3 {
            return Err(BloomError::TooLarge(text.len()));
        }
        if hashes == 0 || hashes > MAX_HASHES {
            return Err(BloomError::InvalidHashCount(hashes));
        }
        let bytes = STANDARD
            .decode(text)
            .map_err(|error| BloomError::InvalidBase64(error.to_string()))?;
        if bytes.is_empty() {
            return Err(BloomError::Empty);
        }
        if bytes.len() * 8 > MAX_BITS {
            return Err(BloomError::TooLarge(text.len()));
        }
        Ok(Self {
            bits: BitVec::from_vec(bytes),
            hashes,
        })
    }

    /// The filter's bytes (`ceil(m/8)`, unused high bits of the last byte zero) as standard
    /// base64 with padding. Percent-encode it before putting it in a URL.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bits.as_raw_slice())
    }

    /// Adds `peer_id` to the filter.
    pub fn insert(&mut self, peer_id: &str) {
        for seed in 0..self.hashes {
            let index = self.index(peer_id, seed);
            self.bits.set(index, true);
        }
    }

    /// Whether `peer_id` may have been added: `false` is certain, `true` may be a false positive.
    pub fn contains(&self, peer_id: &str) -> bool {
        (0..self.hashes).all(|seed| self.bits[self.index(peer_id, seed)])
    }

    /// The chance that an id never added tests positive, estimated from how many bits are set:
    /// `(set bits / m)^k`.
    pub fn estimated_false_positive_rate(&self) -> f64 {
        let fill = self.set_bits() as f64 / self.bit_len() as f64;
        fill.powi(self.hashes as i32)
    }

    /// The size of the filter in bits (`m`).
    pub fn bit_len(&self) -> usize {
        self.bits.len()
    }

    /// The number of hash functions (`k`).
    pub fn hashes(&self) -> u32 {
        self.hashes
    }

    /// How many bits are set.
    pub fn set_bits(&self) -> usize {
        self.bits.count_ones()
    }

    /// Removes every id.
    pub fn clear(&mut self) {
        self.bits.fill(false);
    }

    fn index(&self, peer_id: &str, seed: u32) -> usize {
        // `bit_len()` is at most MAX_BITS, far below u32::MAX, so the modulo fits.
        (u64::from(hash(peer_id, seed)) % self.bit_len() as u64) as usize
    }
}
