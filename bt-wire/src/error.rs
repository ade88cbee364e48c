//! The crate's one error type: every decoder and state machine reports what was wrong and where.

use crate::message::MessageKind;

/// Everything that can go wrong while decoding, encoding or running a session.
///
/// Every variant names the violation and, where it helps, the position or the field, so a
/// peer that sends garbage can be dropped with a log line that explains why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bencode input ended before the value did.
    #[error("bencode: unexpected end of input at byte {offset}")]
    BencodeEof {
        /// Byte offset where more input was needed.
        offset: usize,
    },
    /// A byte that cannot start or continue a bencode value.
    #[error("bencode: unexpected byte 0x{byte:02x} at byte {offset}")]
    BencodeUnexpectedByte {
        /// The offending byte.
        byte: u8,
        /// Its offset.
        offset: usize,
    },
    /// An integer that is malformed (leading zeros, `-0`, empty) or does not fit in `i64`.
    #[error("bencode: invalid integer at byte {offset}")]
    BencodeInvalidInteger {
        /// Offset of the `i` that started it.
        offset: usize,
    },
    /// A byte-string length prefix that is malformed or runs past the input.
    #[error("bencode: invalid string length at byte {offset}")]
    BencodeInvalidLength {
        /// Offset of the length prefix.
        offset: usize,
    },
    /// Lists and dictionaries nested deeper than [`crate::bencode::MAX_DEPTH`].
    #[error("bencode: nesting deeper than {max} at byte {offset}")]
    BencodeTooDeep {
        /// The limit.
        max: usize,
        /// Offset of the container that went over it.
        offset: usize,
    },
    /// A dictionary key that appears twice in the same dictionary.
    #[error("bencode: duplicate dictionary key at byte {offset}")]
    BencodeDuplicateKey {
        /// Offset of the repeated key.
        offset: usize,
    },
    /// Bytes left over after a complete value where none were expected.
    #[error("bencode: {extra} trailing bytes after the value")]
    BencodeTrailingBytes {
        /// How many bytes were left.
        extra: usize,
    },
    /// Bencode input longer than the caller's limit.
    #[error("bencode: input of {length} bytes exceeds the limit of {max}")]
    BencodeTooLong {
        /// Input length.
        length: usize,
        /// The limit.
        max: usize,
    },

    /// A required field is missing from a bencoded dictionary.
    #[error("{context}: missing field `{field}`")]
    MissingField {
        /// Which structure was being read (e.g. `info`, `extension handshake`).
        context: &'static str,
        /// The field name.
        field: &'static str,
    },
    /// A field has the wrong bencode type or an out-of-range value.
    #[error("{context}: field `{field}` is invalid: {reason}")]
    InvalidField {
        /// Which structure was being read.
        context: &'static str,
        /// The field name.
        field: &'static str,
        /// What was wrong with it.
        reason: &'static str,
    },

    /// A 40-character hex or 32-character base32 info-hash could not be parsed.
    #[error("invalid info-hash `{input}`: expected 40 hex or 32 base32 characters")]
    InvalidInfoHash {
        /// The rejected text (truncated to 80 characters).
        input: String,
    },
    /// A magnet URI that cannot be used, with the reason.
    #[error("invalid magnet URI: {reason}")]
    InvalidMagnet {
        /// What was wrong.
        reason: &'static str,
    },

    /// The first 20 bytes of a handshake were not `\x13BitTorrent protocol`.
    #[error("handshake: wrong protocol string")]
    HandshakeProtocol,
    /// The peer's handshake was for another torrent.
    #[error("handshake: info-hash {received} does not match the expected {expected}")]
    InfoHashMismatch {
        /// The torrent this session is for.
        expected: crate::InfoHash,
        /// What the peer asked for.
        received: crate::InfoHash,
    },
    /// A length prefix above [`crate::MAX_MESSAGE_LEN`], refused before the id byte arrives.
    #[error("message length {length} exceeds the largest allowed ({max})")]
    LengthPrefixTooLong {
        /// The announced length (id and payload).
        length: u32,
        /// The bound.
        max: u32,
    },
    /// A message's length prefix is above the bound for its kind.
    #[error("{kind} message of {length} bytes exceeds the limit of {max}")]
    MessageTooLong {
        /// The message kind (from its id byte).
        kind: MessageKind,
        /// The announced length (id and payload).
        length: u32,
        /// The bound for this kind.
        max: u32,
    },
    /// A fixed-size message whose length prefix is not the size of its kind.
    #[error("{kind} message has length {length}, expected {expected}")]
    MessageLength {
        /// The message kind.
        kind: MessageKind,
        /// The announced length (id and payload).
        length: u32,
        /// The only valid length.
        expected: u32,
    },
    /// A bitfield whose size does not match the torrent's piece count, or with spare bits set.
    #[error("bitfield of {bytes} bytes is invalid for {pieces} pieces")]
    BitfieldSize {
        /// Payload size received.
        bytes: usize,
        /// Piece count of the torrent.
        pieces: u32,
    },
    /// A message arrived that the session's state does not allow (e.g. before the handshake).
    #[error("protocol violation: {reason}")]
    Protocol {
        /// What happened.
        reason: &'static str,
    },
    /// We tried to use an extension the peer did not announce.
    #[error("the peer does not support the `{name}` extension")]
    ExtensionNotSupported {
        /// The extension's name in `m` (e.g. `ut_metadata`).
        name: &'static str,
    },
    /// A `ut_metadata` message was malformed or out of range.
    #[error("ut_metadata: {reason}")]
    Metadata {
        /// What was wrong.
        reason: &'static str,
    },
    /// The assembled info dictionary does not hash to the torrent's info-hash.
    #[error("metadata does not hash to info-hash {expected}")]
    MetadataHashMismatch {
        /// The info-hash we wanted.
        expected: crate::InfoHash,
    },
    /// A piece index at or past the torrent's piece count.
    #[error("piece {piece} out of range ({piece_count} pieces)")]
    PieceOutOfRange {
        /// The index received.
        piece: u32,
        /// The torrent's piece count.
        piece_count: u32,
    },
    /// A piece or block index/offset/length outside the torrent.
    #[error("block out of range: piece {piece}, offset {offset}, length {length}")]
    BlockOutOfRange {
        /// Piece index.
        piece: u32,
        /// Offset inside the piece.
        offset: u32,
        /// Length in bytes.
        length: u32,
    },
    /// Parameters given to a builder that cannot make a valid torrent.
    #[error("cannot build torrent: {reason}")]
    InvalidTorrent {
        /// What was wrong.
        reason: &'static str,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
