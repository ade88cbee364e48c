//! Peer wire messages (BEP 3, the BEP 6 fast set, and the BEP 10 `extended` envelope):
//! the typed enum and its encoder. Decoding lives in [`crate::decoder`].

use std::fmt;

use bitvec::prelude::{BitVec, Msb0};
use bytes::{BufMut, Bytes, BytesMut};

use crate::piece_math::BlockRef;

/// A bitfield as sent on the wire: piece 0 is the high bit of the first byte.
pub type Bitfield = BitVec<u8, Msb0>;

/// The `piece` message body: a block of data, sharing the decoder's buffer (no copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Piece index.
    pub piece: u32,
    /// Offset inside the piece.
    pub offset: u32,
    /// The bytes.
    pub data: Bytes,
}

impl Block {
    /// The `(piece, offset, length)` this block answers.
    pub fn block_ref(&self) -> BlockRef {
        BlockRef {
            piece: self.piece,
            offset: self.offset,
            length: self.data.len() as u32,
        }
    }
}

/// One peer wire message after the handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Length 0: keeps the connection alive.
    KeepAlive,
    /// Id 0: the sender will not serve requests.
    Choke,
    /// Id 1: the sender will serve requests.
    Unchoke,
    /// Id 2: the sender wants pieces the receiver has.
    Interested,
    /// Id 3: the sender wants nothing from the receiver.
    NotInterested,
    /// Id 4: the sender has verified this piece.
    Have(u32),
    /// Id 5: the sender's pieces, sent once right after the handshake.
    Bitfield(Bitfield),
    /// Id 6: asks for a block.
    Request(BlockRef),
    /// Id 7: a block of data.
    Piece(Block),
    /// Id 8: withdraws a request.
    Cancel(BlockRef),
    /// Id 9: the sender's DHT port.
    Port(u16),
    /// Id 13 (BEP 6): the sender suggests downloading this piece.
    SuggestPiece(u32),
    /// Id 14 (BEP 6): the sender has every piece.
    HaveAll,
    /// Id 15 (BEP 6): the sender has no pieces.
    HaveNone,
    /// Id 16 (BEP 6): the sender will not serve this request.
    RejectRequest(BlockRef),
    /// Id 17 (BEP 6): the receiver may request this piece while choked.
    AllowedFast(u32),
    /// Id 20 (BEP 10): an extension message; `id` 0 is the extension handshake, others are
    /// the ids the receiver announced in its `m` dictionary. See [`crate::extension`].
    Extended {
        /// The extension message id.
        id: u8,
        /// The payload after the id byte.
        payload: Bytes,
    },
    /// A message id this crate does not know, kept so that it can be logged and skipped.
    Unknown {
        /// The message id.
        id: u8,
        /// The payload after the id byte.
        payload: Bytes,
    },
}

/// Which kind of message, for errors and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // The variant names are the message names.
pub enum MessageKind {
    KeepAlive,
    Choke,
    Unchoke,
    Interested,
    NotInterested,
    Have,
    Bitfield,
    Request,
    Piece,
    Cancel,
    Port,
    SuggestPiece,
    HaveAll,
    HaveNone,
    RejectRequest,
    AllowedFast,
    Extended,
    /// An id this crate does not know.
    Unknown(u8),
}

impl MessageKind {
    /// The kind for a message id byte.
    pub fn from_id(id: u8) -> Self {
        match id {
            0 => MessageKind::Choke,
            1 => MessageKind::Unchoke,
            2 => MessageKind::Interested,
            3 => MessageKind::NotInterested,
            4 => MessageKind::Have,
            5 => MessageKind::Bitfield,
            6 => MessageKind::Request,
            7 => MessageKind::Piece,
            8 => MessageKind::Cancel,
            9 => MessageKind::Port,
            13 => MessageKind::SuggestPiece,
            14 => MessageKind::HaveAll,
            15 => MessageKind::HaveNone,
            16 => MessageKind::RejectRequest,
            17 => MessageKind::AllowedFast,
            20 => MessageKind::Extended,
            other => MessageKind::Unknown(other),
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageKind::Unknown(id) => write!(f, "unknown (id {id})"),
            known => fmt::Debug::fmt(known, f),
        }
    }
}

