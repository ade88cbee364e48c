//! A minimal STUN client (RFC 8489 Binding only): enough to learn a socket's server-reflexive
//! address from the `stun:` servers in the configuration. Decoding is bounded and never panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::Error;

/// The fixed STUN magic cookie.
const MAGIC_COOKIE: u32 = 0x2112_a442;
/// Length of the STUN header.
const HEADER_LEN: usize = 20;
/// Binding request message type.
const BINDING_REQUEST: u16 = 0x0001;
/// Binding success response message type.
const BINDING_SUCCESS: u16 = 0x0101;
/// MAPPED-ADDRESS attribute.
const ATTR_MAPPED_ADDRESS: u16 = 0x0001;
/// XOR-MAPPED-ADDRESS attribute.
const ATTR_XOR_MAPPED_ADDRESS: u16 = 0x0020;
/// The port a `stun:` URL means when it names none.
pub const DEFAULT_STUN_PORT: u16 = 3478;

/// A 96-bit STUN transaction id.
pub type TransactionId = [u8; 12];

/// A `stun:` server from an ICE server URL (`stun:host[:port]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StunServer {
    /// Host name or address literal (IPv6 without brackets).
    pub host: String,
    /// UDP port.
    pub port: u16,
}

impl StunServer {
    /// Parses `stun:host`, `stun:host:port`, `stun:[v6]` or `stun:[v6]:port`. `stuns:`, `turn:`
    /// and `turns:` are not supported by this crate and are errors.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let bad = |reason| Error::BadIceServerUrl {
            url: url.to_owned(),
            reason,
        };
        let rest = url
            .strip_prefix("stun:")
            .ok_or_else(|| bad("only stun: URLs are supported"))?;
        let rest = rest.split('?').next().unwrap_or_default();
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or_else(|| bad("unclosed IPv6 bracket"))?;
            (host, after.strip_prefix(':'))
        } else {
            match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None => DEFAULT_STUN_PORT,
            Some(port) => port.parse().map_err(|_| bad("bad port"))?,
        };
        Ok(StunServer {
            host: host.to_owned(),
            port,
        })
    }
}

/// A Binding request with the given transaction id.
pub fn binding_request(transaction: TransactionId) -> Vec<u8> {
    let mut message = Vec::with_capacity(HEADER_LEN);
    message.extend_from_slice(&BINDING_REQUEST.to_be_bytes());
    message.extend_from_slice(&0u16.to_be_bytes());
    message.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    message.extend_from_slice(&transaction);
    message
}

/// If `datagram` is a Binding request, the success response a server would send telling the
/// requester it was seen at `mapped` (used by tests and by anyone hosting a tiny STUN server).
pub fn binding_success_for(datagram: &[u8], mapped: SocketAddr) -> Option<Vec<u8>> {
    let (message_type, transaction, _) = header(datagram)?;
    if message_type != BINDING_REQUEST {
        return None;
    }
    let mut value = vec![0u8, 0];
    let port = mapped.port() ^ (MAGIC_COOKIE >> 16) as u16;
    value.extend_from_slice(&port.to_be_bytes());
    match mapped.ip() {
        IpAddr::V4(ip) => {
            value[1] = 0x01;
            let xored = u32::from(ip) ^ MAGIC_COOKIE;
            value.extend_from_slice(&xored.to_be_bytes());
        }
        IpAddr::V6(ip) => {
            value[1] = 0x02;
            let mask = xor_mask(&transaction);
            value.extend(ip.octets().iter().zip(mask).map(|(a, b)| a ^ b));
        }
    }
    let mut message = Vec::with_capacity(HEADER_LEN + 4 + value.len());
    message.extend_from_slice(&BINDING_SUCCESS.to_be_bytes());
    message.extend_from_slice(&((4 + value.len()) as u16).to_be_bytes());
    message.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    message.extend_from_slice(&transaction);
    message.extend_from_slice(&ATTR_XOR_MAPPED_ADDRESS.to_be_bytes());
    message.extend_from_slice(&(value.len() as u16).to_be_bytes());
    message.extend_from_slice(&value);
    Some(message)
}

