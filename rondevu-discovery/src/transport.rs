//! The `Transport` seam: making and answering WebRTC offers, trickling candidates, and
//! getting an open byte stream; implemented on `rondevu-rtc`'s tokio driver.

use std::future::Future;

use rondevu_rtc::{Driver, PeerHandle, PeerNotice};
use tokio::io::{AsyncRead, AsyncWrite};

/// Why a transport operation failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("transport: {0}")]
pub struct TransportError(pub String);

/// What a connection in progress reports.
#[derive(Debug)]
pub enum ConnectionEvent<S> {
    /// A local ICE candidate (`RTCIceCandidateInit` JSON) to post to the other side.
    LocalCandidate(serde_json::Value),
    /// The data channel is open: its byte stream.
    Open(S),
    /// The connection closed or failed; nothing more will come. The text says why.
    Closed(String),
}

/// Makes WebRTC connections: the original plugin's `wrtc` option, as a seam. Implemented
/// on [`rondevu_rtc::Driver`].
pub trait Transport: Send + Sync + 'static {
    /// The open data channel as a byte stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// One connection in progress (or open).
    type Connection: Connection<Stream = Self::Stream>;

    /// A new connection that offers; returns it with the SDP offer to publish.
    fn offer(
        &self,
    ) -> impl Future<Output = Result<(Self::Connection, String), TransportError>> + Send;

    /// A new connection that answers the remote's SDP offer; returns it with the SDP answer.
    fn answer(
        &self,
        offer_sdp: &str,
    ) -> impl Future<Output = Result<(Self::Connection, String), TransportError>> + Send;
}

/// One connection: signaling goes in, candidates and the open stream come out. Dropping it
/// closes the connection (unless its stream is still in use).
pub trait Connection: Send + 'static {
    /// The open data channel as a byte stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Applies the remote's SDP answer to our offer.
    fn accept_answer(
        &mut self,
        answer_sdp: &str,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;

    /// Adds a candidate the remote trickled (`RTCIceCandidateInit` JSON). Candidates the
    /// transport cannot use (TCP, mDNS, outside its address scope, end-of-candidates) are
    /// skipped without an error.
    fn add_remote_candidate(
        &mut self,
        candidate: serde_json::Value,
    ) -> impl Future<Output = Result<(), TransportError>> + Send;

    /// The next event; cancel-safe (may be raced in `select!`).
    fn next_event(&mut self) -> impl Future<Output = ConnectionEvent<Self::Stream>> + Send;
}

fn rtc_error(error: rondevu_rtc::Error) -> TransportError {
    TransportError(error.to_string())
}

impl Transport for Driver {
    type Stream = rondevu_rtc::DataStream;
    type Connection = PeerHandle;

    async fn offer(&self) -> Result<(PeerHandle, String), TransportError> {
        let peer = self.new_peer().map_err(rtc_error)?;
        let sdp = peer.create_offer().await.map_err(rtc_error)?;
        Ok((peer, sdp))
    }

    async fn answer(&self, offer_sdp: &str) -> Result<(PeerHandle, String), TransportError> {
        let peer = self.new_peer().map_err(rtc_error)?;
        let sdp = peer.accept_offer(offer_sdp).await.map_err(rtc_error)?;
        Ok((peer, sdp))
    }
}

impl Connection for PeerHandle {
    type Stream = rondevu_rtc::DataStream;

    async fn accept_answer(&mut self, answer_sdp: &str) -> Result<(), TransportError> {
        PeerHandle::accept_answer(self, answer_sdp)
            .await
            .map_err(rtc_error)
    }

    async fn add_remote_candidate(
        &mut self,
        candidate: serde_json::Value,
    ) -> Result<(), TransportError> {
        let init = serde_json::from_value(candidate)
            .map_err(|error| TransportError(format!("not an RTCIceCandidateInit: {error}")))?;
        PeerHandle::add_remote_candidate(self, init)
            .await
            .map(|_| ())
            .map_err(rtc_error)
    }

    async fn next_event(&mut self) -> ConnectionEvent<rondevu_rtc::DataStream> {
        loop {
            match self.next_notice().await {
                Some(PeerNotice::LocalCandidate(candidate)) => {
                    match serde_json::to_value(&candidate) {
                        Ok(json) => return ConnectionEvent::LocalCandidate(json),
                        Err(error) => {
                            tracing::debug!(%error, "local candidate not serializable, skipped")
                        }
                    }
                }
                Some(PeerNotice::Open(stream)) => return ConnectionEvent::Open(stream),
                Some(PeerNotice::Closed) | None => {
                    return ConnectionEvent::Closed("connection closed".to_string())
                }
                Some(PeerNotice::Failed(reason)) => return ConnectionEvent::Closed(reason),
                Some(PeerNotice::IceState(_) | PeerNotice::Connected) => {}
            }
        }
    }
}
