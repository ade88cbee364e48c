//! `ut_metadata` (BEP 9): fetching the info dictionary from peers in 16 KiB pieces, for
//! torrents started from a magnet link.

use bytes::Bytes;

use crate::bencode::{self, OwnedValue};
use crate::error::{Error, Result};
use crate::info_hash::{sha1_digest, InfoHash};
use crate::metainfo::{Info, MAX_INFO_SIZE};

/// Size of a metadata piece (the last one may be shorter).
pub const METADATA_PIECE_SIZE: usize = 16 * 1024;

/// A `ut_metadata` message (the payload of an extended message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetadataMessage {
    /// `msg_type` 0: asks for a piece.
    Request {
        /// Metadata piece index.
        piece: u32,
    },
    /// `msg_type` 1: a piece; the raw bytes follow the bencoded dictionary.
    Data {
        /// Metadata piece index.
        piece: u32,
        /// `total_size`: the whole info dictionary's size.
        total_size: u32,
        /// The piece's bytes (a slice of the received message, not a copy).
        data: Bytes,
    },
    /// `msg_type` 2: the sender will not serve this piece.
    Reject {
        /// Metadata piece index.
        piece: u32,
    },
}

impl MetadataMessage {
    /// Decodes an extended message payload.
    ///
    /// # Errors
    /// [`Error::Metadata`] for an unknown `msg_type`, a missing field, a data piece over
    /// 16 KiB, or a `total_size` over [`MAX_INFO_SIZE`]; bencode errors for malformed input.
    pub fn decode(payload: &Bytes) -> Result<Self> {
        let (value, used) = bencode::decode_prefix(payload)?;
        let dict = value.as_dict().ok_or(Error::Metadata {
            reason: "payload is not a dictionary",
        })?;
        let field = |key: &[u8], reason| {
            dict.integer(key)
                .and_then(|number| u32::try_from(number).ok())
                .ok_or(Error::Metadata { reason })
        };
        let piece = field(b"piece", "missing or invalid `piece`")?;
        let trailer_empty = used == payload.len();
        match dict.integer(b"msg_type") {
            Some(0) | Some(2) if !trailer_empty => Err(Error::Metadata {
                reason: "bytes after a request or reject",
            }),
            Some(0) => Ok(MetadataMessage::Request { piece }),
            Some(2) => Ok(MetadataMessage::Reject { piece }),
            Some(1) => {
                let total_size = field(b"total_size", "missing or invalid `total_size`")?;
                let data = payload.slice(used..);
                if data.len() > METADATA_PIECE_SIZE {
                    return Err(Error::Metadata {
                        reason: "data piece larger than 16 KiB",
                    });
                }
                if total_size as usize > MAX_INFO_SIZE {
                    return Err(Error::Metadata {
                        reason: "total_size over 8 MiB",
                    });
                }
                Ok(MetadataMessage::Data {
                    piece,
                    total_size,
                    data,
                })
            }
            _ => Err(Error::Metadata {
                reason: "unknown or missing `msg_type`",
            }),
        }
    }

    /// Encodes as an extended message payload (dictionary, then raw data for `Data`).
    pub fn encode(&self) -> Vec<u8> {
        let int = |number: u32| OwnedValue::Integer(i64::from(number));
        let (dict, data) = match self {
            MetadataMessage::Request { piece } => (
                bencode::dict([("msg_type", int(0)), ("piece", int(*piece))]),
                None,
            ),
            MetadataMessage::Data {
                piece,
                total_size,
                data,
            } => (
                bencode::dict([
                    ("msg_type", int(1)),
                    ("piece", int(*piece)),
                    ("total_size", int(*total_size)),
                ]),
                Some(data),
            ),
            MetadataMessage::Reject { piece } => (
                bencode::dict([("msg_type", int(2)), ("piece", int(*piece))]),
                None,
            ),
        };
        let mut out = dict.encode();
        if let Some(data) = data {
            out.extend_from_slice(data);
        }
        out
    }
}

