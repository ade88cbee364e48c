//! `cargo xtask fuzz`: seeded random-input campaigns against every decoder.
//!
//! No nightly toolchain (so no cargo-fuzz) is reachable here, so each campaign is a seeded
//! generator: half the inputs are random bytes shaped loosely like the format, half are
//! mutations of valid inputs made by bt-wire's encoders (whose output the WebTorrent vectors
//! prove byte-identical to WebTorrent's). Every call runs under `catch_unwind`; any panic fails
//! the run and prints the input. The campaign relaunches itself in release mode.
//!
//! usage: `cargo xtask fuzz [--cases N] [--seed S]` (N inputs per decoder, default 10,000,000)

use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use bt_wire::bencode::{self, OwnedValue};
use bt_wire::{
    bitfield_from, Block, BlockRef, Bytes, BytesMut, Decoder, ExtensionHandshake, Handshake, Info,
    InfoHash, Magnet, Message, MetadataMessage, Metainfo, PeerId, PexMessage, PieceMath, Reserved,
    Role, Session, SessionConfig, TorrentBuilder,
};

use crate::process::{cargo, run_step};

const DEFAULT_CASES: u64 = 10_000_000;
const DEFAULT_SEED: u64 = 0x5EED_F00D_B17E;
/// How many panicking inputs to print per campaign.
const SHOWN_PANICS: usize = 3;

/// Runs the campaigns (relaunching in release mode from a debug build).
pub fn run(args: &[String]) -> Result<(), String> {
    if cfg!(debug_assertions) {
        return run_step(
            "cargo xtask fuzz (release build)",
            cargo()
                .args([
                    "run",
                    "--release",
                    "--quiet",
                    "--package",
                    "xtask",
                    "--",
                    "fuzz",
                ])
                .args(args),
        );
    }
    let (cases, seed) = parse_args(args)?;
    eprintln!("fuzz: {cases} inputs per decoder, seed {seed:#x}");
    let campaigns: [(&str, Target, Vec<Vec<u8>>, Alphabet); 4] = [
        ("bencode", fuzz_bencode, bencode_corpus(), Alphabet::Bencode),
        (
            "metainfo",
            fuzz_metainfo,
            metainfo_corpus(),
            Alphabet::Bencode,
        ),
        ("magnet", fuzz_magnet, magnet_corpus(), Alphabet::Magnet),
        ("wire stream", fuzz_wire, wire_corpus(), Alphabet::Bytes),
    ];
    let previous_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let mut reports = Vec::new();
    for (index, (name, target, corpus, alphabet)) in campaigns.into_iter().enumerate() {
        let mut rng = Rng::new(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        reports.push(campaign(name, target, &corpus, alphabet, cases, &mut rng));
    }
    panic::set_hook(previous_hook);

    println!("\n| decoder | inputs | random | mutated | accepted | rejected | panics | seconds |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for report in &reports {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.1} |",
            report.name,
            report.inputs,
            report.random,
            report.mutated,
            report.accepted,
            report.inputs - report.accepted - report.panics,
            report.panics,
            report.seconds
        );
    }
    let panics: u64 = reports.iter().map(|report| report.panics).sum();
    for report in &reports {
        for input in &report.panicking_inputs {
            eprintln!("{} panicked on input {}", report.name, hex(input));
        }
    }
    if panics > 0 {
        return Err(format!("fuzz: {panics} panics (inputs printed above)"));
    }
    println!("\nfuzz: zero panics (seed {seed:#x}, {cases} inputs per decoder)");
    Ok(())
}

fn parse_args(args: &[String]) -> Result<(u64, u64), String> {
    let mut cases = DEFAULT_CASES;
    let mut seed = DEFAULT_SEED;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| {
            iter.next()
                .and_then(|value| value.parse::<u64>().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--cases" => cases = value("--cases")?,
            "--seed" => seed = value("--seed")?,
            other => return Err(format!("fuzz: unknown argument `{other}`")),
        }
    }
    Ok((cases, seed))
}

/// A decoder under test: returns whether the input was accepted (for the summary).
type Target = fn(&[u8], &mut Rng) -> bool;

struct Report {
    name: &'static str,
    inputs: u64,
    random: u64,
    mutated: u64,
    accepted: u64,
    panics: u64,
    seconds: f64,
    panicking_inputs: Vec<Vec<u8>>,
}

