//! `cargo xtask bench wire`: how fast bt-wire decodes and encodes a realistic peer stream.
//!
//! The stream is what a seeder sends a leecher: 16 KiB `piece` messages with a `have` after
//! every 16 blocks and the odd keep-alive, delivered in data-channel-sized chunks whose
//! boundaries fall anywhere inside messages. Each figure is the median of several rounds,
//! beside a baseline measured in the same run: copying the same bytes in the same chunks
//! (`memcpy`), the least any receiver does.
//!
//! usage: `cargo xtask bench wire [-- --mib N --rounds R]` (default 256 MiB, 7 rounds)

use std::hint::black_box;
use std::time::{Duration, Instant};

use bt_wire::{
    Block, Bytes, BytesMut, Decoder, Frame, InfoHash, Message, PeerId, Role, Session,
    SessionConfig, BLOCK_SIZE,
};

use crate::process::{cargo, run_step};

/// Chunk sizes a data channel delivers: WebTorrent's largest message (16 KiB + 13), a
/// 64 KiB write, and libwebrtc's maximum message size (256 KiB).
const CHUNK_SIZES: [usize; 3] = [16 * 1024 + 13, 64 * 1024, 256 * 1024];

/// Runs the benchmark (relaunching in release mode from a debug build).
pub fn run(args: &[String]) -> Result<(), String> {
    if cfg!(debug_assertions) {
        let mut command = cargo();
        command.args([
            "run",
            "--release",
            "--quiet",
            "--package",
            "xtask",
            "--",
            "bench",
            "wire",
        ]);
        if !args.is_empty() {
            command.arg("--").args(args);
        }
        return run_step("cargo xtask bench wire (release build)", &mut command);
    }
    let (mib, rounds) = parse_args(args)?;
    let messages = realistic_messages(mib);
    let stream = encode_all(&messages);
    let payload: usize = messages
        .iter()
        .map(|message| match message {
            Message::Piece(block) => block.data.len(),
            _ => 0,
        })
        .sum();
    println!(
        "wire stream: {} messages, {:.1} MiB ({:.1}% block payload), median of {rounds} rounds\n",
        messages.len(),
        stream.len() as f64 / (1024.0 * 1024.0),
        100.0 * payload as f64 / stream.len() as f64
    );
    println!("| what | chunk | throughput | vs memcpy |");
    println!("|---|---:|---:|---:|");
    for chunk in CHUNK_SIZES {
        let memcpy = median(rounds, || memcpy_chunks(&stream, chunk));
        let copied = median(rounds, || decode_copying(&stream, chunk, messages.len()));
        let shared = median(rounds, || decode_shared(&stream, chunk, messages.len()));
        let rate = |time: Duration| stream.len() as f64 / time.as_secs_f64() / 1e9;
        let row = |what: &str, time: Duration| {
            println!(
                "| {what} | {chunk} | {:.2} GB/s | {:.2}× |",
                rate(time),
                memcpy.as_secs_f64() / time.as_secs_f64()
            );
        };
        row("baseline: memcpy of the chunks", memcpy);
        row("decode, `feed(&[u8])` (one copy in)", copied);
        row("decode, `feed_bytes(Bytes)` (zero-copy)", shared);
    }
    for chunk in CHUNK_SIZES {
        let memcpy = median(rounds, || memcpy_chunks(&stream, chunk));
        let encode = median(rounds, || encode_sent_in_chunks(&messages, chunk));
        let session = median(rounds, || session_receive(&stream, chunk, messages.len()));
        let rate = |time: Duration| stream.len() as f64 / time.as_secs_f64() / 1e9;
        println!(
            "| encode, `Message::encode` into an output buffer sent every chunk | {chunk} | {:.2} GB/s | {:.2}× |",
            rate(encode),
            memcpy.as_secs_f64() / encode.as_secs_f64()
        );
        println!(
            "| receive through `Session::handle_bytes` + `poll_event` | {chunk} | {:.2} GB/s | {:.2}× |",
            rate(session),
            memcpy.as_secs_f64() / session.as_secs_f64()
        );
    }
    Ok(())
}

fn parse_args(args: &[String]) -> Result<(usize, usize), String> {
    let mut mib = 256;
    let mut rounds = 7;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| {
            iter.next()
                .and_then(|value| value.parse::<usize>().ok())
                .filter(|value| *value > 0)
                .ok_or_else(|| format!("{name} needs a positive number"))
        };
        match arg.as_str() {
            "--mib" => mib = value("--mib")?,
            "--rounds" => rounds = value("--rounds")?,
            other => return Err(format!("bench wire: unknown argument `{other}`")),
        }
    }
    Ok((mib, rounds))
}

