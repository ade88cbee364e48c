//! A torrent task's connections: accepting streams, what peers say (handshake, bitfield,
//! have, choke and interest), our interest and choke state towards them, disconnects and
//! bans.

use std::sync::Arc;

use bitvec::prelude::BitVec;
use bt_wire::{Message, PeerId};
use tokio::sync::mpsc;

use super::{PeerEntry, TorrentTask};
use crate::choker::ChokeChange;
use crate::events::TorrentEvent;
use crate::peer::{self, FromPeer, PeerEvent, PeerLimits, PeerStream, ToPeer};
use crate::picker::PeerKey;
use crate::rate::RateMeter;
use crate::reputation::Verdict;
use crate::shared::PeerCounters;

impl TorrentTask {
    pub(super) fn add_peer(&mut self, stream: Box<dyn PeerStream>) {
        let key = self.next_key;
        self.next_key += 1;
        if self.peers.len() >= self.config.max_peers_per_torrent {
            tracing::info!(key, "refusing a peer: torrent is at its peer limit");
            self.emit(TorrentEvent::PeerDisconnected {
                peer: key,
                reason: "too many peers".to_string(),
            });
            return;
        }
        let (commands_tx, commands_rx) = mpsc::unbounded_channel();
        let counters = Arc::new(PeerCounters::default());
        self.peers.insert(
            key,
            PeerEntry {
                commands: commands_tx,
                counters: counters.clone(),
                peer_id: None,
                extensions: None,
                early_bits: BitVec::new(),
                peer_choking: true,
                peer_interested: false,
                am_interested: false,
                am_choking: true,
                down_rate: RateMeter::default(),
                up_rate: RateMeter::default(),
            },
        );
        let limits = PeerLimits {
            handshake_timeout: self.config.handshake_timeout,
            max_queued_uploads: self.config.max_queued_uploads,
            max_wasted_bytes: self.config.max_wasted_bytes,
        };
        peer::spawn(
            key,
            stream,
            self.shared.clone(),
            counters,
            self.peer_tx.clone(),
            commands_rx,
            limits,
        );
    }

    pub(super) fn close_peer(&mut self, key: PeerKey, reason: String) {
        if let Some(entry) = self.peers.get(&key) {
            entry.send(ToPeer::Close(reason));
        }
    }

    pub(super) async fn on_peer_event(&mut self, PeerEvent { key, events }: PeerEvent) {
        let mut blocks = false;
        for event in events {
            if !self.peers.contains_key(&key) {
                return;
            }
            match event {
                FromPeer::Handshake { peer_id } => self.on_handshake(key, peer_id),
                FromPeer::Extensions(handshake) => {
                    let reqq = handshake.reqq;
                    if let Some(entry) = self.peers.get_mut(&key) {
                        entry.extensions = Some(handshake);
                    }
                    if let (Some(reqq), Some(download)) = (reqq, self.download.as_mut()) {
                        download.picker.limit_queue_depth(key, reqq);
                    }
                    if self.download.is_none() {
                        self.request_metadata();
                    }
                }
                FromPeer::Message(message) => self.on_message(key, message),
                FromPeer::Block(block) => {
                    blocks = true;
                    self.on_block(key, block);
                }
                FromPeer::Metadata(message) => self.on_metadata(key, message).await,
                FromPeer::Closed(reason) => self.on_closed(key, reason),
            }
        }
        // One round of new requests per batch of blocks, not per block.
        if blocks {
            self.fill_requests(key);
        }
    }

    pub(super) fn on_handshake(&mut self, key: PeerKey, peer_id: PeerId) {
        let refusal = if peer_id == self.shared.our_peer_id {
            Some("connected to ourselves")
        } else if self.reputation.is_banned(&peer_id) {
            Some("banned peer")
        } else if self
            .peers
            .values()
            .any(|entry| entry.peer_id == Some(peer_id))
        {
            Some("already connected to this peer id")
        } else {
            None
        };
        if let Some(reason) = refusal {
            self.close_peer(key, reason.to_string());
            return;
        }
        self.ids.insert(key, peer_id);
        if let Some(entry) = self.peers.get_mut(&key) {
            entry.peer_id = Some(peer_id);
        }
        if let Some(download) = self.download.as_mut() {
            download.picker.add_peer(key);
            if download.picker.verified_count() > 0 {
                let bits = download.picker.have().to_bitvec();
                if let Some(entry) = self.peers.get(&key) {
                    entry.send(ToPeer::Send(Message::Bitfield(bits)));
                }
            }
        }
        tracing::debug!(key, %peer_id, "peer connected");
        self.emit(TorrentEvent::PeerConnected { peer: key, peer_id });
    }