/// If `datagram` is a Binding success response, its transaction id and the mapped address it
/// reports (XOR-MAPPED-ADDRESS preferred, MAPPED-ADDRESS accepted).
pub fn parse_binding_success(datagram: &[u8]) -> Option<(TransactionId, SocketAddr)> {
    let (message_type, transaction, attributes) = header(datagram)?;
    if message_type != BINDING_SUCCESS {
        return None;
    }
    let mut plain = None;
    let mut rest = attributes;
    while rest.len() >= 4 {
        let kind = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + len)?;
        match kind {
            ATTR_XOR_MAPPED_ADDRESS => {
                return address(value, Some(&transaction)).map(|addr| (transaction, addr));
            }
            ATTR_MAPPED_ADDRESS => plain = address(value, None),
            _ => {}
        }
        let padded = (4 + len + 3) & !3;
        rest = rest.get(padded..).unwrap_or_default();
    }
    plain.map(|addr| (transaction, addr))
}

/// The message type, transaction id and attribute bytes of a STUN message, if it is one.
fn header(datagram: &[u8]) -> Option<(u16, TransactionId, &[u8])> {
    if datagram.len() < HEADER_LEN {
        return None;
    }
    let message_type = u16::from_be_bytes([datagram[0], datagram[1]]);
    let len = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    let cookie = u32::from_be_bytes([datagram[4], datagram[5], datagram[6], datagram[7]]);
    if cookie != MAGIC_COOKIE || message_type & 0xc000 != 0 {
        return None;
    }
    let transaction: TransactionId = datagram[8..HEADER_LEN].try_into().ok()?;
    let attributes = datagram.get(HEADER_LEN..HEADER_LEN + len)?;
    Some((message_type, transaction, attributes))
}

fn xor_mask(transaction: &TransactionId) -> [u8; 16] {
    let mut mask = [0u8; 16];
    mask[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    mask[4..].copy_from_slice(transaction);
    mask
}

/// Decodes a (XOR-)MAPPED-ADDRESS value; `transaction` is given for the XOR form.
fn address(value: &[u8], transaction: Option<&TransactionId>) -> Option<SocketAddr> {
    let family = *value.get(1)?;
    let mut port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]);
    if transaction.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    let ip = match family {
        0x01 => {
            let raw: [u8; 4] = value.get(4..8)?.try_into().ok()?;
            let mut ip = u32::from_be_bytes(raw);
            if transaction.is_some() {
                ip ^= MAGIC_COOKIE;
            }
            IpAddr::V4(Ipv4Addr::from(ip))
        }
        0x02 => {
            let mut raw: [u8; 16] = value.get(4..20)?.try_into().ok()?;
            if let Some(transaction) = transaction {
                for (byte, mask) in raw.iter_mut().zip(xor_mask(transaction)) {
                    *byte ^= mask;
                }
            }
            IpAddr::V6(Ipv6Addr::from(raw))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_stun_urls() {
        let server = StunServer::parse("stun:stun.l.google.com:19302").unwrap();
        assert_eq!(
            (server.host.as_str(), server.port),
            ("stun.l.google.com", 19302)
        );
        let server = StunServer::parse("stun:127.0.0.1").unwrap();
        assert_eq!(server.port, DEFAULT_STUN_PORT);
        let server = StunServer::parse("stun:[::1]:3479").unwrap();
        assert_eq!((server.host.as_str(), server.port), ("::1", 3479));
        for bad in ["turn:x", "stuns:x", "stun:", "stun:x:port", "stun:[::1"] {
            assert!(StunServer::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_and_response_round_trip() {
        let transaction = [7u8; 12];
        for mapped in ["198.51.100.7:4242", "[2001:db8::9]:65000"] {
            let mapped: SocketAddr = mapped.parse().unwrap();
            let response = binding_success_for(&binding_request(transaction), mapped).unwrap();
            assert_eq!(
                parse_binding_success(&response),
                Some((transaction, mapped))
            );
        }
        assert_eq!(parse_binding_success(&binding_request(transaction)), None);
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_binding_success(&bytes);
            let _ = binding_success_for(&bytes, "127.0.0.1:1".parse().unwrap());
        }
    }
}