/// `mib` MiB of blocks as a seeder sends them, with `have`s and keep-alives mixed in.
/// Every block is its own slice of one large buffer, so encoding reads from memory, not from
/// one block that stays in cache.
fn realistic_messages(mib: usize) -> Vec<Message> {
    let block_count = mib * 1024 * 1024 / BLOCK_SIZE as usize;
    let size = block_count * BLOCK_SIZE as usize;
    let data: Bytes = (0..size).map(|i| (i * 13 + i / 4099) as u8).collect();
    let mut messages = Vec::with_capacity(block_count + block_count / 16 + 8);
    for index in 0..block_count as u32 {
        let (piece, block) = (index / 16, index % 16);
        let start = index as usize * BLOCK_SIZE as usize;
        messages.push(Message::Piece(Block {
            piece,
            offset: block * BLOCK_SIZE,
            data: data.slice(start..start + BLOCK_SIZE as usize),
        }));
        if block == 15 {
            messages.push(Message::Have(piece));
        }
        if index % 4096 == 4095 {
            messages.push(Message::KeepAlive);
        }
    }
    messages
}

fn encode_all(messages: &[Message]) -> Bytes {
    let mut out = BytesMut::with_capacity(messages.iter().map(Message::encoded_len).sum());
    for message in messages {
        message.encode(&mut out);
    }
    out.freeze()
}

fn median(rounds: usize, mut run: impl FnMut() -> Duration) -> Duration {
    run(); // warm-up
    let mut times: Vec<Duration> = (0..rounds).map(|_| run()).collect();
    times.sort_unstable();
    times[times.len() / 2]
}

fn memcpy_chunks(stream: &Bytes, chunk: usize) -> Duration {
    let mut buffer = vec![0u8; chunk];
    let started = Instant::now();
    for piece in stream.chunks(chunk) {
        buffer[..piece.len()].copy_from_slice(piece);
        black_box(&mut buffer);
    }
    started.elapsed()
}

/// Drains every frame, touching each block's length and first byte as a consumer would.
fn drain(decoder: &mut Decoder, seen: &mut usize, checksum: &mut u64) {
    while let Ok(Some(frame)) = decoder.next_frame() {
        *seen += 1;
        if let Frame::Message(Message::Piece(block)) = frame {
            *checksum += block.data.len() as u64 + u64::from(block.data[0]);
            black_box(block);
        }
    }
}

fn decode_copying(stream: &Bytes, chunk: usize, expected: usize) -> Duration {
    let mut decoder = Decoder::after_handshake();
    let (mut seen, mut checksum) = (0, 0);
    let started = Instant::now();
    for piece in stream.chunks(chunk) {
        decoder.feed(piece);
        drain(&mut decoder, &mut seen, &mut checksum);
    }
    let elapsed = started.elapsed();
    assert_eq!(seen, expected, "every message decoded");
    black_box(checksum);
    elapsed
}

fn decode_shared(stream: &Bytes, chunk: usize, expected: usize) -> Duration {
    let chunks: Vec<Bytes> = (0..stream.len())
        .step_by(chunk)
        .map(|start| stream.slice(start..(start + chunk).min(stream.len())))
        .collect();
    let mut decoder = Decoder::after_handshake();
    let (mut seen, mut checksum) = (0, 0);
    let started = Instant::now();
    for piece in chunks {
        decoder.feed_bytes(piece);
        drain(&mut decoder, &mut seen, &mut checksum);
    }
    let elapsed = started.elapsed();
    assert_eq!(seen, expected, "every message decoded");
    black_box(checksum);
    elapsed
}

/// Encodes into one output buffer and hands it off every `chunk` bytes, as a session's
/// `poll_transmit` does for a driver that writes and drops each chunk.
fn encode_sent_in_chunks(messages: &[Message], chunk: usize) -> Duration {
    let mut out = BytesMut::with_capacity(2 * chunk);
    let started = Instant::now();
    for message in messages {
        message.encode(&mut out);
        while out.len() >= chunk {
            black_box(out.split_to(chunk).freeze());
        }
    }
    let elapsed = started.elapsed();
    black_box(out);
    elapsed
}

/// The engine's path: a session past the handshake receiving the stream's chunks.
fn session_receive(stream: &Bytes, chunk: usize, expected: usize) -> Duration {
    let hash = InfoHash([1; 20]);
    let mut seeder = Session::new(Role::Initiator, SessionConfig::new(hash, PeerId([1; 20])));
    let mut leecher = Session::new(Role::Responder, SessionConfig::new(hash, PeerId([2; 20])));
    for _ in 0..2 {
        while let Some(bytes) = seeder.poll_transmit(usize::MAX) {
            leecher.handle_bytes(bytes).expect("handshake");
        }
        while let Some(bytes) = leecher.poll_transmit(usize::MAX) {
            seeder.handle_bytes(bytes).expect("handshake");
        }
    }
    while leecher.poll_event().is_some() {}
    let chunks: Vec<Bytes> = (0..stream.len())
        .step_by(chunk)
        .map(|start| stream.slice(start..(start + chunk).min(stream.len())))
        .collect();
    let mut seen = 0;
    let started = Instant::now();
    for piece in chunks {
        leecher.handle_bytes(piece).expect("valid stream");
        while let Some(event) = leecher.poll_event() {
            seen += 1;
            black_box(event);
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(seen, expected, "every message delivered");
    elapsed
}
