//! Creating a torrent for seeding: piece hashes from data fed in any chunks
//! ([`PieceHasher`], sans-IO: the caller reads the files) and the `.torrent` laid out as
//! create-torrent (WebTorrent) lays it out ([`TorrentBuilder`]).

use crate::bencode::{self, OwnedValue};
use crate::error::{Error, Result};
use crate::info_hash::sha1_digest;
use crate::metainfo::{Info, Metainfo, PieceHash, MAX_PIECE_LENGTH};
use crate::piece_math::PieceMath;

/// Computes piece hashes from a torrent's data fed in any chunks, in torrent order.
///
/// This is the sans-IO half of creating a torrent: the caller reads the files.
#[derive(Debug, Clone)]
pub struct PieceHasher {
    piece_length: usize,
    current: Vec<u8>,
    pieces: Vec<PieceHash>,
    total: u64,
}

impl PieceHasher {
    /// A hasher for pieces of `piece_length` bytes.
    pub fn new(piece_length: u32) -> Self {
        PieceHasher {
            piece_length: piece_length.max(1) as usize,
            current: Vec::new(),
            pieces: Vec::new(),
            total: 0,
        }
    }

    /// Feeds the next bytes of the torrent's data.
    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        while !data.is_empty() {
            let take = (self.piece_length - self.current.len()).min(data.len());
            self.current.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.current.len() == self.piece_length {
                self.pieces.push(sha1_digest(&self.current));
                self.current.clear();
            }
        }
    }

    /// Bytes fed so far.
    pub fn total_length(&self) -> u64 {
        self.total
    }

    /// The hashes of all pieces, the short last one included.
    pub fn finish(mut self) -> Vec<PieceHash> {
        if !self.current.is_empty() {
            self.pieces.push(sha1_digest(&self.current));
        }
        self.pieces
    }
}

/// Builds a torrent for seeding, the way create-torrent lays it out (keys sorted,
/// `files` entries with `length` and `path`).
///
/// ```
/// use bt_wire::TorrentBuilder;
/// let data = vec![7u8; 40_000];
/// let torrent = TorrentBuilder::new("seven.bin", 16_384)
///     .single_file(data.len() as u64)
///     .build_from_data(&[&data])
///     .unwrap();
/// assert_eq!(torrent.info.pieces().len(), 3);
/// assert_eq!(torrent.info.files()[0].path, vec!["seven.bin".to_string()]);
/// ```
#[derive(Debug, Clone)]
pub struct TorrentBuilder {
    name: String,
    piece_length: u32,
    files: Vec<(Vec<String>, u64)>,
    single_file: bool,
    private: bool,
    metainfo_fields: OuterFields,
}

#[derive(Debug, Clone, Default)]
struct OuterFields {
    announce_list: Vec<Vec<String>>,
    url_list: Vec<String>,
    comment: Option<String>,
    created_by: Option<String>,
    creation_date: Option<i64>,
    encoding: Option<String>,
}

impl TorrentBuilder {
    /// A torrent named `name` with pieces of `piece_length` bytes.
    pub fn new(name: impl Into<String>, piece_length: u32) -> Self {
        TorrentBuilder {
            name: name.into(),
            piece_length,
            files: Vec::new(),
            single_file: false,
            private: false,
            metainfo_fields: OuterFields::default(),
        }
    }

    /// Makes this a single-file torrent of `length` bytes (the file is named `name`).
    pub fn single_file(mut self, length: u64) -> Self {
        self.single_file = true;
        self.files = vec![(vec![self.name.clone()], length)];
        self
    }

    /// Adds a file of a multi-file torrent, its path as components under the folder `name`.
    pub fn file(mut self, path: Vec<String>, length: u64) -> Self {
        self.single_file = false;
        self.files.push((path, length));
        self
    }

    /// Sets `private`.
    pub fn private(mut self, private: bool) -> Self {
        self.private = private;
        self
    }

    /// Adds a tracker tier (`announce` becomes the first tracker of the first tier).
    pub fn tracker_tier(mut self, tier: Vec<String>) -> Self {
        self.metainfo_fields.announce_list.push(tier);
        self
    }

    /// Adds a web seed (`url-list`).
    pub fn web_seed(mut self, url: impl Into<String>) -> Self {
        self.metainfo_fields.url_list.push(url.into());
        self
    }

