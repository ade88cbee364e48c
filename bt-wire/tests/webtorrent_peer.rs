//! A `Session` against a live WebTorrent peer: bittorrent-protocol's wire with ut_metadata,
//! ut_pex and lt_donthave, set up as WebTorrent sets it up, over stdin/stdout
//! (`node interop/wire-vectors.mjs --serve-stdio | --fetch-stdio`), in both directions:
//! we download the multi-file vector torrent from WebTorrent knowing only its info-hash
//! (ut_metadata, then every block, verified), and WebTorrent downloads it from us the same
//! way (it exits 0 only when its own checks pass).
//!
//! Needs Node and the npm packages (`cargo xtask npm-install`); skipped with a message when
//! they are missing, unless RONDEVU_REQUIRE_NODE=1 (CI), which makes that a failure.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bt_wire::ut_metadata::metadata_piece;
use bt_wire::{
    bitfield_from, Block, Event, Message, MetadataAssembler, MetadataMessage, Metainfo, PeerId,
    Role, Session, SessionConfig,
};
use serde_json::Value;
use sha1::{Digest, Sha1};

const DEADLINE: Duration = Duration::from_secs(30);

fn interop_dir() -> PathBuf {
    std::env::var_os("RONDEVU_INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop"))
}

/// Kills the peer if the test fails half-way.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The multi-file vector torrent: its `.torrent` bytes and its files' contents.
fn vector_torrent() -> (Metainfo, Vec<u8>) {
    let vectors: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/torrents.json"
        ))
        .expect("vectors"),
    )
    .expect("json");
    let torrent = &vectors["torrents"][1];
    let metainfo = Metainfo::from_bytes(&unhex(torrent["torrent_hex"].as_str().expect("hex")))
        .expect("valid torrent");
    let content = torrent["build"]["files"]
        .as_array()
        .expect("files")
        .iter()
        .flat_map(|file| unhex(file["data_hex"].as_str().expect("data")))
        .collect();
    (metainfo, content)
}

/// Starts the Node peer in `mode`, or returns `None` (test skipped) without the packages.
fn start_peer(mode: &str) -> Option<(Peer, ChildStdin, mpsc::Receiver<Vec<u8>>)> {
    let dir = interop_dir();
    if !dir
        .join("node_modules")
        .join("bittorrent-protocol")
        .is_dir()
    {
        let message = format!(
            "webtorrent_peer: {}/node_modules missing (run `cargo xtask npm-install`)",
            dir.display()
        );
        assert!(
            std::env::var("RONDEVU_REQUIRE_NODE").as_deref() != Ok("1"),
            "{message}"
        );
        eprintln!("skipped: {message}");
        return None;
    }
    let mut child = Command::new("node")
        .arg(dir.join("wire-vectors.mjs"))
        .arg(mode)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node starts");
    let stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let (bytes_tx, bytes_rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(read) = stdout.read(&mut buffer) {
            if read == 0 || bytes_tx.send(buffer[..read].to_vec()).is_err() {
                break;
            }
        }
    });
    Some((Peer(child), stdin, bytes_rx))
}

/// Writes everything the session has to send.
fn flush(session: &mut Session, stdin: &mut ChildStdin) {
    while let Some(bytes) = session.poll_transmit(16 * 1024) {
        stdin.write_all(&bytes).expect("write to peer");
    }
    stdin.flush().expect("flush");
}

