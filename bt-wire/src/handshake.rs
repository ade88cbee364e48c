//! The 68-byte BitTorrent handshake: protocol string, reserved bits, info-hash, peer id.

use std::fmt;

use crate::error::{Error, Result};
use crate::info_hash::{hex, InfoHash};

/// `\x13BitTorrent protocol`: the first 20 bytes of every handshake.
pub const PROTOCOL: &[u8; 20] = b"\x13BitTorrent protocol";
/// Length of a handshake in bytes.
pub const HANDSHAKE_LEN: usize = 68;

/// A 20-byte peer id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub [u8; 20]);

impl PeerId {
    /// The raw 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// An Azureus-style id: `prefix` (e.g. `-RV0001-`) followed by `suffix` bytes, truncated
    /// or zero-padded to 20 bytes. Callers pass random bytes as the suffix.
    pub fn with_prefix(prefix: &[u8], suffix: &[u8]) -> Self {
        let mut id = [0u8; 20];
        for (slot, byte) in id.iter_mut().zip(prefix.iter().chain(suffix)) {
            *slot = *byte;
        }
        PeerId(id)
    }
}

impl fmt::Display for PeerId {
    /// 40 lowercase hex digits, as WebTorrent shows peer ids.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PeerId({})",
            String::from_utf8_lossy(&self.0).escape_debug()
        )
    }
}

/// The 8 reserved bytes: feature bits each side announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Reserved(pub [u8; 8]);

impl Reserved {
    /// What we send: the extension protocol bit (BEP 10) only.
    pub const EXTENSION_PROTOCOL: Reserved = Reserved([0, 0, 0, 0, 0, 0x10, 0, 0]);

    /// Byte 5, bit `0x10`: BEP 10 extension protocol.
    pub fn supports_extensions(&self) -> bool {
        self.0[5] & 0x10 != 0
    }

    /// Byte 7, bit `0x04`: BEP 6 fast extension (WebTorrent sets it).
    pub fn supports_fast(&self) -> bool {
        self.0[7] & 0x04 != 0
    }

    /// Byte 7, bit `0x01`: BEP 5 DHT.
    pub fn supports_dht(&self) -> bool {
        self.0[7] & 0x01 != 0
    }

    /// These bits with the fast extension bit set or cleared.
    pub fn with_fast(mut self, fast: bool) -> Self {
        if fast {
            self.0[7] |= 0x04;
        } else {
            self.0[7] &= !0x04;
        }
        self
    }
}

/// A decoded or to-be-sent handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    /// Feature bits.
    pub reserved: Reserved,
    /// The torrent.
    pub info_hash: InfoHash,
    /// The sender's id.
    pub peer_id: PeerId,
}

impl Handshake {
    /// The 68 bytes on the wire.
    pub fn to_bytes(&self) -> [u8; HANDSHAKE_LEN] {
        let mut out = [0u8; HANDSHAKE_LEN];
        out[..20].copy_from_slice(PROTOCOL);
        out[20..28].copy_from_slice(&self.reserved.0);
        out[28..48].copy_from_slice(&self.info_hash.0);
        out[48..].copy_from_slice(&self.peer_id.0);
        out
    }

    /// Decodes exactly 68 bytes.
    ///
    /// # Errors
    /// [`Error::HandshakeProtocol`] if the protocol string is wrong, [`Error::Protocol`] if
    /// the input is not 68 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != HANDSHAKE_LEN {
            return Err(Error::Protocol {
                reason: "handshake is not 68 bytes",
            });
        }
        if &bytes[..20] != PROTOCOL {
            return Err(Error::HandshakeProtocol);
        }
        let mut reserved = [0u8; 8];
        reserved.copy_from_slice(&bytes[20..28]);
        let mut info_hash = [0u8; 20];
        info_hash.copy_from_slice(&bytes[28..48]);
        let mut peer_id = [0u8; 20];
        peer_id.copy_from_slice(&bytes[48..68]);
        Ok(Handshake {
            reserved: Reserved(reserved),
            info_hash: InfoHash(info_hash),
            peer_id: PeerId(peer_id),
        })
    }

    /// Checks a partial handshake prefix: `Ok` while it can still become a valid handshake.
    pub(crate) fn check_prefix(prefix: &[u8]) -> Result<()> {
        let n = prefix.len().min(PROTOCOL.len());
        if prefix[..n] != PROTOCOL[..n] {
            return Err(Error::HandshakeProtocol);
        }
        Ok(())
    }
}