impl Message {
    /// The message's id byte (`None` for keep-alive).
    pub fn id(&self) -> Option<u8> {
        Some(match self {
            Message::KeepAlive => return None,
            Message::Choke => 0,
            Message::Unchoke => 1,
            Message::Interested => 2,
            Message::NotInterested => 3,
            Message::Have(_) => 4,
            Message::Bitfield(_) => 5,
            Message::Request(_) => 6,
            Message::Piece(_) => 7,
            Message::Cancel(_) => 8,
            Message::Port(_) => 9,
            Message::SuggestPiece(_) => 13,
            Message::HaveAll => 14,
            Message::HaveNone => 15,
            Message::RejectRequest(_) => 16,
            Message::AllowedFast(_) => 17,
            Message::Extended { .. } => 20,
            Message::Unknown { id, .. } => *id,
        })
    }

    /// The kind, for logs.
    pub fn kind(&self) -> MessageKind {
        match self.id() {
            None => MessageKind::KeepAlive,
            Some(id) => MessageKind::from_id(id),
        }
    }

    /// Bytes after the length prefix (id and payload).
    fn body_len(&self) -> usize {
        match self {
            Message::KeepAlive => 0,
            Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => 1,
            Message::Have(_) | Message::SuggestPiece(_) | Message::AllowedFast(_) => 5,
            Message::Bitfield(bits) => 1 + bits.as_raw_slice().len(),
            Message::Request(_) | Message::Cancel(_) | Message::RejectRequest(_) => 13,
            Message::Piece(block) => 9 + block.data.len(),
            Message::Port(_) => 3,
            Message::Extended { payload, .. } => 2 + payload.len(),
            Message::Unknown { payload, .. } => 1 + payload.len(),
        }
    }

    /// Length on the wire, prefix included.
    pub fn encoded_len(&self) -> usize {
        4 + self.body_len()
    }

    /// Appends the message (length prefix, id, payload) to `out`.
    ///
    /// A bitfield's spare bits are sent as zero, as BEP 3 requires.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        out.put_u32(self.body_len() as u32);
        if let Some(id) = self.id() {
            out.put_u8(id);
        }
        match self {
            Message::KeepAlive
            | Message::Choke
            | Message::Unchoke
            | Message::Interested
            | Message::NotInterested
            | Message::HaveAll
            | Message::HaveNone => {}
            Message::Have(piece) | Message::SuggestPiece(piece) | Message::AllowedFast(piece) => {
                out.put_u32(*piece)
            }
            Message::Bitfield(bits) => {
                let mut bits = bits.clone();
                bits.set_uninitialized(false);
                out.put_slice(bits.as_raw_slice());
            }
            Message::Request(block) | Message::Cancel(block) | Message::RejectRequest(block) => {
                out.put_u32(block.piece);
                out.put_u32(block.offset);
                out.put_u32(block.length);
            }
            Message::Piece(block) => {
                out.put_u32(block.piece);
                out.put_u32(block.offset);
                out.put_slice(&block.data);
            }
            Message::Port(port) => out.put_u16(*port),
            Message::Extended { id, payload } => {
                out.put_u8(*id);
                out.put_slice(payload);
            }
            Message::Unknown { payload, .. } => out.put_slice(payload),
        }
    }

    /// The encoded message as one buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out.freeze()
    }
}

/// A bitfield of `piece_count` bits with the pieces in `have` set, ready for
/// [`Message::Bitfield`].
pub fn bitfield_from(piece_count: u32, have: impl IntoIterator<Item = u32>) -> Bitfield {
    let mut bits = Bitfield::repeat(false, piece_count as usize);
    for piece in have {
        if let Some(mut bit) = bits.get_mut(piece as usize) {
            *bit = true;
        }
    }
    bits
}
