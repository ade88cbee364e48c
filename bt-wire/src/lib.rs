//! # bt-wire
//!
//! The BitTorrent peer wire protocol as WebTorrent speaks it over WebRTC data channels, as a
//! pure codec: no sockets, no clocks, no async runtime. The engine above (`bt-swarm`) owns the
//! data channels and timers and deals in the meanings this crate produces.
//!
//! * [`bencode`]: decoder with exact byte spans (info-hash = SHA-1 of the `info` bytes as
//!   received), canonical encoder.
//! * [`Metainfo`] / [`Info`] (BEP 3 v1): `.torrent` files, file paths as components,
//!   piece hashes, [`TorrentBuilder`] + [`PieceHasher`] to create torrents for seeding.
//! * [`InfoHash`]: hex and base32, `Display` as 40 lowercase hex.
//! * [`PieceMath`]: pieces, 16 KiB blocks ([`BLOCK_SIZE`]), the short last piece and block.
//! * [`Magnet`] links, `magnet:?xt=urn:btih:…&dn=…&tr=…&x.pe=…`, parsed and produced.
//! * [`Handshake`], [`Message`] (BEP 3, BEP 6 fast set, BEP 10 envelope) and their encoders.
//! * [`Decoder`]: bytes in any chunking → [`Frame`]s, every length bounded
//!   ([`MAX_PIECE_MESSAGE_LEN`], [`MAX_EXTENDED_MESSAGE_LEN`], bitfields by piece count).
//! * [`ExtensionHandshake`] (BEP 10), [`MetadataMessage`] + [`MetadataAssembler`] (BEP 9),
//!   [`PexMessage`] (BEP 11).
//! * [`Session`]: the sans-IO connection state — handshakes in both roles, info-hash check,
//!   choke/interest flags, both sides' extension ids, piece indices checked against the
//!   torrent once [`Session::set_piece_math`] is called — emitting [`Event`]s.
//!
//! Received chunks handed over as [`Bytes`] ([`Decoder::feed_bytes`], [`Session::handle_bytes`])
//! are parsed in place: a block inside one chunk comes out as a slice of it, never copied.
//!
//! Every failure is one [`Error`] variant naming what was wrong; nothing panics on input.
//!
//! ## Feeding bytes and reading messages
//!
//! The lowest level is the [`Decoder`]: feed whatever the data channel delivered, then take
//! frames until it says it needs more. Chunk boundaries mean nothing.
//!
//! ```
//! use bt_wire::{Decoder, Frame, Handshake, InfoHash, Message, PeerId, Reserved};
//! use bytes::BytesMut;
//!
//! // What a peer might send: its handshake, an unchoke and a 16 KiB block.
//! let handshake = Handshake {
//!     reserved: Reserved::EXTENSION_PROTOCOL,
//!     info_hash: InfoHash([0xab; 20]),
//!     peer_id: PeerId(*b"-WW0208-123456789012"),
//! };
//! let mut stream = BytesMut::new();
//! stream.extend_from_slice(&handshake.to_bytes());
//! Message::Unchoke.encode(&mut stream);
//! let block = bt_wire::Block { piece: 3, offset: 16_384, data: vec![9u8; 16_384].into() };
//! Message::Piece(block.clone()).encode(&mut stream);
//!
//! // Deliver it in awkward 1000-byte pieces, reading frames as they complete.
//! let mut decoder = Decoder::new();
//! let mut frames = Vec::new();
//! for chunk in stream.chunks(1000) {
//!     decoder.feed(chunk);
//!     while let Some(frame) = decoder.next_frame()? {
//!         frames.push(frame);
//!     }
//! }
//! assert_eq!(frames, vec![
//!     Frame::Handshake(handshake),
//!     Frame::Message(Message::Unchoke),
//!     Frame::Message(Message::Piece(block)),
//! ]);
//! # Ok::<(), bt_wire::Error>(())
//! ```
//!
//! ## A whole connection
//!
//! The engine usually drives a [`Session`] per peer: `handle_input` with received bytes,
//! `poll_event` for what the peer said, `send` to answer, `poll_transmit` for bytes to write.
//!
//! ```
//! use bt_wire::{Event, InfoHash, Message, PeerId, Role, Session, SessionConfig, BlockRef};
//!
//! let hash = InfoHash([7; 20]);
//! let mut leecher = Session::new(Role::Initiator, SessionConfig::new(hash, PeerId([1; 20])));
//! let mut seeder = Session::new(
//!     Role::Responder,
//!     SessionConfig::new(hash, PeerId([2; 20])).with_metadata_size(1234),
//! );
//! let mut pump = |from: &mut Session, to: &mut Session| -> Result<(), bt_wire::Error> {
//!     while let Some(bytes) = from.poll_transmit(16 * 1024) {
//!         to.handle_input(&bytes)?;
//!     }
//!     Ok(())
//! };
//! pump(&mut leecher, &mut seeder)?; // leecher's handshake
//! pump(&mut seeder, &mut leecher)?; // seeder's handshake + extension handshake
//! pump(&mut leecher, &mut seeder)?; // leecher's extension handshake
//!
//! // The leecher learned the seeder's metadata size and ut_metadata id.
//! let mut events = std::iter::from_fn(|| leecher.poll_event());
//! assert!(matches!(events.next(), Some(Event::Handshake { .. })));
//! match events.next() {
//!     Some(Event::ExtensionHandshake(ext)) => assert_eq!(ext.metadata_size, Some(1234)),
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! leecher.send(Message::Interested)?;
//! pump(&mut leecher, &mut seeder)?;
//! assert!(seeder.peer_interested());
//! seeder.send(Message::Unchoke)?;
//! pump(&mut seeder, &mut leecher)?;
//! assert!(!leecher.peer_choking());
//! leecher.send(Message::Request(BlockRef { piece: 0, offset: 0, length: 16_384 }))?;
//! # Ok::<(), bt_wire::Error>(())
//! ```

pub mod bencode;
pub mod decoder;
pub mod error;
pub mod extension;
pub mod handshake;
pub mod info_hash;
pub mod magnet;
pub mod message;
pub mod metainfo;
pub mod piece_math;
pub mod session;
pub mod torrent_builder;
pub mod ut_metadata;
pub mod ut_pex;

/// The buffer types of block payloads and stream chunks (re-exported from `bytes`).
pub use bytes::{Bytes, BytesMut};
pub use decoder::{
    parse_bitfield, Decoder, Frame, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN, MAX_PIECE_COUNT,
    MAX_PIECE_MESSAGE_LEN, MAX_UNKNOWN_MESSAGE_LEN,
};
pub use error::{Error, Result};
pub use extension::{ExtensionHandshake, UT_METADATA, UT_PEX};
pub use handshake::{Handshake, PeerId, Reserved, HANDSHAKE_LEN};
pub use info_hash::InfoHash;
pub use magnet::Magnet;
pub use message::{bitfield_from, Bitfield, Block, Message, MessageKind};
pub use metainfo::{FileEntry, Info, Metainfo, PieceHash};
pub use piece_math::{BlockRef, PieceMath, BLOCK_SIZE};
pub use session::{Event, Role, Session, SessionConfig};
pub use torrent_builder::{PieceHasher, TorrentBuilder};
pub use ut_metadata::{MetadataAssembler, MetadataMessage, METADATA_PIECE_SIZE};
pub use ut_pex::PexMessage;
