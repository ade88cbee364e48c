//! `cargo xtask bench wire`.

/// Runs the wire benchmark.
pub fn run(_args: &[String]) -> Result<(), String> {
    Err("the wire benchmark is not written yet".to_string())
}
