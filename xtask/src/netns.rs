//! Running tests and benchmarks inside a fresh network namespace that has only `lo`.
//!
//! Candidate filtering keeps what our peers *announce* on loopback, but libwebrtc also pairs
//! its sockets on other interfaces with a remote loopback candidate, so two JavaScript peers on
//! one machine can end up talking through this machine's own eth0 addresses. Inside a network
//! namespace with only `lo` up there is no other address to use. Creating one needs root and
//! `unshare`/`ip` (util-linux, iproute2); without them the command runs as it is, with a warning.

use std::process::Command;

/// Set inside the namespace, so tests know they need not isolate themselves again.
pub const INSIDE_MARKER: &str = "RONDEVU_NETNS_INSIDE";

/// Whether this machine can make a namespace (checked by making one).
pub fn available() -> bool {
    Command::new("unshare")
        .args(["-n", "sh", "-c", "ip link set lo up"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// `command`, to be run inside a new namespace with `lo` up when one can be made.
pub fn isolated(command: &Command) -> Command {
    if !available() {
        eprintln!(
            "warning: cannot create a network namespace (needs root, unshare and ip); \
             running without network isolation"
        );
        return clone(command, command.get_program(), &[]);
    }
    let prefix = [
        "-n".as_ref(),
        "sh".as_ref(),
        "-c".as_ref(),
        "ip link set lo up && exec \"$@\"".as_ref(),
        "sh".as_ref(),
        command.get_program(),
    ];
    let mut wrapped = clone(command, "unshare".as_ref(), &prefix);
    wrapped.env(INSIDE_MARKER, "1");
    wrapped
}

/// A copy of `command` running `program` with `prefix` before the original arguments.
fn clone(command: &Command, program: &std::ffi::OsStr, prefix: &[&std::ffi::OsStr]) -> Command {
    let mut copy = Command::new(program);
    copy.args(prefix).args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        copy.current_dir(dir);
    }
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => copy.env(key, value),
            None => copy.env_remove(key),
        };
    }
    copy
}