#[test]
fn session_downloads_from_a_webtorrent_wire() {
    let Some((_peer, mut stdin, bytes_rx)) = start_peer("--serve-stdio") else {
        return;
    };
    let (metainfo, content) = vector_torrent();
    let info_hash = metainfo.info_hash();

    let mut session = Session::new(
        Role::Initiator,
        SessionConfig::new(info_hash, PeerId(*b"-RV0001-sessiontest1")),
    );
    let started = Instant::now();
    let mut assembler: Option<MetadataAssembler> = None;
    let mut info = None;
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let mut received_blocks = 0;
    let mut expected_blocks = usize::MAX;
    let mut saw_bitfield = false;
    let mut requested = false;
    while received_blocks < expected_blocks {
        assert!(started.elapsed() < DEADLINE, "timed out");
        flush(&mut session, &mut stdin);
        let chunk = bytes_rx.recv_timeout(DEADLINE).expect("the peer answers");
        session
            .handle_input(&chunk)
            .expect("WebTorrent's bytes decode");
        while let Some(event) = session.poll_event() {
            match event {
                Event::Handshake { reserved, .. } => {
                    assert!(reserved.supports_extensions() && reserved.supports_fast());
                }
                Event::ExtensionHandshake(handshake) => {
                    assert_eq!(handshake.id_of("ut_metadata"), Some(1));
                    assert_eq!(handshake.id_of("ut_pex"), Some(2));
                    let size = handshake.metadata_size.expect("a seeder has metadata");
                    assembler = Some(MetadataAssembler::new(info_hash, size).expect("size"));
                    session
                        .send_metadata(&MetadataMessage::Request { piece: 0 })
                        .expect("request metadata");
                }
                Event::Metadata(MetadataMessage::Data { piece, data, .. }) => {
                    let mut done = assembler.take().expect("asked for it");
                    done.insert(piece, &data).expect("piece fits");
                    let parsed = done.finish().expect("metadata hashes to the info-hash");
                    session.set_piece_math(parsed.piece_math());
                    let math = parsed.piece_math();
                    pieces = (0..math.piece_count())
                        .map(|piece| vec![0; math.piece_size(piece) as usize])
                        .collect();
                    expected_blocks = (0..math.piece_count())
                        .map(|piece| math.block_count(piece) as usize)
                        .sum();
                    info = Some(parsed);
                    session.send(Message::Interested).expect("interested");
                }
                Event::Message(Message::Bitfield(bits)) => {
                    saw_bitfield = true;
                    assert!(bits.count_ones() >= 2, "the seeder has every piece");
                }
                Event::Message(Message::Unchoke) => {}
                Event::Message(Message::Piece(block)) => {
                    let start = block.offset as usize;
                    pieces[block.piece as usize][start..start + block.data.len()]
                        .copy_from_slice(&block.data);
                    received_blocks += 1;
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
        // Once the metadata is in and the peer has unchoked us, ask for every block.
        if let Some(info) = info.as_ref().filter(|_| !requested) {
            if !session.peer_choking() && session.am_interested() {
                let math = info.piece_math();
                for piece in 0..math.piece_count() {
                    for block in math.blocks(piece) {
                        session.send(Message::Request(block)).expect("request");
                    }
                }
                requested = true;
            }
        }
    }
    assert!(
        saw_bitfield,
        "WebTorrent sends its bitfield after the handshake"
    );
    let info = info.expect("metadata");
    for (index, piece) in pieces.iter().enumerate() {
        let hash: [u8; 20] = Sha1::digest(piece).into();
        assert_eq!(
            &hash,
            info.piece_hash(index as u32).expect("hash"),
            "piece {index}"
        );
    }
    assert_eq!(pieces.concat(), content);
}

#[test]
fn webtorrent_wire_downloads_from_a_session() {
    let Some((mut peer, mut stdin, bytes_rx)) = start_peer("--fetch-stdio") else {
        return;
    };
    let (metainfo, content) = vector_torrent();
    let info = &metainfo.info;
    let math = info.piece_math();
    let raw = info.raw();
    let mut session = Session::new(
        Role::Responder,
        SessionConfig::new(metainfo.info_hash(), PeerId(*b"-RV0001-sessionseed1"))
            .with_metadata_size(raw.len() as u32),
    );
    session.set_piece_math(math);
    let started = Instant::now();
    let (mut metadata_served, mut blocks_served) = (0, 0);
    // Serve until the peer, satisfied or not, closes its end.
    while let Ok(chunk) = bytes_rx.recv_timeout(DEADLINE) {
        assert!(started.elapsed() < DEADLINE, "timed out");
        session
            .handle_input(&chunk)
            .expect("WebTorrent's bytes decode");
        while let Some(event) = session.poll_event() {
            match event {
                Event::Handshake { .. } => {
                    let all = bitfield_from(math.piece_count(), 0..math.piece_count());
                    session.send(Message::Bitfield(all)).expect("bitfield");
                }
                Event::ExtensionHandshake(handshake) => {
                    assert_eq!(handshake.metadata_size, None, "the leecher has no metadata");
                }
                Event::Metadata(MetadataMessage::Request { piece }) => {
                    let data = metadata_piece(raw, piece).expect("piece in range");
                    session
                        .send_metadata(&MetadataMessage::Data {
                            piece,
                            total_size: raw.len() as u32,
                            data: data.to_vec().into(),
                        })
                        .expect("serve metadata");
                    metadata_served += 1;
                }
                Event::Message(Message::Interested) => {
                    session.send(Message::Unchoke).expect("unchoke");
                }
                Event::Message(Message::Request(block)) => {
                    math.check_block(block).expect("valid request");
                    let start = (math.piece_offset(block.piece) + u64::from(block.offset)) as usize;
                    session
                        .send(Message::Piece(Block {
                            piece: block.piece,
                            offset: block.offset,
                            data: content[start..start + block.length as usize]
                                .to_vec()
                                .into(),
                        }))
                        .expect("serve block");
                    blocks_served += 1;
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
        flush(&mut session, &mut stdin);
    }
    // Closing our end makes a peer that is still waiting give up and exit.
    drop(stdin);
    let status = peer.0.wait().expect("node exits");
    assert!(status.success(), "WebTorrent's checks failed: {status}");
    assert_eq!(metadata_served, 1);
    let blocks: u32 = (0..math.piece_count())
        .map(|piece| math.block_count(piece))
        .sum();
    assert_eq!(blocks_served, blocks as usize);
}
