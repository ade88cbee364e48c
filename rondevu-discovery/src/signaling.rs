//! The `Signaling` seam: the Rondevu calls discovery makes, as async methods, and their
//! implementation on `rondevu-api`'s blocking client (run on tokio's blocking pool).

use std::future::Future;

use peer_bloom::PeerBloom;
use rondevu_api::{
    Answer, Credentials, IceCandidate, MyOffer, NewOffer, PublishedOffer, TopicOffers,
};

/// Why a signaling call failed, as discovery needs to tell the cases apart.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SignalingError {
    /// The server refused our credentials (401): register again and republish.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// The server could not be reached (connection refused, timeout, TLS…): back off.
    #[error("server unreachable: {0}")]
    Unreachable(String),
    /// The server refused the call with this status and text (e.g. 400 `Offer already
    /// answered`, 404 for an offer that is gone).
    #[error("server refused ({status}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's error text.
        message: String,
    },
    /// Anything else (an undecodable body, a task that panicked…).
    #[error("{0}")]
    Other(String),
}

impl SignalingError {
    /// Whether the server is down or unreachable (as opposed to refusing this one call).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, SignalingError::Unreachable(_))
    }

    /// Whether the credentials are no longer accepted.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self, SignalingError::Unauthorized(_))
    }

    /// Whether an answer was refused because the offer is taken, expired or gone: normal
    /// under a busy topic (stale offers of the original plugin), not a failure.
    pub fn is_stale_offer(&self) -> bool {
        match self {
            SignalingError::Refused { status, message } => {
                *status == 404
                    || (*status == 400
                        && (message.contains("already answered")
                            || message.contains("not found or expired")))
            }
            _ => false,
        }
    }
}

impl From<rondevu_api::Error> for SignalingError {
    fn from(error: rondevu_api::Error) -> Self {
        match &error {
            rondevu_api::Error::Transport { .. } => SignalingError::Unreachable(error.to_string()),
            rondevu_api::Error::Status {
                status, message, ..
            } => {
                if *status == 401 {
                    SignalingError::Unauthorized(message.clone())
                } else if *status >= 500 {
                    // A server failing every call is as good as down: back off.
                    SignalingError::Unreachable(error.to_string())
                } else {
                    SignalingError::Refused {
                        status: *status,
                        message: message.clone(),
                    }
                }
            }
            _ => SignalingError::Other(error.to_string()),
        }
    }
}

/// The Rondevu calls discovery makes. Implemented on [`rondevu_api::Client`]; an embedder
/// can plug in another client (or wrap this one, to record or delay calls). Every method
/// must return promptly enough to be awaited on the async runtime (never block it).
pub trait Signaling: Send + Sync + 'static {
    /// `POST /register`.
    fn register(&self) -> impl Future<Output = Result<Credentials, SignalingError>> + Send;

    /// `POST /offers`: all offers at once, acknowledged in order.
    fn publish(
        &self,
        credentials: &Credentials,
        offers: Vec<NewOffer>,
    ) -> impl Future<Output = Result<Vec<PublishedOffer>, SignalingError>> + Send;

    /// `GET /offers/by-topic/:topic` with the bloom filter of peers to leave out.
    fn offers_by_topic(
        &self,
        topic: &str,
        limit: u32,
        bloom: &PeerBloom,
    ) -> impl Future<Output = Result<TopicOffers, SignalingError>> + Send;

    /// `POST /offers/:id/answer`.
    fn answer(
        &self,
        credentials: &Credentials,
        offer_id: &str,
        sdp: &str,
    ) -> impl Future<Output = Result<(), SignalingError>> + Send;

    /// `GET /offers/answers`: answers to our offers.
    fn answers(
        &self,
        credentials: &Credentials,
    ) -> impl Future<Output = Result<Vec<Answer>, SignalingError>> + Send;

    /// `POST /offers/:id/ice-candidates`.
    fn post_candidates(
        &self,
        credentials: &Credentials,
        offer_id: &str,
        candidates: Vec<serde_json::Value>,
    ) -> impl Future<Output = Result<(), SignalingError>> + Send;

    /// `GET /offers/:id/ice-candidates?since=T`: the other side's candidates.
    fn candidates(
        &self,
        credentials: &Credentials,
        offer_id: &str,
        since: Option<u64>,
    ) -> impl Future<Output = Result<Vec<IceCandidate>, SignalingError>> + Send;

    /// `DELETE /offers/:id`.
    fn delete_offer(
        &self,
        credentials: &Credentials,
        offer_id: &str,
    ) -> impl Future<Output = Result<(), SignalingError>> + Send;

    /// `GET /offers/mine`.
    fn my_offers(
        &self,
        credentials: &Credentials,
    ) -> impl Future<Output = Result<Vec<MyOffer>, SignalingError>> + Send;
}

