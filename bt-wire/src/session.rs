//! The sans-IO peer session: one connection's protocol state. Bytes from the peer go in,
//! events with meanings come out, and bytes to send wait in an output buffer. No sockets,
//! no clocks, no tasks: the engine drives it.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use crate::decoder::{Decoder, Frame};
use crate::error::{Error, Result};
use crate::extension::{ExtensionHandshake, HANDSHAKE_ID, UT_METADATA, UT_PEX};
use crate::handshake::{Handshake, PeerId, Reserved};
use crate::info_hash::InfoHash;
use crate::message::Message;
use crate::piece_math::PieceMath;
use crate::ut_metadata::MetadataMessage;
use crate::ut_pex::PexMessage;

/// Which side opened the connection (the initiator sends its handshake first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We connected: our handshake goes out immediately.
    Initiator,
    /// The peer connected: we answer its handshake after checking the info-hash.
    Responder,
}

/// What we announce about ourselves.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The torrent this connection is for; a peer asking for another one is refused.
    pub info_hash: InfoHash,
    /// Our peer id.
    pub peer_id: PeerId,
    /// Our reserved bits (default: the extension protocol bit only).
    pub reserved: Reserved,
    /// Our extension handshake (its `m` says which ids we receive extensions on).
    pub extension_handshake: ExtensionHandshake,
}

impl SessionConfig {
    /// Defaults: extension bit set, `ut_metadata` on id 1 and `ut_pex` on id 2 (as WebTorrent
    /// numbers them), `reqq` 250, client `v` = `rondevu-torrent <version>`.
    pub fn new(info_hash: InfoHash, peer_id: PeerId) -> Self {
        let mut extension_handshake = ExtensionHandshake::default();
        extension_handshake
            .extensions
            .insert(UT_METADATA.to_string(), 1);
        extension_handshake.extensions.insert(UT_PEX.to_string(), 2);
        extension_handshake.reqq = Some(250);
        extension_handshake.client = Some(format!("rondevu-torrent {}", env!("CARGO_PKG_VERSION")));
        SessionConfig {
            info_hash,
            peer_id,
            reserved: Reserved::EXTENSION_PROTOCOL,
            extension_handshake,
        }
    }

    /// Announces the info dictionary's size (a seeder, or a leecher that has the metadata).
    pub fn with_metadata_size(mut self, size: u32) -> Self {
        self.extension_handshake.metadata_size = Some(size);
        self
    }
}

/// Something the peer said, already checked and applied to the session's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The peer's handshake arrived and names our torrent.
    Handshake {
        /// The peer's id.
        peer_id: PeerId,
        /// The peer's feature bits.
        reserved: Reserved,
    },
    /// The peer's extension handshake (ids in [`Session::remote_extension_id`] from now on).
    ExtensionHandshake(ExtensionHandshake),
    /// A core message (choke and interest flags are already updated).
    Message(Message),
    /// A `ut_metadata` message.
    Metadata(MetadataMessage),
    /// A `ut_pex` message.
    Pex(PexMessage),
    /// An extended message on an id we did not announce or do not decode.
    UnknownExtension {
        /// The id it arrived on.
        id: u8,
        /// Its payload.
        payload: Bytes,
    },
}

/// One peer connection's protocol state.
///
/// ```
/// use bt_wire::{Event, InfoHash, Message, PeerId, Role, Session, SessionConfig};
/// let hash = InfoHash([7; 20]);
/// let mut a = Session::new(Role::Initiator, SessionConfig::new(hash, PeerId([1; 20])));
/// let mut b = Session::new(Role::Responder, SessionConfig::new(hash, PeerId([2; 20])));
/// // Shuttle bytes both ways until nothing moves (a driver would use the data channel).
/// for _ in 0..3 {
///     while let Some(bytes) = a.poll_transmit(16 * 1024) { b.handle_input(&bytes).unwrap(); }
///     while let Some(bytes) = b.poll_transmit(16 * 1024) { a.handle_input(&bytes).unwrap(); }
/// }
/// assert!(a.is_established() && b.is_established());
/// assert_eq!(b.remote_extension_id("ut_metadata"), Some(1));
/// a.send(Message::Interested).unwrap();
/// while let Some(bytes) = a.poll_transmit(16 * 1024) { b.handle_input(&bytes).unwrap(); }
/// assert!(b.peer_interested());
/// ```
#[derive(Debug)]
pub struct Session {
    role: Role,
    config: SessionConfig,
    decoder: Decoder,
    output: BytesMut,
    events: VecDeque<Event>,
    remote: Option<Handshake>,
    remote_extensions: Option<ExtensionHandshake>,
    am_choking: bool,
    am_interested: bool,
    peer_choking: bool,
    peer_interested: bool,
    seen_availability: bool,
    piece_math: Option<PieceMath>,
    failed: Option<Error>,
}

