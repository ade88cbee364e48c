//! `cargo xtask fuzz`: seeded random-input campaigns against every decoder.

/// Runs the campaigns.
pub fn run(_args: &[String]) -> Result<(), String> {
    Err("no decoders have fuzz campaigns yet".to_string())
}
