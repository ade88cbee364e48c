//! A disk piece store: pieces mapped onto the torrent's files with positioned reads and
//! writes, files and folders created lazily on first write, nothing buffered whole.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{PieceStore, StoreError};
use crate::layout::TorrentLayout;

/// Stores a torrent's pieces in its files below an output folder.
///
/// Paths come from the layout, whose components were checked when it was built, so every
/// file lies inside the folder.
#[derive(Debug)]
pub struct DiskStore {
    layout: Arc<TorrentLayout>,
    root: PathBuf,
    /// One slot per file: the handle once the file was opened (for writing, or for reading
    /// an existing file).
    handles: Vec<Mutex<Option<OpenFile>>>,
}

#[derive(Debug, Clone)]
struct OpenFile {
    file: Arc<File>,
    writable: bool,
}

impl DiskStore {
    /// A store writing below `root`. Nothing is created until the first write.
    pub fn new(layout: Arc<TorrentLayout>, root: impl Into<PathBuf>) -> Self {
        let handles = layout.files().iter().map(|_| Mutex::new(None)).collect();
        Self {
            layout,
            root: root.into(),
            handles,
        }
    }

    /// The output folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of file `file_index`.
    pub fn file_path(&self, file_index: usize) -> Option<PathBuf> {
        self.layout
            .files()
            .get(file_index)
            .map(|file| file.path.under(&self.root))
    }

    /// Opens (and for writing, creates with its folders) file `file_index`.
    /// `Ok(None)` means the file does not exist and `create` was false.
    fn open(&self, file_index: usize, create: bool) -> Result<Option<Arc<File>>, StoreError> {
        let path = self.file_path(file_index).ok_or(StoreError::Missing(0))?;
        let mut slot = self.handles[file_index]
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(open) = slot.as_ref() {
            if open.writable || !create {
                return Ok(Some(open.file.clone()));
            }
        }
        let opened = if create {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                    action: "create folder",
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
        } else {
            match File::open(&path) {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                other => other,
            }
        };
        let file = Arc::new(opened.map_err(|source| StoreError::Io {
            action: "open",
            path: path.clone(),
            source,
        })?);
        *slot = Some(OpenFile {
            file: file.clone(),
            writable: create,
        });
        Ok(Some(file))
    }

    fn check(&self, piece: u32, offset: u32, len: usize) -> Result<(), StoreError> {
        let fits = u32::try_from(len)
            .map(|len| len == 0 || self.layout.contains_range(piece, offset, len))
            .unwrap_or(false);
        if fits {
            Ok(())
        } else {
            Err(StoreError::OutOfRange { piece, offset, len })
        }
    }

    fn io_error(
        &self,
        action: &'static str,
        file_index: usize,
        source: std::io::Error,
    ) -> StoreError {
        StoreError::Io {
            action,
            path: self.file_path(file_index).unwrap_or_default(),
            source,
        }
    }
}

impl PieceStore for DiskStore {
    fn write(&self, piece: u32, offset: u32, data: &[u8]) -> Result<(), StoreError> {
        self.check(piece, offset, data.len())?;
        let len = data.len() as u32;
        for span in self.layout.spans(piece, offset, len) {
            let file = self
                .open(span.file_index, true)?
                .ok_or(StoreError::Missing(piece))?;
            let start = span.range_offset as usize;
            let chunk = &data[start..start + span.len as usize];
            positioned::write_all_at(&file, chunk, span.file_offset)
                .map_err(|source| self.io_error("write", span.file_index, source))?;
        }
        Ok(())
    }

    fn read(&self, piece: u32, offset: u32, buf: &mut [u8]) -> Result<(), StoreError> {
        self.check(piece, offset, buf.len())?;
        let len = buf.len() as u32;
        for span in self.layout.spans(piece, offset, len) {
            let file = self
                .open(span.file_index, false)?
                .ok_or(StoreError::Missing(piece))?;
            let start = span.range_offset as usize;
            let chunk = &mut buf[start..start + span.len as usize];
            positioned::read_exact_at(&file, chunk, span.file_offset).map_err(|source| {
                if source.kind() == std::io::ErrorKind::UnexpectedEof {
                    StoreError::Missing(piece)
                } else {
                    self.io_error("read", span.file_index, source)
                }
            })?;
        }
        Ok(())
    }

    fn finish(&self) -> Result<(), StoreError> {
        for (file_index, file) in self.layout.files().iter().enumerate() {
            if file.length == 0 {
                self.open(file_index, true)?;
            }
        }
        Ok(())
    }
}

/// Positioned reads and writes that leave no shared cursor.
mod positioned {
    use std::fs::File;
    use std::io;

    #[cfg(unix)]
    pub fn write_all_at(file: &File, data: &[u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(file, data, offset)
    }

    #[cfg(unix)]
    pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }

    #[cfg(windows)]
    pub fn write_all_at(file: &File, mut data: &[u8], mut offset: u64) -> io::Result<()> {
        use std::os::windows::fs::FileExt;
        while !data.is_empty() {
            let written = file.seek_write(data, offset)?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            data = &data[written..];
            offset += written as u64;
        }
        Ok(())
    }

    #[cfg(windows)]
    pub fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        use std::os::windows::fs::FileExt;
        while !buf.is_empty() {
            let read = file.seek_read(buf, offset)?;
            if read == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            buf = &mut buf[read..];
            offset += read as u64;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_across_files_land_in_the_right_places() {
        let files = vec![
            (vec!["t".to_string(), "a".to_string()], 5),
            (vec!["t".to_string(), "empty".to_string()], 0),
            (
                vec!["t".to_string(), "sub".to_string(), "b".to_string()],
                12,
            ),
        ];
        let layout = Arc::new(TorrentLayout::new(8, files, vec![[0; 20]; 3]).expect("layout"));
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DiskStore::new(layout.clone(), dir.path());
        let content: Vec<u8> = (0u8..17).collect();
        // Write the pieces out of order.
        for piece in [2u32, 0, 1] {
            let start = layout.piece_offset(piece) as usize;
            let end = start + layout.piece_len(piece) as usize;
            store.write(piece, 0, &content[start..end]).expect("write");
        }
        store.finish().expect("finish");
        assert_eq!(
            std::fs::read(dir.path().join("t/a")).expect("a"),
            &content[..5]
        );
        assert_eq!(
            std::fs::read(dir.path().join("t/sub/b")).expect("b"),
            &content[5..]
        );
        assert!(dir.path().join("t/empty").exists());
        let mut buf = [0u8; 6];
        store.read(0, 2, &mut buf).expect("read across files");
        assert_eq!(buf, [2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn reading_an_unwritten_file_is_missing() {
        let layout = Arc::new(
            TorrentLayout::new(4, vec![(vec!["x".to_string()], 8)], vec![[0; 20]; 2])
                .expect("layout"),
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let store = DiskStore::new(layout, dir.path());
        let mut buf = [0u8; 4];
        assert!(matches!(
            store.read(1, 0, &mut buf),
            Err(StoreError::Missing(1))
        ));
        assert!(matches!(
            store.write(1, 2, &[0; 4]),
            Err(StoreError::OutOfRange { .. })
        ));
        assert!(!dir.path().join("x").exists());
    }
}
