//! Request validation: untrusted JSON and query text in, typed requests or a 400 message out.
//!
//! Lengths are counted in UTF-16 code units, as JavaScript's `string.length` counts them,
//! so limits agree with the reference server and its clients.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::config::ServerConfig;

/// Longest SDP (offer or answer), in UTF-16 code units.
pub const MAX_SDP_LEN: usize = 65_536;
/// Longest offer `secret`, in UTF-16 code units.
pub const MAX_SECRET_LEN: usize = 128;
/// Longest offer `info`, in UTF-16 code units.
pub const MAX_INFO_LEN: usize = 128;
/// Longest topic, in UTF-16 code units.
pub const MAX_TOPIC_LEN: usize = 256;
/// Longest client-supplied offer id, in UTF-16 code units.
pub const MAX_OFFER_ID_LEN: usize = 256;
/// Most ICE candidates in one request (browsers post one at a time).
pub const MAX_CANDIDATES_PER_REQUEST: usize = 100;
/// Largest single ICE candidate, as JSON text bytes.
pub const MAX_CANDIDATE_BYTES: usize = 8 * 1024;
/// Default `limit` for listings.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest `limit` for listings; larger requests are lowered to it.
pub const MAX_LIMIT: usize = 200;

/// The limits `POST /offers` is checked against (taken from the [`ServerConfig`]).
#[derive(Debug, Clone, Copy)]
pub struct PublishLimits {
    /// Most offers per request.
    pub max_offers: usize,
    /// Most topics per offer.
    pub max_topics: usize,
    /// TTL when none is given (ms).
    pub default_ttl_ms: u64,
    /// Lower TTL clamp (ms).
    pub min_ttl_ms: u64,
    /// Upper TTL clamp (ms).
    pub max_ttl_ms: u64,
}

impl From<&ServerConfig> for PublishLimits {
    fn from(config: &ServerConfig) -> Self {
        Self {
            max_offers: config.max_offers_per_request,
            max_topics: config.max_topics_per_offer,
            default_ttl_ms: config.offer_default_ttl_ms,
            min_ttl_ms: config.offer_min_ttl_ms,
            max_ttl_ms: config.offer_max_ttl_ms,
        }
    }
}

/// One validated offer of a `POST /offers` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOffer {
    /// The client's own id, used as is when given.
    pub id: Option<String>,
    /// The SDP offer.
    pub sdp: String,
    /// Topics in request order, each once.
    pub topics: Vec<String>,
    /// Lifetime in ms, already clamped.
    pub ttl_ms: u64,
    /// Secret an answerer must present.
    pub secret: Option<String>,
    /// Public note.
    pub info: Option<String>,
}

/// A validated `POST /offers/:id/answer` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRequest {
    /// The SDP answer.
    pub sdp: String,
    /// The offer's secret, when it has one.
    pub secret: Option<String>,
}

/// JavaScript's `string.length`.
pub fn js_length(text: &str) -> usize {
    text.encode_utf16().count()
}

/// A present, non-null field of a JSON object.
fn field<'a>(object: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).filter(|value| !value.is_null())
}

fn body_object(body: &Value) -> Result<&serde_json::Map<String, Value>, String> {
    body.as_object()
        .ok_or_else(|| "Request body must be a JSON object".to_string())
}

/// Checks a `POST /register` body: empty (`None`) or a JSON object.
pub fn register_request(body: Option<&Value>) -> Result<(), String> {
    match body {
        None => Ok(()),
        Some(value) => body_object(value).map(|_| ()),
    }
}

/// Validates a `POST /offers` body; the first failure wins.
pub fn publish_request(body: &Value, limits: &PublishLimits) -> Result<Vec<NewOffer>, String> {
    let object = body_object(body)?;
    let offers = field(object, "offers")
        .and_then(Value::as_array)
        .filter(|offers| !offers.is_empty())
        .ok_or("Missing or invalid required parameter: offers (a non-empty array)")?;
    if offers.len() > limits.max_offers {
        return Err(format!(
            "Too many offers in one request (max {})",
            limits.max_offers
        ));
    }
    offers
        .iter()
        .enumerate()
        .map(|(index, offer)| new_offer(index, offer, limits))
        .collect()
}

