//! Making a torrent from a file or a folder on disk, for `rondevu seed`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use bt_swarm::layout::TorrentLayout;
use bt_swarm::store::DiskStore;
use bt_swarm::Storage;
use bt_wire::{Metainfo, PieceHasher, TorrentBuilder};

/// Bytes read at a time while hashing.
const READ_CHUNK: usize = 1 << 20;

/// A torrent made from local files, with where each of its files really is.
#[derive(Debug)]
pub struct MadeTorrent {
    /// The torrent.
    pub metainfo: Metainfo,
    /// The deepest folder holding every seeded file.
    pub root: PathBuf,
    /// Each torrent file's path below `root`, in torrent order, with its length.
    pub on_disk: Vec<(Vec<String>, u64)>,
}

impl MadeTorrent {
    /// Storage that serves the torrent's pieces from the files where they are, whatever the
    /// torrent calls them.
    pub fn storage(&self) -> Result<Storage, String> {
        let info = &self.metainfo.info;
        let layout = TorrentLayout::new(
            u64::from(info.piece_length()),
            self.on_disk.clone(),
            info.pieces().to_vec(),
        )
        .map_err(|error| format!("cannot seed from {}: {error}", self.root.display()))?;
        Ok(Storage::Store(Arc::new(DiskStore::new(
            Arc::new(layout),
            self.root.clone(),
        ))))
    }
}

/// One file to put in the torrent.
struct SourceFile {
    in_torrent: Vec<String>,
    on_disk: PathBuf,
    length: u64,
}

/// A piece length that keeps the piece count near a thousand or two: 16 KiB to 4 MiB, a power
/// of two.
pub fn piece_length_for(total: u64) -> u32 {
    let mut length: u32 = 16 * 1024;
    while length < 4 * 1024 * 1024 && total / u64::from(length) > 1500 {
        length *= 2;
    }
    length
}

/// Makes a torrent of `paths`: one file gives a single-file torrent; a folder, or several
/// paths, give a multi-file torrent (a folder keeps everything below it). The torrent is named
/// `name`, or after the one path, or after the folder that holds the several.
pub fn make_torrent(paths: &[PathBuf], name: Option<&str>) -> Result<MadeTorrent, String> {
    let mut canonical = Vec::with_capacity(paths.len());
    for path in paths {
        canonical.push(
            path.canonicalize()
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?,
        );
    }
    let (first, rest) = canonical
        .split_first()
        .ok_or_else(|| "nothing to seed: name a file or a folder".to_string())?;
    let single_file = rest.is_empty() && first.is_file();
    let mut files = Vec::new();
    for path in &canonical {
        let own_name = utf8_name(path)?;
        if path.is_dir() {
            let prefix = if rest.is_empty() {
                Vec::new()
            } else {
                vec![own_name]
            };
            collect_files(path, &mut prefix.clone(), &mut files)?;
        } else {
            let length = std::fs::metadata(path)
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?
                .len();
            files.push(SourceFile {
                in_torrent: vec![own_name],
                on_disk: path.clone(),
                length,
            });
        }
    }
    files.sort_by(|a, b| a.in_torrent.cmp(&b.in_torrent));
    if let Some(twice) = files
        .windows(2)
        .find(|pair| pair[0].in_torrent == pair[1].in_torrent)
    {
        return Err(format!(
            "cannot seed two files both named {:?}",
            twice[0].in_torrent.join("/")
        ));
    }
    let total: u64 = files.iter().map(|file| file.length).sum();
    if total == 0 {
        return Err("nothing to seed: the files are empty".to_string());
    }
    let default_name = if rest.is_empty() {
        utf8_name(first)?
    } else {
        first
            .parent()
            .map(utf8_name)
            .transpose()?
            .unwrap_or_else(|| "files".to_string())
    };
    let name = name.map(str::to_string).unwrap_or(default_name);
    let root = common_folder(files.iter().map(|file| file.on_disk.as_path()))
        .ok_or_else(|| "cannot seed: the files share no folder".to_string())?;

    let piece_length = piece_length_for(total);
    let mut builder = TorrentBuilder::new(name, piece_length).created_by("rondevu");
    if single_file {
        builder = builder.single_file(total);
    } else {
        for file in &files {
            builder = builder.file(file.in_torrent.clone(), file.length);
        }
    }
    let mut hasher = PieceHasher::new(piece_length);
    let mut buffer = vec![0u8; READ_CHUNK];
    let mut on_disk = Vec::with_capacity(files.len());
    for file in &files {
        hash_file(&file.on_disk, file.length, &mut hasher, &mut buffer)?;
        let below_root = file
            .on_disk
            .strip_prefix(&root)
            .map_err(|_| format!("{} is outside {}", file.on_disk.display(), root.display()))?;
        let components = below_root
            .iter()
            .map(|part| part.to_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                format!(
                    "cannot seed {}: its name is not UTF-8",
                    file.on_disk.display()
                )
            })?;
        on_disk.push((components, file.length));
    }
    let metainfo = builder
        .build(hasher.finish())
        .map_err(|error| format!("cannot make the torrent: {error}"))?;
    Ok(MadeTorrent {
        metainfo,
        root,
        on_disk,
    })
}

