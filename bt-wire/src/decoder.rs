//! The streaming decoder: bytes in, in any chunking, complete frames out, with a bound on
//! every length checked as soon as the length prefix and id byte arrive.
//!
//! Chunks handed over as [`Bytes`] are parsed in place: a `piece` message that lies inside one
//! chunk comes out as a slice of it, without copying. Only a message split across chunks is
//! gathered into a buffer (one copy of that message).

use std::collections::VecDeque;

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{Error, Result};
use crate::handshake::{Handshake, HANDSHAKE_LEN};
use crate::message::{Bitfield, Block, Message, MessageKind};
use crate::piece_math::{BlockRef, BLOCK_SIZE};

/// Largest `piece` message body: id, index, offset and one 16 KiB block.
pub const MAX_PIECE_MESSAGE_LEN: u32 = 9 + BLOCK_SIZE;
/// Largest piece count a bitfield may describe before the torrent's piece count is known.
pub const MAX_PIECE_COUNT: u32 = 1 << 21;
/// Largest `extended` message body: id, extension id and payload (a `ut_metadata` data
/// message is about 16 KiB + 50 bytes; handshakes and `ut_pex` are smaller).
pub const MAX_EXTENDED_MESSAGE_LEN: u32 = 64 * 1024;
/// Largest body accepted for a message id this crate does not know.
pub const MAX_UNKNOWN_MESSAGE_LEN: u32 = 64 * 1024;
/// Largest body of any message: the largest of the bounds above (a bitfield for
/// [`MAX_PIECE_COUNT`] pieces). A length prefix above it is refused before the id arrives.
pub const MAX_MESSAGE_LEN: u32 = max(
    max(1 + MAX_PIECE_COUNT / 8, MAX_PIECE_MESSAGE_LEN),
    max(MAX_EXTENDED_MESSAGE_LEN, MAX_UNKNOWN_MESSAGE_LEN),
);

const fn max(a: u32, b: u32) -> u32 {
    if a > b {
        a
    } else {
        b
    }
}

/// A complete unit from the stream: the handshake, then messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The peer's 68-byte handshake (always first).
    Handshake(Handshake),
    /// A message after the handshake.
    Message(Message),
}

/// Turns a byte stream into [`Frame`]s.
///
/// ```
/// use bt_wire::{Decoder, Frame, Message};
/// let mut decoder = Decoder::after_handshake();
/// let bytes = [0, 0, 0, 5, 4, 0, 0, 0, 7, 0, 0, 0, 1, 2];
/// decoder.feed(&bytes[..3]);
/// assert_eq!(decoder.next_frame().unwrap(), None); // not complete yet
/// decoder.feed(&bytes[3..]);
/// assert_eq!(decoder.next_frame().unwrap(), Some(Frame::Message(Message::Have(7))));
/// assert_eq!(decoder.next_frame().unwrap(), Some(Frame::Message(Message::Interested)));
/// assert_eq!(decoder.next_frame().unwrap(), None);
/// ```
#[derive(Debug, Default)]
pub struct Decoder {
    chunks: VecDeque<Bytes>,
    partial: BytesMut,
    handshake_done: bool,
    piece_count: Option<u32>,
    failed: Option<Error>,
}

impl Decoder {
    /// A decoder that expects the 68-byte handshake first.
    pub fn new() -> Self {
        Decoder::default()
    }

    /// A decoder for a stream whose handshake was already read.
    pub fn after_handshake() -> Self {
        Decoder {
            handshake_done: true,
            ..Decoder::default()
        }
    }

    /// Sets the torrent's piece count once known: bitfields must then be exactly
    /// `ceil(count / 8)` bytes with the spare bits zero.
    pub fn set_piece_count(&mut self, piece_count: u32) {
        self.piece_count = Some(piece_count);
    }

    /// Appends bytes received from the peer (copied once).
    pub fn feed(&mut self, data: &[u8]) {
        if !data.is_empty() {
            self.chunks.push_back(Bytes::copy_from_slice(data));
        }
    }

    /// Appends a received chunk without copying it; messages inside it come out as slices.
    pub fn feed_bytes(&mut self, data: Bytes) {
        if !data.is_empty() {
            self.chunks.push_back(data);
        }
    }

