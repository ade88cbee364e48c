//! Property tests against the real server: random request bodies, random offer content,
//! and concurrent candidate posting with `since` polling.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use common::TestServer;
use proptest::prelude::*;
use rondevu_api::{Credentials, NewOffer};
use serde_json::{json, Value};

/// One server for every case of this binary (cases must not collide on offer ids).
fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(TestServer::start)
}

fn peer() -> &'static Credentials {
    static PEER: OnceLock<Credentials> = OnceLock::new();
    PEER.get_or_init(|| server().register())
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

fn unique() -> u64 {
    UNIQUE.fetch_add(1, Ordering::Relaxed)
}

/// A value for one offer field: right, or wrong in one of the ways the rules care about.
fn field_value() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(Value::Null)),
        Just(Some(json!(7))),
        Just(Some(json!(""))),
        Just(Some(json!("ok"))),
        Just(Some(json!("x".repeat(129)))),
        Just(Some(json!(["t"]))),
        Just(Some(json!([]))),
        Just(Some(json!(["a", "a"]))),
        Just(Some(json!([""]))),
        Just(Some(json!([{}]))),
        Just(Some(json!(120_000))),
        Just(Some(json!({"nested": true}))),
    ]
}

/// Whether the spec's rules accept an offer with these fields (the oracle).
fn acceptable(fields: &[(&str, Option<Value>)]) -> bool {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.clone())
            .filter(|v| !v.is_null())
    };
    let text_ok = |name: &str, max: usize| match get(name) {
        None => true,
        Some(Value::String(s)) => s.chars().count() <= max,
        Some(_) => false,
    };
    let sdp_ok = matches!(get("sdp"), Some(Value::String(s)) if !s.is_empty());
    let topics_ok = matches!(get("topics"), Some(Value::Array(items))
        if !items.is_empty() && items.iter().all(|t| matches!(t, Value::String(s) if !s.is_empty())));
    let ttl_ok = matches!(get("ttl"), None | Some(Value::Number(_)));
    let id_ok = match get("id") {
        None => true,
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => false,
    };
    sdp_ok && text_ok("secret", 128) && text_ok("info", 128) && topics_ok && ttl_ok && id_ok
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random offer bodies get 200 exactly when the rules hold, 400 with an error otherwise.
    #[test]
    fn publish_status_follows_the_rules(
        sdp in field_value(), topics in field_value(), ttl in field_value(),
        secret in field_value(), info in field_value(), id in field_value(),
    ) {
        let n = unique();
        // Valid strings are made unique per case, so content ids never collide.
        let uniquify = |value: Option<Value>| match value {
            Some(Value::String(s)) if !s.is_empty() && s.len() < 100 => Some(json!(format!("{s}-{n}"))),
            other => other,
        };
        let fields = [
            ("sdp", uniquify(sdp)), ("topics", topics), ("ttl", ttl),
            ("secret", secret), ("info", info), ("id", uniquify(id)),
        ];
        let mut offer = serde_json::Map::new();
        for (name, value) in &fields {
            if let Some(value) = value {
                offer.insert(name.to_string(), value.clone());
            }
        }
        let body = json!({"offers": [Value::Object(offer)]}).to_string();
        let raw = server().post_json("/offers", Some(peer()), body.as_bytes());
        if acceptable(&fields) {
            prop_assert_eq!(raw.status, 200, "{} -> {}", body, raw.json);
        } else {
            prop_assert_eq!(raw.status, 400, "{} -> {}", body, raw.json);
            prop_assert!(raw.json["error"].as_str().is_some_and(|e| !e.is_empty()));
        }
    }

    /// Arbitrary JSON to every body-taking endpoint: a 4xx with an error, never a 5xx.
    #[test]
    fn random_json_never_breaks_the_server(body in any_json()) {
        let text = body.to_string();
        for path in ["/offers", "/offers/x/answer", "/offers/x/ice-candidates", "/register"] {
            let raw = server().post_json(path, Some(peer()), text.as_bytes());
            prop_assert!(raw.status < 500, "{} {} -> {}", path, text, raw.status);
            if raw.status >= 400 {
                prop_assert!(raw.json["error"].is_string());
            }
        }
    }

    /// The id the server gives a published offer is the SHA-256 of the JavaScript JSON text,
    /// checked with an independent construction (serde_json escapes strings like
    /// `JSON.stringify`; topics sorted by UTF-16 code units, duplicates dropped).
    #[test]
    fn published_ids_are_content_hashes(
        sdp in "\\PC{1,40}|[\\x00-\\x1f\"\\\\/\u{7f}\u{2028}é😀]{1,20}",
        topics in proptest::collection::vec("[a-zA-Z0-9\u{e9}\u{ff61}😀\\x00-\\x1f\"]{1,6}", 1..5),
    ) {
        let n = unique();
        let sdp = format!("{sdp}{n}");
        let published = server().client.publish(peer(), &[NewOffer::new(sdp.clone(), topics.clone())]);
        let published = published.map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut sorted = topics.clone();
        sorted.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
        sorted.dedup();
        let text = format!(
            "{{\"sdp\":{},\"topics\":{}}}",
            serde_json::to_string(&sdp).expect("json"),
            serde_json::to_string(&sorted).expect("json")
        );
        prop_assert_eq!(&published[0].id, &sha256_hex(text.as_bytes()));
    }
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        ".{0,6}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("offers".to_string()),
                    Just("sdp".to_string()),
                    Just("topics".to_string()),
                    Just("candidates".to_string()),
                    Just("secret".to_string()),
                    ".{0,3}".prop_map(String::from),
                ],
                inner,
                0..5
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Lowercase hex SHA-256, computed here rather than through the server's `offer_id` module
/// so the check is independent of the code under test.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// One step of a candidate schedule: which side posts, and how many candidates at once.
fn schedule() -> impl Strategy<Value = Vec<(bool, usize)>> {
    proptest::collection::vec((any::<bool>(), 1usize..4), 1..24)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Both sides post concurrently while each polls the other with a `since` cursor: every
    /// candidate is seen exactly once, in posting order.
    #[test]
    fn since_polling_never_misses_a_candidate(steps in schedule()) {
        let server = server();
        let offerer = server.register();
        let answerer = server.register();
        let id = server
            .client
            .publish(&offerer, &[NewOffer::new(format!("since {}", unique()), ["since"])])
            .map_err(|e| TestCaseError::fail(e.to_string()))?[0]
            .id
            .clone();
        server.client.answer(&answerer, &id, "a", None).map_err(|e| TestCaseError::fail(e.to_string()))?;

        let plan = |side: bool| -> Vec<Vec<Value>> {
            let mut next = 0;
            steps
                .iter()
                .filter(|(s, _)| *s == side)
                .map(|(_, count)| {
                    (0..*count)
                        .map(|_| {
                            next += 1;
                            json!({"side": side, "n": next})
                        })
                        .collect()
                })
                .collect()
        };
        let (offerer_plan, answerer_plan) = (plan(true), plan(false));
        let offerer_done = AtomicBool::new(false);
        let answerer_done = AtomicBool::new(false);

        let post = |who: &'static str, credentials: &Credentials, batches: &[Vec<Value>], done: &AtomicBool| {
            for batch in batches {
                server.client.post_ice_candidates(credentials, &id, batch).unwrap_or_else(|e| panic!("{who}: {e}"));
            }
            done.store(true, Ordering::SeqCst);
        };
        let poll = |credentials: &Credentials, other_done: &AtomicBool| -> Vec<Value> {
            let mut seen = Vec::new();
            let mut since = None;
            for _ in 0..10_000 {
                let finished = other_done.load(Ordering::SeqCst);
                let batch = server.client.ice_candidates(credentials, &id, since).expect("poll");
                for candidate in batch {
                    since = Some(candidate.created_at);
                    seen.push(candidate.candidate);
                }
                if finished {
                    break;
                }
            }
            seen
        };
        let (seen_by_answerer, seen_by_offerer) = std::thread::scope(|scope| {
            scope.spawn(|| post("offerer", &offerer, &offerer_plan, &offerer_done));
            scope.spawn(|| post("answerer", &answerer, &answerer_plan, &answerer_done));
            let by_answerer = scope.spawn(|| poll(&answerer, &offerer_done));
            let by_offerer = scope.spawn(|| poll(&offerer, &answerer_done));
            (by_answerer.join().expect("poller"), by_offerer.join().expect("poller"))
        });
        let flatten = |plan: Vec<Vec<Value>>| plan.into_iter().flatten().collect::<Vec<_>>();
        prop_assert_eq!(seen_by_answerer, flatten(offerer_plan));
        prop_assert_eq!(seen_by_offerer, flatten(answerer_plan));
    }
}