impl Session {
    /// A new session; an initiator's handshake is queued for sending at once.
    pub fn new(role: Role, config: SessionConfig) -> Self {
        let mut session = Session {
            role,
            config,
            decoder: Decoder::new(),
            output: BytesMut::new(),
            events: VecDeque::new(),
            remote: None,
            remote_extensions: None,
            am_choking: true,
            am_interested: false,
            peer_choking: true,
            peer_interested: false,
            seen_availability: false,
            piece_math: None,
            failed: None,
        };
        if role == Role::Initiator {
            session.queue_handshake();
        }
        session
    }

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Tightens bitfield checks once the torrent's piece count is known.
    pub fn set_piece_count(&mut self, piece_count: u32) {
        self.decoder.set_piece_count(piece_count);
    }

    /// Once the torrent's shape is known (from the start, or after `ut_metadata`): bitfields
    /// must match its piece count, and every piece index and block the peer sends (`have`,
    /// `request`, `piece`, `cancel`, fast-extension messages) must lie inside the torrent,
    /// or [`Session::handle_input`] fails with [`Error::PieceOutOfRange`] or
    /// [`Error::BlockOutOfRange`].
    pub fn set_piece_math(&mut self, math: PieceMath) {
        self.decoder.set_piece_count(math.piece_count());
        self.piece_math = Some(math);
    }

    /// Bytes received from the peer, in any chunking. Events become available from
    /// [`Session::poll_event`]; replies (our handshake) from [`Session::poll_transmit`].
    ///
    /// # Errors
    /// Any decoding error or protocol violation. The connection must then be closed; the
    /// session keeps returning the error.
    pub fn handle_input(&mut self, data: &[u8]) -> Result<()> {
        self.decoder.feed(data);
        self.drain()
    }

