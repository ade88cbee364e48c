//! `cargo xtask bench server`.

/// Runs the server benchmark.
pub fn run(_args: &[String]) -> Result<(), String> {
    Err("the server benchmark is not written yet".to_string())
}
