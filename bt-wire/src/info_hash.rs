//! `InfoHash`: the 20-byte SHA-1 that names a v1 torrent, with its hex and base32 text forms.

use std::fmt;
use std::str::FromStr;

use sha1::{Digest, Sha1};

use crate::error::{Error, Result};

const HEX: &[u8; 16] = b"0123456789abcdef";
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The SHA-1 of a torrent's bencoded `info` dictionary (BEP 3, v1).
///
/// `Display` prints 40 lowercase hex digits, as WebTorrent does; [`FromStr`] accepts 40 hex
/// digits (any case) or 32 base32 characters (RFC 4648, any case), as magnet links carry.
///
/// ```
/// use bt_wire::InfoHash;
/// let hash: InfoHash = "c9e15763f722f23e98a29decdfae341b98d53056".parse().unwrap();
/// assert_eq!(hash.to_string(), "c9e15763f722f23e98a29decdfae341b98d53056");
/// assert_eq!(hash.to_base32().parse::<InfoHash>().unwrap(), hash);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

impl InfoHash {
    /// The SHA-1 of `info_bytes`, which must be the exact bencoded `info` dictionary.
    pub fn of_info(info_bytes: &[u8]) -> Self {
        InfoHash(sha1_digest(info_bytes))
    }

    /// The raw 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// 40 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// 32 uppercase base32 characters (RFC 4648 alphabet, no padding).
    pub fn to_base32(&self) -> String {
        let mut out = String::with_capacity(32);
        for chunk in self.0.chunks(5) {
            let mut group = [0u8; 5];
            group[..chunk.len()].copy_from_slice(chunk);
            let bits = group
                .iter()
                .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
            for shift in (0..8).rev() {
                let index = ((bits >> (shift * 5)) & 31) as usize;
                out.push(char::from(BASE32[index]));
            }
        }
        out
    }

    /// Parses 40 hex digits (any case).
    ///
    /// # Errors
    /// [`Error::InvalidInfoHash`] for any other input.
    pub fn from_hex(text: &str) -> Result<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 40 {
            return Err(invalid(text));
        }
        let mut out = [0u8; 20];
        for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let high = hex_value(pair[0]).ok_or_else(|| invalid(text))?;
            let low = hex_value(pair[1]).ok_or_else(|| invalid(text))?;
            *slot = (high << 4) | low;
        }
        Ok(InfoHash(out))
    }

    /// Parses 32 base32 characters (RFC 4648 alphabet, any case, no padding).
    ///
    /// # Errors
    /// [`Error::InvalidInfoHash`] for any other input.
    pub fn from_base32(text: &str) -> Result<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 32 {
            return Err(invalid(text));
        }
        let mut out = [0u8; 20];
        for (group, chars) in out.chunks_exact_mut(5).zip(bytes.chunks_exact(8)) {
            let mut bits = 0u64;
            for &char in chars {
                let value = base32_value(char).ok_or_else(|| invalid(text))?;
                bits = (bits << 5) | u64::from(value);
            }
            for (index, slot) in group.iter_mut().enumerate() {
                *slot = (bits >> (8 * (4 - index))) as u8;
            }
        }
        Ok(InfoHash(out))
    }
}

impl FromStr for InfoHash {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.len() {
            40 => InfoHash::from_hex(text),
            32 => InfoHash::from_base32(text),
            _ => Err(invalid(text)),
        }
    }
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({})", self.to_hex())
    }
}

impl From<[u8; 20]> for InfoHash {
    fn from(bytes: [u8; 20]) -> Self {
        InfoHash(bytes)
    }
}

/// SHA-1 of `bytes` (the one place this crate hashes).
pub(crate) fn sha1_digest(bytes: &[u8]) -> [u8; 20] {
    Sha1::digest(bytes).into()
}

/// Lowercase hex of any bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 15)]));
    }
    out
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

fn base32_value(char: u8) -> Option<u8> {
    match char.to_ascii_uppercase() {
        upper @ b'A'..=b'Z' => Some(upper - b'A'),
        digit @ b'2'..=b'7' => Some(digit - b'2' + 26),
        _ => None,
    }
}

fn invalid(text: &str) -> Error {
    Error::InvalidInfoHash {
        input: text.chars().take(80).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_base32_agree() {
        // The Ubuntu-style example from BEP 9 discussions: any 20 bytes will do.
        let hash = InfoHash(
            *b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\xfa\xfb\xfc\xfd\xfe\xff\x10\x20\x30\x40",
        );
        assert_eq!(hash.to_hex(), "00010203040506070809fafbfcfdfeff10203040");
        assert_eq!(InfoHash::from_hex(&hash.to_hex().to_uppercase()), Ok(hash));
        assert_eq!(InfoHash::from_base32(&hash.to_base32()), Ok(hash));
        assert_eq!(
            InfoHash::from_base32(&hash.to_base32().to_lowercase()),
            Ok(hash)
        );
        assert_eq!(format!("{hash}"), hash.to_hex());
    }

    #[test]
    fn base32_matches_rfc4648() {
        // RFC 4648 test vector "foobar" extended: base32 of 20 zero bytes is 32 'A's.
        assert_eq!(InfoHash([0; 20]).to_base32(), "A".repeat(32));
        assert_eq!(InfoHash([0xff; 20]).to_base32(), "7".repeat(32));
    }

    #[test]
    fn rejects_bad_text() {
        for bad in ["", "zz", &"g".repeat(40), &"1".repeat(32), &"a".repeat(41)] {
            assert!(bad.parse::<InfoHash>().is_err(), "{bad}");
        }
    }
}
