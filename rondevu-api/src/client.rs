//! The blocking client: one method per endpoint, each bounded by the client's timeout.

use std::time::{Duration, Instant};

use peer_bloom::PeerBloom;
use serde::de::DeserializeOwned;
use serde::Serialize;
use ureq::{Agent, RequestBuilder};

use crate::error::{Error, Result};
use crate::percent::encode;
use crate::types::{
    Answer, AnswerAccepted, AnswerRequest, AnswersResponse, CandidatesAdded, CandidatesRequest,
    CandidatesResponse, Credentials, ErrorBody, Health, IceCandidate, MyOffers, NewOffer,
    PeerOffers, PublishRequest, PublishResponse, PublishedOffer, ServerInfo, TopicList,
    TopicOffers, TopicsQuery,
};

/// Default bound on each call, connection set-up and body included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on a response body (200 offers of 64 Ki-character SDPs fit).
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;
/// Longest error text kept from a non-JSON error body.
const MAX_ERROR_TEXT: usize = 200;

#[derive(Debug, Clone, Copy)]
enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// Settings for a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    timeout: Duration,
    max_response_bytes: u64,
}

impl ClientBuilder {
    /// Bounds every call (connect, send, receive) by `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Refuses response bodies larger than `bytes` (a transport error).
    pub fn max_response_bytes(mut self, bytes: u64) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// Builds the client; the base URL must start with `http://` or `https://`.
    pub fn build(self) -> Result<Client> {
        let base_url = self.base_url.trim_end_matches('/').to_string();
        let scheme_ok = base_url.starts_with("http://") || base_url.starts_with("https://");
        if !scheme_ok || base_url.contains(['?', '#']) {
            return Err(Error::InvalidInput(format!(
                "base URL {base_url:?} must be http:// or https:// without query or fragment"
            )));
        }
        let config = Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("rondevu-api/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            agent: config.into(),
            base_url,
            max_response_bytes: self.max_response_bytes,
        })
    }
}

/// A blocking client for one Rondevu server. Cheap to clone (connections are pooled and
/// shared between clones).
#[derive(Debug, Clone)]
pub struct Client {
    agent: Agent,
    base_url: String,
    max_response_bytes: u64,
}

impl Client {
    /// A client for the server at `base_url` (e.g. `http://127.0.0.1:3000`) with the default
    /// timeout.
    pub fn new(base_url: &str) -> Result<Self> {
        Self::builder(base_url).build()
    }

