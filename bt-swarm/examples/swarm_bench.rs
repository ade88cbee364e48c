//! The process `cargo xtask bench swarm` runs: one seeder and one leecher in this process,
//! connected by a tokio duplex pipe, moving a generated torrent; prints `key=value` lines
//! (MB/s, raw SHA-1 speed over the same data hashed before and after the transfer, peak
//! RSS from /proc/self/status).
//!
//! `swarm_bench [--mib N] [--piece-kib K] [--disk DIR]` (memory store unless `--disk`).

use std::sync::Arc;
use std::time::Instant;

use bt_swarm::layout::TorrentLayout;
use bt_swarm::store::{PieceStore, StoreError};
use bt_swarm::{verify, Engine, EngineConfig, Storage};
use bt_wire::{PieceHasher, TorrentBuilder};

/// Seeds generated content without holding it: every piece is a window of one random
/// pattern, so the seeder's memory stays small and the leecher's RSS is what is measured.
struct PatternStore {
    layout: Arc<TorrentLayout>,
    pattern: Vec<u8>,
}

impl PatternStore {
    fn new(layout: Arc<TorrentLayout>) -> Self {
        let mut pattern = vec![0u8; 8 * 1024 * 1024 + layout.piece_length() as usize];
        fastrand::Rng::with_seed(7).fill(&mut pattern);
        Self { layout, pattern }
    }

    fn piece(&self, piece: u32) -> &[u8] {
        let start = (piece as usize * 4099) % (8 * 1024 * 1024);
        &self.pattern[start..start + self.layout.piece_len(piece) as usize]
    }
}

impl PieceStore for PatternStore {
    fn write(&self, _piece: u32, _offset: u32, _data: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }

    fn read(&self, piece: u32, offset: u32, buf: &mut [u8]) -> Result<(), StoreError> {
        let start = offset as usize;
        let data = self
            .piece(piece)
            .get(start..start + buf.len())
            .ok_or(StoreError::Missing(piece))?;
        buf.copy_from_slice(data);
        Ok(())
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) this process has used, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let ticks_per_second = 100.0; // USER_HZ on Linux
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name (which is in parentheses).
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / ticks_per_second)
        })
        .unwrap_or(0.0)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mib: u64 = arg(&args, "--mib").map_or(Ok(256), |v| v.parse())?;
    let piece_kib: u32 = arg(&args, "--piece-kib").map_or(Ok(256), |v| v.parse())?;
    let disk = arg(&args, "--disk");
    let total = mib * 1024 * 1024;
    let piece_length = piece_kib * 1024;

    // The torrent: piece hashes of the generated content, timed as the raw SHA-1 baseline.
    let shape = Arc::new(TorrentLayout::new(
        u64::from(piece_length),
        vec![(vec!["bench.bin".to_string()], total)],
        vec![[0; 20]; total.div_ceil(u64::from(piece_length)) as usize],
    )?);
    let generator = PatternStore::new(shape.clone());
    let hash_all = || {
        let hashing = Instant::now();
        let mut hasher = PieceHasher::new(piece_length);
        for piece in 0..shape.piece_count() {
            hasher.update(generator.piece(piece));
        }
        (hasher.finish(), hashing.elapsed().as_secs_f64())
    };
    let (pieces, sha1_before) = hash_all();
    let metainfo = TorrentBuilder::new("bench.bin", piece_length)
        .single_file(total)
        .build(pieces)?;
    let layout = Arc::new(TorrentLayout::from_info(&metainfo.info)?);
    let seed_store = Arc::new(PatternStore::new(layout.clone()));
    // Sanity: the generator matches its own hashes.
    assert!(verify::matches(
        seed_store.piece(0),
        layout.piece_hash(0).ok_or("no piece")?
    ));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (transfer_seconds, transfer_cpu, downloaded) = runtime.block_on(async {
        let seeder_engine = Engine::new(EngineConfig::default());
        let seeder = seeder_engine.add_torrent(metainfo.clone(), Storage::Store(seed_store))?;
        seeder.wait_complete().await?;
        let leecher_engine = Engine::new(EngineConfig::default());
        let storage = match &disk {
            Some(dir) => Storage::Disk(dir.into()),
            None => Storage::Memory,
        };
        let leecher = leecher_engine.add_torrent(metainfo.clone(), storage)?;
        leecher
            .wait_for(|p| p.state == bt_swarm::TorrentState::Downloading)
            .await?;
        let start = Instant::now();
        let cpu_start = cpu_seconds();
        let (a, b) = tokio::io::duplex(1024 * 1024);
        seeder.add_peer(a)?;
        leecher.add_peer(b)?;
        leecher.wait_complete().await?;
        let seconds = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu_start;
        let stats = leecher.stats().await?;
        Ok::<_, Box<dyn std::error::Error>>((seconds, cpu, stats.downloaded))
    })?;
    // The baseline is hashed again after the transfer: this machine is shared, so the
    // mean of both brackets the transfer's conditions.
    let (_, sha1_after) = hash_all();
    let sha1_seconds = (sha1_before + sha1_after) / 2.0;
    let mb = total as f64 / 1e6;
    println!("bytes={total}");
    println!("piece_length={piece_length}");
    println!("store={}", if disk.is_some() { "disk" } else { "memory" });
    println!("downloaded={downloaded}");
    println!("transfer_seconds={transfer_seconds:.3}");
    println!("transfer_mb_s={:.1}", mb / transfer_seconds);
    println!("transfer_cpu_seconds={transfer_cpu:.2}");
    println!("sha1_cpu_seconds={sha1_seconds:.2}");
    println!("sha1_mb_s={:.1}", mb / sha1_seconds);
    println!("ratio={:.3}", (mb / transfer_seconds) / (mb / sha1_seconds));
    println!("peak_rss_mib={:.1}", peak_rss_kib() as f64 / 1024.0);
    Ok(())
}
