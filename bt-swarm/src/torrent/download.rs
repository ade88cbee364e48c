//! The downloading side of a torrent task: requests, block assembly, verification off the
//! executor, announcing verified pieces, strikes for bad ones.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bt_wire::{Block, Message};

use super::{Internal, TorrentTask};
use crate::events::{TorrentEvent, TorrentState};
use crate::layout::{TorrentLayout, BLOCK_LEN};
use crate::peer::ToPeer;
use crate::picker::{Arrival, BlockRef, PeerKey, Picker};
use crate::shared::Content;
use crate::store::PieceStore;
use crate::{resume, verify};

/// Download state, present once the layout is known.
pub(super) struct Download {
    pub layout: Arc<TorrentLayout>,
    pub store: Arc<dyn PieceStore>,
    pub picker: Picker,
    /// Pieces being assembled.
    buffers: HashMap<u32, Vec<u8>>,
    /// Pieces being verified, with who sent each block.
    verifying: HashMap<u32, Vec<(u32, PeerKey)>>,
    pub resumed: u32,
    pub fetched: u32,
    pub failed: u32,
}

impl TorrentTask {
    /// Checks what the store holds and starts downloading (or seeding).
    pub(super) async fn start_download(&mut self, content: Content) {
        self.state = TorrentState::Checking;
        self.publish_progress();
        let layout = content.layout.clone();
        let store = content.store.clone();
        let checked = {
            let layout = layout.clone();
            let store = store.clone();
            verify::off_executor(move || resume::verified_pieces(&layout, store.as_ref())).await
        };
        let have = checked.unwrap_or_else(
            || bitvec::bitvec![u8, bitvec::prelude::Msb0; 0; layout.piece_count() as usize],
        );
        let resumed = have.count_ones() as u32;
        tracing::info!(resumed, pieces = layout.piece_count(), "store checked");
        self.shared.set_have(have.clone());
        let _ = self.shared.content.set(content);
        let mut picker = Picker::new(layout.clone(), have, self.config.picker.clone(), self.seed);
        // Peers that connected while the metadata was being fetched.
        for (&key, entry) in &self.peers {
            entry.send(ToPeer::PieceCount(layout.piece_count()));
            if entry.peer_id.is_some() {
                picker.add_peer(key);
                picker.peer_bitfield(key, &entry.early_bits);
                if let Some(reqq) = entry.extensions.as_ref().and_then(|ext| ext.reqq) {
                    picker.limit_queue_depth(key, reqq);
                }
                if !entry.peer_choking {
                    picker.peer_choking(key, false);
                }
                if resumed > 0 {
                    entry.send(ToPeer::Send(Message::Bitfield(picker.have().to_bitvec())));
                }
            }
        }
        let complete = picker.is_complete();
        self.download = Some(Download {
            layout,
            store,
            picker,
            buffers: HashMap::new(),
            verifying: HashMap::new(),
            resumed,
            fetched: 0,
            failed: 0,
        });
        self.state = TorrentState::Downloading;
        if complete {
            self.finish_store();
        }
        self.publish_progress();
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.update_interest(key);
        }
    }

    /// Fills one peer's request pipeline.
    pub(super) fn fill_requests(&mut self, key: PeerKey) {
        let Some(download) = self.download.as_mut() else {
            return;
        };
        let Some(entry) = self.peers.get(&key) else {
            return;
        };
        if !entry.am_interested || entry.peer_choking {
            return;
        }
        let requests: Vec<Message> = download
            .picker
            .next_requests(key, Instant::now())
            .into_iter()
            .map(|block| {
                Message::Request(bt_wire::BlockRef {
                    piece: block.piece,
                    offset: block.offset(),
                    length: download.layout.block_len(block.piece, block.block),
                })
            })
            .collect();
        if !requests.is_empty() {
            entry.send(ToPeer::SendMany(requests));
        }
    }

    pub(super) fn fill_all_requests(&mut self) {
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.fill_requests(key);
        }
    }

    pub(super) fn on_block(&mut self, key: PeerKey, block: Block) {
        let Some(download) = self.download.as_mut() else {
            self.close_peer(key, "block before the metadata".to_string());
            return;
        };
        let index = block.offset / BLOCK_LEN;
        let expected = download.layout.block_len(block.piece, index);
        if block.offset % BLOCK_LEN != 0 || expected == 0 || block.data.len() != expected as usize {
            self.close_peer(
                key,
                format!(
                    "block {}+{} of {} bytes does not match the torrent",
                    block.piece,
                    block.offset,
                    block.data.len()
                ),
            );
            return;
        }
        let block_ref = BlockRef {
            piece: block.piece,
            block: index,
        };
        match download.picker.block_received(key, block_ref) {
            Arrival::Accepted {
                piece_complete,
                cancel,
            } => {
                let piece_len = download.layout.piece_len(block.piece) as usize;
                let buffer = download
                    .buffers
                    .entry(block.piece)
                    .or_insert_with(|| vec![0; piece_len]);
                let start = block.offset as usize;
                buffer[start..start + block.data.len()].copy_from_slice(&block.data);
                for other in cancel {
                    if let Some(entry) = self.peers.get(&other) {
                        entry.send(ToPeer::Send(Message::Cancel(block.block_ref())));
                    }
                }
                if piece_complete {
                    self.verify_piece(block.piece);
                }
            }
            Arrival::Duplicate | Arrival::Unexpected => {}
        }
    }

    /// Hashes a complete piece (and stores it if good) on the blocking pool.
    fn verify_piece(&mut self, piece: u32) {
        let Some(download) = self.download.as_mut() else {
            return;
        };
        let Some(data) = download.buffers.remove(&piece) else {
            return;
        };
        let Some(expected) = download.layout.piece_hash(piece).copied() else {
            return;
        };
        download
            .verifying
            .insert(piece, download.picker.contributors(piece));
        let store = download.store.clone();
        let results = self.internal_tx.clone();
        // The bytes come back only when they are needed: to blame the senders of a bad
        // piece, or to compare with what was sent before for a piece that failed earlier.
        let keep_good_bytes = self.reputation.is_suspect(piece);
        tokio::task::spawn_blocking(move || {
            let ok = verify::matches(&data, &expected);
            let mut data = data;
            let write_error = match (ok, keep_good_bytes) {
                (false, _) => None,
                (true, true) => store.write(piece, 0, &data).err(),
                (true, false) => store.write_piece(piece, std::mem::take(&mut data)).err(),
            }
            .map(|error| error.to_string());
            let _ = results.send(Internal::Verified {
                piece,
                ok,
                write_error,
                data,
            });
        });
    }

    pub(super) fn on_internal(&mut self, internal: Internal) {
        match internal {
            Internal::Verified {
                piece,
                ok,
                write_error,
                data,
            } => self.on_verified(piece, ok, write_error, data),
            Internal::Finished(error) => {
                if let Some(error) = error {
                    tracing::error!(%error, "cannot finish the store");
                }
                if self.state == TorrentState::Downloading {
                    self.state = TorrentState::Seeding;
                    self.publish_progress();
                    tracing::info!("complete: seeding");
                    self.emit(TorrentEvent::Completed);
                }
            }
        }
    }

    fn on_verified(&mut self, piece: u32, ok: bool, write_error: Option<String>, data: Vec<u8>) {
        let Some(download) = self.download.as_mut() else {
            return;
        };
        let contributors = download.verifying.remove(&piece).unwrap_or_default();
        if let Some(error) = write_error {
            tracing::error!(piece, %error, "cannot store a verified piece; fetching it again");
            download.picker.piece_failed(piece);
            self.fill_all_requests();
            return;
        }
        if !ok {
            download.failed += 1;
            download.picker.piece_failed(piece);
            let layout = download.layout.clone();
            let blocks: Vec<(u32, bt_wire::PeerId, &[u8])> = contributors
                .iter()
                .filter_map(|&(block, key)| {
                    let peer_id = *self.ids.get(&key)?;
                    let start = (block * BLOCK_LEN) as usize;
                    let len = layout.block_len(piece, block) as usize;
                    Some((block, peer_id, data.get(start..start + len)?))
                })
                .collect();
            tracing::warn!(
                piece,
                contributors = blocks.len(),
                "piece failed verification"
            );
            let verdicts = self.reputation.piece_failed(piece, blocks);
            self.emit(TorrentEvent::PieceFailed { piece });
            self.apply_verdicts(verdicts, "sent data that failed verification");
            self.fill_all_requests();
            return;
        }
        download.fetched += 1;
        download.picker.piece_verified(piece);
        self.shared.mark_have(piece);
        let layout = download.layout.clone();
        let verdicts = self.reputation.piece_verified(piece, |block| {
            let start = (block * BLOCK_LEN) as usize;
            let len = layout.block_len(piece, block) as usize;
            data.get(start..start + len).unwrap_or_default()
        });
        let complete = download.picker.is_complete();
        for entry in self.peers.values() {
            if entry.peer_id.is_some() {
                entry.send(ToPeer::Send(Message::Have(piece)));
            }
        }
        self.apply_verdicts(verdicts, "proven to have sent a corrupt block");
        if complete {
            self.finish_store();
        }
        self.publish_progress();
        self.emit(TorrentEvent::Progress(self.current_progress()));
        let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
        for key in keys {
            self.update_interest(key);
        }
        self.fill_all_requests();
    }

    /// Lets the store finish its files (empty files are created then); the torrent is
    /// complete (seeding) once that is done.
    fn finish_store(&self) {
        let Some(download) = self.download.as_ref() else {
            return;
        };
        let store = download.store.clone();
        let results = self.internal_tx.clone();
        tokio::task::spawn_blocking(move || {
            let error = store.finish().err().map(|error| error.to_string());
            let _ = results.send(Internal::Finished(error));
        });
    }
}
