//! Metainfo (BEP 3, v1): `.torrent` files and the `info` dictionary, parsed with the info-hash
//! taken over the exact input bytes. Creating one for seeding is [`crate::torrent_builder`].
//!
//! File paths stay lists of components, never joined strings, so the engine can refuse `..`,
//! absolute paths and empty names before touching a disk.

use crate::bencode::{self, Dict, OwnedValue, Value};
use crate::error::{Error, Result};
use crate::info_hash::{sha1_digest, InfoHash};
use crate::magnet::Magnet;
use crate::piece_math::PieceMath;

/// Largest `.torrent` file [`Metainfo::from_bytes`] accepts.
pub const MAX_TORRENT_SIZE: usize = 16 * 1024 * 1024;
/// Largest `info` dictionary accepted, from a file or through `ut_metadata`.
pub const MAX_INFO_SIZE: usize = 8 * 1024 * 1024;
/// Largest piece length accepted.
pub const MAX_PIECE_LENGTH: u32 = 64 * 1024 * 1024;

/// The SHA-1 of one piece.
pub type PieceHash = [u8; 20];

/// One file of a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Path components relative to the torrent's folder (for a single-file torrent: the name).
    /// Taken as received: the engine must refuse `..`, `.`, empty and absolute components.
    pub path: Vec<String>,
    /// Length in bytes.
    pub length: u64,
    /// Offset of the file's first byte in the torrent's concatenated data.
    pub offset: u64,
}

/// The `info` dictionary: everything the info-hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    info_hash: InfoHash,
    raw: Vec<u8>,
    name: String,
    piece_length: u32,
    pieces: Vec<PieceHash>,
    files: Vec<FileEntry>,
    multi_file: bool,
    private: bool,
    piece_math: PieceMath,
}

/// A `.torrent` file: the info dictionary plus the optional outer fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metainfo {
    /// The info dictionary.
    pub info: Info,
    /// `announce`: the first tracker.
    pub announce: Option<String>,
    /// `announce-list`: tiers of trackers.
    pub announce_list: Vec<Vec<String>>,
    /// `url-list`: web seeds.
    pub url_list: Vec<String>,
    /// `comment`.
    pub comment: Option<String>,
    /// `created by`.
    pub created_by: Option<String>,
    /// `creation date`, seconds since the Unix epoch.
    pub creation_date: Option<i64>,
    /// `encoding` (create-torrent writes `UTF-8`).
    pub encoding: Option<String>,
}

impl Info {
    /// Parses an `info` dictionary (for instance assembled through `ut_metadata`); the
    /// info-hash is the SHA-1 of exactly these bytes.
    ///
    /// # Errors
    /// Malformed bencode, missing or invalid fields, a `pieces` string that does not match
    /// the total length, or input over [`MAX_INFO_SIZE`].
    pub fn from_bytes(raw: &[u8]) -> Result<Self> {
        check_size(raw.len(), MAX_INFO_SIZE)?;
        let value = bencode::decode(raw)?;
        let dict = value.as_dict().ok_or(Error::InvalidField {
            context: "info",
            field: "info",
            reason: "not a dictionary",
        })?;
        Info::from_dict(dict)
    }