/// Runs a blocking `rondevu-api` call on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, rondevu_api::Error> + Send + 'static,
) -> Result<T, SignalingError> {
    match tokio::task::spawn_blocking(call).await {
        Ok(result) => result.map_err(SignalingError::from),
        Err(error) => Err(SignalingError::Other(format!(
            "signaling task failed: {error}"
        ))),
    }
}

impl Signaling for rondevu_api::Client {
    async fn register(&self) -> Result<Credentials, SignalingError> {
        let client = self.clone();
        blocking(move || client.register()).await
    }

    async fn publish(
        &self,
        credentials: &Credentials,
        offers: Vec<NewOffer>,
    ) -> Result<Vec<PublishedOffer>, SignalingError> {
        let (client, credentials) = (self.clone(), credentials.clone());
        blocking(move || client.publish(&credentials, &offers)).await
    }

    async fn offers_by_topic(
        &self,
        topic: &str,
        limit: u32,
        bloom: &PeerBloom,
    ) -> Result<TopicOffers, SignalingError> {
        let (client, topic, bloom) = (self.clone(), topic.to_string(), bloom.clone());
        blocking(move || client.offers_by_topic(&topic, Some(limit), Some(&bloom))).await
    }

    async fn answer(
        &self,
        credentials: &Credentials,
        offer_id: &str,
        sdp: &str,
    ) -> Result<(), SignalingError> {
        let (client, credentials) = (self.clone(), credentials.clone());
        let (offer_id, sdp) = (offer_id.to_string(), sdp.to_string());
        blocking(move || {
            client
                .answer(&credentials, &offer_id, &sdp, None)
                .map(|_| ())
        })
        .await
    }

    async fn answers(&self, credentials: &Credentials) -> Result<Vec<Answer>, SignalingError> {
        let (client, credentials) = (self.clone(), credentials.clone());
        blocking(move || client.answers(&credentials)).await
    }

    async fn post_candidates(
        &self,
        credentials: &Credentials,
        offer_id: &str,
        candidates: Vec<serde_json::Value>,
    ) -> Result<(), SignalingError> {
        let (client, credentials, offer_id) =
            (self.clone(), credentials.clone(), offer_id.to_string());
        blocking(move || {
            client
                .post_ice_candidates(&credentials, &offer_id, &candidates)
                .map(|_| ())
        })
        .await
    }

    async fn candidates(
        &self,
        credentials: &Credentials,
        offer_id: &str,
        since: Option<u64>,
    ) -> Result<Vec<IceCandidate>, SignalingError> {
        let (client, credentials, offer_id) =
            (self.clone(), credentials.clone(), offer_id.to_string());
        blocking(move || client.ice_candidates(&credentials, &offer_id, since)).await
    }

    async fn delete_offer(
        &self,
        credentials: &Credentials,
        offer_id: &str,
    ) -> Result<(), SignalingError> {
        let (client, credentials, offer_id) =
            (self.clone(), credentials.clone(), offer_id.to_string());
        blocking(move || client.delete_offer(&credentials, &offer_id)).await
    }

    async fn my_offers(&self, credentials: &Credentials) -> Result<Vec<MyOffer>, SignalingError> {
        let (client, credentials) = (self.clone(), credentials.clone());
        blocking(move || client.my_offers(&credentials).map(|mine| mine.offers)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, message: &str) -> SignalingError {
        SignalingError::Refused {
            status,
            message: message.to_string(),
        }
    }

    #[test]
    fn taken_and_gone_offers_are_stale_not_failures() {
        assert!(refused(400, "Offer already answered").is_stale_offer());
        assert!(refused(400, "Offer not found or expired").is_stale_offer());
        assert!(refused(404, "Offer not found or not authorized").is_stale_offer());
        assert!(!refused(400, "Invalid or missing secret").is_stale_offer());
        assert!(!SignalingError::Unreachable("refused".into()).is_stale_offer());
    }

    #[test]
    fn api_errors_map_to_what_discovery_does_next() {
        let status = |status: u16| rondevu_api::Error::Status {
            endpoint: "GET /offers/answers".into(),
            status,
            message: "x".into(),
        };
        assert!(SignalingError::from(status(401)).is_unauthorized());
        assert!(SignalingError::from(status(503)).is_unreachable());
        assert!(matches!(
            SignalingError::from(status(409)),
            SignalingError::Refused { status: 409, .. }
        ));
    }
}
