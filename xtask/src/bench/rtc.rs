//! `cargo xtask bench rtc`.

/// Runs the rtc benchmark.
pub fn run(_args: &[String]) -> Result<(), String> {
    Err("the rtc benchmark is not written yet".to_string())
}