    fn from_dict(dict: &Dict<'_>) -> Result<Self> {
        const CONTEXT: &str = "info";
        let name = utf8_field(dict, b"name", CONTEXT, "name")?.ok_or(Error::MissingField {
            context: CONTEXT,
            field: "name",
        })?;
        let piece_length = dict
            .get(b"piece length")
            .ok_or(Error::MissingField {
                context: CONTEXT,
                field: "piece length",
            })
            .and_then(|value| match value {
                Value::Integer(length) if *length > 0 && *length <= i64::from(MAX_PIECE_LENGTH) => {
                    Ok(*length as u32)
                }
                _ => Err(invalid(CONTEXT, "piece length", "not in 1..=64 MiB")),
            })?;
        let pieces_bytes = dict.bytes(b"pieces").ok_or(Error::MissingField {
            context: CONTEXT,
            field: "pieces",
        })?;
        if pieces_bytes.len() % 20 != 0 {
            return Err(invalid(CONTEXT, "pieces", "length is not a multiple of 20"));
        }
        let pieces: Vec<PieceHash> = pieces_bytes
            .chunks_exact(20)
            .map(|chunk| {
                let mut hash = [0u8; 20];
                hash.copy_from_slice(chunk);
                hash
            })
            .collect();
        let private = matches!(dict.integer(b"private"), Some(1));

        let (files, multi_file) = match (dict.get(b"length"), dict.list(b"files")) {
            (Some(Value::Integer(length)), None) => {
                let length =
                    u64::try_from(*length).map_err(|_| invalid(CONTEXT, "length", "negative"))?;
                (
                    vec![FileEntry {
                        path: vec![name.clone()],
                        length,
                        offset: 0,
                    }],
                    false,
                )
            }
            (None, Some(list)) => (parse_files(list.items())?, true),
            (Some(_), Some(_)) => {
                return Err(invalid(
                    CONTEXT,
                    "files",
                    "both `length` and `files` present",
                ))
            }
            (Some(_), None) => return Err(invalid(CONTEXT, "length", "not an integer")),
            (None, None) => {
                return Err(Error::MissingField {
                    context: CONTEXT,
                    field: "length or files",
                })
            }
        };
        let total = files.last().map_or(0, |file| file.offset + file.length);
        let piece_math = PieceMath::new(total, piece_length)?;
        if pieces.len() as u64 != u64::from(piece_math.piece_count()) {
            return Err(invalid(
                CONTEXT,
                "pieces",
                "hash count does not match the total length",
            ));
        }
        Ok(Info {
            info_hash: InfoHash(sha1_digest(dict.raw())),
            raw: dict.raw().to_vec(),
            name,
            piece_length,
            pieces,
            files,
            multi_file,
            private,
            piece_math,
        })
    }

    /// The SHA-1 of the exact `info` bytes.
    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    /// The exact bencoded bytes (what `ut_metadata` serves).
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// `name`: the file name (single-file) or folder name (multi-file).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `piece length`.
    pub fn piece_length(&self) -> u32 {
        self.piece_length
    }

    /// The SHA-1 of every piece, in order.
    pub fn pieces(&self) -> &[PieceHash] {
        &self.pieces
    }

    /// The expected SHA-1 of `piece`, or `None` past the end.
    pub fn piece_hash(&self, piece: u32) -> Option<&PieceHash> {
        self.pieces.get(piece as usize)
    }

    /// The files in torrent order, with their offsets. A single-file torrent has one entry
    /// whose path is `[name]`.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// True for a torrent with a `files` list (its files live under the folder `name`).
    pub fn is_multi_file(&self) -> bool {
        self.multi_file
    }

    /// `private` = 1.
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// Sum of the file lengths.
    pub fn total_length(&self) -> u64 {
        self.piece_math.total_length()
    }

    /// Piece and block arithmetic for this torrent.
    pub fn piece_math(&self) -> PieceMath {
        self.piece_math
    }

    /// The spans of files that `length` bytes starting at torrent offset `offset` cover:
    /// `(file index, offset in file, length)`, in order, skipping empty files.
    pub fn file_spans(&self, offset: u64, length: u64) -> Vec<(usize, u64, u64)> {
        let end = offset.saturating_add(length);
        self.files
            .iter()
            .enumerate()
            .filter_map(|(index, file)| {
                let start = offset.max(file.offset);
                let stop = end.min(file.offset + file.length);
                (start < stop).then(|| (index, start - file.offset, stop - start))
            })
            .collect()
    }
}

