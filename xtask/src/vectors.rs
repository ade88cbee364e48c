//! Test vectors produced by real JavaScript implementations (run by `cargo xtask test`).
//!
//! `interop/wire-vectors.mjs` writes what WebTorrent's own packages (bittorrent-protocol,
//! ut_metadata, create-torrent, parse-torrent, magnet-uri) produce; bt-wire's tests read the
//! committed copies in `bt-wire/tests/vectors/`. This step regenerates them into a temporary
//! folder and fails if anything differs, so the committed vectors cannot drift from the
//! packages in `interop/package-lock.json`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::npm;
use crate::process::{run_step, workspace_root};

/// Where the committed wire vectors live.
fn committed_dir() -> PathBuf {
    workspace_root()
        .join("bt-wire")
        .join("tests")
        .join("vectors")
}

/// Regenerates the committed vectors with the npm packages and fails if they changed.
pub fn check() -> Result<(), String> {
    let fresh = std::env::temp_dir().join(format!("rondevu-wire-vectors-{}", std::process::id()));
    let result = regenerate_into(&fresh).and_then(|()| compare(&committed_dir(), &fresh));
    let _ = std::fs::remove_dir_all(&fresh);
    result?;
    eprintln!("wire vectors match WebTorrent's packages");
    Ok(())
}

/// Runs the Node script, writing the vectors into `out`.
pub fn regenerate_into(out: &Path) -> Result<(), String> {
    let script = npm::interop_dir().join("wire-vectors.mjs");
    run_step(
        "wire vectors (node interop/wire-vectors.mjs)",
        Command::new("node")
            .arg(&script)
            .arg(out)
            .current_dir(npm::interop_dir()),
    )
}

fn json_files(dir: &Path) -> Result<BTreeSet<String>, String> {
    let entries = std::fs::read_dir(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let mut names = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|error| format!("{}: {error}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            names.insert(name);
        }
    }
    Ok(names)
}

fn compare(committed: &Path, fresh: &Path) -> Result<(), String> {
    let expected = json_files(fresh)?;
    let found = json_files(committed)?;
    if expected != found {
        return Err(format!(
            "wire vectors: the script writes {expected:?} but {} holds {found:?}; \
             regenerate with `node interop/wire-vectors.mjs bt-wire/tests/vectors`",
            committed.display()
        ));
    }
    let mut changed = Vec::new();
    for name in &expected {
        let read = |dir: &Path| {
            std::fs::read(dir.join(name))
                .map_err(|error| format!("{}/{name}: {error}", dir.display()))
        };
        if read(committed)? != read(fresh)? {
            changed.push(name.as_str());
        }
    }
    if changed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "wire vectors differ from what WebTorrent's packages produce now: {}; \
             regenerate with `node interop/wire-vectors.mjs bt-wire/tests/vectors` and review",
            changed.join(", ")
        ))
    }
}
