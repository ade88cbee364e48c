//! Vectors produced by WebTorrent's own JavaScript (`interop/wire-vectors.mjs`, committed in
//! `tests/vectors/`): our decoder reads what WebTorrent writes, and our encoders write it
//! back byte for byte. `cargo xtask test` regenerates them with Node and fails on any drift.

use bt_wire::{
    bitfield_from, Block, BlockRef, Decoder, Event, ExtensionHandshake, Frame, Handshake, InfoHash,
    Magnet, Message, MetadataAssembler, MetadataMessage, Metainfo, PeerId, Role, Session,
    SessionConfig, TorrentBuilder,
};
use bytes::Bytes;
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn field_hex(value: &Value, key: &str) -> Vec<u8> {
    unhex(
        value[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} missing")),
    )
}

fn field_u32(value: &Value, key: &str) -> u32 {
    let number = value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing"));
    u32::try_from(number).expect("fits u32")
}

fn field_str<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|item| item.as_str().expect("string").to_string())
        .collect()
}

fn decode_all(bytes: &[u8], chunk: usize) -> Vec<Message> {
    let mut decoder = Decoder::after_handshake();
    let mut out = Vec::new();
    for piece in bytes.chunks(chunk) {
        decoder.feed(piece);
        while let Some(frame) = decoder.next_frame().expect("valid stream") {
            match frame {
                Frame::Message(message) => out.push(message),
                Frame::Handshake(_) => panic!("no handshake expected"),
            }
        }
    }
    assert_eq!(decoder.buffered_len(), 0, "bytes left over");
    out
}

fn block_ref(vector: &Value) -> BlockRef {
    BlockRef {
        piece: field_u32(vector, "piece"),
        offset: field_u32(vector, "offset"),
        length: field_u32(vector, "length"),
    }
}

/// The message a vector describes, built from its fields (not from its bytes).
fn expected_message(vector: &Value) -> Message {
    match field_str(vector, "type") {
        "keep_alive" => Message::KeepAlive,
        "choke" => Message::Choke,
        "unchoke" => Message::Unchoke,
        "interested" => Message::Interested,
        "not_interested" => Message::NotInterested,
        "have" => Message::Have(field_u32(vector, "piece")),
        "bitfield" => {
            let pieces = vector["pieces"]
                .as_array()
                .expect("pieces")
                .iter()
                .map(|piece| piece.as_u64().expect("index") as u32);
            Message::Bitfield(bitfield_from(field_u32(vector, "piece_count"), pieces))
        }
        "request" => Message::Request(block_ref(vector)),
        "cancel" => Message::Cancel(block_ref(vector)),
        "reject_request" => Message::RejectRequest(block_ref(vector)),
        "piece" => Message::Piece(Block {
            piece: field_u32(vector, "piece"),
            offset: field_u32(vector, "offset"),
            data: field_hex(vector, "data").into(),
        }),
        "port" => Message::Port(field_u32(vector, "port") as u16),
        "suggest_piece" => Message::SuggestPiece(field_u32(vector, "piece")),
        "have_all" => Message::HaveAll,
        "have_none" => Message::HaveNone,
        "allowed_fast" => Message::AllowedFast(field_u32(vector, "piece")),
        "extended" => Message::Extended {
            id: field_u32(vector, "id") as u8,
            payload: field_hex(vector, "payload").into(),
        },
        other => panic!("unknown vector type {other}"),
    }
}

#[test]
fn every_message_decodes_and_encodes_byte_for_byte() {
    let vectors = load("messages.json");
    let messages = vectors["messages"].as_array().expect("messages");
    assert!(messages.len() >= 18, "every message type is covered");
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for vector in messages {
        let bytes = field_hex(vector, "bytes");
        let mut message = expected_message(vector);
        assert_eq!(
            message.to_bytes().as_ref(),
            &bytes[..],
            "encode {}",
            vector["type"]
        );
        // A decoded bitfield has 8 bits per byte until the piece count is known.
        if let Message::Bitfield(bits) = &mut message {
            let len = bits.as_raw_slice().len() * 8;
            bits.resize(len, false);
        }
        assert_eq!(
            decode_all(&bytes, bytes.len()),
            vec![message.clone()],
            "decode {}",
            vector["type"]
        );
        stream.extend_from_slice(&bytes);
        expected.push(message);
    }
    // Data-channel boundaries mean nothing: any chunking gives the same messages.
    for chunk in [1, 3, 13, 1000, 16 * 1024, 16 * 1024 + 13, stream.len()] {
        assert_eq!(decode_all(&stream, chunk), expected, "chunks of {chunk}");
    }
}