fn new_offer(index: usize, offer: &Value, limits: &PublishLimits) -> Result<NewOffer, String> {
    let offer = offer
        .as_object()
        .ok_or_else(|| format!("Offer {index} must be an object"))?;
    let sdp = field(offer, "sdp")
        .and_then(Value::as_str)
        .filter(|sdp| !sdp.is_empty())
        .ok_or_else(|| format!("Offer {index}: sdp must be a non-empty string"))?;
    if js_length(sdp) > MAX_SDP_LEN {
        return Err(format!(
            "Offer {index}: sdp too large (max {MAX_SDP_LEN} characters)"
        ));
    }
    let secret = optional_text(offer, "secret", MAX_SECRET_LEN, index)?;
    let info = optional_text(offer, "info", MAX_INFO_LEN, index)?;
    let topics = field(offer, "topics")
        .and_then(Value::as_array)
        .filter(|topics| !topics.is_empty())
        .ok_or_else(|| format!("Offer {index}: topics must be a non-empty array"))?;
    if topics.len() > limits.max_topics {
        return Err(format!(
            "Offer {index}: too many topics (max {})",
            limits.max_topics
        ));
    }
    let mut unique: Vec<String> = Vec::with_capacity(topics.len());
    for topic in topics {
        let topic = topic
            .as_str()
            .filter(|topic| (1..=MAX_TOPIC_LEN).contains(&js_length(topic)))
            .ok_or_else(|| {
                format!(
                    "Offer {index}: each topic must be a string of 1 to {MAX_TOPIC_LEN} characters"
                )
            })?;
        if !unique.iter().any(|seen| seen == topic) {
            unique.push(topic.to_string());
        }
    }
    let ttl_ms = match field(offer, "ttl") {
        None => limits.default_ttl_ms,
        Some(value) => {
            let ttl = value
                .as_f64()
                .filter(|ttl| ttl.is_finite())
                .ok_or_else(|| format!("Offer {index}: ttl must be a number (milliseconds)"))?;
            // Float-to-int casts saturate; negative values become 0 and are then clamped.
            ttl as u64
        }
    }
    .clamp(limits.min_ttl_ms, limits.max_ttl_ms);
    let id = match field(offer, "id") {
        None => None,
        Some(value) => Some(
            value
                .as_str()
                .filter(|id| (1..=MAX_OFFER_ID_LEN).contains(&js_length(id)))
                .ok_or_else(|| {
                    format!(
                        "Offer {index}: id must be a string of 1 to {MAX_OFFER_ID_LEN} characters"
                    )
                })?
                .to_string(),
        ),
    };
    Ok(NewOffer {
        id,
        sdp: sdp.to_string(),
        topics: unique,
        ttl_ms,
        secret,
        info,
    })
}

fn optional_text(
    offer: &serde_json::Map<String, Value>,
    name: &str,
    max: usize,
    index: usize,
) -> Result<Option<String>, String> {
    match field(offer, name) {
        None => Ok(None),
        Some(value) => value
            .as_str()
            .filter(|text| js_length(text) <= max)
            .map(|text| Some(text.to_string()))
            .ok_or_else(|| {
                format!("Offer {index}: {name} must be a string of at most {max} characters")
            }),
    }
}

/// Validates a `POST /offers/:id/answer` body.
pub fn answer_request(body: &Value) -> Result<AnswerRequest, String> {
    let object = body_object(body)?;
    let sdp = field(object, "sdp")
        .and_then(Value::as_str)
        .filter(|sdp| !sdp.is_empty())
        .ok_or_else(|| "Missing or invalid required parameter: sdp".to_string())?;
    if js_length(sdp) > MAX_SDP_LEN {
        return Err(format!("sdp too large (max {MAX_SDP_LEN} characters)"));
    }
    let secret = match field(object, "secret") {
        None => None,
        Some(value) => Some(
            value
                .as_str()
                .ok_or_else(|| "secret must be a string".to_string())?
                .to_string(),
        ),
    };
    Ok(AnswerRequest {
        sdp: sdp.to_string(),
        secret,
    })
}

