//! The HTTP API: one handler per endpoint of the Rondevu topic protocol.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use peer_bloom::PeerBloom;
use serde_json::value::RawValue;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::Authenticator;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::extract::{Caller, PathParam, QueryParams};
use crate::listing_cache::{
    render_listing, ListedOffer, ListingCache, TopicListing, MAX_CACHED_OFFERS_PER_TOPIC,
};
use crate::responses::{
    AnswerItem, AnsweredBody, AnswersBody, CandidateItem, CandidatesAddedBody, CandidatesBody,
    Health, MineBody, MyOfferItem, PeerOfferItem, PeerOffersBody, PublishedBody, PublishedItem,
    Registered, ServerInfo, TopicItem, TopicsBody,
};
use crate::store::{OfferRecord, Store};
use crate::validation::{self, PublishLimits};

/// The server's version, as `/` and `/health` report it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Hash functions the server tests bloom filters with (the spec fixes k = 3).
pub const BLOOM_HASHES: u32 = 3;

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The database.
    pub store: Arc<Store>,
    /// Credential issuer and checker.
    pub auth: Authenticator,
    /// Limits for `POST /offers`.
    pub limits: PublishLimits,
    /// Ready-made by-topic listings.
    pub cache: ListingCache,
}

type SharedState = Arc<AppState>;

/// Milliseconds since the Unix epoch, like JavaScript's `Date.now()`.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Builds the router with CORS, the body-size limit and a panic guard.
pub fn router(state: SharedState, cors_origins: &[String], max_body_bytes: usize) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/health", get(health))
        .route("/register", post(register))
        .route("/offers", post(publish))
        .route("/offers/by-topic/{topic}", get(by_topic))
        .route("/topics", get(topics))
        .route("/peers/{peer_id}/offers", get(peer_offers))
        .route("/offers/mine", get(mine))
        .route("/offers/answers", get(answers))
        .route("/offers/{offer_id}", delete(delete_offer))
        .route("/offers/{offer_id}/answer", post(answer))
        .route(
            "/offers/{offer_id}/ice-candidates",
            post(post_candidates).get(get_candidates),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(max_body_bytes))
        .layer(cors_layer(cors_origins))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            ApiError::internal(&"handler panicked").into_response()
        }))
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let allow_origin = if origins.is_empty() {
        AllowOrigin::mirror_request()
    } else {
        let list: Vec<HeaderValue> = origins
            .iter()
            .filter_map(|origin| HeaderValue::from_str(origin).ok())
            .collect();
        AllowOrigin::list(list)
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([header::CONTENT_TYPE, header::ORIGIN, header::AUTHORIZATION])
        .max_age(Duration::from_secs(600))
        .allow_credentials(true)
}

async fn not_found() -> ApiError {
    ApiError::not_found("Not found")
}

async fn method_not_allowed() -> ApiError {
    ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: "Method not allowed".to_string(),
    }
}

/// Runs blocking storage work on tokio's blocking pool.
async fn blocking<T, E>(
    state: &SharedState,
    work: impl FnOnce(&Store) -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Send + 'static,
    ApiError: From<E>,
{
    let store = Arc::clone(&state.store);
    match tokio::task::spawn_blocking(move || work(&store)).await {
        Ok(result) => result.map_err(ApiError::from),
        Err(join_error) => Err(ApiError::internal(&join_error)),
    }
}

fn bad_request(message: String) -> ApiError {
    ApiError::bad_request(message)
}

// ---------------------------------------------------------------- response bodies

async fn root() -> Json<ServerInfo> {
    Json(ServerInfo {
        version: VERSION,
        name: "Rondevu",
        description: "Topic-based peer discovery and WebRTC signaling server",
    })
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        timestamp: now_ms(),
        version: VERSION,
    })
}

async fn register(
    State(state): State<SharedState>,
    body: JsonBody,
) -> Result<Json<Registered>, ApiError> {
    validation::register_request(body.value.as_ref()).map_err(bad_request)?;
    let issued = state
        .auth
        .register()
        .map_err(|error| ApiError::internal(&error))?;
    tracing::debug!(peer_id = %issued.peer_id, "registered peer");
    Ok(Json(Registered {
        peer_id: issued.peer_id,
        secret: issued.secret,
    }))
}

async fn publish(
    State(state): State<SharedState>,
    Caller(peer_id): Caller,
    body: JsonBody,
) -> Result<Json<PublishedBody>, ApiError> {
    let offers =
        validation::publish_request(body.required()?, &state.limits).map_err(bad_request)?;
    let owner = peer_id.clone();
    let published = blocking(&state, move |store| {
        store.publish(&owner, &offers, now_ms())
    })
    .await?;
    tracing::debug!(%peer_id, count = published.len(), "published offers");
    Ok(Json(PublishedBody {
        offers: published
            .into_iter()
            .map(|offer| PublishedItem {
                id: offer.id,
                peer_id: offer.peer_id,
                topics: offer.topics,
                expires_at: offer.expires_at,
            })
            .collect(),
    }))
}

