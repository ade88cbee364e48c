//! Running child commands from the workspace root, with their output shown.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the parent of this crate's folder).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The `cargo` that runs this xtask (falls back to `cargo` on PATH).
pub fn cargo() -> Command {
    let program = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(program);
    command.current_dir(workspace_root());
    command
}

/// Runs `command`, printing it first; an unsuccessful exit becomes an error naming it.
pub fn run_step(name: &str, command: &mut Command) -> Result<(), String> {
    eprintln!("\n==> {name}");
    let status = command
        .status()
        .map_err(|error| format!("{name}: could not start {command:?}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{name} failed ({status})"))
    }
}

/// Where cargo puts build output (`CARGO_TARGET_DIR`, or `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}