#[test]
fn bitfield_vector_checks_against_piece_count() {
    let vectors = load("messages.json");
    let vector = vectors["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|vector| vector["type"] == "bitfield")
        .expect("bitfield vector");
    let mut decoder = Decoder::after_handshake();
    decoder.set_piece_count(field_u32(vector, "piece_count"));
    decoder.feed(&field_hex(vector, "bytes"));
    assert_eq!(
        decoder.next_frame().expect("valid"),
        Some(Frame::Message(expected_message(vector)))
    );
}

#[test]
fn handshake_and_extension_handshake_as_webtorrent_sends_them() {
    let vector = load("handshake.json");
    let bytes = field_hex(&vector, "bytes");
    let handshake = Handshake::from_bytes(&bytes).expect("valid handshake");
    let info_hash: InfoHash = field_str(&vector, "info_hash").parse().expect("hash");
    assert_eq!(handshake.info_hash, info_hash);
    assert_eq!(
        handshake.peer_id.to_string(),
        field_str(&vector, "peer_id"),
        "peer id"
    );
    assert!(handshake.reserved.supports_extensions(), "byte 5 0x10");
    assert!(
        handshake.reserved.supports_fast(),
        "WebTorrent sets the fast bit"
    );
    assert_eq!(handshake.to_bytes().as_slice(), &bytes[..]);

    let ext = &vector["extension_handshake"];
    let message = field_hex(ext, "message");
    let payload = field_hex(ext, "payload");
    assert_eq!(
        decode_all(&message, 5),
        vec![Message::Extended {
            id: 0,
            payload: payload.clone().into()
        }]
    );
    let decoded = ExtensionHandshake::decode(&payload).expect("extension handshake");
    let mut ours = ExtensionHandshake::default();
    for (name, id) in ext["m"].as_object().expect("m") {
        ours.extensions
            .insert(name.clone(), id.as_u64().expect("id") as u8);
    }
    ours.metadata_size = Some(field_u32(ext, "metadata_size"));
    assert_eq!(decoded, ours);
    assert_eq!(ours.encode(), payload, "we write it as WebTorrent does");
    assert_eq!(decoded.id_of("ut_metadata"), Some(1));

    // A session answering this peer: handshake checked, extension ids learned.
    let mut session = Session::new(
        Role::Responder,
        SessionConfig::new(info_hash, PeerId([9; 20])),
    );
    session
        .handle_input(&[bytes, message].concat())
        .expect("accepted");
    assert_eq!(
        session.poll_event(),
        Some(Event::Handshake {
            peer_id: handshake.peer_id,
            reserved: handshake.reserved
        })
    );
    assert_eq!(session.poll_event(), Some(Event::ExtensionHandshake(ours)));
    assert_eq!(session.remote_extension_id("lt_donthave"), Some(3));
    assert!(!session.fast_enabled(), "we do not set the fast bit");
}

#[test]
fn ut_metadata_messages_and_assembly() {
    let vectors = load("ut_metadata.json");
    let info = field_hex(&vectors, "info");
    let extension_id = field_u32(&vectors, "extension_id") as u8;
    let torrents = load("torrents.json");
    let multi = &torrents["torrents"][1]["parsed"];
    let info_hash: InfoHash = field_str(multi, "info_hash").parse().expect("hash");
    let mut assembler = MetadataAssembler::new(info_hash, info.len() as u32).expect("size");
    for vector in vectors["messages"].as_array().expect("messages") {
        let payload = Bytes::from(field_hex(vector, "payload"));
        let expected = match field_str(vector, "type") {
            "request" => MetadataMessage::Request {
                piece: field_u32(vector, "piece"),
            },
            "reject" => MetadataMessage::Reject {
                piece: field_u32(vector, "piece"),
            },
            "data" => MetadataMessage::Data {
                piece: field_u32(vector, "piece"),
                total_size: field_u32(vector, "total_size"),
                data: field_hex(vector, "data").into(),
            },
            other => panic!("unknown {other}"),
        };
        assert_eq!(
            MetadataMessage::decode(&payload).expect("decodes"),
            expected
        );
        assert_eq!(expected.encode(), payload.as_ref(), "encode {expected:?}");
        assert_eq!(
            decode_all(&field_hex(vector, "message"), 2),
            vec![Message::Extended {
                id: extension_id,
                payload
            }]
        );
        if let MetadataMessage::Data { piece, data, .. } = expected {
            assembler.insert(piece, &data).expect("piece fits");
        }
    }
    let assembled = assembler.finish().expect("hash matches");
    assert_eq!(assembled.info_hash(), info_hash);
    assert_eq!(assembled.raw(), &info[..]);
}

#[test]
fn torrents_parse_and_rebuild_byte_for_byte() {
    let vectors = load("torrents.json");
    for vector in vectors["torrents"].as_array().expect("torrents") {
        let name = field_str(vector, "name");
        let file = field_hex(vector, "torrent_hex");
        let parsed = &vector["parsed"];
        let torrent = Metainfo::from_bytes(&file).expect(name);
        let info = &torrent.info;
        assert_eq!(
            torrent.info_hash().to_string(),
            field_str(parsed, "info_hash"),
            "{name}"
        );
        assert_eq!(info.name(), field_str(parsed, "name"));
        assert_eq!(info.total_length(), parsed["length"].as_u64().expect("len"));
        assert_eq!(info.piece_length(), field_u32(parsed, "piece_length"));
        let math = info.piece_math();
        assert_eq!(
            math.piece_size(math.piece_count() - 1),
            field_u32(parsed, "last_piece_length")
        );
        let pieces: Vec<String> = info
            .pieces()
            .iter()
            .map(|hash| InfoHash(*hash).to_hex())
            .collect();
        assert_eq!(pieces, strings(&parsed["pieces"]));
        for (ours, theirs) in info
            .files()
            .iter()
            .zip(parsed["files"].as_array().expect("files"))
        {
            let mut full = Vec::new();
            if info.is_multi_file() {
                full.push(info.name().to_string());
            }
            full.extend(ours.path.iter().cloned());
            assert_eq!(full.join("/"), field_str(theirs, "path"));
            assert_eq!(ours.length, theirs["length"].as_u64().expect("length"));
            assert_eq!(ours.offset, theirs["offset"].as_u64().expect("offset"));
        }
        assert_eq!(
            info.files().len(),
            parsed["files"].as_array().map_or(0, Vec::len)
        );
        assert_eq!(
            info.is_private(),
            parsed["private"].as_bool().expect("private")
        );
        assert_eq!(torrent.to_bytes(), file, "{name}: re-encoded");
        assert_eq!(torrent.magnet().to_string(), field_str(parsed, "magnet"));

        // Seeding: building from the same files and options gives the same bytes.
        let build = &vector["build"];
        let mut builder =
            TorrentBuilder::new(field_str(build, "name"), field_u32(build, "piece_length"))
                .private(build["private"].as_bool().expect("private"))
                .created_by(field_str(build, "created_by"))
                .creation_date(build["creation_date"].as_i64().expect("date"))
                .encoding(field_str(build, "encoding"));
        if let Some(comment) = build["comment"].as_str() {
            builder = builder.comment(comment);
        }
        for tier in build["announce_list"].as_array().expect("tiers") {
            builder = builder.tracker_tier(strings(tier));
        }
        let files = build["files"].as_array().expect("files");
        let contents: Vec<Vec<u8>> = files.iter().map(|f| field_hex(f, "data_hex")).collect();
        if build["single_file"].as_bool().expect("single") {
            builder = builder.single_file(contents[0].len() as u64);
        } else {
            for (file, data) in files.iter().zip(&contents) {
                builder = builder.file(strings(&file["path"]), data.len() as u64);
            }
        }
        let slices: Vec<&[u8]> = contents.iter().map(Vec::as_slice).collect();
        let built = builder.build_from_data(&slices).expect("builds");
        assert_eq!(built.to_bytes(), file, "{name}: built like create-torrent");
    }
}

#[test]
fn magnets_match_magnet_uri() {
    let vectors = load("magnets.json");
    let fields_of = |magnet: &Magnet| {
        serde_json::json!({
            "info_hash": magnet.info_hash.to_string(),
            "display_name": magnet.display_name,
            "trackers": magnet.trackers,
            "web_seeds": magnet.web_seeds,
            "peers": magnet.peers,
        })
    };
    for vector in vectors["produced"].as_array().expect("produced") {
        let fields = &vector["fields"];
        let uri = field_str(vector, "uri");
        let magnet = Magnet {
            info_hash: field_str(fields, "info_hash").parse().expect("hash"),
            display_name: fields["display_name"].as_str().map(str::to_string),
            trackers: strings(&fields["trackers"]),
            web_seeds: strings(&fields["web_seeds"]),
            peers: strings(&fields["peers"]),
        };
        assert_eq!(magnet.to_string(), uri, "produce");
        assert_eq!(Magnet::parse(uri).expect("parse"), magnet);
    }
    for vector in vectors["parsed"].as_array().expect("parsed") {
        let uri = field_str(vector, "uri");
        let magnet = Magnet::parse(uri).expect(uri);
        assert_eq!(fields_of(&magnet), vector["fields"], "{uri}");
    }
}
