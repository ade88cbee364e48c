//! `cargo xtask demo`: the main job — the product working end to end on 127.0.0.1.
//!
//! * `cargo xtask demo [--size MiB] [--leechers N]`: a real torrent transfer between `rondevu`
//!   processes through a real signaling server ([`transfer`]).
//! * `cargo xtask demo --signaling`: the signaling round trip alone, step by step
//!   ([`signaling`]).

mod signaling;
mod transfer;

/// Runs the demo chosen by `args`.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut size_mib: u64 = 64;
    let mut leechers: usize = 1;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value"))
                .map(String::as_str)
        };
        match arg.as_str() {
            "--signaling" => return signaling::run(),
            "--size" => {
                size_mib = value("--size")?
                    .parse()
                    .ok()
                    .filter(|mib| (1..=4096).contains(mib))
                    .ok_or("--size takes a number of MiB from 1 to 4096")?;
            }
            "--leechers" => {
                leechers = value("--leechers")?
                    .parse()
                    .ok()
                    .filter(|count| (1..=16).contains(count))
                    .ok_or("--leechers takes a number from 1 to 16")?;
            }
            other => {
                return Err(format!(
                    "unknown demo flag `{other}` (known: --size MiB, --leechers N, --signaling)"
                ))
            }
        }
    }
    transfer::run(size_mib, leechers)
}
