//! `cargo xtask bench swarm`.

/// Runs the swarm benchmark.
pub fn run(_args: &[String]) -> Result<(), String> {
    Err("the swarm benchmark is not written yet".to_string())
}
