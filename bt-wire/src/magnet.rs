//! Magnet URIs: parse and produce `magnet:?xt=urn:btih:…` links with `dn`, `tr`, `ws` and
//! `x.pe`, percent-encoded the way magnet-uri (WebTorrent) writes them.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::info_hash::InfoHash;

/// Longest magnet URI accepted.
pub const MAX_MAGNET_LEN: usize = 64 * 1024;

/// A parsed magnet link (BEP 9).
///
/// ```
/// use bt_wire::Magnet;
/// let magnet: Magnet = "magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53056&dn=My+File&tr=wss%3A%2F%2Ftracker.example"
///     .parse()
///     .unwrap();
/// assert_eq!(magnet.display_name.as_deref(), Some("My File"));
/// assert_eq!(magnet.trackers, vec!["wss://tracker.example".to_string()]);
/// assert_eq!(magnet.to_string().parse::<Magnet>().unwrap(), magnet);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Magnet {
    /// `xt=urn:btih:` (hex or base32 in the link).
    pub info_hash: InfoHash,
    /// `dn`: display name.
    pub display_name: Option<String>,
    /// `tr`: trackers, in order, without duplicates.
    pub trackers: Vec<String>,
    /// `ws` (and `as`): web seeds, in order, without duplicates.
    pub web_seeds: Vec<String>,
    /// `x.pe`: peer addresses (`host:port`), in order, without duplicates.
    pub peers: Vec<String>,
}

impl Magnet {
    /// A magnet with only an info-hash.
    pub fn new(info_hash: InfoHash) -> Self {
        Magnet {
            info_hash,
            display_name: None,
            trackers: Vec::new(),
            web_seeds: Vec::new(),
            peers: Vec::new(),
        }
    }

    /// Parses a magnet URI.
    ///
    /// Unknown parameters are ignored. The first `urn:btih:` wins when several `xt` appear.
    ///
    /// # Errors
    /// [`Error::InvalidMagnet`] when the scheme is not `magnet:?`, no `xt=urn:btih:` is
    /// present (v2-only `btmh` links included), a value is badly percent-encoded, or the
    /// input is over [`MAX_MAGNET_LEN`]; [`Error::InvalidInfoHash`] for a bad hash.
    pub fn parse(uri: &str) -> Result<Self> {
        if uri.len() > MAX_MAGNET_LEN {
            return Err(Error::InvalidMagnet {
                reason: "longer than 64 KiB",
            });
        }
        let query = uri.strip_prefix("magnet:?").ok_or(Error::InvalidMagnet {
            reason: "does not start with `magnet:?`",
        })?;
        let mut info_hash = None;
        let mut saw_v2 = false;
        let mut magnet = Magnet::new(InfoHash([0; 20]));
        for param in query.split('&').filter(|param| !param.is_empty()) {
            let Some((key, raw)) = param.split_once('=') else {
                continue;
            };
            match key {
                "xt" => {
                    let value = percent_decode(raw, false)?;
                    if let Some(hash) = value.strip_prefix("urn:btih:") {
                        if info_hash.is_none() {
                            info_hash = Some(hash.parse::<InfoHash>()?);
                        }
                    } else if value.starts_with("urn:btmh:") {
                        saw_v2 = true;
                    }
                }
                "dn" => magnet.display_name = Some(percent_decode(raw, true)?),
                "tr" => push_unique(&mut magnet.trackers, percent_decode(raw, false)?),
                "ws" | "as" => push_unique(&mut magnet.web_seeds, percent_decode(raw, false)?),
                "x.pe" => push_unique(&mut magnet.peers, percent_decode(raw, false)?),
                _ => {}
            }
        }
        magnet.info_hash = info_hash.ok_or(Error::InvalidMagnet {
            reason: if saw_v2 {
                "only a v2 (`urn:btmh:`) info-hash; v1 `urn:btih:` is required"
            } else {
                "no `xt=urn:btih:` parameter"
            },
        })?;
        Ok(magnet)
    }
}