    /// Bytes fed but not yet returned as frames.
    pub fn buffered_len(&self) -> usize {
        self.partial.len() + self.chunks.iter().map(Bytes::len).sum::<usize>()
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    ///
    /// Call it until it returns `Ok(None)` after every [`Decoder::feed`]: lengths are checked
    /// here, so this is what keeps a hostile peer from making the buffer grow.
    ///
    /// # Errors
    /// A length over its bound ([`Error::MessageTooLong`]), a fixed-size message of the wrong
    /// size ([`Error::MessageLength`]), a bad bitfield, or a bad handshake. The connection
    /// should be dropped; the decoder returns the same error again if called.
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.decode_next();
        if let Err(error) = &result {
            self.failed = Some(error.clone());
        }
        result
    }

    fn decode_next(&mut self) -> Result<Option<Frame>> {
        loop {
            if self.partial.is_empty() {
                let Some(chunk) = self.chunks.front_mut() else {
                    return Ok(None);
                };
                let length = frame_len(chunk, self.handshake_done, self.piece_count)?;
                match length {
                    Some(length) if length <= chunk.len() => {
                        let frame = chunk.split_to(length);
                        if chunk.is_empty() {
                            self.chunks.pop_front();
                        }
                        return self.parse(frame).map(Some);
                    }
                    _ => {
                        // The frame continues in later chunks: gather it.
                        if let Some(chunk) = self.chunks.pop_front() {
                            self.partial.extend_from_slice(&chunk);
                        }
                    }
                }
            } else {
                let known = frame_len(&self.partial, self.handshake_done, self.piece_count)?;
                let needed = known.unwrap_or(5);
                if known.is_some() && self.partial.len() >= needed {
                    let frame = self.partial.split_to(needed).freeze();
                    return self.parse(frame).map(Some);
                }
                let Some(chunk) = self.chunks.front_mut() else {
                    return Ok(None);
                };
                let take = (needed - self.partial.len()).min(chunk.len());
                self.partial.extend_from_slice(&chunk[..take]);
                chunk.advance(take);
                if chunk.is_empty() {
                    self.chunks.pop_front();
                }
            }
        }
    }

    fn parse(&mut self, frame: Bytes) -> Result<Frame> {
        if self.handshake_done {
            parse_message(frame, self.piece_count).map(Frame::Message)
        } else {
            let handshake = Handshake::from_bytes(&frame)?;
            self.handshake_done = true;
            Ok(Frame::Handshake(handshake))
        }
    }
}

/// The largest body (id and payload) allowed for a message with this id.
pub fn max_body_len(id: u8, piece_count: Option<u32>) -> u32 {
    match MessageKind::from_id(id) {
        MessageKind::Piece => MAX_PIECE_MESSAGE_LEN,
        MessageKind::Bitfield => {
            1 + piece_count
                .unwrap_or(MAX_PIECE_COUNT)
                .min(MAX_PIECE_COUNT)
                .div_ceil(8)
        }
        MessageKind::Extended => MAX_EXTENDED_MESSAGE_LEN,
        MessageKind::Unknown(_) => MAX_UNKNOWN_MESSAGE_LEN,
        fixed => fixed_body_len(fixed).unwrap_or(1),
    }
}

fn fixed_body_len(kind: MessageKind) -> Option<u32> {
    match kind {
        MessageKind::Choke
        | MessageKind::Unchoke
        | MessageKind::Interested
        | MessageKind::NotInterested
        | MessageKind::HaveAll
        | MessageKind::HaveNone => Some(1),
        MessageKind::Have | MessageKind::SuggestPiece | MessageKind::AllowedFast => Some(5),
        MessageKind::Request | MessageKind::Cancel | MessageKind::RejectRequest => Some(13),
        MessageKind::Port => Some(3),
        _ => None,
    }
}

