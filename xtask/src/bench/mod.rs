//! `cargo xtask bench <area>`: benchmarks whose figures go into `BENCHMARKS.md`.
//!
//! Each area is its own module; every figure is reported beside a baseline measured
//! in the same run, because these machines are noisy.

mod discovery;
mod interop;
mod rtc;
mod server;
mod swarm;
mod wire;

/// One benchmark area: its name on the command line and what runs it.
struct Area {
    name: &'static str,
    run: fn(&[String]) -> Result<(), String>,
}

/// Every benchmark area, in the order `cargo xtask bench` runs them.
const AREAS: &[Area] = &[
    Area {
        name: "server",
        run: server::run,
    },
    Area {
        name: "rtc",
        run: rtc::run,
    },
    Area {
        name: "wire",
        run: wire::run,
    },
    Area {
        name: "swarm",
        run: swarm::run,
    },
    Area {
        name: "discovery",
        run: discovery::run,
    },
    Area {
        name: "interop",
        run: interop::run,
    },
];

/// Runs the named areas (all of them when none is named); arguments after `--` go to each.
pub fn run(args: &[String]) -> Result<(), String> {
    let (names, extra) = match args.iter().position(|arg| arg == "--") {
        Some(split) => (&args[..split], &args[split + 1..]),
        None => (args, &[][..]),
    };
    let chosen: Vec<&Area> = if names.is_empty() {
        AREAS.iter().collect()
    } else {
        names
            .iter()
            .map(|name| {
                AREAS.iter().find(|area| area.name == name).ok_or_else(|| {
                    let known: Vec<&str> = AREAS.iter().map(|area| area.name).collect();
                    format!(
                        "unknown benchmark area `{name}` (known: {})",
                        known.join(", ")
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    for area in chosen {
        eprintln!("\n==> bench {}", area.name);
        (area.run)(extra)?;
    }
    Ok(())
}
