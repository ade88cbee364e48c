//! The BEP 10 extension handshake: the dictionary sent as extended message 0, naming the
//! extensions each side speaks (`m`) and the ids it wants them sent with.

use std::collections::BTreeMap;

use crate::bencode::{self, OwnedValue, Value};
use crate::error::{Error, Result};
use crate::metainfo::MAX_INFO_SIZE;

/// The extended message id of the extension handshake itself.
pub const HANDSHAKE_ID: u8 = 0;
/// BEP 9 metadata exchange.
pub const UT_METADATA: &str = "ut_metadata";
/// BEP 11 peer exchange.
pub const UT_PEX: &str = "ut_pex";

const CONTEXT: &str = "extension handshake";

/// The extension handshake dictionary.
///
/// Known fields are typed; anything else is kept in [`ExtensionHandshake::other`] so that a
/// received handshake re-encodes byte for byte.
///
/// ```
/// use bt_wire::ExtensionHandshake;
/// let mut ours = ExtensionHandshake::default();
/// ours.extensions.insert("ut_metadata".into(), 1);
/// ours.metadata_size = Some(31_235);
/// let bytes = ours.encode();
/// assert_eq!(bytes, b"d1:md11:ut_metadatai1ee13:metadata_sizei31235ee");
/// assert_eq!(ExtensionHandshake::decode(&bytes).unwrap(), ours);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtensionHandshake {
    /// `m`: extension name → the id the sender wants to receive it with (0 = disabled).
    pub extensions: BTreeMap<String, u8>,
    /// `metadata_size`: size of the info dictionary (BEP 9), when the sender has it.
    pub metadata_size: Option<u32>,
    /// `v`: client name and version.
    pub client: Option<String>,
    /// `reqq`: how many outstanding requests the sender accepts.
    pub reqq: Option<u32>,
    /// `yourip`: the receiver's address as the sender sees it (4 or 16 bytes).
    pub your_ip: Option<Vec<u8>>,
    /// `p`: the sender's listen port.
    pub listen_port: Option<u16>,
    /// Every other key, kept as received.
    pub other: BTreeMap<Vec<u8>, OwnedValue>,
}

impl ExtensionHandshake {
    /// The id the sender assigned to extension `name`, `None` if absent or disabled (0).
    pub fn id_of(&self, name: &str) -> Option<u8> {
        self.extensions.get(name).copied().filter(|&id| id != 0)
    }

    /// The extension name the sender assigned `id` to.
    pub fn name_of(&self, id: u8) -> Option<&str> {
        if id == 0 {
            return None;
        }
        self.extensions
            .iter()
            .find(|(_, &candidate)| candidate == id)
            .map(|(name, _)| name.as_str())
    }

    /// Decodes the payload of extended message 0.
    ///
    /// Entries of `m` that are not UTF-8 names with ids in 0..=255 are ignored, as clients do.
    ///
    /// # Errors
    /// Malformed bencode, a payload that is not a dictionary, or a known field of the wrong
    /// type or out of range (e.g. `metadata_size` over [`MAX_INFO_SIZE`]).
    pub fn decode(payload: &[u8]) -> Result<Self> {
        let value = bencode::decode(payload)?;
        let dict = value.as_dict().ok_or(Error::InvalidField {
            context: CONTEXT,
            field: "handshake",
            reason: "not a dictionary",
        })?;
        let mut handshake = ExtensionHandshake::default();
        for (key, value) in dict.entries() {
            match *key {
                b"m" => {
                    let Value::Dict(m) = value else {
                        return Err(invalid("m", "not a dictionary"));
                    };
                    for (name, id) in m.entries() {
                        let (Ok(name), Value::Integer(id)) = (std::str::from_utf8(name), id) else {
                            continue;
                        };
                        if let Ok(id) = u8::try_from(*id) {
                            handshake.extensions.insert(name.to_string(), id);
                        }
                    }
                }
                b"metadata_size" => {
                    handshake.metadata_size = Some(
                        integer_in(value, 1, MAX_INFO_SIZE as i64)
                            .ok_or(invalid("metadata_size", "not in 1..=8 MiB"))?
                            as u32,
                    )
                }
                b"reqq" => {
                    handshake.reqq = Some(
                        integer_in(value, 0, i64::from(u32::MAX))
                            .ok_or(invalid("reqq", "not a 32-bit count"))?
                            as u32,
                    )
                }
                b"p" => {
                    handshake.listen_port = Some(
                        integer_in(value, 0, i64::from(u16::MAX))
                            .ok_or(invalid("p", "not a port"))? as u16,
                    )
                }
                b"v" => match value {
                    Value::Bytes(bytes) => {
                        handshake.client = Some(String::from_utf8_lossy(bytes).into_owned())
                    }
                    _ => return Err(invalid("v", "not a string")),
                },
                b"yourip" => match value {
                    Value::Bytes(bytes) => handshake.your_ip = Some(bytes.to_vec()),
                    _ => return Err(invalid("yourip", "not a string")),
                },
                _ => {
                    handshake.other.insert(key.to_vec(), value.to_owned_value());
                }
            }
        }
        Ok(handshake)
    }

    /// Encodes the dictionary (keys sorted, as WebTorrent's bencode does).
    pub fn encode(&self) -> Vec<u8> {
        let mut fields = self.other.clone();
        let mut put = |key: &str, value: OwnedValue| {
            fields.insert(key.as_bytes().to_vec(), value);
        };
        put(
            "m",
            bencode::dict(
                self.extensions
                    .iter()
                    .map(|(name, id)| (name.as_bytes(), OwnedValue::Integer(i64::from(*id)))),
            ),
        );
        if let Some(size) = self.metadata_size {
            put("metadata_size", OwnedValue::Integer(i64::from(size)));
        }
        if let Some(client) = &self.client {
            put("v", OwnedValue::bytes(client));
        }
        if let Some(reqq) = self.reqq {
            put("reqq", OwnedValue::Integer(i64::from(reqq)));
        }
        if let Some(ip) = &self.your_ip {
            put("yourip", OwnedValue::bytes(ip));
        }
        if let Some(port) = self.listen_port {
            put("p", OwnedValue::Integer(i64::from(port)));
        }
        OwnedValue::Dict(fields).encode()
    }
}

fn integer_in(value: &Value<'_>, min: i64, max: i64) -> Option<i64> {
    match value {
        Value::Integer(number) if (min..=max).contains(number) => Some(*number),
        _ => None,
    }
}

fn invalid(field: &'static str, reason: &'static str) -> Error {
    Error::InvalidField {
        context: CONTEXT,
        field,
        reason,
    }
}
