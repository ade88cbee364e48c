//! `cargo xtask bench swarm`: the torrent engine moving a generated torrent from a seeder
//! to a leecher over a tokio duplex pipe (release build, one process per run).
//!
//! Each round runs `bt-swarm`'s `swarm_bench` example, which hashes the same content with
//! raw SHA-1 first (the baseline, same run), then times the transfer, and reports its peak
//! RSS. Rounds use the in-memory store; a last run downloads to disk to show the memory
//! bound. Options after `--`: `--rounds N` (5), `--mib N` (256), `--disk-mib N` (1024),
//! `--skip-disk`.

use std::collections::HashMap;

use crate::process::{cargo, workspace_root};

/// Runs the swarm benchmark.
pub fn run(args: &[String]) -> Result<(), String> {
    let option = |name: &str, default: u64| -> Result<u64, String> {
        match args.iter().position(|arg| arg == name) {
            Some(index) => args
                .get(index + 1)
                .and_then(|value| value.parse().ok())
                .ok_or_else(|| format!("{name} needs a number")),
            None => Ok(default),
        }
    };
    let rounds = option("--rounds", 5)?.max(1);
    let mib = option("--mib", 256)?;
    let disk_mib = option("--disk-mib", 1024)?;
    let skip_disk = args.iter().any(|arg| arg == "--skip-disk");

    eprintln!("building the benchmark (release)…");
    let status = cargo()
        .args([
            "build",
            "--release",
            "-q",
            "-p",
            "bt-swarm",
            "--example",
            "swarm_bench",
        ])
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !status.success() {
        return Err(format!("building swarm_bench failed ({status})"));
    }

    let mut memory_runs = Vec::new();
    for round in 1..=rounds {
        let report = run_once(&["--mib".to_string(), mib.to_string()])?;
        eprintln!(
            "round {round}: transfer {} MB/s, raw SHA-1 {} MB/s, ratio {}, peak RSS {} MiB",
            report.text("transfer_mb_s"),
            report.text("sha1_mb_s"),
            report.text("ratio"),
            report.text("peak_rss_mib"),
        );
        memory_runs.push(report);
    }
    let median = |key: &str| -> f64 {
        let mut values: Vec<f64> = memory_runs.iter().map(|run| run.number(key)).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let transfer = median("transfer_mb_s");
    let sha1 = median("sha1_mb_s");
    let ratio = median("ratio");
    let rss = median("peak_rss_mib");

    let disk = if skip_disk {
        None
    } else {
        let folder =
            std::env::temp_dir().join(format!("rondevu-swarm-bench-{}", std::process::id()));
        std::fs::create_dir_all(&folder)
            .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
        let result = run_once(&[
            "--mib".to_string(),
            disk_mib.to_string(),
            "--disk".to_string(),
            folder.display().to_string(),
        ]);
        let _ = std::fs::remove_dir_all(&folder);
        Some(result?)
    };

    println!(
        "\nTorrent engine (bt-swarm), seeder → leecher over a tokio duplex pipe, 256 KiB pieces"
    );
    println!("| what | figure |");
    println!("|---|---|");
    println!("| {mib} MiB, memory store, median of {rounds}: transfer | {transfer:.0} MB/s |");
    println!("| raw SHA-1 over the same data, same runs | {sha1:.0} MB/s |");
    println!(
        "| transfer / raw SHA-1 (median of per-run ratios) | {:.0}% (target ≥ 50%) |",
        ratio * 100.0
    );
    println!("| peak RSS (seeder + leecher process; the leecher holds {mib} MiB in memory) | {rss:.0} MiB |");
    if let Some(disk) = disk {
        println!(
            "| {disk_mib} MiB to disk: transfer | {} MB/s |",
            disk.text("transfer_mb_s")
        );
        println!(
            "| {disk_mib} MiB to disk: peak RSS (seeder + leecher process) | {} MiB (target < 64) |",
            disk.text("peak_rss_mib")
        );
    }
    Ok(())
}

/// One run's `key=value` report.
struct Report(HashMap<String, String>);

impl Report {
    fn text(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or("?")
    }

    fn number(&self, key: &str) -> f64 {
        self.text(key).parse().unwrap_or(f64::NAN)
    }
}

fn run_once(args: &[String]) -> Result<Report, String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let binary = target.join("release").join("examples").join("swarm_bench");
    let output = std::process::Command::new(&binary)
        .args(args)
        .output()
        .map_err(|error| format!("cannot run {}: {error}", binary.display()))?;
    if !output.status.success() {
        return Err(format!(
            "swarm_bench {args:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let values = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_string(), value.trim().to_string()))
        .collect();
    Ok(Report(values))
}