/// The total length of the frame at the start of `header`, once enough of it is known.
fn frame_len(
    header: &[u8],
    handshake_done: bool,
    piece_count: Option<u32>,
) -> Result<Option<usize>> {
    if !handshake_done {
        Handshake::check_prefix(header)?;
        return Ok(Some(HANDSHAKE_LEN));
    }
    let Some(prefix) = header.get(..4) else {
        return Ok(None);
    };
    let length = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]);
    if length == 0 {
        return Ok(Some(4));
    }
    let Some(&id) = header.get(4) else {
        if length > MAX_MESSAGE_LEN {
            return Err(Error::LengthPrefixTooLong {
                length,
                max: MAX_MESSAGE_LEN,
            });
        }
        return Ok(None);
    };
    let kind = MessageKind::from_id(id);
    if let Some(expected) = fixed_body_len(kind) {
        if length != expected {
            return Err(Error::MessageLength {
                kind,
                length,
                expected,
            });
        }
    }
    let max = max_body_len(id, piece_count);
    if length > max {
        return Err(Error::MessageTooLong { kind, length, max });
    }
    Ok(Some(4 + length as usize))
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(slice) = bytes.get(at..at + 4) {
        word.copy_from_slice(slice);
    }
    u32::from_be_bytes(word)
}

fn block_ref(body: &[u8]) -> BlockRef {
    BlockRef {
        piece: read_u32(body, 0),
        offset: read_u32(body, 4),
        length: read_u32(body, 8),
    }
}

/// Parses one whole message frame (length prefix included) whose length was checked.
fn parse_message(frame: Bytes, piece_count: Option<u32>) -> Result<Message> {
    if frame.len() == 4 {
        return Ok(Message::KeepAlive);
    }
    let id = frame[4];
    let body = &frame[5..];
    Ok(match MessageKind::from_id(id) {
        MessageKind::Choke => Message::Choke,
        MessageKind::Unchoke => Message::Unchoke,
        MessageKind::Interested => Message::Interested,
        MessageKind::NotInterested => Message::NotInterested,
        MessageKind::HaveAll => Message::HaveAll,
        MessageKind::HaveNone => Message::HaveNone,
        MessageKind::Have => Message::Have(read_u32(body, 0)),
        MessageKind::SuggestPiece => Message::SuggestPiece(read_u32(body, 0)),
        MessageKind::AllowedFast => Message::AllowedFast(read_u32(body, 0)),
        MessageKind::Request => Message::Request(block_ref(body)),
        MessageKind::Cancel => Message::Cancel(block_ref(body)),
        MessageKind::RejectRequest => Message::RejectRequest(block_ref(body)),
        MessageKind::Port => Message::Port(u16::from_be_bytes([body[0], body[1]])),
        MessageKind::Bitfield => Message::Bitfield(parse_bitfield(body, piece_count)?),
        MessageKind::Piece => {
            if body.len() < 8 {
                return Err(Error::MessageLength {
                    kind: MessageKind::Piece,
                    length: frame.len() as u32 - 4,
                    expected: 9,
                });
            }
            Message::Piece(Block {
                piece: read_u32(body, 0),
                offset: read_u32(body, 4),
                data: frame.slice(13..),
            })
        }
        MessageKind::Extended => {
            let Some(&extension_id) = body.first() else {
                return Err(Error::MessageLength {
                    kind: MessageKind::Extended,
                    length: 1,
                    expected: 2,
                });
            };
            Message::Extended {
                id: extension_id,
                payload: frame.slice(6..),
            }
        }
        MessageKind::Unknown(id) => Message::Unknown {
            id,
            payload: frame.slice(5..),
        },
        // `from_id` never says keep-alive (it has no id); a length-0 frame returned above.
        MessageKind::KeepAlive => Message::KeepAlive,
    })
}