async fn by_topic(
    State(state): State<SharedState>,
    PathParam(topic): PathParam,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let limit = validation::limit_param(query.get("limit")).map_err(bad_request)?;
    let bloom = match query.get("bloom") {
        None => None,
        Some(text) => Some(
            PeerBloom::from_base64(text, BLOOM_HASHES)
                .map_err(|_| ApiError::bad_request("Invalid bloom filter format"))?,
        ),
    };
    // Any listing read at or after this generation is exact for this request.
    let wanted_generation = state.store.generation(&topic);
    let listing = match state.cache.get(&topic, wanted_generation, now_ms()) {
        Some(listing) => listing,
        None => {
            // One refresh per topic at a time: requests that missed together wait for it
            // instead of all querying the database (a write otherwise causes a stampede).
            let _refreshing = state.cache.refresh_lock(&topic).lock().await;
            match state.cache.get(&topic, wanted_generation, now_ms()) {
                Some(listing) => listing,
                None => match refresh_listing(&state, &topic).await? {
                    Some(listing) => listing,
                    None => return by_topic_uncached(&state, topic, limit, bloom).await,
                },
            }
        }
    };
    Ok(json_response(listing.render(&topic, limit, bloom.as_ref())))
}

/// Reads a topic from the database into the cache; `None` when it is too large to cache.
async fn refresh_listing(
    state: &SharedState,
    topic: &str,
) -> Result<Option<Arc<TopicListing>>, ApiError> {
    // Read the generation before the query: a write in between makes the entry stale.
    let generation = state.store.generation(topic);
    let wanted = topic.to_string();
    let snapshot = blocking(state, move |store| {
        store.topic_snapshot(&wanted, now_ms(), MAX_CACHED_OFFERS_PER_TOPIC)
    })
    .await?;
    let Some(offers) = snapshot else {
        return Ok(None);
    };
    let listing = Arc::new(
        TopicListing::new(generation, &offers).map_err(|error| ApiError::internal(&error))?,
    );
    state.cache.put(topic, Arc::clone(&listing));
    Ok(Some(listing))
}

/// Lists a topic too large to cache straight from the database, bounded by `limit`.
async fn by_topic_uncached(
    state: &SharedState,
    topic: String,
    limit: usize,
    bloom: Option<PeerBloom>,
) -> Result<Response, ApiError> {
    let wanted = topic.clone();
    let result = blocking(state, move |store| {
        store.by_topic(&wanted, now_ms(), limit, bloom.as_ref())
    })
    .await?;
    let offers = result
        .offers
        .iter()
        .map(ListedOffer::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ApiError::internal(&error))?;
    let body = render_listing(&topic, offers.iter(), result.total);
    Ok(json_response(body))
}