/// Number of metadata pieces for an info dictionary of `total_size` bytes.
pub fn metadata_piece_count(total_size: usize) -> u32 {
    total_size.div_ceil(METADATA_PIECE_SIZE) as u32
}

/// Piece `piece` of the info dictionary `raw_info`, for answering a request.
pub fn metadata_piece(raw_info: &[u8], piece: u32) -> Option<&[u8]> {
    let start = (piece as usize).checked_mul(METADATA_PIECE_SIZE)?;
    if start >= raw_info.len() {
        return None;
    }
    let end = (start + METADATA_PIECE_SIZE).min(raw_info.len());
    Some(&raw_info[start..end])
}

/// Collects metadata pieces from peers and checks the result against the info-hash.
///
/// ```
/// use bt_wire::{MetadataAssembler, TorrentBuilder};
/// let torrent = TorrentBuilder::new("a", 16_384).single_file(3).build_from_data(&[b"abc"]).unwrap();
/// let raw = torrent.info.raw();
/// let mut assembler = MetadataAssembler::new(torrent.info_hash(), raw.len() as u32).unwrap();
/// assert_eq!(assembler.missing().collect::<Vec<_>>(), vec![0]);
/// assembler.insert(0, raw).unwrap();
/// assert_eq!(assembler.finish().unwrap(), torrent.info);
/// ```
#[derive(Debug, Clone)]
pub struct MetadataAssembler {
    info_hash: InfoHash,
    buffer: Vec<u8>,
    received: Vec<bool>,
}

impl MetadataAssembler {
    /// Prepares to receive `total_size` bytes (the peer's `metadata_size`).
    ///
    /// # Errors
    /// [`Error::Metadata`] if the size is zero or over [`MAX_INFO_SIZE`].
    pub fn new(info_hash: InfoHash, total_size: u32) -> Result<Self> {
        let size = total_size as usize;
        if size == 0 || size > MAX_INFO_SIZE {
            return Err(Error::Metadata {
                reason: "metadata_size not in 1..=8 MiB",
            });
        }
        Ok(MetadataAssembler {
            info_hash,
            buffer: vec![0; size],
            received: vec![false; metadata_piece_count(size) as usize],
        })
    }

    /// Pieces not received yet, in order.
    pub fn missing(&self) -> impl Iterator<Item = u32> + '_ {
        self.received
            .iter()
            .enumerate()
            .filter(|(_, done)| !**done)
            .map(|(index, _)| index as u32)
    }

    /// True once every piece arrived.
    pub fn is_complete(&self) -> bool {
        self.received.iter().all(|done| *done)
    }

    /// Stores piece `piece`.
    ///
    /// # Errors
    /// [`Error::Metadata`] if the index is out of range or the length is not the piece's.
    pub fn insert(&mut self, piece: u32, data: &[u8]) -> Result<()> {
        let start = (piece as usize)
            .checked_mul(METADATA_PIECE_SIZE)
            .filter(|start| *start < self.buffer.len())
            .ok_or(Error::Metadata {
                reason: "piece index out of range",
            })?;
        let end = (start + METADATA_PIECE_SIZE).min(self.buffer.len());
        if data.len() != end - start {
            return Err(Error::Metadata {
                reason: "piece has the wrong length",
            });
        }
        self.buffer[start..end].copy_from_slice(data);
        self.received[piece as usize] = true;
        Ok(())
    }

    /// Checks the SHA-1 and parses the info dictionary.
    ///
    /// # Errors
    /// [`Error::Metadata`] if pieces are missing, [`Error::MetadataHashMismatch`] if the
    /// bytes do not hash to the info-hash, or any [`Info::from_bytes`] error.
    pub fn finish(self) -> Result<Info> {
        if !self.is_complete() {
            return Err(Error::Metadata {
                reason: "pieces are missing",
            });
        }
        if sha1_digest(&self.buffer) != self.info_hash.0 {
            return Err(Error::MetadataHashMismatch {
                expected: self.info_hash,
            });
        }
        Info::from_bytes(&self.buffer)
    }
}
