//! `--credentials FILE`: a Rondevu identity created on first use and reused after (the
//! original plugin's `credentials` option).

use std::path::Path;

use rondevu_api::Credentials;

/// The largest credentials file read (a peer id and a secret are under 200 bytes).
const MAX_CREDENTIALS_BYTES: u64 = 64 * 1024;

/// The stored credentials, or `None` when the file does not exist yet.
pub fn load(path: &Path) -> Result<Option<Credentials>, String> {
    let shown = path.display();
    match std::fs::metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(format!("cannot read credentials {shown}: {error}")),
        Ok(metadata) if metadata.len() > MAX_CREDENTIALS_BYTES => {
            return Err(format!("{shown} is not a credentials file (too large)"))
        }
        Ok(_) => {}
    }
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read credentials {shown}: {error}"))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|error| format!("{shown} is not a credentials file: {error}"))
}

/// Writes `credentials` to `path`, readable only by the owner on Unix. The file is replaced
/// atomically (written beside it, then renamed), so a reader never sees half of it.
pub fn save(path: &Path, credentials: &Credentials) -> Result<(), String> {
    let shown = path.display();
    let text = serde_json::to_string_pretty(credentials)
        .map_err(|error| format!("cannot encode credentials: {error}"))?;
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
    }
    let mut staging = path.as_os_str().to_owned();
    staging.push(format!(".{}.tmp", std::process::id()));
    let staging = std::path::PathBuf::from(staging);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let written = options.open(&staging).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()
    });
    written
        .and_then(|()| std::fs::rename(&staging, path))
        .map_err(|error| {
            let _ = std::fs::remove_file(&staging);
            format!("cannot write credentials {shown}: {error}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_file() {
        let folder = std::env::temp_dir().join(format!("creds-{}", std::process::id()));
        let path = folder.join("nested").join("creds.json");
        assert!(load(&path).unwrap().is_none());
        let credentials = Credentials {
            peer_id: "96176c2081626185c67b9d18451ae60f".to_string(),
            secret: "c2VjcmV0".to_string(),
        };
        save(&path, &credentials).unwrap();
        let loaded = load(&path).unwrap().unwrap();
        assert_eq!(loaded.peer_id, credentials.peer_id);
        assert_eq!(loaded.secret, credentials.secret);
        std::fs::write(&path, "{").unwrap();
        assert!(load(&path)
            .unwrap_err()
            .contains("is not a credentials file"));
        let _ = std::fs::remove_dir_all(folder);
    }
}
