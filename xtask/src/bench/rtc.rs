//! `cargo xtask bench rtc`: data-channel throughput on loopback, all in one run.
//!
//! 1. rondevu-rtc Rust → Rust through the driver and `DataStream`
//!    (`rondevu-rtc/examples/bench_driver.rs`);
//! 2. the bare-str0m baseline: two `Rtc`s, one thread and one blocking 4 MiB-buffered socket
//!    each, nothing of ours (`rondevu-rtc/examples/bench_bare_str0m.rs`);
//! 3. @roamhq/wrtc → @roamhq/wrtc with the same message size and high-water mark
//!    (`interop/rtc-bench.mjs`).
//!
//! Each program prints `RESULT bytes=<n> seconds=<s> cpu=<s>`; runs are interleaved and the
//! medians reported. Options (after `--`): `--mib N` (default 256), `--runs N` (default 3).

use std::process::Command;

use crate::npm;
use crate::process::{cargo, run_step};

/// Message size and high-water mark shared by all three (our `StreamConfig` defaults).
const MESSAGE_BYTES: usize = 16 * 1024;
const HIGH_WATER_BYTES: usize = 256 * 1024;

/// A contender: its name and how to start one run of it.
type Contender = (&'static str, Box<dyn Fn() -> Command>);

/// One measured run.
#[derive(Debug, Clone, Copy)]
struct Sample {
    bytes: f64,
    seconds: f64,
    cpu: f64,
}

impl Sample {
    fn megabytes_per_second(&self) -> f64 {
        self.bytes / self.seconds / 1e6
    }
}

/// Runs the rtc benchmark.
pub fn run(args: &[String]) -> Result<(), String> {
    let mib = option(args, "--mib", 256)?;
    let runs = option(args, "--runs", 3)?.max(1);
    run_step(
        "build the rtc benchmark programs (release)",
        cargo().args([
            "build",
            "--release",
            "-p",
            "rondevu-rtc",
            "--example",
            "bench_driver",
            "--example",
            "bench_bare_str0m",
        ]),
    )?;
    npm::install()?;

    let contenders: [Contender; 3] = [
        (
            "rondevu-rtc (driver + DataStream)",
            Box::new(move || example("bench_driver", mib)),
        ),
        (
            "bare str0m (baseline)",
            Box::new(move || example("bench_bare_str0m", mib)),
        ),
        (
            "@roamhq/wrtc → @roamhq/wrtc",
            Box::new(move || {
                let mut command = Command::new("node");
                command
                    .arg("rtc-bench.mjs")
                    .arg(mib.to_string())
                    .arg(MESSAGE_BYTES.to_string())
                    .arg(HIGH_WATER_BYTES.to_string())
                    .current_dir(npm::interop_dir());
                command
            }),
        ),
    ];
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); contenders.len()];
    for round in 1..=runs {
        for (index, (name, command)) in contenders.iter().enumerate() {
            let sample =
                measure(&mut command()).map_err(|error| format!("bench rtc: {name}: {error}"))?;
            eprintln!(
                "round {round}/{runs}: {name}: {:.1} MB/s, {:.2} CPU s",
                sample.megabytes_per_second(),
                sample.cpu
            );
            samples[index].push(sample);
        }
    }
    let medians: Vec<(f64, f64)> = samples
        .iter()
        .map(|runs| {
            let speed = median(runs.iter().map(Sample::megabytes_per_second).collect());
            let cpu = median(runs.iter().map(|s| s.cpu).collect());
            (speed, cpu)
        })
        .collect();
    let (ours, bare, libwebrtc) = (medians[0], medians[1], medians[2]);
    println!("\nRTC data channels, {mib} MiB over one channel on loopback, median of {runs} runs");
    println!("| what | MB/s | CPU s | MB/s vs bare str0m | MB/s vs libwebrtc |");
    println!("|---|---|---|---|---|");
    for ((name, _), (speed, cpu)) in contenders.iter().zip(&medians) {
        println!(
            "| {name} | {speed:.1} | {cpu:.2} | {:.2}× | {:.2}× |",
            speed / bare.0,
            speed / libwebrtc.0
        );
    }
    println!(
        "\nours / bare str0m = {:.0}% (target ≥ 95%), ours / libwebrtc = {:.2}× (target ≥ 2×)",
        100.0 * ours.0 / bare.0,
        ours.0 / libwebrtc.0
    );
    Ok(())
}

/// `cargo run --release` of one of rondevu-rtc's benchmark examples.
fn example(name: &str, mib: usize) -> Command {
    let mut command = cargo();
    command.args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "rondevu-rtc",
        "--example",
        name,
        "--",
        &mib.to_string(),
    ]);
    command
}

/// Runs a benchmark program and parses its `RESULT` line.
fn measure(command: &mut Command) -> Result<Sample, String> {
    let output = command
        .output()
        .map_err(|error| format!("could not start {command:?}: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let line = stdout
        .lines()
        .find(|line| line.starts_with("RESULT "))
        .ok_or_else(|| format!("no RESULT line in {stdout:?}"))?;
    let field = |name: &str| -> Result<f64, String> {
        line.split_whitespace()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| format!("no {name} in {line:?}"))
    };
    Ok(Sample {
        bytes: field("bytes")?,
        seconds: field("seconds")?,
        cpu: field("cpu")?,
    })
}

/// The value after `name` in `args`, or `default`.
fn option(args: &[String], name: &str, default: usize) -> Result<usize, String> {
    match args.iter().position(|arg| arg == name) {
        None => Ok(default),
        Some(at) => args
            .get(at + 1)
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| format!("{name} needs a number")),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
