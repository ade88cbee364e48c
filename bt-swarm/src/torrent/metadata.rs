//! Fetching the info dictionary for a torrent added by info-hash alone (BEP 9): pieces of
//! 16 KiB requested from peers that announced `ut_metadata`, checked against the info-hash
//! before anything is built from them.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bt_wire::{MetadataAssembler, MetadataMessage};

use super::TorrentTask;
use crate::events::{TorrentEvent, TorrentState};
use crate::layout::TorrentLayout;
use crate::peer::ToPeer;
use crate::picker::PeerKey;
use crate::shared::Content;

/// A metadata request not answered within this time goes to another peer.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// Progress of the metadata download.
#[derive(Default)]
pub(super) struct MetadataFetch {
    assembler: Option<(u32, MetadataAssembler)>,
    /// Piece → (peer asked, when).
    pending: HashMap<u32, (PeerKey, Instant)>,
    /// Who sent each received piece (blamed if the whole does not match the info-hash).
    senders: HashMap<u32, PeerKey>,
    /// Peers that rejected a request, and when: not asked again until METADATA_TIMEOUT has
    /// passed (a peer that fetches the metadata itself can serve it later).
    refused: HashMap<PeerKey, Instant>,
}

impl MetadataFetch {
    pub fn peer_gone(&mut self, key: PeerKey) {
        self.pending.retain(|_, (peer, _)| *peer != key);
        self.refused.remove(&key);
    }

    pub fn expire(&mut self, now: Instant) {
        self.pending
            .retain(|_, (_, asked)| now.saturating_duration_since(*asked) < METADATA_TIMEOUT);
        self.refused
            .retain(|_, refused| now.saturating_duration_since(*refused) < METADATA_TIMEOUT);
    }
}

impl TorrentTask {
    /// Asks peers that have the metadata for the pieces nobody is fetching.
    pub(super) fn request_metadata(&mut self) {
        if self.download.is_some() || self.state == TorrentState::Failed {
            return;
        }
        let sources: Vec<(PeerKey, u32)> = self
            .peers
            .iter()
            .filter(|(key, _)| !self.metadata.refused.contains_key(key))
            .filter_map(|(&key, entry)| Some((key, Self::metadata_source(entry)?)))
            .collect();
        if self.metadata.assembler.is_none() {
            // Take the size most peers announce, then the first that is acceptable.
            for &(_, size) in &sources {
                if let Ok(assembler) = MetadataAssembler::new(self.shared.info_hash, size) {
                    self.metadata.assembler = Some((size, assembler));
                    break;
                }
            }
        }
        let Some((size, assembler)) = self.metadata.assembler.as_ref() else {
            return;
        };
        let fitting: Vec<PeerKey> = sources
            .iter()
            .filter(|(_, announced)| announced == size)
            .map(|(key, _)| *key)
            .collect();
        if fitting.is_empty() {
            return;
        }
        let now = Instant::now();
        let missing: Vec<u32> = assembler
            .missing()
            .filter(|piece| !self.metadata.pending.contains_key(piece))
            .collect();
        for (index, piece) in missing.into_iter().enumerate() {
            let key = fitting[index % fitting.len()];
            if let Some(entry) = self.peers.get(&key) {
                entry.send(ToPeer::Metadata(MetadataMessage::Request { piece }));
                self.metadata.pending.insert(piece, (key, now));
            }
        }
    }

    pub(super) async fn on_metadata(&mut self, key: PeerKey, message: MetadataMessage) {
        match message {
            MetadataMessage::Request { .. } => {}
            MetadataMessage::Reject { piece } => {
                self.metadata.refused.insert(key, Instant::now());
                self.metadata.pending.remove(&piece);
                self.request_metadata();
            }
            MetadataMessage::Data {
                piece,
                total_size,
                data,
            } => {
                let Some((size, assembler)) = self.metadata.assembler.as_mut() else {
                    return;
                };
                if self.download.is_some()
                    || self.metadata.pending.get(&piece).map(|p| p.0) != Some(key)
                {
                    return;
                }
                if total_size != *size {
                    let reason = format!("metadata size {total_size}, expected {size}");
                    self.close_peer(key, reason);
                    return;
                }
                if let Err(error) = assembler.insert(piece, &data) {
                    self.close_peer(key, format!("bad metadata piece: {error}"));
                    return;
                }
                self.metadata.pending.remove(&piece);
                self.metadata.senders.insert(piece, key);
                if assembler.is_complete() {
                    self.metadata_complete().await;
                } else {
                    self.request_metadata();
                }
            }
        }
    }

    async fn metadata_complete(&mut self) {
        let Some((_, assembler)) = self.metadata.assembler.take() else {
            return;
        };
        let senders: HashSet<PeerKey> = self.metadata.senders.drain().map(|(_, key)| key).collect();
        let info = match assembler.finish() {
            Ok(info) => info,
            Err(error) => {
                tracing::warn!(%error, "fetched metadata is invalid");
                for key in senders {
                    self.close_peer(key, format!("sent bad metadata: {error}"));
                }
                self.request_metadata();
                return;
            }
        };
        let layout = match TorrentLayout::from_info(&info) {
            Ok(layout) => Arc::new(layout),
            Err(error) => {
                let reason = format!("refusing the torrent: {error}");
                tracing::error!(%reason);
                self.state = TorrentState::Failed;
                self.publish_progress();
                self.emit(TorrentEvent::Failed {
                    reason: reason.clone(),
                });
                let keys: Vec<PeerKey> = self.peers.keys().copied().collect();
                for key in keys {
                    self.close_peer(key, reason.clone());
                }
                return;
            }
        };
        tracing::info!(
            name = info.name(),
            pieces = layout.piece_count(),
            "metadata received"
        );
        let _ = self.shared.metadata.set(info.raw().to_vec().into());
        let store = self.storage.open(&layout);
        self.emit(TorrentEvent::MetadataReceived {
            name: info.name().to_string(),
            piece_count: layout.piece_count(),
        });
        self.start_download(Content { layout, store }).await;
    }
}