#[derive(Deserialize)]
struct RawCandidates<'a> {
    #[serde(borrow)]
    candidates: Vec<&'a RawValue>,
}

/// Validates a `POST /offers/:id/ice-candidates` body (already parsed as `body`, with its
/// text `raw`) and returns each candidate's JSON text exactly as posted.
pub fn ice_candidates_request(body: &Value, raw: &[u8]) -> Result<Vec<String>, String> {
    let object = body_object(body)?;
    let count = field(object, "candidates")
        .and_then(Value::as_array)
        .map(Vec::len)
        .filter(|count| *count > 0)
        .ok_or("Missing or invalid required parameter: candidates (a non-empty array)")?;
    if count > MAX_CANDIDATES_PER_REQUEST {
        return Err(format!(
            "Too many candidates in one request (max {MAX_CANDIDATES_PER_REQUEST})"
        ));
    }
    let parsed: RawCandidates<'_> = serde_json::from_slice(raw)
        .map_err(|_| "Missing or invalid required parameter: candidates".to_string())?;
    let texts: Vec<String> = parsed
        .candidates
        .iter()
        .map(|candidate| candidate.get().to_string())
        .collect();
    if texts.iter().any(|text| text.len() > MAX_CANDIDATE_BYTES) {
        return Err(format!(
            "Each candidate must be at most {MAX_CANDIDATE_BYTES} bytes of JSON"
        ));
    }
    Ok(texts)
}

/// Parses a non-negative decimal integer as the query parameter `name`.
fn query_integer(name: &str, text: &str) -> Result<u64, String> {
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "Invalid {name} parameter: expected a non-negative integer"
        ));
    }
    text.parse::<u64>()
        .ok()
        .filter(|value| *value <= i64::MAX as u64)
        .ok_or_else(|| format!("Invalid {name} parameter: out of range"))
}

/// The `limit` query parameter: absent → 50, 1…200 kept, above 200 lowered to 200,
/// 0 or non-numeric → error.
pub fn limit_param(text: Option<&str>) -> Result<usize, String> {
    match text.filter(|text| !text.is_empty()) {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => {
            let limit = query_integer("limit", text)?;
            if limit == 0 {
                return Err("Invalid limit parameter: must be at least 1".to_string());
            }
            Ok(usize::try_from(limit).unwrap_or(MAX_LIMIT).min(MAX_LIMIT))
        }
    }
}

/// The `offset` query parameter: absent → 0.
pub fn offset_param(text: Option<&str>) -> Result<u64, String> {
    match text.filter(|text| !text.is_empty()) {
        None => Ok(0),
        Some(text) => query_integer("offset", text),
    }
}