impl FromStr for Magnet {
    type Err = Error;

    fn from_str(uri: &str) -> Result<Self> {
        Magnet::parse(uri)
    }
}

impl fmt::Display for Magnet {
    /// `magnet:?xt=urn:btih:<hex>&dn=…&tr=…&ws=…&x.pe=…`, encoded as magnet-uri does
    /// (`encodeURIComponent`, spaces in `dn` as `+`, `x.pe` verbatim unless it holds
    /// characters that would break the URI).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "magnet:?xt=urn:btih:{}", self.info_hash)?;
        if let Some(name) = &self.display_name {
            write!(f, "&dn={}", percent_encode(name).replace("%20", "+"))?;
        }
        for tracker in &self.trackers {
            write!(f, "&tr={}", percent_encode(tracker))?;
        }
        for seed in &self.web_seeds {
            write!(f, "&ws={}", percent_encode(seed))?;
        }
        for peer in &self.peers {
            write!(f, "&x.pe={}", encode_address(peer))?;
        }
        Ok(())
    }
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// JavaScript's `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A `host:port` as magnet-uri writes it (verbatim), escaping only what would break the URI
/// (so `127.0.0.1:6881` and `[::1]:6881` stay as they are and anything parses back).
fn encode_address(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    for byte in address.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~:[]!*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`); the result must be UTF-8.
fn percent_decode(text: &str, plus_is_space: bool) -> Result<String> {
    let bad = || Error::InvalidMagnet {
        reason: "bad percent-encoding",
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'%' => {
                let pair = bytes.get(index + 1..index + 3).ok_or_else(bad)?;
                if !pair.iter().all(u8::is_ascii_hexdigit) {
                    return Err(bad());
                }
                let text = std::str::from_utf8(pair).map_err(|_| bad())?;
                let value = u8::from_str_radix(text, 16).map_err(|_| bad())?;
                out.push(value);
                index += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                index += 1;
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| Error::InvalidMagnet {
        reason: "a value is not UTF-8 after percent-decoding",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base32_and_ignores_unknown_parameters() {
        let hash = InfoHash([0xab; 20]);
        let uri = format!(
            "magnet:?xt=urn:btih:{}&so=0-3&x.pe=127.0.0.1:6881&tr=udp%3A%2F%2Fa&tr=udp%3A%2F%2Fa",
            hash.to_base32()
        );
        let magnet = Magnet::parse(&uri).expect("valid");
        assert_eq!(magnet.info_hash, hash);
        assert_eq!(magnet.trackers, vec!["udp://a"]);
        assert_eq!(magnet.peers, vec!["127.0.0.1:6881"]);
    }

    #[test]
    fn clear_errors() {
        let bad = [
            ("http://x", "does not start"),
            ("magnet:?dn=x", "no `xt"),
            (
                "magnet:?xt=urn:btmh:1220aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "v2",
            ),
            (
                "magnet:?xt=urn:btih:c9e15763f722f23e98a29decdfae341b98d53056&dn=%zz",
                "percent",
            ),
        ];
        for (uri, needle) in bad {
            let error = Magnet::parse(uri).expect_err(uri).to_string();
            assert!(error.contains(needle), "{uri}: {error}");
        }
        assert!(matches!(
            Magnet::parse("magnet:?xt=urn:btih:abc"),
            Err(Error::InvalidInfoHash { .. })
        ));
    }

    #[test]
    fn produces_encode_uri_component_style() {
        let mut magnet = Magnet::new(InfoHash([1; 20]));
        magnet.display_name = Some("a b&c/é".into());
        magnet.trackers.push("wss://t.example/announce".into());
        assert_eq!(
            magnet.to_string(),
            "magnet:?xt=urn:btih:0101010101010101010101010101010101010101&dn=a+b%26c%2F%C3%A9&tr=wss%3A%2F%2Ft.example%2Fannounce"
        );
    }
}
