//! `cargo xtask test`: what CI runs — formatting, clippy, then every test.

use std::process::Command;

use crate::netns;
use crate::npm;
use crate::process::{cargo, run_step, target_dir};
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
    // Build everything first, with the network, so the tests can run without it.
    run_step(
        "cargo test --no-run",
        cargo()
            .args(["test", "--workspace", "--no-run"])
            .args(extra),
    )?;
    let mut test = cargo();
    test.args(["test", "--workspace", "--offline"]).args(extra);
    // Tests that need the JavaScript packages fail instead of skipping when they are missing.
    test.env("RONDEVU_REQUIRE_NODE", "1");
    test.env("RONDEVU_INTEROP_DIR", npm::interop_dir());
    run_step(
        "cargo test (in a network namespace with only lo)",
        &mut netns::isolated(&test),
    )?;

    if extra.is_empty() {
        // The JavaScript interop tests (interop/test/*.mjs) against our own server binary.
        run_step(
            "cargo build -p rondevu-cli",
            cargo().args(["build", "-p", "rondevu-cli"]),
        )?;
        let mut npm_test = Command::new("npm");
        npm_test
            .arg("test")
            .current_dir(npm::interop_dir())
            .env("RONDEVU_BIN", target_dir().join("debug").join("rondevu"))
            .env("RONDEVU_REQUIRE_NODE", "1");
        run_step(
            "npm test (interop, in a network namespace with only lo)",
            &mut netns::isolated(&npm_test),
        )?;
    }
    eprintln!("\nall checks passed");
    Ok(())
}
