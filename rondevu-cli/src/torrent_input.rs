//! What `rondevu get` is asked to fetch: a magnet link, an info-hash, or a `.torrent` file.

use std::path::Path;

use bt_swarm::TorrentSource;
use bt_wire::{InfoHash, Magnet, Metainfo};

/// The largest `.torrent` file read (real ones are kilobytes; this bounds a hostile one).
const MAX_TORRENT_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// A torrent named on the command line.
#[derive(Debug, Clone)]
pub enum TorrentInput {
    /// `magnet:?xt=urn:btih:…`: the info dictionary comes from peers.
    Magnet(Magnet),
    /// A bare info-hash (40 hex or 32 base32 characters).
    InfoHash(InfoHash),
    /// A `.torrent` file, read and parsed.
    File(Box<Metainfo>),
}

impl TorrentInput {
    /// Reads `text` as a magnet link, an info-hash, or the path of a `.torrent` file.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.len() >= 7 && text[..7].eq_ignore_ascii_case("magnet:") {
            return Magnet::parse(text)
                .map(TorrentInput::Magnet)
                .map_err(|error| format!("not a valid magnet link: {error}"));
        }
        if let Some(info_hash) = parse_info_hash(text) {
            return Ok(TorrentInput::InfoHash(info_hash));
        }
        let path = Path::new(text);
        if path.exists() {
            return read_torrent_file(path).map(|metainfo| TorrentInput::File(Box::new(metainfo)));
        }
        Err(format!(
            "`{text}` is neither a magnet link, an info-hash nor an existing .torrent file"
        ))
    }

    /// The torrent's info-hash.
    pub fn info_hash(&self) -> InfoHash {
        match self {
            TorrentInput::Magnet(magnet) => magnet.info_hash,
            TorrentInput::InfoHash(info_hash) => *info_hash,
            TorrentInput::File(metainfo) => metainfo.info_hash(),
        }
    }

    /// A name to show: the torrent's, the magnet's `dn`, or the info-hash.
    pub fn display_name(&self) -> String {
        match self {
            TorrentInput::Magnet(magnet) => magnet
                .display_name
                .clone()
                .unwrap_or_else(|| magnet.info_hash.to_string()),
            TorrentInput::InfoHash(info_hash) => info_hash.to_string(),
            TorrentInput::File(metainfo) => metainfo.info.name().to_string(),
        }
    }

    /// What the engine adds.
    pub fn source(&self) -> TorrentSource {
        match self {
            TorrentInput::Magnet(magnet) => TorrentSource::from(magnet),
            TorrentInput::InfoHash(info_hash) => TorrentSource::from(*info_hash),
            TorrentInput::File(metainfo) => TorrentSource::from(metainfo.info.clone()),
        }
    }
}

/// A 40-hex or 32-base32 info-hash, if `text` is one.
fn parse_info_hash(text: &str) -> Option<InfoHash> {
    match text.len() {
        40 => InfoHash::from_hex(text).ok(),
        32 => InfoHash::from_base32(text).ok(),
        _ => None,
    }
}

/// Reads and parses a `.torrent` file, with the file named in every error.
pub fn read_torrent_file(path: &Path) -> Result<Metainfo, String> {
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|error| format!("cannot read {shown}: {error}"))?
        .len();
    if size > MAX_TORRENT_FILE_BYTES {
        return Err(format!(
            "{shown} is not a torrent file ({size} bytes is far more than any torrent)"
        ));
    }
    let bytes = std::fs::read(path).map_err(|error| format!("cannot read {shown}: {error}"))?;
    Metainfo::from_bytes(&bytes).map_err(|error| format!("{shown} is not a valid torrent: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "c3d0f1e2a1b2c3d4e5f60718293a4b5c6d7e8f90";

    #[test]
    fn reads_magnets_and_info_hashes() {
        let magnet =
            TorrentInput::parse(&format!("magnet:?xt=urn:btih:{HEX}&dn=file.bin")).unwrap();
        assert_eq!(magnet.info_hash().to_string(), HEX);
        assert_eq!(magnet.display_name(), "file.bin");
        let bare = TorrentInput::parse(HEX).unwrap();
        assert_eq!(bare.info_hash().to_string(), HEX);
        let base32 = TorrentInput::parse(&bare.info_hash().to_base32()).unwrap();
        assert_eq!(base32.info_hash(), bare.info_hash());
    }

    #[test]
    fn explains_what_it_could_not_read() {
        let error = TorrentInput::parse("magnet:?xt=urn:sha1:abc").unwrap_err();
        assert!(error.starts_with("not a valid magnet link"), "{error}");
        let error = TorrentInput::parse("no-such-file.torrent").unwrap_err();
        assert!(error.contains("neither a magnet link"), "{error}");
        let junk = std::env::temp_dir().join(format!("junk-{}.torrent", std::process::id()));
        std::fs::write(&junk, b"not bencode").unwrap();
        let error = TorrentInput::parse(junk.to_str().unwrap()).unwrap_err();
        assert!(error.contains("is not a valid torrent"), "{error}");
        let _ = std::fs::remove_file(junk);
    }
}
