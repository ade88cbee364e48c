//! `ut_pex` (BEP 11): peer exchange. Over WebRTC the addresses are of little use, but the
//! messages must decode without failing the connection.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::bencode::{self, Dict};
use crate::error::{Error, Result};

/// A decoded peer-exchange message. Malformed address lists are skipped, not errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PexMessage {
    /// `added` and `added6`: peers the sender met.
    pub added: Vec<SocketAddr>,
    /// `dropped` and `dropped6`: peers the sender lost.
    pub dropped: Vec<SocketAddr>,
}

impl PexMessage {
    /// Decodes an extended message payload.
    ///
    /// # Errors
    /// Only when the payload is not a bencoded dictionary.
    pub fn decode(payload: &[u8]) -> Result<Self> {
        let value = bencode::decode(payload)?;
        let dict = value.as_dict().ok_or(Error::InvalidField {
            context: "ut_pex",
            field: "message",
            reason: "not a dictionary",
        })?;
        let mut message = PexMessage::default();
        compact(dict, b"added", 6, &mut message.added);
        compact(dict, b"added6", 18, &mut message.added);
        compact(dict, b"dropped", 6, &mut message.dropped);
        compact(dict, b"dropped6", 18, &mut message.dropped);
        Ok(message)
    }
}

fn compact(dict: &Dict<'_>, key: &[u8], width: usize, out: &mut Vec<SocketAddr>) {
    let Some(bytes) = dict.bytes(key) else {
        return;
    };
    for entry in bytes.chunks_exact(width) {
        let (ip, port) = entry.split_at(width - 2);
        let ip = match <[u8; 4]>::try_from(ip) {
            Ok(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
            Err(_) => match <[u8; 16]>::try_from(ip) {
                Ok(v6) => IpAddr::V6(Ipv6Addr::from(v6)),
                Err(_) => continue,
            },
        };
        out.push(SocketAddr::new(ip, u16::from_be_bytes([port[0], port[1]])));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_compact_lists_and_skips_garbage() {
        let payload = b"d5:added12:\x7f\x00\x00\x01\x1a\xe1\x0a\x00\x00\x02\x00\x507:added.f2:\x00\x007:dropped3:xyz6:added6i5ee";
        let message = PexMessage::decode(payload).expect("decodes");
        assert_eq!(
            message.added,
            vec![
                "127.0.0.1:6881".parse().expect("addr"),
                "10.0.0.2:80".parse().expect("addr")
            ]
        );
        assert!(message.dropped.is_empty());
        assert!(PexMessage::decode(b"i1e").is_err());
    }
}