    /// Settings for a client of the server at `base_url`.
    pub fn builder(base_url: &str) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_string(),
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET /`: the server's name, version and description.
    pub fn version(&self) -> Result<ServerInfo> {
        self.call(Method::Get, "/", None, None::<&()>)
    }

    /// `GET /health`.
    pub fn health(&self) -> Result<Health> {
        self.call(Method::Get, "/health", None, None::<&()>)
    }

    /// `POST /register`: a fresh peer id and its secret.
    pub fn register(&self) -> Result<Credentials> {
        self.call(
            Method::Post,
            "/register",
            None,
            Some(&serde_json::json!({})),
        )
    }

    /// `POST /offers`: publishes `offers` atomically (all or none), answering in order.
    pub fn publish(
        &self,
        credentials: &Credentials,
        offers: &[NewOffer],
    ) -> Result<Vec<PublishedOffer>> {
        let response: PublishResponse = self.call(
            Method::Post,
            "/offers",
            Some(credentials),
            Some(&PublishRequest { offers }),
        )?;
        Ok(response.offers)
    }

    /// `GET /offers/by-topic/:topic`: unexpired offers under `topic`, newest first, at most
    /// `limit` (server default 50), leaving out owners that test positive in `bloom` (the
    /// server tests with k = 3 hash functions).
    pub fn offers_by_topic(
        &self,
        topic: &str,
        limit: Option<u32>,
        bloom: Option<&PeerBloom>,
    ) -> Result<TopicOffers> {
        let mut path = format!("/offers/by-topic/{}", encode(topic));
        let mut separator = '?';
        if let Some(limit) = limit {
            path.push_str(&format!("{separator}limit={limit}"));
            separator = '&';
        }
        if let Some(bloom) = bloom {
            path.push_str(&format!("{separator}bloom={}", encode(&bloom.to_base64())));
        }
        self.call(Method::Get, &path, None, None::<&()>)
    }

    /// `GET /topics`: topics with unexpired offers and their number of distinct peers.
    pub fn topics(&self, query: &TopicsQuery) -> Result<TopicList> {
        let mut params = Vec::new();
        if let Some(limit) = query.limit {
            params.push(format!("limit={limit}"));
        }
        if let Some(offset) = query.offset {
            params.push(format!("offset={offset}"));
        }
        if let Some(prefix) = &query.starts_with {
            params.push(format!("startsWith={}", encode(prefix)));
        }
        let path = if params.is_empty() {
            "/topics".to_string()
        } else {
            format!("/topics?{}", params.join("&"))
        };
        self.call(Method::Get, &path, None, None::<&()>)
    }

    /// `GET /peers/:peerId/offers`: a peer's unexpired offers and their topics.
    pub fn peer_offers(&self, peer_id: &str) -> Result<PeerOffers> {
        let path = format!("/peers/{}/offers", encode(peer_id));
        self.call(Method::Get, &path, None, None::<&()>)
    }

    /// `GET /offers/mine`: our unexpired offers with everything stored about them.
    pub fn my_offers(&self, credentials: &Credentials) -> Result<MyOffers> {
        self.call(Method::Get, "/offers/mine", Some(credentials), None::<&()>)
    }

    /// `DELETE /offers/:offerId`: removes one of our offers (404 if not ours or gone).
    pub fn delete_offer(&self, credentials: &Credentials, offer_id: &str) -> Result<()> {
        let path = format!("/offers/{}", encode(offer_id));
        let _: serde_json::Value =
            self.call(Method::Delete, &path, Some(credentials), None::<&()>)?;
        Ok(())
    }

    /// `POST /offers/:offerId/answer`: answers an offer (first answer wins; 400 otherwise).
    pub fn answer(
        &self,
        credentials: &Credentials,
        offer_id: &str,
        sdp: &str,
        secret: Option<&str>,
    ) -> Result<AnswerAccepted> {
        let path = format!("/offers/{}/answer", encode(offer_id));
        self.call(
            Method::Post,
            &path,
            Some(credentials),
            Some(&AnswerRequest { sdp, secret }),
        )
    }

    /// `GET /offers/answers`: answers to our unexpired offers, newest first.
    pub fn answers(&self, credentials: &Credentials) -> Result<Vec<Answer>> {
        let response: AnswersResponse = self.call(
            Method::Get,
            "/offers/answers",
            Some(credentials),
            None::<&()>,
        )?;
        Ok(response.answers)
    }

    /// `POST /offers/:offerId/ice-candidates`: posts our candidates (opaque JSON, usually
    /// `RTCIceCandidateInit` objects); returns how many the server stored.
    pub fn post_ice_candidates(
        &self,
        credentials: &Credentials,
        offer_id: &str,
        candidates: &[serde_json::Value],
    ) -> Result<usize> {
        let path = format!("/offers/{}/ice-candidates", encode(offer_id));
        let response: CandidatesAdded = self.call(
            Method::Post,
            &path,
            Some(credentials),
            Some(&CandidatesRequest { candidates }),
        )?;
        Ok(response.candidates_added)
    }

    /// `GET /offers/:offerId/ice-candidates?since=T`: the other side's candidates newer than
    /// `since` (all when `None`), oldest first.
    pub fn ice_candidates(
        &self,
        credentials: &Credentials,
        offer_id: &str,
        since: Option<u64>,
    ) -> Result<Vec<IceCandidate>> {
        let mut path = format!("/offers/{}/ice-candidates", encode(offer_id));
        if let Some(since) = since {
            path.push_str(&format!("?since={since}"));
        }
        let response: CandidatesResponse =
            self.call(Method::Get, &path, Some(credentials), None::<&()>)?;
        Ok(response.candidates)
    }

    /// Sends one request and decodes the answer.
    fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path_and_query: &str,
        credentials: Option<&Credentials>,
        body: Option<&B>,
    ) -> Result<T> {
        let endpoint = format!(
            "{} {}",
            method.as_str(),
            path_and_query.split('?').next().unwrap_or(path_and_query)
        );
        let url = format!("{}{}", self.base_url, path_and_query);
        let started = Instant::now();
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|error| Error::InvalidInput(format!("{endpoint}: {error}")))?;
        let transport = |source: ureq::Error| Error::Transport {
            endpoint: endpoint.clone(),
            source: Box::new(source),
        };
        let sent = match method {
            Method::Get => authorize(self.agent.get(&url), credentials).call(),
            Method::Delete => authorize(self.agent.delete(&url), credentials).call(),
            Method::Post => {
                let request = authorize(self.agent.post(&url), credentials);
                match &body {
                    Some(bytes) => request.content_type("application/json").send(&bytes[..]),
                    None => request.send_empty(),
                }
            }
        };
        let mut response = sent.map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(self.max_response_bytes)
            .read_to_vec()
            .map_err(transport)?;
        tracing::debug!(%endpoint, status, elapsed = ?started.elapsed(), "rondevu call");
        if !(200..300).contains(&status) {
            let message = match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(body) => body.error,
                Err(_) => {
                    String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_ERROR_TEXT)]).into_owned()
                }
            };
            return Err(Error::Status {
                endpoint,
                status,
                message,
            });
        }
        serde_json::from_slice(&bytes).map_err(|error| Error::Decode {
            endpoint,
            status,
            reason: error.to_string(),
        })
    }
}

fn authorize<B>(
    request: RequestBuilder<B>,
    credentials: Option<&Credentials>,
) -> RequestBuilder<B> {
    match credentials {
        Some(credentials) => request.header(
            "Authorization",
            format!("Bearer {}:{}", credentials.peer_id, credentials.secret),
        ),
        None => request,
    }
}