/// Checks a received bitfield against the piece count (when known): exactly
/// `ceil(count / 8)` bytes with the spare bits zero. The result has exactly `count` bits
/// (or 8 per byte when the count is not known yet).
///
/// # Errors
/// [`Error::BitfieldSize`] otherwise.
pub fn parse_bitfield(bytes: &[u8], piece_count: Option<u32>) -> Result<Bitfield> {
    let mut bits = Bitfield::from_slice(bytes);
    if let Some(count) = piece_count {
        let wrong = || Error::BitfieldSize {
            bytes: bytes.len(),
            pieces: count,
        };
        if bytes.len() != (count as usize).div_ceil(8) {
            return Err(wrong());
        }
        if bits[count as usize..].any() {
            return Err(wrong());
        }
        bits.truncate(count as usize);
    }
    Ok(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(decoder: &mut Decoder) -> Result<Vec<Frame>> {
        let mut out = Vec::new();
        while let Some(frame) = decoder.next_frame()? {
            out.push(frame);
        }
        Ok(out)
    }

    #[test]
    fn oversized_piece_is_refused_from_the_header_alone() {
        let mut decoder = Decoder::after_handshake();
        decoder.feed(&[0, 0, 0x40, 0x0e, 7]); // 16398 > 9 + 16384
        assert_eq!(
            decoder.next_frame(),
            Err(Error::MessageTooLong {
                kind: MessageKind::Piece,
                length: 16_398,
                max: MAX_PIECE_MESSAGE_LEN
            })
        );
    }

    #[test]
    fn huge_length_is_refused_before_the_id_arrives() {
        let mut decoder = Decoder::after_handshake();
        decoder.feed(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            decoder.next_frame(),
            Err(Error::LengthPrefixTooLong {
                length: u32::MAX,
                max: MAX_MESSAGE_LEN
            })
        );
    }

    #[test]
    fn fixed_sizes_are_enforced() {
        let mut decoder = Decoder::after_handshake();
        decoder.feed(&[0, 0, 0, 2, 1, 0]);
        assert_eq!(
            decoder.next_frame(),
            Err(Error::MessageLength {
                kind: MessageKind::Unchoke,
                length: 2,
                expected: 1
            })
        );
    }

    #[test]
    fn bitfield_checked_against_piece_count() {
        let mut decoder = Decoder::after_handshake();
        decoder.set_piece_count(10);
        decoder.feed(&[0, 0, 0, 3, 5, 0xff, 0xc0]);
        let got = frames(&mut decoder).expect("valid");
        let Frame::Message(Message::Bitfield(bits)) = &got[0] else {
            panic!("not a bitfield: {got:?}");
        };
        assert_eq!(bits.len(), 10);
        assert!(bits.all());
        // Spare bit set.
        let mut decoder = Decoder::after_handshake();
        decoder.set_piece_count(10);
        decoder.feed(&[0, 0, 0, 3, 5, 0xff, 0xe0]);
        assert!(matches!(
            decoder.next_frame(),
            Err(Error::BitfieldSize { .. })
        ));
        // Too long for the piece count: refused from the header.
        let mut decoder = Decoder::after_handshake();
        decoder.set_piece_count(10);
        decoder.feed(&[0, 0, 0, 4, 5]);
        assert!(matches!(
            decoder.next_frame(),
            Err(Error::MessageTooLong { .. })
        ));
    }

    #[test]
    fn wrong_protocol_string_fails_early() {
        let mut decoder = Decoder::new();
        decoder.feed(b"\x13BitTorrent prot0");
        assert_eq!(decoder.next_frame(), Err(Error::HandshakeProtocol));
    }

    #[test]
    fn an_error_is_final() {
        let mut decoder = Decoder::after_handshake();
        decoder.set_piece_count(7);
        // A bitfield with its spare bit set…
        decoder.feed(&[0, 0, 0, 2, 5, 0xff, 0, 0, 0, 1, 2]);
        let error = decoder.next_frame().expect_err("spare bit set");
        assert!(matches!(error, Error::BitfieldSize { .. }));
        // …then a valid message: the decoder still refuses, the connection is over.
        assert_eq!(decoder.next_frame(), Err(error));
    }

    #[test]
    fn piece_inside_one_chunk_is_not_copied() {
        let message = Message::Piece(Block {
            piece: 1,
            offset: 0,
            data: Bytes::from(vec![5u8; 100]),
        })
        .to_bytes();
        let mut decoder = Decoder::after_handshake();
        decoder.feed_bytes(message.clone());
        let Some(Frame::Message(Message::Piece(block))) = decoder.next_frame().expect("valid")
        else {
            panic!("expected a piece");
        };
        assert_eq!(block.data.as_ptr(), message[13..].as_ptr());
    }
}
