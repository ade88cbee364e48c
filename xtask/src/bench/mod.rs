//! `cargo xtask bench <area>`: benchmarks whose figures go into `BENCHMARKS.md`.
//!
//! Each area is its own module; every figure is reported beside a baseline measured
//! in the same run, because these machines are noisy.

/// Every benchmark area, in the order `cargo xtask bench` runs them.
const AREAS: &[&str] = &["server", "rtc", "wire", "swarm"];

/// Runs the named areas (all of them when none is named).
pub fn run(args: &[String]) -> Result<(), String> {
    let chosen: Vec<&str> = if args.is_empty() {
        AREAS.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    for area in chosen {
        match area {
            "server" | "rtc" | "wire" | "swarm" => {
                return Err(format!("benchmark `{area}` is not written yet"))
            }
            other => {
                return Err(format!(
                    "unknown benchmark area `{other}` (known: {})",
                    AREAS.join(", ")
                ))
            }
        }
    }
    Ok(())
}
