//! The reader connections: each used by one thread at a time, never a panic path.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, TryLockError};

use rusqlite::Connection;

use super::lock;

/// Reader connections (never empty), each used by one thread at a time.
pub(super) struct ReaderPool {
    connections: Vec<Mutex<Connection>>,
    next: AtomicU64,
}

impl ReaderPool {
    pub(super) fn new(connections: Vec<Connection>) -> Self {
        Self {
            connections: connections.into_iter().map(Mutex::new).collect(),
            next: AtomicU64::new(0),
        }
    }

    /// Runs `work` on an idle connection, or waits for a busy one when all are taken.
    pub(super) fn with<R, E>(
        &self,
        work: impl FnOnce(&Connection) -> Result<R, E>,
    ) -> Result<R, E> {
        let count = self.connections.len().max(1);
        let start =
            usize::try_from(self.next.fetch_add(1, Ordering::Relaxed) % count as u64).unwrap_or(0);
        for offset in 0..count {
            if let Some(slot) = self.connections.get((start + offset) % count) {
                match slot.try_lock() {
                    Ok(connection) => return work(&connection),
                    Err(TryLockError::Poisoned(poisoned)) => return work(&poisoned.into_inner()),
                    Err(TryLockError::WouldBlock) => {}
                }
            }
        }
        // `Store::open` always makes at least one reader, so `start` indexes a connection.
        work(&lock(&self.connections[start]))
    }
}