    /// As [`Session::handle_input`], without copying the chunk (piece payloads stay slices).
    ///
    /// # Errors
    /// As [`Session::handle_input`].
    pub fn handle_bytes(&mut self, data: Bytes) -> Result<()> {
        self.decoder.feed_bytes(data);
        self.drain()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Up to `max_len` bytes to send to the peer, if any are waiting.
    pub fn poll_transmit(&mut self, max_len: usize) -> Option<Bytes> {
        if self.output.is_empty() || max_len == 0 {
            return None;
        }
        let take = self.output.len().min(max_len);
        Some(self.output.split_to(take).freeze())
    }

    /// Bytes waiting to be sent (for backpressure decisions).
    pub fn pending_output(&self) -> usize {
        self.output.len()
    }

    /// Queues a message for the peer and updates our choke/interest flags.
    ///
    /// # Errors
    /// [`Error::Protocol`] before the handshakes are exchanged, or for a fast-extension
    /// message when both sides did not set the fast bit.
    pub fn send(&mut self, message: Message) -> Result<()> {
        self.check_usable()?;
        if self.remote.is_none() {
            return Err(Error::Protocol {
                reason: "cannot send messages before the peer's handshake",
            });
        }
        if is_fast_message(&message) && !self.fast_enabled() {
            return Err(Error::Protocol {
                reason: "fast extension message but the fast extension was not negotiated",
            });
        }
        match &message {
            Message::Choke => self.am_choking = true,
            Message::Unchoke => self.am_choking = false,
            Message::Interested => self.am_interested = true,
            Message::NotInterested => self.am_interested = false,
            _ => {}
        }
        message.encode(&mut self.output);
        Ok(())
    }

    /// Sends a `ut_metadata` message with the id the peer announced.
    ///
    /// # Errors
    /// [`Error::ExtensionNotSupported`] if the peer did not announce `ut_metadata`.
    pub fn send_metadata(&mut self, message: &MetadataMessage) -> Result<()> {
        self.send_extension(UT_METADATA, message.encode().into())
    }

    /// Sends an extended message for extension `name` with the id the peer announced.
    ///
    /// # Errors
    /// [`Error::ExtensionNotSupported`] if the peer did not announce `name`.
    pub fn send_extension(&mut self, name: &'static str, payload: Bytes) -> Result<()> {
        let id = self
            .remote_extension_id(name)
            .ok_or(Error::ExtensionNotSupported { name })?;
        self.send(Message::Extended { id, payload })
    }

    /// True once both handshakes are exchanged.
    pub fn is_established(&self) -> bool {
        self.remote.is_some() && self.failed.is_none()
    }

    /// The peer's handshake, once received.
    pub fn remote_handshake(&self) -> Option<&Handshake> {
        self.remote.as_ref()
    }

    /// The peer's extension handshake, once received.
    pub fn remote_extensions(&self) -> Option<&ExtensionHandshake> {
        self.remote_extensions.as_ref()
    }

    /// The id the peer wants extension `name` sent with.
    pub fn remote_extension_id(&self, name: &str) -> Option<u8> {
        self.remote_extensions.as_ref()?.id_of(name)
    }

    /// The id we receive extension `name` on (from our own `m`).
    pub fn local_extension_id(&self, name: &str) -> Option<u8> {
        self.config.extension_handshake.id_of(name)
    }

    /// True when both sides set the BEP 6 fast bit.
    pub fn fast_enabled(&self) -> bool {
        self.config.reserved.supports_fast()
            && self
                .remote
                .is_some_and(|remote| remote.reserved.supports_fast())
    }

    /// True when both sides set the BEP 10 extension bit.
    pub fn extensions_enabled(&self) -> bool {
        self.config.reserved.supports_extensions()
            && self
                .remote
                .is_some_and(|remote| remote.reserved.supports_extensions())
    }

    /// We are choking the peer (initially true).
    pub fn am_choking(&self) -> bool {
        self.am_choking
    }

    /// We told the peer we are interested.
    pub fn am_interested(&self) -> bool {
        self.am_interested
    }

    /// The peer is choking us (initially true).
    pub fn peer_choking(&self) -> bool {
        self.peer_choking
    }

    /// The peer told us it is interested.
    pub fn peer_interested(&self) -> bool {
        self.peer_interested
    }

    fn check_usable(&self) -> Result<()> {
        match &self.failed {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    fn drain(&mut self) -> Result<()> {
        self.check_usable()?;
        loop {
            let frame = match self.decoder.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => return Ok(()),
                Err(error) => return Err(self.fail(error)),
            };
            if let Err(error) = self.on_frame(frame) {
                return Err(self.fail(error));
            }
        }
    }

    fn fail(&mut self, error: Error) -> Error {
        tracing::debug!(%error, "peer session failed");
        self.failed = Some(error.clone());
        error
    }

    fn queue_handshake(&mut self) {
        let handshake = Handshake {
            reserved: self.config.reserved,
            info_hash: self.config.info_hash,
            peer_id: self.config.peer_id,
        };
        self.output.extend_from_slice(&handshake.to_bytes());
    }

    fn on_frame(&mut self, frame: Frame) -> Result<()> {
        match frame {
            Frame::Handshake(handshake) => self.on_handshake(handshake),
            Frame::Message(message) => self.on_message(message),
        }
    }

    fn on_handshake(&mut self, handshake: Handshake) -> Result<()> {
        if handshake.info_hash != self.config.info_hash {
            return Err(Error::InfoHashMismatch {
                expected: self.config.info_hash,
                received: handshake.info_hash,
            });
        }
        tracing::debug!(peer_id = %handshake.peer_id, "peer handshake");
        self.remote = Some(handshake);
        if self.role == Role::Responder {
            self.queue_handshake();
        }
        if self.extensions_enabled() {
            let payload = self.config.extension_handshake.encode();
            Message::Extended {
                id: HANDSHAKE_ID,
                payload: payload.into(),
            }
            .encode(&mut self.output);
        }
        self.events.push_back(Event::Handshake {
            peer_id: handshake.peer_id,
            reserved: handshake.reserved,
        });
        Ok(())
    }

    fn on_message(&mut self, message: Message) -> Result<()> {
        if is_fast_message(&message) && !self.fast_enabled() {
            return Err(Error::Protocol {
                reason: "fast extension message but the fast extension was not negotiated",
            });
        }
        if let Some(math) = &self.piece_math {
            check_in_torrent(math, &message)?;
        }
        match &message {
            Message::Extended { id, payload } => return self.on_extended(*id, payload),
            Message::KeepAlive => {}
            // BEP 3 wants the bitfield first, but WebTorrent fetching by magnet sends
            // `interested` (once it has the metadata and sees our pieces) before its bitfield;
            // only a bitfield after the peer already told us what it has is refused.
            Message::Bitfield(_) | Message::HaveAll | Message::HaveNone => {
                if self.seen_availability {
                    return Err(Error::Protocol {
                        reason: "bitfield, have-all or have-none after have or another bitfield",
                    });
                }
                self.seen_availability = true;
            }
            other => {
                if matches!(other, Message::Have(_)) {
                    self.seen_availability = true;
                }
                match other {
                    Message::Choke => self.peer_choking = true,
                    Message::Unchoke => self.peer_choking = false,
                    Message::Interested => self.peer_interested = true,
                    Message::NotInterested => self.peer_interested = false,
                    _ => {}
                }
            }
        }
        self.events.push_back(Event::Message(message));
        Ok(())
    }

    fn on_extended(&mut self, id: u8, payload: &Bytes) -> Result<()> {
        if !self.extensions_enabled() {
            return Err(Error::Protocol {
                reason: "extended message but the extension protocol was not negotiated",
            });
        }
        let event = if id == HANDSHAKE_ID {
            let handshake = ExtensionHandshake::decode(payload)?;
            tracing::debug!(client = ?handshake.client, extensions = ?handshake.extensions, "peer extension handshake");
            self.remote_extensions = Some(handshake.clone());
            Event::ExtensionHandshake(handshake)
        } else {
            match self.config.extension_handshake.name_of(id) {
                Some(UT_METADATA) => Event::Metadata(MetadataMessage::decode(payload)?),
                Some(UT_PEX) => Event::Pex(PexMessage::decode(payload)?),
                _ => Event::UnknownExtension {
                    id,
                    payload: payload.clone(),
                },
            }
        };
        self.events.push_back(event);
        Ok(())
    }
}

/// Checks the piece indices and blocks a message names against the torrent's shape.
fn check_in_torrent(math: &PieceMath, message: &Message) -> Result<()> {
    match message {
        Message::Have(piece) | Message::SuggestPiece(piece) | Message::AllowedFast(piece)
            if *piece >= math.piece_count() =>
        {
            return Err(Error::PieceOutOfRange {
                piece: *piece,
                piece_count: math.piece_count(),
            });
        }
        Message::Request(block) | Message::Cancel(block) | Message::RejectRequest(block) => {
            math.check_block(*block)?
        }
        Message::Piece(block) => math.check_block(block.block_ref())?,
        _ => {}
    }
    Ok(())
}

fn is_fast_message(message: &Message) -> bool {
    matches!(
        message,
        Message::SuggestPiece(_)
            | Message::HaveAll
            | Message::HaveNone
            | Message::RejectRequest(_)
            | Message::AllowedFast(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::bitfield_from;

    fn pump(from: &mut Session, to: &mut Session) -> Result<()> {
        while let Some(bytes) = from.poll_transmit(7) {
            to.handle_input(&bytes)?;
        }
        Ok(())
    }

    fn pair() -> (Session, Session) {
        let hash = InfoHash([3; 20]);
        let mut a = Session::new(Role::Initiator, SessionConfig::new(hash, PeerId([1; 20])));
        let mut b = Session::new(Role::Responder, SessionConfig::new(hash, PeerId([2; 20])));
        assert_eq!(
            b.poll_transmit(100),
            None,
            "a responder waits for the handshake"
        );
        for _ in 0..2 {
            pump(&mut a, &mut b).expect("a to b");
            pump(&mut b, &mut a).expect("b to a");
        }
        (a, b)
    }

    #[test]
    fn handshake_both_roles_and_extension_ids() {
        let (mut a, mut b) = pair();
        assert!(a.is_established() && b.is_established());
        assert_eq!(
            a.remote_handshake().map(|h| h.peer_id),
            Some(PeerId([2; 20]))
        );
        assert_eq!(a.remote_extension_id(UT_PEX), Some(2));
        assert_eq!(b.local_extension_id(UT_METADATA), Some(1));
        assert!(matches!(a.poll_event(), Some(Event::Handshake { .. })));
        assert!(matches!(a.poll_event(), Some(Event::ExtensionHandshake(_))));
        assert!(matches!(b.poll_event(), Some(Event::Handshake { .. })));
        assert!(matches!(b.poll_event(), Some(Event::ExtensionHandshake(_))));
    }

    #[test]
    fn flags_follow_messages_and_metadata_is_routed() {
        let (mut a, mut b) = pair();
        while b.poll_event().is_some() {}
        a.send(Message::Interested).expect("send");
        a.send_metadata(&MetadataMessage::Request { piece: 0 })
            .expect("peer supports ut_metadata");
        pump(&mut a, &mut b).expect("pump");
        assert!(a.am_interested() && b.peer_interested());
        assert_eq!(b.poll_event(), Some(Event::Message(Message::Interested)));
        assert_eq!(
            b.poll_event(),
            Some(Event::Metadata(MetadataMessage::Request { piece: 0 }))
        );
        b.send(Message::Unchoke).expect("send");
        pump(&mut b, &mut a).expect("pump");
        assert!(!b.am_choking() && !a.peer_choking());
    }

    #[test]
    fn indices_outside_the_torrent_are_refused_once_its_shape_is_known() {
        use crate::piece_math::BlockRef;
        let math = PieceMath::new(40_000, 16_384).expect("valid");
        for (message, expected) in [
            (
                Message::Have(3),
                Error::PieceOutOfRange {
                    piece: 3,
                    piece_count: 3,
                },
            ),
            (
                Message::Request(BlockRef {
                    piece: 2,
                    offset: 0,
                    length: 16_384,
                }),
                Error::BlockOutOfRange {
                    piece: 2,
                    offset: 0,
                    length: 16_384,
                },
            ),
        ] {
            let (mut a, mut b) = pair();
            b.set_piece_math(math);
            a.send(Message::Have(2)).expect("in range");
            a.send(message).expect("send");
            assert_eq!(pump(&mut a, &mut b), Err(expected));
        }
    }

    #[test]
    fn wrong_info_hash_is_refused() {
        let mut a = Session::new(
            Role::Initiator,
            SessionConfig::new(InfoHash([1; 20]), PeerId([1; 20])),
        );
        let mut b = Session::new(
            Role::Responder,
            SessionConfig::new(InfoHash([2; 20]), PeerId([2; 20])),
        );
        let error = pump(&mut a, &mut b).expect_err("mismatch");
        assert!(matches!(error, Error::InfoHashMismatch { .. }));
        assert_eq!(b.handle_input(&[0]), Err(error), "the session stays failed");
        assert_eq!(b.poll_transmit(100), None);
    }

    #[test]
    fn misuse_is_a_typed_error() {
        let mut a = Session::new(
            Role::Initiator,
            SessionConfig::new(InfoHash([1; 20]), PeerId([1; 20])),
        );
        assert!(matches!(
            a.send(Message::Interested),
            Err(Error::Protocol { .. })
        ));
        let (mut a, mut b) = pair();
        assert!(matches!(
            a.send(Message::HaveAll),
            Err(Error::Protocol { .. })
        ));
        // A bitfield after a have is a violation.
        b.send(Message::Have(1)).expect("send");
        b.send(Message::Bitfield(bitfield_from(8, [1])))
            .expect("send");
        assert!(matches!(pump(&mut b, &mut a), Err(Error::Protocol { .. })));
    }

    #[test]
    fn bitfield_after_interest_is_accepted_as_webtorrent_sends_it() {
        // A WebTorrent leecher that fetched the metadata first says `interested`, then sends
        // its bitfield; a second bitfield after that is still refused.
        let (mut a, mut b) = pair();
        while b.poll_event().is_some() {}
        a.send(Message::Interested).expect("send");
        a.send(Message::Bitfield(bitfield_from(8, [2])))
            .expect("send");
        pump(&mut a, &mut b).expect("a bitfield after interested is fine");
        assert_eq!(b.poll_event(), Some(Event::Message(Message::Interested)));
        assert!(matches!(
            b.poll_event(),
            Some(Event::Message(Message::Bitfield(_)))
        ));
        a.send(Message::Bitfield(bitfield_from(8, [3])))
            .expect("send");
        assert!(matches!(pump(&mut a, &mut b), Err(Error::Protocol { .. })));
    }
}
