//! Installing the JavaScript packages that interop tests and vector scripts use.
//!
//! Everything lives in `interop/` with a committed lockfile; installs use
//! `npm ci --ignore-scripts` so nothing downloads sources at install time.

use std::path::PathBuf;
use std::process::Command;

use crate::process::{run_step, workspace_root};

/// The folder holding `package.json`, the lockfile and `node_modules`.
pub fn interop_dir() -> PathBuf {
    workspace_root().join("interop")
}

/// Installs the packages unless `node_modules` already matches the lockfile.
pub fn install() -> Result<(), String> {
    let dir = interop_dir();
    let lock = std::fs::read(dir.join("package-lock.json"))
        .map_err(|error| format!("interop/package-lock.json: {error}"))?;
    let stamp = dir.join(".install-stamp");
    let fingerprint = format!("{:016x}", fnv1a(&lock));
    if dir.join("node_modules").is_dir()
        && std::fs::read_to_string(&stamp).ok().as_deref() == Some(fingerprint.as_str())
    {
        eprintln!("\n==> npm packages already installed (interop/node_modules)");
        return Ok(());
    }
    run_step(
        "npm ci (interop)",
        Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
            .current_dir(&dir),
    )?;
    std::fs::write(&stamp, fingerprint).map_err(|error| format!("{}: {error}", stamp.display()))
}

/// A small stable hash, enough to notice a changed lockfile.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