/// The file or folder name of `path`, as UTF-8.
fn utf8_name(path: &Path) -> Result<String, String> {
    path.file_name()
        .and_then(|name| name.to_str())
        .map(str::to_string)
        .ok_or_else(|| format!("cannot seed {}: its name is not UTF-8", path.display()))
}

/// The deepest folder that holds every one of `files`.
fn common_folder<'a>(mut files: impl Iterator<Item = &'a Path>) -> Option<PathBuf> {
    let mut common = files.next()?.parent()?.to_path_buf();
    for file in files {
        while !file.starts_with(&common) {
            common = common.parent()?.to_path_buf();
        }
    }
    Some(common)
}

fn hash_file(
    path: &Path,
    length: u64,
    hasher: &mut PieceHasher,
    buffer: &mut [u8],
) -> Result<(), String> {
    let shown = path.display();
    let mut file = File::open(path).map_err(|error| format!("cannot read {shown}: {error}"))?;
    let mut left = length;
    while left > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        let read = file
            .read(&mut buffer[..want])
            .map_err(|error| format!("cannot read {shown}: {error}"))?;
        if read == 0 {
            return Err(format!("{shown} shrank while it was being hashed"));
        }
        hasher.update(&buffer[..read]);
        left -= read as u64;
    }
    Ok(())
}

/// Every regular file below `folder`, named by `prefix` plus its path below `folder`.
fn collect_files(
    folder: &Path,
    prefix: &mut Vec<String>,
    files: &mut Vec<SourceFile>,
) -> Result<(), String> {
    let shown = folder.display();
    let entries =
        std::fs::read_dir(folder).map_err(|error| format!("cannot read {shown}: {error}"))?;
    for entry in entries {
        let entry = entry.map_err(|error| format!("cannot read {shown}: {error}"))?;
        let path = entry.path();
        let kind = entry
            .file_type()
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        prefix.push(utf8_name(&path)?);
        if kind.is_dir() {
            collect_files(&path, prefix, files)?;
        } else if kind.is_file() {
            let length = entry
                .metadata()
                .map_err(|error| format!("cannot read {}: {error}", path.display()))?
                .len();
            files.push(SourceFile {
                in_torrent: prefix.clone(),
                on_disk: path,
                length,
            });
        }
        prefix.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_lengths_are_powers_of_two_within_bounds() {
        for total in [1u64, 1 << 20, 64 << 20, 1 << 30, 1 << 40] {
            let length = piece_length_for(total);
            assert!(length.is_power_of_two());
            assert!((16 * 1024..=4 * 1024 * 1024).contains(&length));
        }
        assert!((64u64 << 20) / u64::from(piece_length_for(64 << 20)) <= 1500);
    }

    #[test]
    fn a_folder_becomes_a_multi_file_torrent_with_the_same_hashes_as_its_bytes() {
        let base = std::env::temp_dir().join(format!("make-torrent-{}", std::process::id()));
        let folder = base.join("album");
        std::fs::create_dir_all(folder.join("disc 2")).unwrap();
        std::fs::write(folder.join("a.txt"), vec![1u8; 40_000]).unwrap();
        std::fs::write(folder.join("disc 2").join("b.bin"), vec![2u8; 5_000]).unwrap();
        let made = make_torrent(std::slice::from_ref(&folder), None).unwrap();
        let info = &made.metainfo.info;
        assert_eq!(info.name(), "album");
        assert_eq!(made.root, folder.canonicalize().unwrap());
        let paths: Vec<_> = info.files().iter().map(|file| file.path.clone()).collect();
        assert_eq!(
            paths,
            vec![
                vec!["a.txt".to_string()],
                vec!["disc 2".to_string(), "b.bin".to_string()]
            ]
        );
        let mut bytes = vec![1u8; 40_000];
        bytes.extend(vec![2u8; 5_000]);
        let expected = TorrentBuilder::new("album", info.piece_length())
            .file(vec!["a.txt".into()], 40_000)
            .file(vec!["disc 2".into(), "b.bin".into()], 5_000)
            .build_from_data(&[&bytes])
            .unwrap();
        assert_eq!(info.pieces(), expected.info.pieces());
        assert!(made.storage().is_ok());

        // Several paths, renamed: the torrent's names, the files where they are.
        let loose = base.join("loose.txt");
        std::fs::write(&loose, b"hello").unwrap();
        let made = make_torrent(&[folder.join("a.txt"), loose.clone()], Some("bundle")).unwrap();
        assert_eq!(made.metainfo.info.name(), "bundle");
        let names: Vec<_> = made
            .metainfo
            .info
            .files()
            .iter()
            .map(|file| file.path.join("/"))
            .collect();
        assert_eq!(names, vec!["a.txt", "loose.txt"]);
        assert_eq!(made.root, base.canonicalize().unwrap());
        assert_eq!(
            made.on_disk[0].0,
            vec!["album".to_string(), "a.txt".to_string()]
        );
        let _ = std::fs::remove_dir_all(base);
    }
}