    /// Sets `comment`.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.metainfo_fields.comment = Some(comment.into());
        self
    }

    /// Sets `created by`.
    pub fn created_by(mut self, created_by: impl Into<String>) -> Self {
        self.metainfo_fields.created_by = Some(created_by.into());
        self
    }

    /// Sets `creation date` (seconds since the Unix epoch).
    pub fn creation_date(mut self, seconds: i64) -> Self {
        self.metainfo_fields.creation_date = Some(seconds);
        self
    }

    /// Sets `encoding` (create-torrent writes `UTF-8`).
    pub fn encoding(mut self, encoding: impl Into<String>) -> Self {
        self.metainfo_fields.encoding = Some(encoding.into());
        self
    }

    /// Total length of the files declared so far.
    pub fn total_length(&self) -> u64 {
        self.files.iter().map(|(_, length)| length).sum()
    }

    /// Hashes `chunks` (the files' contents concatenated in order, in any chunking) and builds.
    ///
    /// # Errors
    /// As [`TorrentBuilder::build`], and when the data length differs from the declared files.
    pub fn build_from_data(&self, chunks: &[&[u8]]) -> Result<Metainfo> {
        let mut hasher = PieceHasher::new(self.piece_length);
        for chunk in chunks {
            hasher.update(chunk);
        }
        if hasher.total_length() != self.total_length() {
            return Err(Error::InvalidTorrent {
                reason: "data length differs from the declared file lengths",
            });
        }
        self.build(hasher.finish())
    }

    /// Builds the torrent from piece hashes computed with a [`PieceHasher`].
    ///
    /// # Errors
    /// [`Error::InvalidTorrent`] for no files, an empty path, a bad piece length or a hash
    /// count that does not match the total length.
    pub fn build(&self, pieces: Vec<PieceHash>) -> Result<Metainfo> {
        if self.files.is_empty() {
            return Err(Error::InvalidTorrent { reason: "no files" });
        }
        if self.piece_length == 0 || self.piece_length > MAX_PIECE_LENGTH {
            return Err(Error::InvalidTorrent {
                reason: "piece length not in 1..=64 MiB",
            });
        }
        if self.files.iter().any(|(path, _)| path.is_empty()) {
            return Err(Error::InvalidTorrent {
                reason: "a file has an empty path",
            });
        }
        let math = PieceMath::new(self.total_length(), self.piece_length)?;
        if pieces.len() as u64 != u64::from(math.piece_count()) {
            return Err(Error::InvalidTorrent {
                reason: "piece hash count does not match the total length",
            });
        }
        let length_value = |length: u64| {
            i64::try_from(length)
                .map(OwnedValue::Integer)
                .map_err(|_| Error::InvalidTorrent {
                    reason: "file length over 2^63",
                })
        };
        let mut info = vec![
            ("name", OwnedValue::bytes(&self.name)),
            (
                "piece length",
                OwnedValue::Integer(i64::from(self.piece_length)),
            ),
            ("pieces", OwnedValue::Bytes(pieces.concat())),
        ];
        if self.single_file {
            info.push(("length", length_value(self.total_length())?));
        } else {
            let files = self
                .files
                .iter()
                .map(|(path, length)| {
                    Ok(bencode::dict([
                        ("length", length_value(*length)?),
                        (
                            "path",
                            OwnedValue::List(path.iter().map(OwnedValue::bytes).collect()),
                        ),
                    ]))
                })
                .collect::<Result<Vec<_>>>()?;
            info.push(("files", OwnedValue::List(files)));
        }
        if self.private {
            info.push(("private", OwnedValue::Integer(1)));
        }
        let info = Info::from_bytes(&bencode::dict(info).encode())?;
        let fields = &self.metainfo_fields;
        Ok(Metainfo {
            info,
            announce: fields
                .announce_list
                .first()
                .and_then(|tier| tier.first())
                .cloned(),
            announce_list: fields.announce_list.clone(),
            url_list: fields.url_list.clone(),
            comment: fields.comment.clone(),
            created_by: fields.created_by.clone(),
            creation_date: fields.creation_date,
            encoding: fields.encoding.clone(),
        })
    }
}
