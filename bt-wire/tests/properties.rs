//! Property tests: round trips for every message and every text form, arbitrary chunking of
//! streams, arbitrary bytes never panicking, lengths refused from the header, piece arithmetic.

use bt_wire::bencode::{self, OwnedValue};
use bt_wire::decoder::max_body_len;
use bt_wire::{
    Bitfield, Block, BlockRef, Decoder, Error, ExtensionHandshake, Frame, Handshake, Info,
    InfoHash, Magnet, Message, MetadataMessage, Metainfo, PeerId, PexMessage, PieceMath, Reserved,
    Role, Session, SessionConfig, BLOCK_SIZE, MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN,
    MAX_UNKNOWN_MESSAGE_LEN,
};
use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;

fn block_ref() -> impl Strategy<Value = BlockRef> {
    (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(piece, offset, length)| BlockRef {
        piece,
        offset,
        length,
    })
}

fn payload(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from)
}

/// Every message kind, with sizes up to (a sample of) their bounds.
fn message() -> impl Strategy<Value = Message> {
    let known_ids = [0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 20];
    prop_oneof![
        Just(Message::KeepAlive),
        Just(Message::Choke),
        Just(Message::Unchoke),
        Just(Message::Interested),
        Just(Message::NotInterested),
        Just(Message::HaveAll),
        Just(Message::HaveNone),
        any::<u32>().prop_map(Message::Have),
        any::<u32>().prop_map(Message::SuggestPiece),
        any::<u32>().prop_map(Message::AllowedFast),
        vec(any::<u8>(), 0..64).prop_map(|bytes| Message::Bitfield(Bitfield::from_vec(bytes))),
        block_ref().prop_map(Message::Request),
        block_ref().prop_map(Message::Cancel),
        block_ref().prop_map(Message::RejectRequest),
        (any::<u32>(), any::<u32>(), payload(BLOCK_SIZE as usize)).prop_map(
            |(piece, offset, data)| Message::Piece(Block {
                piece,
                offset,
                data
            })
        ),
        any::<u16>().prop_map(Message::Port),
        (any::<u8>(), payload(300)).prop_map(|(id, payload)| Message::Extended { id, payload }),
        (any::<u8>(), payload(300))
            .prop_filter("unknown ids only", move |(id, _)| !known_ids.contains(id))
            .prop_map(|(id, payload)| Message::Unknown { id, payload }),
    ]
}

fn decode_stream(chunks: &[&[u8]]) -> Result<Vec<Message>, Error> {
    let mut decoder = Decoder::after_handshake();
    let mut out = Vec::new();
    for chunk in chunks {
        decoder.feed(chunk);
        while let Some(frame) = decoder.next_frame()? {
            if let Frame::Message(message) = frame {
                out.push(message);
            }
        }
    }
    Ok(out)
}