fn json_response(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

async fn topics(
    State(state): State<SharedState>,
    query: QueryParams,
) -> Result<Json<TopicsBody>, ApiError> {
    let limit = validation::limit_param(query.get("limit")).map_err(bad_request)?;
    let offset = validation::offset_param(query.get("offset")).map_err(bad_request)?;
    let starts_with = query
        .get("startsWith")
        .filter(|prefix| !prefix.is_empty())
        .map(str::to_string);
    let prefix = starts_with.clone();
    let page = blocking(&state, move |store| {
        store.topics(now_ms(), limit, offset, prefix.as_deref())
    })
    .await?;
    Ok(Json(TopicsBody {
        topics: page
            .topics
            .into_iter()
            .map(|topic| TopicItem {
                topic: topic.topic,
                active_peers: topic.active_peers,
            })
            .collect(),
        total: page.total,
        limit,
        offset,
        starts_with,
    }))
}

async fn peer_offers(
    State(state): State<SharedState>,
    PathParam(peer_id): PathParam,
) -> Result<Json<PeerOffersBody>, ApiError> {
    let owner = peer_id.clone();
    let offers = blocking(&state, move |store| store.peer_offers(&owner, now_ms())).await?;
    let mut topics: Vec<String> = offers
        .iter()
        .flat_map(|offer| offer.topics.iter().cloned())
        .collect();
    topics.sort();
    topics.dedup();
    Ok(Json(PeerOffersBody {
        peer_id,
        offers: offers
            .into_iter()
            .map(|offer| PeerOfferItem {
                has_secret: offer.secret.is_some(),
                id: offer.id,
                sdp: offer.sdp,
                topics: offer.topics,
                expires_at: offer.expires_at,
                last_seen: offer.last_seen,
                info: offer.info,
            })
            .collect(),
        topics,
    }))
}

async fn mine(
    State(state): State<SharedState>,
    Caller(peer_id): Caller,
) -> Result<Json<MineBody>, ApiError> {
    let owner = peer_id.clone();
    let offers = blocking(&state, move |store| store.mine(&owner, now_ms())).await?;
    Ok(Json(MineBody {
        peer_id,
        offers: offers.into_iter().map(my_offer).collect(),
    }))
}

fn my_offer(offer: OfferRecord) -> MyOfferItem {
    MyOfferItem {
        id: offer.id,
        sdp: offer.sdp,
        topics: offer.topics,
        created_at: offer.created_at,
        expires_at: offer.expires_at,
        last_seen: offer.last_seen,
        secret: offer.secret,
        info: offer.info,
        answerer_peer_id: offer.answerer_peer_id,
        answered_at: offer.answered_at,
    }
}

async fn delete_offer(
    State(state): State<SharedState>,
    Caller(peer_id): Caller,
    PathParam(offer_id): PathParam,
) -> Result<Json<serde_json::Value>, ApiError> {
    let owner = peer_id.clone();
    let id = offer_id.clone();
    let deleted = blocking(&state, move |store| store.delete(&owner, &id)).await?;
    if !deleted {
        return Err(ApiError::not_found("Offer not found or not authorized"));
    }
    tracing::debug!(%peer_id, %offer_id, "deleted offer");
    Ok(Json(serde_json::json!({ "deleted": true })))
}

async fn answer(
    State(state): State<SharedState>,
    Caller(peer_id): Caller,
    PathParam(offer_id): PathParam,
    body: JsonBody,
) -> Result<Json<AnsweredBody>, ApiError> {
    let request = validation::answer_request(body.required()?).map_err(bad_request)?;
    let answerer = peer_id.clone();
    let id = offer_id.clone();
    let answered_at = blocking(&state, move |store| {
        store.answer(
            &id,
            &answerer,
            &request.sdp,
            request.secret.as_deref(),
            now_ms(),
        )
    })
    .await?;
    tracing::debug!(%peer_id, %offer_id, "answered offer");
    Ok(Json(AnsweredBody {
        offer_id,
        answerer_id: peer_id,
        answered_at,
    }))
}

async fn answers(
    State(state): State<SharedState>,
    Caller(peer_id): Caller,
) -> Result<Json<AnswersBody>, ApiError> {
    let answers = blocking(&state, move |store| store.answers(&peer_id, now_ms())).await?;
    Ok(Json(AnswersBody {
        answers: answers
            .into_iter()
            .map(|answer| AnswerItem {
                offer_id: answer.offer_id,
                answerer_id: answer.answerer_id,
                sdp: answer.sdp,
                answered_at: answer.answered_at,
                topics: answer.topics,
            })
            .collect(),
    }))
}

async fn post_candidates(
    State(state): State<SharedState>,
    Caller(peer_id): Caller,
    PathParam(offer_id): PathParam,
    body: JsonBody,
) -> Result<Json<CandidatesAddedBody>, ApiError> {
    let candidates =
        validation::ice_candidates_request(body.required()?, &body.raw).map_err(bad_request)?;
    let id = offer_id.clone();
    let added = blocking(&state, move |store| {
        store.add_candidates(&id, &peer_id, &candidates, now_ms())
    })
    .await?;
    Ok(Json(CandidatesAddedBody {
        offer_id,
        candidates_added: added,
    }))
}

async fn get_candidates(
    State(state): State<SharedState>,
    Caller(peer_id): Caller,
    PathParam(offer_id): PathParam,
    query: QueryParams,
) -> Result<Json<CandidatesBody>, ApiError> {
    let since = validation::since_param(query.get("since"))
        .map_err(bad_request)?
        .map(|since| i64::try_from(since).unwrap_or(i64::MAX));
    let id = offer_id.clone();
    let candidates = blocking(&state, move |store| {
        store.candidates(&id, &peer_id, since, now_ms())
    })
    .await?;
    let candidates = candidates
        .into_iter()
        .map(|record| {
            Ok(CandidateItem {
                candidate: RawValue::from_string(record.candidate)
                    .map_err(|error| ApiError::internal(&error))?,
                peer_id: record.peer_id,
                role: record.role.as_str(),
                created_at: record.created_at,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(Json(CandidatesBody {
        offer_id,
        candidates,
    }))
}
