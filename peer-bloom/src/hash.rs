//! The reference's string hash: an FNV-1a variant over UTF-16 code units, seeded per function.

/// FNV-1a's 32-bit offset basis, the starting value before the seed is mixed in.
const OFFSET_BASIS: u32 = 2_166_136_261;

/// Hash function number `seed` of the family, over `input`'s UTF-16 code units.
///
/// Bit-exact with the reference (JavaScript) implementation: start from
/// `2166136261 ^ seed`, then for each code unit `c`, `h ^= c` and
/// `h += (h<<1) + (h<<4) + (h<<7) + (h<<8) + (h<<24)`, all modulo 2³².
///
/// ```
/// assert_eq!(peer_bloom::hash("", 0), 2_166_136_261);
/// assert_eq!(peer_bloom::hash("a", 0), 3_826_002_220);
/// ```
pub fn hash(input: &str, seed: u32) -> u32 {
    input.encode_utf16().fold(OFFSET_BASIS ^ seed, |h, unit| {
        let h = h ^ u32::from(unit);
        h.wrapping_add(h << 1)
            .wrapping_add(h << 4)
            .wrapping_add(h << 7)
            .wrapping_add(h << 8)
            .wrapping_add(h << 24)
    })
}