fn campaign(
    name: &'static str,
    target: Target,
    corpus: &[Vec<u8>],
    alphabet: Alphabet,
    cases: u64,
    rng: &mut Rng,
) -> Report {
    let started = Instant::now();
    let mut report = Report {
        name,
        inputs: 0,
        random: 0,
        mutated: 0,
        accepted: 0,
        panics: 0,
        seconds: 0.0,
        panicking_inputs: Vec::new(),
    };
    for _ in 0..cases {
        let input = if rng.below(2) == 0 || corpus.is_empty() {
            report.random += 1;
            alphabet.random_input(rng)
        } else {
            report.mutated += 1;
            mutate(corpus, rng)
        };
        report.inputs += 1;
        let mut call_rng = Rng::new(rng.next());
        match panic::catch_unwind(AssertUnwindSafe(|| target(&input, &mut call_rng))) {
            Ok(true) => report.accepted += 1,
            Ok(false) => {}
            Err(_) => {
                report.panics += 1;
                if report.panicking_inputs.len() < SHOWN_PANICS {
                    report.panicking_inputs.push(input);
                }
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "fuzz {name}: {} inputs, {} accepted, {} panics in {:.1} s",
        report.inputs, report.accepted, report.panics, report.seconds
    );
    report
}

// --- Targets ---------------------------------------------------------------------------------

fn fuzz_bencode(input: &[u8], _rng: &mut Rng) -> bool {
    let whole = bencode::decode(input);
    let _ = bencode::decode_prefix(input);
    match whole {
        Ok(value) => {
            // Whatever decodes must re-encode and decode to the same owned value.
            let owned = value.to_owned_value();
            let again = bencode::decode(&owned.encode()).map(|value| value.to_owned_value());
            assert_eq!(
                again.as_ref(),
                Ok(&owned),
                "bencode re-encoding changed the value"
            );
            true
        }
        Err(_) => false,
    }
}

fn fuzz_metainfo(input: &[u8], _rng: &mut Rng) -> bool {
    let _ = Info::from_bytes(input);
    match Metainfo::from_bytes(input) {
        Ok(torrent) => {
            let info = &torrent.info;
            let math = info.piece_math();
            assert_eq!(info.pieces().len() as u64, u64::from(math.piece_count()));
            let _ = info.file_spans(0, info.total_length());
            let _ = torrent.magnet().to_string();
            let reparsed = Metainfo::from_bytes(&torrent.to_bytes()).map(|t| t.info_hash());
            assert_eq!(
                reparsed,
                Ok(torrent.info_hash()),
                "re-encoding changed the info-hash"
            );
            true
        }
        Err(_) => false,
    }
}

fn fuzz_magnet(input: &[u8], _rng: &mut Rng) -> bool {
    let text = String::from_utf8_lossy(input);
    match Magnet::parse(&text) {
        Ok(magnet) => {
            let again = Magnet::parse(&magnet.to_string());
            assert_eq!(again.as_ref(), Ok(&magnet), "magnet did not round trip");
            true
        }
        Err(_) => false,
    }
}

/// The stream decoder (fed in random chunks, with and without a piece count), every extended
/// payload decoder, and a responder session all read the same bytes.
fn fuzz_wire(input: &[u8], rng: &mut Rng) -> bool {
    let mut decoder = Decoder::new();
    if rng.below(2) == 0 {
        decoder.set_piece_count(rng.below(64) as u32);
    }
    let mut accepted = true;
    let mut rest = input;
    'feed: while !rest.is_empty() {
        let take = (1 + rng.below(300) as usize).min(rest.len());
        let (chunk, tail) = rest.split_at(take);
        rest = tail;
        if rng.below(2) == 0 {
            decoder.feed(chunk);
        } else {
            decoder.feed_bytes(Bytes::copy_from_slice(chunk));
        }
        loop {
            match decoder.next_frame() {
                Ok(Some(bt_wire::Frame::Message(Message::Extended { payload, .. }))) => {
                    let _ = ExtensionHandshake::decode(&payload);
                    let _ = MetadataMessage::decode(&payload);
                    let _ = PexMessage::decode(&payload);
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    accepted = false;
                    break 'feed;
                }
            }
        }
    }
    let mut session = Session::new(
        Role::Responder,
        SessionConfig::new(InfoHash(CORPUS_HASH), PeerId([2; 20])),
    );
    if rng.below(2) == 0 {
        if let Ok(math) = PieceMath::new(rng.below(1 << 24), 16_384 << rng.below(4)) {
            session.set_piece_math(math);
        }
    }
    let mut session_ok = session.handle_input(input).is_ok();
    while session.poll_event().is_some() {}
    if session_ok && session.is_established() {
        session_ok = session.send(Message::Interested).is_ok();
    }
    accepted && session_ok
}

// --- Corpora of valid inputs ----------------------------------------------------------------

const CORPUS_HASH: [u8; 20] = [0xab; 20];

fn corpus_torrents() -> Vec<Metainfo> {
    let data: Vec<u8> = (0..70_000u32).map(|i| (i * 7 + i / 256) as u8).collect();
    let single = TorrentBuilder::new("single.bin", 16_384)
        .single_file(40_000)
        .tracker_tier(vec!["wss://tracker.example/announce".into()])
        .creation_date(1_700_000_000)
        .encoding("UTF-8")
        .build_from_data(&[&data[..40_000]]);
    let multi = TorrentBuilder::new("folder", 32_768)
        .file(vec!["a.txt".into()], 20_000)
        .file(vec!["sub".into(), "b.bin".into()], 5)
        .file(vec!["sub".into(), "deeper".into(), "c.dat".into()], 33_000)
        .private(true)
        .comment("fuzz corpus")
        .web_seed("https://seed.example/")
        .build_from_data(&[&data[..53_005]]);
    [single, multi].into_iter().filter_map(Result::ok).collect()
}

fn bencode_corpus() -> Vec<Vec<u8>> {
    let mut corpus: Vec<Vec<u8>> = corpus_torrents()
        .iter()
        .flat_map(|torrent| [torrent.to_bytes(), torrent.info.raw().to_vec()])
        .collect();
    corpus.push(
        bencode::dict([
            (
                "list",
                OwnedValue::List(vec![OwnedValue::Integer(-42), OwnedValue::bytes("x")]),
            ),
            ("n", OwnedValue::Integer(i64::MAX)),
            (
                "nested",
                bencode::dict([("d", bencode::dict([("e", OwnedValue::Integer(0))]))]),
            ),
        ])
        .encode(),
    );
    corpus.push(extension_handshake().encode());
    corpus
}

fn metainfo_corpus() -> Vec<Vec<u8>> {
    corpus_torrents()
        .iter()
        .flat_map(|torrent| [torrent.to_bytes(), torrent.info.raw().to_vec()])
        .collect()
}

fn magnet_corpus() -> Vec<Vec<u8>> {
    let mut corpus = Vec::new();
    for torrent in corpus_torrents() {
        let mut magnet = torrent.magnet();
        magnet.peers.push("127.0.0.1:6881".into());
        corpus.push(magnet.to_string().into_bytes());
    }
    let hash = InfoHash(CORPUS_HASH);
    corpus.push(format!("magnet:?xt=urn:btih:{}&dn=a+b%20c&so=0-3", hash.to_base32()).into_bytes());
    corpus
}

fn extension_handshake() -> ExtensionHandshake {
    let mut handshake = ExtensionHandshake::default();
    for (name, id) in [("ut_metadata", 1), ("ut_pex", 2), ("lt_donthave", 3)] {
        handshake.extensions.insert(name.into(), id);
    }
    handshake.metadata_size = Some(221);
    handshake.reqq = Some(250);
    handshake.client = Some("WebTorrent 2.8".into());
    handshake.your_ip = Some(vec![127, 0, 0, 1]);
    handshake
}

fn wire_corpus() -> Vec<Vec<u8>> {
    let handshake = Handshake {
        reserved: Reserved::EXTENSION_PROTOCOL.with_fast(true),
        info_hash: InfoHash(CORPUS_HASH),
        peer_id: PeerId(*b"-WW0208-fuzzcorpus01"),
    };
    let block = |length: usize| BlockRef {
        piece: 1,
        offset: 16_384,
        length: length as u32,
    };
    let messages = vec![
        Message::Extended {
            id: 0,
            payload: extension_handshake().encode().into(),
        },
        Message::Bitfield(bitfield_from(20, [0, 3, 19])),
        Message::HaveNone,
        Message::Unchoke,
        Message::Interested,
        Message::Have(7),
        Message::Request(block(16_384)),
        Message::Piece(Block {
            piece: 1,
            offset: 16_384,
            data: vec![0x5a; 300].into(),
        }),
        Message::Cancel(block(16_384)),
        Message::RejectRequest(block(100)),
        Message::AllowedFast(3),
        Message::SuggestPiece(2),
        Message::Port(6881),
        Message::KeepAlive,
        Message::Extended {
            id: 1,
            payload: MetadataMessage::Request { piece: 0 }.encode().into(),
        },
        Message::Extended {
            id: 1,
            payload: MetadataMessage::Data {
                piece: 0,
                total_size: 40,
                data: vec![b'd'; 40].into(),
            }
            .encode()
            .into(),
        },
        Message::Extended {
            id: 2,
            payload: b"d5:added6:\x7f\x00\x00\x01\x1a\xe17:added.f1:\x00e"[..].into(),
        },
        Message::Choke,
        Message::NotInterested,
    ];
    let mut corpus = Vec::new();
    // The full stream, and each message on its own after a handshake.
    let mut stream = BytesMut::new();
    stream.extend_from_slice(&handshake.to_bytes());
    for message in &messages {
        message.encode(&mut stream);
    }
    corpus.push(stream.to_vec());
    for message in &messages {
        let mut single = BytesMut::new();
        single.extend_from_slice(&handshake.to_bytes());
        message.encode(&mut single);
        corpus.push(single.to_vec());
    }
    corpus
}

// --- Generation and mutation ----------------------------------------------------------------

#[derive(Clone, Copy)]
enum Alphabet {
    Bytes,
    Bencode,
    Magnet,
}

impl Alphabet {
    /// Random bytes, or for text formats random tokens of that format glued together.
    fn random_input(self, rng: &mut Rng) -> Vec<u8> {
        let length = rng.below(256) as usize;
        match self {
            Alphabet::Bytes => (0..length).map(|_| rng.byte()).collect(),
            Alphabet::Bencode => {
                const TOKENS: &[&[u8]] = &[
                    b"d",
                    b"l",
                    b"e",
                    b"i",
                    b"-",
                    b"0",
                    b"1",
                    b"9",
                    b"20:",
                    b"4:info",
                    b"4:name",
                    b"6:pieces",
                    b"12:piece length",
                    b"6:length",
                    b"5:files",
                    b"4:path",
                    b"i16384e",
                    b"i-1e",
                    b"3:abc",
                    b"0:",
                    b"99999999999999999999:",
                ];
                random_tokens(TOKENS, length / 4, rng)
            }
            Alphabet::Magnet => {
                const TOKENS: &[&[u8]] = &[
                    b"magnet:?",
                    b"xt=",
                    b"urn:btih:",
                    b"urn:btmh:1220",
                    b"&",
                    b"=",
                    b"dn=",
                    b"tr=",
                    b"ws=",
                    b"x.pe=",
                    b"%",
                    b"%2",
                    b"%zz",
                    b"+",
                    b"c9e15763f722f23e98a2",
                    b"9decdfae341b98d53056",
                    b"ZHQVOY7XELZD5GFC",
                    b"TXWN7LRUDOMNKMCW",
                    b"\xc3\xa9",
                ];
                random_tokens(TOKENS, length / 4, rng)
            }
        }
    }
}

fn random_tokens(tokens: &[&[u8]], count: usize, rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..count {
        if rng.below(8) == 0 {
            out.push(rng.byte());
        } else {
            out.extend_from_slice(tokens[rng.below(tokens.len() as u64) as usize]);
        }
    }
    out
}

/// A valid input with 1 to 8 random edits (one edit half the time, two a quarter, ...).
fn mutate(corpus: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut input = corpus[rng.below(corpus.len() as u64) as usize].clone();
    let edits = 1 + u64::from(rng.next().trailing_zeros()).min(7);
    for _ in 0..edits {
        let len = input.len() as u64;
        match rng.below(9) {
            0 if len > 0 => {
                let at = rng.below(len) as usize;
                input[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len) as usize;
                input[at] = rng.byte();
            }
            2 => {
                let at = rng.below(len + 1) as usize;
                input.insert(at, rng.byte());
            }
            3 if len > 0 => {
                let start = rng.below(len) as usize;
                let end = (start + 1 + rng.below(32) as usize).min(input.len());
                input.drain(start..end);
            }
            4 if len > 0 => {
                let start = rng.below(len) as usize;
                let end = (start + 1 + rng.below(64) as usize).min(input.len());
                let copy = input[start..end].to_vec();
                let at = rng.below(input.len() as u64 + 1) as usize;
                input.splice(at..at, copy);
            }
            5 => {
                input.truncate(rng.below(len + 1) as usize);
            }
            6 if len >= 4 => {
                // Interesting 32-bit values, where length prefixes and indices live.
                const VALUES: [u32; 8] =
                    [0, 1, 0x7f, 0xff, 0x4009, 0x4000_0000, 0x7fff_ffff, u32::MAX];
                let at = rng.below(len - 3) as usize;
                let value = VALUES[rng.below(VALUES.len() as u64) as usize];
                input[at..at + 4].copy_from_slice(&value.to_be_bytes());
            }
            7 if len > 0 => {
                // Splice in part of another corpus entry.
                let other = &corpus[rng.below(corpus.len() as u64) as usize];
                if !other.is_empty() {
                    let start = rng.below(other.len() as u64) as usize;
                    let end = (start + 1 + rng.below(128) as usize).min(other.len());
                    let at = rng.below(len) as usize;
                    input.splice(at..at, other[start..end].iter().copied());
                }
            }
            _ => {
                // ASCII digits, where bencode lengths and integers live.
                if len > 0 {
                    let at = rng.below(len) as usize;
                    input[at] = b'0' + rng.below(10) as u8;
                }
            }
        }
    }
    input
}

/// SplitMix64: small, fast, and the same sequence for the same seed everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-enough in `0..bound` (bound > 0).
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