    pub(super) fn on_message(&mut self, key: PeerKey, message: Message) {
        let piece_count = self.download.as_ref().map(|d| d.layout.piece_count());
        match message {
            Message::Choke => {
                if let Some(entry) = self.peers.get_mut(&key) {
                    entry.peer_choking = true;
                }
                if let Some(download) = self.download.as_mut() {
                    download.picker.peer_choking(key, true);
                }
                self.fill_all_requests();
            }
            Message::Unchoke => {
                if let Some(entry) = self.peers.get_mut(&key) {
                    entry.peer_choking = false;
                }
                if let Some(download) = self.download.as_mut() {
                    download.picker.peer_choking(key, false);
                }
                self.fill_requests(key);
            }
            Message::Interested => {
                if let Some(entry) = self.peers.get_mut(&key) {
                    entry.peer_interested = true;
                }
                // Without the metadata there is nothing to serve: no slot yet.
                if self.download.is_some() {
                    if let Some(ChokeChange::Unchoke(peer)) = self.choker.peer_interested(key) {
                        self.set_choking(peer, false);
                    }
                }
            }
            Message::NotInterested => {
                if let Some(entry) = self.peers.get_mut(&key) {
                    entry.peer_interested = false;
                }
            }
            Message::Have(piece) => {
                match (piece_count, self.download.as_mut()) {
                    (Some(count), Some(download)) => {
                        if piece >= count {
                            self.close_peer(key, format!("have for piece {piece} of {count}"));
                            return;
                        }
                        download.picker.peer_has(key, piece);
                    }
                    _ => {
                        if piece >= bt_wire::MAX_PIECE_COUNT {
                            self.close_peer(key, format!("have for piece {piece}"));
                            return;
                        }
                        if let Some(entry) = self.peers.get_mut(&key) {
                            let index = piece as usize;
                            if entry.early_bits.len() <= index {
                                entry.early_bits.resize(index + 1, false);
                            }
                            entry.early_bits.set(index, true);
                        }
                    }
                }
                self.update_interest(key);
            }
            Message::Bitfield(bits) => {
                match self.download.as_mut() {
                    Some(download) => download.picker.peer_bitfield(key, &bits),
                    None => {
                        if let Some(entry) = self.peers.get_mut(&key) {
                            entry.early_bits = bits;
                        }
                    }
                }
                self.update_interest(key);
            }
            Message::HaveAll => {
                if let Some(download) = self.download.as_mut() {
                    download.picker.peer_has_all(key);
                }
                self.update_interest(key);
            }
            _ => {}
        }
    }

    /// Sends interested / not interested when our want of the peer's pieces changed.
    pub(super) fn update_interest(&mut self, key: PeerKey) {
        let interesting = self
            .download
            .as_ref()
            .is_some_and(|download| download.picker.is_interesting(key));
        let Some(entry) = self.peers.get_mut(&key) else {
            return;
        };
        if entry.peer_id.is_none() || entry.am_interested == interesting {
            return;
        }
        entry.am_interested = interesting;
        entry.send(ToPeer::Send(if interesting {
            Message::Interested
        } else {
            Message::NotInterested
        }));
        if interesting {
            self.fill_requests(key);
        }
    }

    pub(super) fn set_choking(&mut self, key: PeerKey, choking: bool) {
        if let Some(entry) = self.peers.get_mut(&key) {
            if entry.am_choking != choking && entry.peer_id.is_some() {
                entry.am_choking = choking;
                entry.send(ToPeer::Send(if choking {
                    Message::Choke
                } else {
                    Message::Unchoke
                }));
            }
        }
    }

    pub(super) fn on_closed(&mut self, key: PeerKey, reason: String) {
        let Some(entry) = self.peers.remove(&key) else {
            return;
        };
        self.closed_downloaded += entry.counters.downloaded();
        self.closed_uploaded += entry.counters.uploaded();
        self.choker.peer_removed(key);
        if let Some(download) = self.download.as_mut() {
            download.picker.remove_peer(key);
        }
        self.metadata.peer_gone(key);
        tracing::debug!(key, %reason, "peer disconnected");
        self.emit(TorrentEvent::PeerDisconnected { peer: key, reason });
        if self.download.is_some() {
            self.fill_all_requests();
        } else {
            self.request_metadata();
        }
    }

    /// Applies ban verdicts: disconnects every connection of a banned peer id.
    pub(super) fn apply_verdicts(&mut self, verdicts: Vec<Verdict<PeerId>>, reason: &str) {
        for Verdict::Ban(peer_id) in verdicts {
            self.banned += 1;
            let keys: Vec<PeerKey> = self
                .peers
                .iter()
                .filter(|(_, entry)| entry.peer_id == Some(peer_id))
                .map(|(key, _)| *key)
                .collect();
            tracing::warn!(%peer_id, reason, "banning peer");
            for key in keys.iter().copied() {
                self.close_peer(key, format!("banned: {reason}"));
            }
            let peer = keys
                .first()
                .copied()
                .or_else(|| {
                    self.ids
                        .iter()
                        .find(|(_, id)| **id == peer_id)
                        .map(|(key, _)| *key)
                })
                .unwrap_or(0);
            self.emit(TorrentEvent::PeerBanned {
                peer,
                peer_id,
                reason: reason.to_string(),
            });
        }
    }
}
