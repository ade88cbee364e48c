//! An open data channel as a tokio byte stream (`AsyncRead + AsyncWrite`): message boundaries
//! erased, writes handed to the driver task, which splits them into channel messages and
//! applies backpressure with high and low water marks.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc::UnboundedSender;

use crate::driver::{Command, PeerId};

/// Flow-control settings of a [`DataStream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Writes wait while this many bytes are written and not yet acknowledged by the remote
    /// (simple-peer uses 64 KiB; more keeps a fast path busy).
    pub high_water: usize,
    /// Waiting writes resume once the unacknowledged bytes drop to this.
    pub low_water: usize,
    /// Largest channel message the stream sends (further capped by the remote's
    /// `a=max-message-size`). 16 KiB keeps str0m's SCTP fastest and is what WebTorrent sends.
    pub message_size: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            high_water: 256 * 1024,
            low_water: 128 * 1024,
            message_size: 16 * 1024,
        }
    }
}

/// State shared by a [`DataStream`] and the driver task.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    /// Received messages not yet read, and how far into the first one the reader is.
    pub(crate) inbound: VecDeque<Vec<u8>>,
    pub(crate) inbound_offset: usize,
    /// Written bytes the driver has not yet handed to the channel.
    pub(crate) outbound: Vec<u8>,
    pub(crate) outbound_start: usize,
    /// The channel's buffered amount as the driver last saw it.
    pub(crate) channel_buffered: usize,
    /// The channel closed (or the connection failed): reads end, writes fail.
    pub(crate) closed: bool,
    /// The writer asked for an orderly close.
    pub(crate) shutdown: bool,
    pub(crate) read_waker: Option<Waker>,
    pub(crate) write_waker: Option<Waker>,
}

impl StreamState {
    /// Bytes written and not yet handed to the channel.
    pub(crate) fn outbound_len(&self) -> usize {
        self.outbound.len() - self.outbound_start
    }

    /// Bytes written and not yet acknowledged.
    pub(crate) fn unacknowledged(&self) -> usize {
        self.outbound_len() + self.channel_buffered
    }

    /// Marks `n` outbound bytes as handed to the channel.
    pub(crate) fn consume_outbound(&mut self, n: usize) {
        self.outbound_start += n;
        if self.outbound_start == self.outbound.len() {
            self.outbound.clear();
            self.outbound_start = 0;
        } else if self.outbound_start > 1024 * 1024 {
            self.outbound.drain(..self.outbound_start);
            self.outbound_start = 0;
        }
    }

    /// Ends the stream and wakes everyone waiting on it.
    pub(crate) fn close(&mut self) {
        self.closed = true;
        self.wake_reader();
        self.wake_writer();
    }

    pub(crate) fn wake_reader(&mut self) {
        if let Some(waker) = self.read_waker.take() {
            waker.wake();
        }
    }

    pub(crate) fn wake_writer(&mut self) {
        if let Some(waker) = self.write_waker.take() {
            waker.wake();
        }
    }
}

/// The shared half, as held by the driver.
#[derive(Debug, Default)]
pub(crate) struct StreamShared {
    state: Mutex<StreamState>,
}

impl StreamShared {
    /// Locks the state; a poisoned lock (a panic elsewhere) still yields the state.
    pub(crate) fn lock(&self) -> MutexGuard<'_, StreamState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// An open data channel as a byte stream. Reading yields the remote's bytes in order with
/// message boundaries erased; writing queues bytes for the channel and waits while more than
/// [`StreamConfig::high_water`] bytes are unacknowledged. `shutdown` waits until everything
/// written is acknowledged, then closes the channel (both directions). Dropping the stream
/// closes the channel once its owner's [`crate::PeerHandle`] is gone too.
#[derive(Debug)]
pub struct DataStream {
    id: PeerId,
    shared: Arc<StreamShared>,
    commands: UnboundedSender<Command>,
    config: StreamConfig,
    label: String,
    shutdown_sent: bool,
}

impl DataStream {
    pub(crate) fn new(
        id: PeerId,
        shared: Arc<StreamShared>,
        commands: UnboundedSender<Command>,
        config: StreamConfig,
        label: String,
    ) -> Self {
        DataStream {
            id,
            shared,
            commands,
            config,
            label,
            shutdown_sent: false,
        }
    }

    /// The channel's label (whatever the opening side chose).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Bytes written and not yet acknowledged by the remote.
    pub fn unacknowledged(&self) -> usize {
        self.shared.lock().unacknowledged()
    }
}

fn broken_pipe() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the data channel is closed")
}

impl AsyncRead for DataStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut state = self.shared.lock();
        let mut copied = false;
        while buf.remaining() > 0 {
            let offset = state.inbound_offset;
            let Some(front) = state.inbound.front() else {
                break;
            };
            let n = (front.len() - offset).min(buf.remaining());
            buf.put_slice(&front[offset..offset + n]);
            copied = true;
            if offset + n == front.len() {
                state.inbound.pop_front();
                state.inbound_offset = 0;
            } else {
                state.inbound_offset = offset + n;
            }
        }
        if copied || state.closed {
            return Poll::Ready(Ok(()));
        }
        state.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl AsyncWrite for DataStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut state = self.shared.lock();
        if state.closed || state.shutdown {
            return Poll::Ready(Err(broken_pipe()));
        }
        let room = self
            .config
            .high_water
            .saturating_sub(state.unacknowledged());
        if room == 0 {
            state.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(buf.len());
        let was_empty = state.outbound_len() == 0;
        state.outbound.extend_from_slice(&buf[..n]);
        drop(state);
        if was_empty && self.commands.send(Command::Flush(self.id)).is_err() {
            return Poll::Ready(Err(broken_pipe()));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = self.shared.lock();
        if state.outbound_len() == 0 {
            return Poll::Ready(Ok(()));
        }
        if state.closed {
            return Poll::Ready(Err(broken_pipe()));
        }
        state.write_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.shutdown_sent {
            self.shutdown_sent = true;
            self.shared.lock().shutdown = true;
            // A stopped driver has closed the stream already.
            let _ = self.commands.send(Command::Shutdown(self.id));
        }
        let mut state = self.shared.lock();
        if state.closed {
            return Poll::Ready(Ok(()));
        }
        state.write_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for DataStream {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::StreamDropped(self.id));
    }
}