/// The `since` query parameter (ms): absent → `None` (every candidate).
pub fn since_param(text: Option<&str>) -> Result<Option<u64>, String> {
    match text.filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => query_integer("since", text).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn limits() -> PublishLimits {
        PublishLimits::from(&ServerConfig::default())
    }

    #[test]
    fn a_good_offer_validates_with_defaults_and_dedup() {
        let body = json!({"offers": [{"sdp": "v=0", "topics": ["a", "b", "a"], "info": "hi"}]});
        let offers = publish_request(&body, &limits()).expect("valid");
        assert_eq!(offers.len(), 1);
        assert_eq!(offers[0].topics, vec!["a", "b"]);
        assert_eq!(offers[0].ttl_ms, 60_000);
        assert_eq!(offers[0].info.as_deref(), Some("hi"));
        assert_eq!(offers[0].secret, None);
    }

    #[test]
    fn ttl_is_clamped() {
        for (ttl, expected) in [
            (json!(1), 60_000),
            (json!(-5), 60_000),
            (json!(120_000.7), 120_000),
            (json!(1e300), 86_400_000),
        ] {
            let body = json!({"offers": [{"sdp": "x", "topics": ["t"], "ttl": ttl}]});
            assert_eq!(
                publish_request(&body, &limits()).expect("valid")[0].ttl_ms,
                expected
            );
        }
    }

    #[test]
    fn each_rule_has_its_message() {
        let cases = [
            (json!(null), "Request body must be a JSON object"),
            (json!({}), "offers"),
            (json!({"offers": []}), "offers"),
            (json!({"offers": [5]}), "must be an object"),
            (
                json!({"offers": [{"topics": ["t"]}]}),
                "sdp must be a non-empty string",
            ),
            (
                json!({"offers": [{"sdp": "", "topics": ["t"]}]}),
                "sdp must be a non-empty string",
            ),
            (
                json!({"offers": [{"sdp": "x".repeat(65_537), "topics": ["t"]}]}),
                "sdp too large",
            ),
            (
                json!({"offers": [{"sdp": "x", "topics": ["t"], "secret": 5}]}),
                "secret must be a string",
            ),
            (
                json!({"offers": [{"sdp": "x", "topics": ["t"], "info": "i".repeat(129)}]}),
                "info must be a string",
            ),
            (
                json!({"offers": [{"sdp": "x", "topics": []}]}),
                "topics must be a non-empty array",
            ),
            (
                json!({"offers": [{"sdp": "x", "topics": [""]}]}),
                "each topic",
            ),
            (
                json!({"offers": [{"sdp": "x", "topics": ["t".repeat(257)]}]}),
                "each topic",
            ),
            (
                json!({"offers": [{"sdp": "x", "topics": [7]}]}),
                "each topic",
            ),
            (
                json!({"offers": [{"sdp": "x", "topics": ["t"], "ttl": "60000"}]}),
                "ttl must be a number",
            ),
            (
                json!({"offers": [{"sdp": "x", "topics": ["t"], "id": 5}]}),
                "id must be a string",
            ),
        ];
        for (body, expected) in cases {
            let error = publish_request(&body, &limits()).expect_err("invalid");
            assert!(error.contains(expected), "{body}: {error}");
        }
        let too_many_topics: Vec<String> = (0..51).map(|i| i.to_string()).collect();
        let body = json!({"offers": [{"sdp": "x", "topics": too_many_topics}]});
        assert!(publish_request(&body, &limits())
            .expect_err("51")
            .contains("too many topics"));
        let offers: Vec<Value> = (0..101)
            .map(|_| json!({"sdp": "x", "topics": ["t"]}))
            .collect();
        let body = json!({ "offers": offers });
        assert!(publish_request(&body, &limits())
            .expect_err("101")
            .contains("Too many offers"));
    }

    #[test]
    fn lengths_count_utf16_code_units() {
        // 32,768 emoji are 65,536 UTF-16 code units: exactly at the limit.
        let body = json!({"offers": [{"sdp": "😀".repeat(32_768), "topics": ["😀".repeat(128)]}]});
        assert!(publish_request(&body, &limits()).is_ok());
        let body = json!({"offers": [{"sdp": "x", "topics": ["😀".repeat(129)]}]});
        assert!(publish_request(&body, &limits()).is_err());
    }

    #[test]
    fn query_numbers() {
        assert_eq!(limit_param(None), Ok(50));
        assert_eq!(limit_param(Some("")), Ok(50));
        assert_eq!(limit_param(Some("7")), Ok(7));
        assert_eq!(limit_param(Some("1000")), Ok(200));
        for bad in ["0", "-1", "abc", "1.5", "+3", "99999999999999999999"] {
            assert!(limit_param(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(offset_param(Some("0")), Ok(0));
        assert!(offset_param(Some("-2")).is_err());
        assert_eq!(
            since_param(Some("1700000000000")),
            Ok(Some(1_700_000_000_000))
        );
        assert!(since_param(Some("x")).is_err());
    }

    #[test]
    fn candidates_are_kept_as_posted() {
        let raw = br#"{"candidates": [{"sdpMid":"0","candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMLineIndex":0}, 1.50]}"#;
        let body: Value = serde_json::from_slice(raw).expect("json");
        let texts = ice_candidates_request(&body, raw).expect("valid");
        assert_eq!(
            texts,
            vec![
                r#"{"sdpMid":"0","candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMLineIndex":0}"#,
                "1.50"
            ]
        );
        let body = json!({"candidates": []});
        assert!(ice_candidates_request(&body, b"{\"candidates\": []}").is_err());
    }

    /// A JSON value of any shape, nested a few levels.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("offers".to_string()),
                        Just("sdp".to_string()),
                        Just("topics".to_string()),
                        Just("ttl".to_string()),
                        Just("secret".to_string()),
                        Just("info".to_string()),
                        Just("id".to_string()),
                        Just("candidates".to_string()),
                        ".{0,4}".prop_map(String::from)
                    ],
                    inner,
                    0..6
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    /// A field value that is right or wrong in one of the ways the rules care about.
    fn field_value() -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            Just(None),
            Just(Some(Value::Null)),
            Just(Some(json!(5))),
            Just(Some(json!(""))),
            Just(Some(json!("ok"))),
            Just(Some(json!("x".repeat(129)))),
            Just(Some(json!(["t"]))),
            Just(Some(json!([]))),
            Just(Some(json!(["a", "a", "b"]))),
            Just(Some(json!([""]))),
            Just(Some(json!([1]))),
            Just(Some(json!(90_000))),
        ]
    }

    /// What the rules say about one offer built from these fields (the oracle).
    fn expected_valid(fields: &[(&str, &Option<Value>)]) -> bool {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| (*v).clone())
                .filter(|v| !v.is_null())
        };
        let sdp_ok = matches!(get("sdp"), Some(Value::String(s)) if !s.is_empty());
        let text_ok = |name: &str, max: usize| match get(name) {
            None => true,
            Some(Value::String(s)) => s.len() <= max,
            Some(_) => false,
        };
        let topics_ok = match get("topics") {
            Some(Value::Array(items)) => {
                !items.is_empty()
                    && items
                        .iter()
                        .all(|t| matches!(t, Value::String(s) if !s.is_empty() && s.len() <= 256))
            }
            _ => false,
        };
        let ttl_ok = matches!(get("ttl"), None | Some(Value::Number(_)));
        let id_ok = match get("id") {
            None => true,
            Some(Value::String(s)) => !s.is_empty(),
            Some(_) => false,
        };
        sdp_ok && text_ok("secret", 128) && text_ok("info", 128) && topics_ok && ttl_ok && id_ok
    }

    proptest! {
        /// Any JSON at all: validation returns, never panics, and valid results obey the rules.
        #[test]
        fn random_json_never_panics(body in any_json()) {
            if let Ok(offers) = publish_request(&body, &limits()) {
                prop_assert!(!offers.is_empty() && offers.len() <= 100);
                for offer in offers {
                    prop_assert!(!offer.sdp.is_empty());
                    prop_assert!(!offer.topics.is_empty());
                    prop_assert!((60_000..=86_400_000).contains(&offer.ttl_ms));
                }
            }
            let _ = answer_request(&body);
            let text = body.to_string();
            let _ = ice_candidates_request(&body, text.as_bytes());
        }

        /// Offers built from right and wrong fields are accepted exactly when the oracle says so.
        #[test]
        fn offers_valid_exactly_when_rules_hold(
            sdp in field_value(), topics in field_value(), ttl in field_value(),
            secret in field_value(), info in field_value(), id in field_value(),
        ) {
            let fields = [("sdp", &sdp), ("topics", &topics), ("ttl", &ttl), ("secret", &secret), ("info", &info), ("id", &id)];
            let mut offer = serde_json::Map::new();
            for (name, value) in fields {
                if let Some(value) = value {
                    offer.insert(name.to_string(), value.clone());
                }
            }
            let body = json!({"offers": [Value::Object(offer)]});
            prop_assert_eq!(publish_request(&body, &limits()).is_ok(), expected_valid(&fields));
        }
    }
}