fn owned_value() -> impl Strategy<Value = OwnedValue> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(OwnedValue::Integer),
        vec(any::<u8>(), 0..20).prop_map(OwnedValue::Bytes),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(OwnedValue::List),
            proptest::collection::btree_map(vec(any::<u8>(), 0..8), inner, 0..6)
                .prop_map(OwnedValue::Dict),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_message_round_trips(message in message()) {
        let bytes = message.to_bytes();
        prop_assert_eq!(bytes.len(), message.encoded_len());
        prop_assert_eq!(decode_stream(&[&bytes])?, vec![message]);
    }

    #[test]
    fn any_split_decodes_to_the_same_messages(
        messages in vec(message(), 1..12),
        cuts in vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let mut stream = BytesMut::new();
        for message in &messages {
            message.encode(&mut stream);
        }
        let mut points: Vec<usize> = cuts.iter().map(|cut| cut.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        let chunks: Vec<&[u8]> = points.windows(2).map(|pair| &stream[pair[0]..pair[1]]).collect();
        prop_assert_eq!(&decode_stream(&chunks)?, &messages);

        // The zero-copy path gives the same result.
        let stream = stream.freeze();
        let mut decoder = Decoder::after_handshake();
        let mut out = Vec::new();
        for pair in points.windows(2) {
            decoder.feed_bytes(stream.slice(pair[0]..pair[1]));
            while let Some(Frame::Message(message)) = decoder.next_frame()? {
                out.push(message);
            }
        }
        prop_assert_eq!(out, messages);
    }

    #[test]
    fn handshake_round_trips_in_any_split(
        reserved in any::<[u8; 8]>(),
        hash in any::<[u8; 20]>(),
        id in any::<[u8; 20]>(),
        then in message(),
        cut in 0usize..80,
    ) {
        let handshake = Handshake { reserved: Reserved(reserved), info_hash: InfoHash(hash), peer_id: PeerId(id) };
        let mut stream = handshake.to_bytes().to_vec();
        stream.extend_from_slice(&then.to_bytes());
        let cut = cut.min(stream.len());
        let mut decoder = Decoder::new();
        let mut frames = Vec::new();
        for chunk in [&stream[..cut], &stream[cut..]] {
            decoder.feed(chunk);
            while let Some(frame) = decoder.next_frame()? {
                frames.push(frame);
            }
        }
        prop_assert_eq!(frames, vec![Frame::Handshake(handshake), Frame::Message(then)]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in vec(any::<u8>(), 0..2048),
        piece_count in proptest::option::of(0u32..5000),
        chunk in 1usize..300,
    ) {
        for mut decoder in [Decoder::new(), Decoder::after_handshake()] {
            if let Some(count) = piece_count {
                decoder.set_piece_count(count);
            }
            'feed: for piece in bytes.chunks(chunk) {
                decoder.feed(piece);
                loop {
                    match decoder.next_frame() {
                        Ok(Some(frame)) => {
                            if let Frame::Message(message) = frame {
                                prop_assert!(message.encoded_len() <= 4 + MAX_MESSAGE_LEN as usize);
                            }
                        }
                        Ok(None) => break,
                        Err(_) => break 'feed,
                    }
                }
            }
            prop_assert!(decoder.buffered_len() <= bytes.len());
        }
        let shared = Bytes::from(bytes.clone());
        let _ = bencode::decode(&bytes);
        let _ = Metainfo::from_bytes(&bytes);
        let _ = Info::from_bytes(&bytes);
        let _ = ExtensionHandshake::decode(&bytes);
        let _ = MetadataMessage::decode(&shared);
        let _ = PexMessage::decode(&bytes);
        let _ = Magnet::parse(&String::from_utf8_lossy(&bytes));
        let mut session = Session::new(Role::Responder, SessionConfig::new(InfoHash([0; 20]), PeerId([0; 20])));
        let _ = session.handle_input(&bytes);
    }

    #[test]
    fn lengths_over_the_bound_are_refused_from_the_header(
        id in any::<u8>(),
        length in 2u32..,
        piece_count in proptest::option::of(any::<u32>()),
    ) {
        let max = max_body_len(id, piece_count);
        prop_assume!(length > max);
        let mut decoder = Decoder::after_handshake();
        if let Some(count) = piece_count {
            decoder.set_piece_count(count);
        }
        let mut header = length.to_be_bytes().to_vec();
        header.push(id);
        decoder.feed(&header);
        let refused = matches!(
            decoder.next_frame(),
            Err(Error::MessageTooLong { .. } | Error::MessageLength { .. } | Error::LengthPrefixTooLong { .. })
        );
        prop_assert!(refused, "length {} for id {} was not refused", length, id);
        prop_assert!(max <= MAX_MESSAGE_LEN);
        prop_assert!(max_body_len(20, None) == MAX_EXTENDED_MESSAGE_LEN);
        prop_assert!(max_body_len(200, None) == MAX_UNKNOWN_MESSAGE_LEN);
    }

    #[test]
    fn bencode_round_trips(value in owned_value()) {
        let bytes = value.encode();
        let decoded = bencode::decode(&bytes)?;
        prop_assert_eq!(decoded.to_owned_value(), value);
        if let bencode::Value::Dict(dict) = &decoded {
            prop_assert_eq!(dict.raw(), &bytes[..]);
        }
    }

    #[test]
    fn bencode_claimed_lengths_never_outrun_the_input(claimed in any::<u64>(), body in vec(any::<u8>(), 0..64)) {
        prop_assume!(claimed > body.len() as u64);
        let mut input = claimed.to_string().into_bytes();
        input.push(b':');
        input.extend_from_slice(&body);
        prop_assert!(bencode::decode(&input).is_err());
    }

    #[test]
    fn piece_math_partitions_the_torrent(
        total in 0u64..(1 << 40),
        piece_length in 1u32..(1 << 24),
        sample in any::<prop::sample::Index>(),
    ) {
        prop_assume!(total / u64::from(piece_length) < u64::from(u32::MAX));
        let math = PieceMath::new(total, piece_length)?;
        let count = math.piece_count();
        if total == 0 {
            prop_assert_eq!(count, 0);
            return Ok(());
        }
        let last = count - 1;
        let last_size = math.piece_size(last);
        prop_assert!(last_size >= 1 && last_size <= piece_length);
        prop_assert_eq!(u64::from(last) * u64::from(piece_length) + u64::from(last_size), total);
        prop_assert_eq!(math.piece_size(count), 0);
        prop_assert_eq!(math.bitfield_len(), (count as usize).div_ceil(8));
        for piece in [0, sample.index(count as usize) as u32, last] {
            let size = math.piece_size(piece);
            if piece != last {
                prop_assert_eq!(size, piece_length);
            }
            let blocks: Vec<BlockRef> = math.blocks(piece).collect();
            prop_assert_eq!(blocks.len() as u32, math.block_count(piece));
            let mut offset = 0;
            for (index, block) in blocks.iter().enumerate() {
                prop_assert_eq!(block.offset, offset);
                prop_assert!(block.length >= 1 && block.length <= BLOCK_SIZE);
                if index + 1 < blocks.len() {
                    prop_assert_eq!(block.length, BLOCK_SIZE);
                }
                prop_assert!(math.check_block(*block).is_ok());
                offset += block.length;
            }
            prop_assert_eq!(offset, size);
            prop_assert!(math.block(piece, math.block_count(piece)).is_none());
            let past_end = BlockRef { piece, offset: size, length: 1 };
            prop_assert!(math.check_block(past_end).is_err(), "block past the end accepted");
        }
    }

    #[test]
    fn info_hash_text_forms_round_trip(bytes in any::<[u8; 20]>()) {
        let hash = InfoHash(bytes);
        prop_assert_eq!(hash.to_string().parse::<InfoHash>()?, hash);
        prop_assert_eq!(hash.to_base32().parse::<InfoHash>()?, hash);
        prop_assert_eq!(hash.to_hex().to_uppercase().parse::<InfoHash>()?, hash);
    }

    #[test]
    fn magnets_round_trip(
        bytes in any::<[u8; 20]>(),
        name in proptest::option::of(any::<String>()),
        trackers in vec(any::<String>(), 0..3),
        peers in vec(any::<String>(), 0..3),
    ) {
        let mut magnet = Magnet::new(InfoHash(bytes));
        magnet.display_name = name;
        for tracker in trackers {
            if !magnet.trackers.contains(&tracker) {
                magnet.trackers.push(tracker);
            }
        }
        for peer in peers {
            if !magnet.peers.contains(&peer) {
                magnet.peers.push(peer);
            }
        }
        prop_assert_eq!(Magnet::parse(&magnet.to_string())?, magnet);
    }

    #[test]
    fn extension_handshakes_round_trip(
        names in proptest::collection::btree_map("[a-z_]{1,12}", any::<u8>(), 0..5),
        metadata_size in proptest::option::of(1u32..=8 * 1024 * 1024),
        reqq in proptest::option::of(any::<u32>()),
        port in proptest::option::of(any::<u16>()),
        your_ip in proptest::option::of(vec(any::<u8>(), 4..=4)),
    ) {
        let handshake = ExtensionHandshake {
            extensions: names,
            metadata_size,
            client: Some("rondevu".into()),
            reqq,
            your_ip,
            listen_port: port,
            other: Default::default(),
        };
        prop_assert_eq!(ExtensionHandshake::decode(&handshake.encode())?, handshake);
    }

    #[test]
    fn metadata_messages_round_trip(piece in any::<u32>(), total in 1u32..=8 * 1024 * 1024, data in payload(16 * 1024)) {
        for message in [
            MetadataMessage::Request { piece },
            MetadataMessage::Reject { piece },
            MetadataMessage::Data { piece, total_size: total, data: data.clone() },
        ] {
            let bytes = Bytes::from(message.encode());
            prop_assert_eq!(MetadataMessage::decode(&bytes)?, message);
        }
    }
}
