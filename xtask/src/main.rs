//! Project automation, run as `cargo xtask <command>`.
//!
//! * `cargo xtask demo`  — the main job: shows the product working end to end.
//! * `cargo xtask test`  — everything CI checks: formatting, clippy, every test
//!   (after installing what the tests need, npm packages included).
//! * `cargo xtask bench <area>` — benchmarks whose figures go into `BENCHMARKS.md`.
//! * `cargo xtask fuzz`  — random-input campaigns against every decoder.

mod bench;
mod demo;
mod fuzz;
mod netns;
mod npm;
mod process;
mod test;
mod vectors;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [args]

commands:
  demo [--size MiB] [--leechers N] [--signaling]
                     run the main job: seed and fetch a torrent on 127.0.0.1
  test               fmt check, clippy -D warnings, every test (installs npm packages first)
  bench <area>...    run benchmarks; areas: server rtc wire swarm discovery interop (none = all)
  fuzz [--cases N]   random-input campaign against every decoder
  npm-install        install the JavaScript packages the interop tests use
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(command) = args.next() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest: Vec<String> = args.collect();
    let result = match command.as_str() {
        "demo" => demo::run(&rest),
        "test" => test::run(&rest),
        "bench" => bench::run(&rest),
        "fuzz" => fuzz::run(&rest),
        "npm-install" => npm::install(),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
