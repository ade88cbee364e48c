//! `cargo xtask test`: what CI runs — formatting, clippy, then every test.

use crate::npm;
use crate::process::{cargo, run_step};
use crate::vectors;

/// Runs every check. Extra arguments are passed to `cargo test` (e.g. a test name filter).
pub fn run(extra: &[String]) -> Result<(), String> {
    run_step(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    npm::install()?;
    vectors::check()?;
    run_step(
        "cargo clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    let mut test = cargo();
    test.args(["test", "--workspace"]).args(extra);
    // Tests that need the JavaScript packages fail instead of skipping when they are missing.
    test.env("RONDEVU_REQUIRE_NODE", "1");
    test.env("RONDEVU_INTEROP_DIR", npm::interop_dir());
    run_step("cargo test", &mut test)?;
    eprintln!("\nall checks passed");
    Ok(())
}
