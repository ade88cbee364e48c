//! The stream discovery hands to the sink: counts bytes both ways, tells discovery when the
//! sink drops it, and can be cut by discovery (tie-break loser, removed torrent, destroy).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;

/// Byte counters shared by all of a torrent's streams.
#[derive(Debug, Default)]
pub(crate) struct ByteCounters {
    pub(crate) up: AtomicU64,
    pub(crate) down: AtomicU64,
}

#[derive(Debug, Default)]
struct CutState {
    cut: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

/// Discovery's side of a [`MeteredStream`]: cut it, and learn when the sink dropped it.
#[derive(Debug)]
pub(crate) struct StreamControl {
    cut: Arc<CutState>,
    dropped: watch::Receiver<bool>,
}

impl StreamControl {
    /// Ends the stream: reads see end-of-stream, writes fail, and waiting tasks wake.
    pub(crate) fn cut(&self) {
        self.cut.cut.store(true, Ordering::Release);
        let wakers = std::mem::take(
            &mut *self
                .cut
                .wakers
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Resolves once the sink dropped the stream.
    pub(crate) async fn dropped(&mut self) {
        let _ = self.dropped.wait_for(|dropped| *dropped).await;
    }
}

impl ByteCounters {
    /// Bytes both ways.
    pub(crate) fn total(&self) -> u64 {
        self.up.load(Ordering::Relaxed) + self.down.load(Ordering::Relaxed)
    }

    fn add(counters: &[Arc<ByteCounters>; 2], up: usize, down: usize) {
        for counter in counters {
            counter.up.fetch_add(up as u64, Ordering::Relaxed);
            counter.down.fetch_add(down as u64, Ordering::Relaxed);
        }
    }
}

/// A stream wrapper that meters bytes (for its torrent and for its own connection) and can
/// be cut.
#[derive(Debug)]
pub(crate) struct MeteredStream<S> {
    inner: S,
    counters: [Arc<ByteCounters>; 2],
    cut: Arc<CutState>,
    dropped: watch::Sender<bool>,
}

impl<S> MeteredStream<S> {
    pub(crate) fn new(inner: S, counters: [Arc<ByteCounters>; 2]) -> (Self, StreamControl) {
        let cut = Arc::new(CutState::default());
        let (dropped, dropped_rx) = watch::channel(false);
        (
            Self {
                inner,
                counters,
                cut: cut.clone(),
                dropped,
            },
            StreamControl {
                cut,
                dropped: dropped_rx,
            },
        )
    }

    /// True (and the waker kept) when the stream was cut.
    fn is_cut(&self, cx: &mut Context<'_>) -> bool {
        if self.cut.cut.load(Ordering::Acquire) {
            return true;
        }
        let mut wakers = self
            .cut
            .wakers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !wakers.iter().any(|waker| waker.will_wake(cx.waker())) {
            wakers.push(cx.waker().clone());
        }
        drop(wakers);
        self.cut.cut.load(Ordering::Acquire)
    }
}

impl<S> Drop for MeteredStream<S> {
    fn drop(&mut self) {
        self.dropped.send_replace(true);
    }
}

fn cut_error() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "closed by discovery")
}

impl<S: AsyncRead + Unpin> AsyncRead for MeteredStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.is_cut(cx) {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        ByteCounters::add(&self.counters, 0, read);
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for MeteredStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.is_cut(cx) {
            return Poll::Ready(Err(cut_error()));
        }
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(written)) = &result {
            ByteCounters::add(&self.counters, *written, 0);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.is_cut(cx) {
            return Poll::Ready(Err(cut_error()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn counts_bytes_and_a_cut_ends_a_waiting_read() {
        let counters = Arc::new(ByteCounters::default());
        let link = Arc::new(ByteCounters::default());
        let (near, mut far) = tokio::io::duplex(1024);
        let (mut stream, mut control) = MeteredStream::new(near, [counters.clone(), link.clone()]);
        stream.write_all(b"hello").await.unwrap();
        far.write_all(b"abc").await.unwrap();
        let mut buf = [0u8; 3];
        stream.read_exact(&mut buf).await.unwrap();
        assert_eq!(counters.up.load(Ordering::Relaxed), 5);
        assert_eq!(counters.down.load(Ordering::Relaxed), 3);
        assert_eq!(link.total(), 8);
        let reader = tokio::spawn(async move {
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await.unwrap();
            rest
        });
        tokio::task::yield_now().await;
        control.cut();
        assert!(
            reader.await.unwrap().is_empty(),
            "a cut stream reads as ended"
        );
        tokio::time::timeout(std::time::Duration::from_secs(5), control.dropped())
            .await
            .expect("the drop is reported");
    }
}