fn parse_files(items: &[Value<'_>]) -> Result<Vec<FileEntry>> {
    const CONTEXT: &str = "info.files";
    let mut files = Vec::with_capacity(items.len());
    let mut offset: u64 = 0;
    for item in items {
        let dict = item
            .as_dict()
            .ok_or(invalid(CONTEXT, "files", "entry is not a dictionary"))?;
        let length = match dict.get(b"length") {
            Some(Value::Integer(length)) => {
                u64::try_from(*length).map_err(|_| invalid(CONTEXT, "length", "negative"))?
            }
            Some(_) => return Err(invalid(CONTEXT, "length", "not an integer")),
            None => {
                return Err(Error::MissingField {
                    context: CONTEXT,
                    field: "length",
                })
            }
        };
        let components = dict.list(b"path").ok_or(Error::MissingField {
            context: CONTEXT,
            field: "path",
        })?;
        let path = components
            .items()
            .iter()
            .map(|component| match component {
                Value::Bytes(bytes) => String::from_utf8(bytes.to_vec())
                    .map_err(|_| invalid(CONTEXT, "path", "component is not UTF-8")),
                _ => Err(invalid(CONTEXT, "path", "component is not a string")),
            })
            .collect::<Result<Vec<_>>>()?;
        if path.is_empty() {
            return Err(invalid(CONTEXT, "path", "empty"));
        }
        files.push(FileEntry {
            path,
            length,
            offset,
        });
        offset = offset.checked_add(length).ok_or(invalid(
            CONTEXT,
            "length",
            "total length overflows",
        ))?;
    }
    if files.is_empty() {
        return Err(invalid(CONTEXT, "files", "empty list"));
    }
    Ok(files)
}

impl Metainfo {
    /// Parses a `.torrent` file.
    ///
    /// # Errors
    /// Malformed bencode, a missing or invalid `info`, or input over [`MAX_TORRENT_SIZE`].
    /// Outer fields of the wrong type are ignored, as clients do.
    pub fn from_bytes(input: &[u8]) -> Result<Self> {
        check_size(input.len(), MAX_TORRENT_SIZE)?;
        let value = bencode::decode(input)?;
        let dict = value.as_dict().ok_or(Error::InvalidField {
            context: "torrent",
            field: "torrent",
            reason: "not a dictionary",
        })?;
        let info_dict = dict.dict(b"info").ok_or(Error::MissingField {
            context: "torrent",
            field: "info",
        })?;
        check_size(info_dict.raw().len(), MAX_INFO_SIZE)?;
        let info = Info::from_dict(info_dict)?;
        let text = |key: &[u8]| {
            dict.bytes(key)
                .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        };
        let strings = |list: &bencode::List<'_>| -> Vec<String> {
            list.items()
                .iter()
                .filter_map(|item| match item {
                    Value::Bytes(bytes) => String::from_utf8(bytes.to_vec()).ok(),
                    _ => None,
                })
                .collect()
        };
        let announce_list = dict
            .list(b"announce-list")
            .map(|tiers| {
                tiers
                    .items()
                    .iter()
                    .filter_map(|tier| match tier {
                        Value::List(list) => Some(strings(list)),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let url_list = match dict.get(b"url-list") {
            Some(Value::List(list)) => strings(list),
            Some(Value::Bytes(bytes)) => String::from_utf8(bytes.to_vec()).into_iter().collect(),
            _ => Vec::new(),
        };
        Ok(Metainfo {
            info,
            announce: text(b"announce"),
            announce_list,
            url_list,
            comment: text(b"comment"),
            created_by: text(b"created by"),
            creation_date: dict.integer(b"creation date"),
            encoding: text(b"encoding"),
        })
    }

    /// The torrent's info-hash.
    pub fn info_hash(&self) -> InfoHash {
        self.info.info_hash
    }

    /// The magnet link for this torrent, as parse-torrent's `toMagnetURI` makes it: the
    /// name as `dn`, every tracker (tiers flattened, duplicates dropped) as `tr`, web seeds
    /// as `ws`.
    pub fn magnet(&self) -> Magnet {
        let mut magnet = Magnet::new(self.info_hash());
        magnet.display_name = Some(self.info.name.clone());
        let trackers: Vec<&String> = if self.announce_list.iter().any(|tier| !tier.is_empty()) {
            self.announce_list.iter().flatten().collect()
        } else {
            self.announce.iter().collect()
        };
        for tracker in trackers {
            if !magnet.trackers.contains(tracker) {
                magnet.trackers.push(tracker.clone());
            }
        }
        for seed in &self.url_list {
            if !magnet.web_seeds.contains(seed) {
                magnet.web_seeds.push(seed.clone());
            }
        }
        magnet
    }

    /// Encodes the `.torrent` file, keys sorted, with the info dictionary's exact bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let string_list =
            |items: &[String]| OwnedValue::List(items.iter().map(OwnedValue::bytes).collect());
        let mut fields: Vec<(&[u8], Vec<u8>)> = Vec::new();
        if let Some(announce) = &self.announce {
            fields.push((b"announce", OwnedValue::bytes(announce).encode()));
        }
        if !self.announce_list.is_empty() {
            let tiers = self
                .announce_list
                .iter()
                .map(|tier| string_list(tier))
                .collect();
            fields.push((b"announce-list", OwnedValue::List(tiers).encode()));
        }
        if let Some(comment) = &self.comment {
            fields.push((b"comment", OwnedValue::bytes(comment).encode()));
        }
        if let Some(created_by) = &self.created_by {
            fields.push((b"created by", OwnedValue::bytes(created_by).encode()));
        }
        if let Some(date) = self.creation_date {
            fields.push((b"creation date", OwnedValue::Integer(date).encode()));
        }
        if let Some(encoding) = &self.encoding {
            fields.push((b"encoding", OwnedValue::bytes(encoding).encode()));
        }
        fields.push((b"info", self.info.raw.clone()));
        if !self.url_list.is_empty() {
            fields.push((b"url-list", string_list(&self.url_list).encode()));
        }
        fields.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = vec![b'd'];
        for (key, value) in fields {
            bencode::write_bytes(&mut out, key);
            out.extend_from_slice(&value);
        }
        out.push(b'e');
        out
    }
}

fn utf8_field(
    dict: &Dict<'_>,
    key: &[u8],
    context: &'static str,
    field: &'static str,
) -> Result<Option<String>> {
    match dict.get(key) {
        None => Ok(None),
        Some(Value::Bytes(bytes)) => String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| invalid(context, field, "not UTF-8")),
        Some(_) => Err(invalid(context, field, "not a string")),
    }
}

fn check_size(length: usize, max: usize) -> Result<()> {
    if length > max {
        return Err(Error::BencodeTooLong { length, max });
    }
    Ok(())
}

fn invalid(context: &'static str, field: &'static str, reason: &'static str) -> Error {
    Error::InvalidField {
        context,
        field,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::torrent_builder::TorrentBuilder;

    #[test]
    fn multi_file_round_trip_keeps_components_and_offsets() {
        let a = vec![1u8; 20_000];
        let b = vec![2u8; 5];
        let torrent = TorrentBuilder::new("folder", 16_384)
            .file(vec!["sub".into(), "a.bin".into()], a.len() as u64)
            .file(vec!["b.txt".into()], b.len() as u64)
            .creation_date(1_700_000_000)
            .build_from_data(&[&a, &b])
            .expect("valid");
        let parsed = Metainfo::from_bytes(&torrent.to_bytes()).expect("parses");
        assert_eq!(parsed, torrent);
        assert!(parsed.info.is_multi_file());
        assert_eq!(parsed.info.files()[1].offset, 20_000);
        assert_eq!(parsed.info.files()[0].path, vec!["sub", "a.bin"]);
        assert_eq!(
            parsed.info.file_spans(16_000, 5_000),
            vec![(0, 16_000, 4_000), (1, 0, 5)]
        );
        assert_eq!(parsed.info.pieces()[0], sha1_digest(&a[..16_384]));
    }

    #[test]
    fn info_hash_covers_exact_bytes_even_when_unsorted() {
        // Keys out of order: re-encoding would change the hash; the span must not.
        let info = b"d4:name1:a12:piece lengthi16384e6:lengthi1e6:pieces20:aaaaaaaaaaaaaaaaaaaae";
        let torrent = [&b"d4:info"[..], info, b"e"].concat();
        let parsed = Metainfo::from_bytes(&torrent).expect("parses");
        assert_eq!(parsed.info_hash(), InfoHash::of_info(info));
        assert_eq!(parsed.info.raw(), info);
    }

    #[test]
    fn rejects_inconsistent_pieces() {
        let info =
            b"d6:lengthi40000e4:name1:a12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae";
        assert!(matches!(
            Info::from_bytes(info),
            Err(Error::InvalidField {
                field: "pieces",
                ..
            })
        ));
    }
}
