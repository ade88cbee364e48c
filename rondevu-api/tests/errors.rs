//! Every error path of the spec: 401 forms, 400 messages, 403/404, 409, 413, CORS.

mod common;

use common::TestServer;
use rondevu_api::NewOffer;

#[test]
fn authorization_header_forms() {
    let server = TestServer::start();
    let peer = server.register();
    let other = server.register();
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "Missing Authorization header"),
        (
            Some(format!("Basic {}:{}", peer.peer_id, peer.secret)),
            "Invalid Authorization header format",
        ),
        (
            Some(format!("Bearer  {}:{}", peer.peer_id, peer.secret)),
            "Invalid Authorization header format",
        ),
        (
            Some(format!("Bearer {}:{} extra", peer.peer_id, peer.secret)),
            "Invalid Authorization header format",
        ),
        (
            Some("Bearer".to_string()),
            "Invalid Authorization header format",
        ),
        (
            Some(format!("Bearer {}", peer.peer_id)),
            "Invalid credentials format",
        ),
        (
            Some(format!("Bearer {}:{}:x", peer.peer_id, peer.secret)),
            "Invalid credentials format",
        ),
        (
            Some(format!("Bearer {}:{}", other.peer_id, peer.secret)),
            "Invalid credentials",
        ),
        (
            Some(format!("Bearer {}:not-base64!", peer.peer_id)),
            "Invalid credentials",
        ),
        (
            Some(format!(
                "Bearer {}:{}A",
                peer.peer_id,
                &peer.secret[..peer.secret.len() - 1]
            )),
            "Invalid credentials",
        ),
    ];
    for (header, expected) in &cases {
        let headers: Vec<(&str, &str)> = header
            .iter()
            .map(|h| ("Authorization", h.as_str()))
            .collect();
        for (method, path) in [
            ("GET", "/offers/mine"),
            ("GET", "/offers/answers"),
            ("POST", "/offers"),
            ("DELETE", "/offers/x"),
        ] {
            let raw = server.raw(method, path, &headers, Some(b"{}"));
            assert_eq!(raw.status, 401, "{method} {path} with {header:?}");
            assert!(
                raw.error().starts_with(expected),
                "{header:?}: {}",
                raw.error()
            );
        }
    }
    // Authentication comes before the body is looked at.
    let raw = server.raw("POST", "/offers", &[], Some(b"not json"));
    assert_eq!(
        (raw.status, raw.error()),
        (401, "Missing Authorization header")
    );
    // A secret from the reference server under another key is refused by ours.
    let vector = r#"Bearer 96176c2081626185c67b9d18451ae60f:xl7swVx08q1TiYEGIJlicYs+mxWhszz/LfP4dpFv37AcynhUh6CWWxdmfHRUswCqnQAdjzUajCqpTy6l"#;
    assert_eq!(
        server
            .raw("GET", "/offers/mine", &[("Authorization", vector)], None)
            .status,
        401
    );
    let error = server
        .client
        .my_offers(&rondevu_api::Credentials {
            peer_id: other.peer_id,
            secret: peer.secret,
        })
        .expect_err("401");
    assert!(error.is_unauthorized());
    assert_eq!(error.server_message(), Some("Invalid credentials"));
}

#[test]
fn reference_credentials_verify_under_the_same_key() {
    #[derive(serde::Deserialize)]
    struct Vector {
        auth_secret_hex: String,
        peer_id: String,
        secret: String,
        tampered_secret: String,
    }
    let vectors: Vec<Vector> = serde_json::from_str(include_str!(
        "../../rondevu-server/testdata/credentials.json"
    ))
    .expect("vectors");
    let vector = &vectors[0];
    let server = TestServer::with_config(rondevu_server::ServerConfig {
        auth_secret: Some(
            rondevu_server::AuthSecret::from_hex(&vector.auth_secret_hex).expect("key"),
        ),
        ..Default::default()
    });
    let good = format!("Bearer {}:{}", vector.peer_id, vector.secret);
    let raw = server.raw("GET", "/offers/mine", &[("Authorization", &good)], None);
    assert_eq!(raw.status, 200);
    assert_eq!(raw.json["peerId"], vector.peer_id.as_str());
    let tampered = format!("Bearer {}:{}", vector.peer_id, vector.tampered_secret);
    let raw = server.raw("GET", "/offers/mine", &[("Authorization", &tampered)], None);
    assert_eq!((raw.status, raw.error()), (401, "Invalid credentials"));
}

#[test]
fn malformed_bodies_get_400_with_a_message() {
    let server = TestServer::start();
    let peer = server.register();
    let bodies: Vec<(&[u8], &str)> = vec![
        (b"{not json", "Invalid JSON body"),
        (b"null", "Request body must be a JSON object"),
        (b"", "Request body must be a JSON object"),
        (b"[1,2]", "Request body must be a JSON object"),
        (
            br#"{"offers": "x"}"#,
            "Missing or invalid required parameter: offers",
        ),
        (
            br#"{"offers": []}"#,
            "Missing or invalid required parameter: offers",
        ),
        (br#"{"offers": [5]}"#, "Offer 0 must be an object"),
        (br#"{"offers": [null]}"#, "Offer 0 must be an object"),
        (
            br#"{"offers": [{"sdp": 5, "topics": ["t"]}]}"#,
            "Offer 0: sdp must be a non-empty string",
        ),
        (
            br#"{"offers": [{"sdp": "x", "topics": ["t"], "id": 5}]}"#,
            "Offer 0: id must be a string",
        ),
        (
            br#"{"offers": [{"sdp": "x", "topics": ["t"], "ttl": "60000"}]}"#,
            "Offer 0: ttl must be a number",
        ),
        (
            br#"{"offers": [{"sdp": "x", "topics": ["t"], "secret": true}]}"#,
            "Offer 0: secret must be a string",
        ),
        (
            br#"{"offers": [{"sdp": "x", "topics": ["t"], "info": {}}]}"#,
            "Offer 0: info must be a string",
        ),
        (
            br#"{"offers": [{"sdp": "x", "topics": "t"}]}"#,
            "Offer 0: topics must be a non-empty array",
        ),
        (
            br#"{"offers": [{"sdp": "x", "topics": ["ok"]}, {"sdp": "y", "topics": [""]}]}"#,
            "Offer 1: each topic",
        ),
        // Lone UTF-16 surrogates are refused rather than altered.
        (
            br#"{"offers": [{"sdp": "x\ud800", "topics": ["t"]}]}"#,
            "Invalid JSON body",
        ),
        (
            br#"{"offers": [{"sdp": "x", "topics": ["\udc00"]}]}"#,
            "Invalid JSON body",
        ),
        // Raw bytes that are not UTF-8.
        (
            b"{\"offers\": [{\"sdp\": \"\xff\", \"topics\": [\"t\"]}]}",
            "Invalid JSON body",
        ),
    ];
    for (body, expected) in &bodies {
        let raw = server.post_json("/offers", Some(&peer), body);
        assert_eq!(raw.status, 400, "{}", String::from_utf8_lossy(body));
        assert!(
            raw.error().starts_with(expected),
            "{}: {}",
            String::from_utf8_lossy(body),
            raw.error()
        );
    }
    let long_sdp = format!(
        r#"{{"offers": [{{"sdp": "{}", "topics": ["t"]}}]}}"#,
        "x".repeat(65_537)
    );
    let raw = server.post_json("/offers", Some(&peer), long_sdp.as_bytes());
    assert_eq!(
        (raw.status, raw.error()),
        (400, "Offer 0: sdp too large (max 65536 characters)")
    );
    let topics: Vec<String> = (0..51).map(|i| format!("\"t{i}\"")).collect();
    let many_topics = format!(
        r#"{{"offers": [{{"sdp": "x", "topics": [{}]}}]}}"#,
        topics.join(",")
    );
    let raw = server.post_json("/offers", Some(&peer), many_topics.as_bytes());
    assert_eq!(
        (raw.status, raw.error()),
        (400, "Offer 0: too many topics (max 50)")
    );
    let offers: Vec<String> = (0..101)
        .map(|i| format!(r#"{{"sdp": "{i}", "topics": ["t"]}}"#))
        .collect();
    let many_offers = format!(r#"{{"offers": [{}]}}"#, offers.join(","));
    let raw = server.post_json("/offers", Some(&peer), many_offers.as_bytes());
    assert_eq!(
        (raw.status, raw.error()),
        (400, "Too many offers in one request (max 100)")
    );
    // Nothing of the refused requests was stored.
    assert!(server
        .client
        .my_offers(&peer)
        .expect("mine")
        .offers
        .is_empty());

    for (path, body, expected) in [
        (
            "/register",
            &b"null"[..],
            "Request body must be a JSON object",
        ),
        ("/register", &b"{oops"[..], "Invalid JSON body"),
    ] {
        let raw = server.post_json(path, None, body);
        assert_eq!(raw.status, 400, "{path}");
        assert!(raw.error().starts_with(expected));
    }
    let id = server
        .client
        .publish(&peer, &[NewOffer::new("v=0", ["t"])])
        .expect("publish")[0]
        .id
        .clone();
    for (body, expected) in [
        (&b"null"[..], "Request body must be a JSON object"),
        (
            &br#"{"sdp": 5}"#[..],
            "Missing or invalid required parameter: sdp",
        ),
        (
            &br#"{"sdp": ""}"#[..],
            "Missing or invalid required parameter: sdp",
        ),
        (
            &br#"{"sdp": "a", "secret": 1}"#[..],
            "secret must be a string",
        ),
    ] {
        let raw = server.post_json(&format!("/offers/{id}/answer"), Some(&peer), body);
        assert_eq!((raw.status, raw.error()), (400, expected));
    }
    let long_answer = format!(r#"{{"sdp": "{}"}}"#, "y".repeat(65_537));
    let raw = server.post_json(
        &format!("/offers/{id}/answer"),
        Some(&peer),
        long_answer.as_bytes(),
    );
    assert_eq!(
        (raw.status, raw.error()),
        (400, "sdp too large (max 65536 characters)")
    );
    for body in [
        &b"{}"[..],
        br#"{"candidates": []}"#,
        br#"{"candidates": {}}"#,
        b"[]",
    ] {
        let raw = server.post_json(&format!("/offers/{id}/ice-candidates"), Some(&peer), body);
        assert_eq!(raw.status, 400, "{}", String::from_utf8_lossy(body));
    }
}

#[test]
fn bad_query_parameters_get_400() {
    let server = TestServer::start();
    let peer = server.register();
    let id = server
        .client
        .publish(&peer, &[NewOffer::new("v=0", ["t"])])
        .expect("publish")[0]
        .id
        .clone();
    for path in [
        "/offers/by-topic/t?limit=abc",
        "/offers/by-topic/t?limit=-1",
        "/offers/by-topic/t?limit=0",
        "/offers/by-topic/t?limit=1.5",
        "/topics?limit=x",
        "/topics?offset=-1",
        "/topics?offset=99999999999999999999",
    ] {
        let raw = server.get(path, None);
        assert_eq!(raw.status, 400, "{path}");
        assert!(
            raw.error().starts_with("Invalid "),
            "{path}: {}",
            raw.error()
        );
    }
    // Above the maximum is lowered to it, as the reference does.
    let raw = server.get("/topics?limit=5000", None);
    assert_eq!((raw.status, raw.json["limit"].as_u64()), (200, Some(200)));
    for since in ["abc", "-5", "1e3"] {
        let raw = server.get(
            &format!("/offers/{id}/ice-candidates?since={since}"),
            Some(&peer),
        );
        assert_eq!(raw.status, 400, "since={since}");
        assert!(raw.error().starts_with("Invalid since parameter"));
    }
    // Bloom filters: not base64 → 400; a bare `+` turns into a space and is refused too.
    for bloom in ["!!!", "AAAA+AAA", "A", "%2B%2B%2B"] {
        let raw = server.get(&format!("/offers/by-topic/t?bloom={bloom}"), None);
        assert_eq!(
            (raw.status, raw.error()),
            (400, "Invalid bloom filter format"),
            "{bloom}"
        );
    }
    assert_eq!(
        server
            .get("/offers/by-topic/t?bloom=AAAA%2BAAA", None)
            .status,
        200
    );
}

#[test]
fn identical_republish_is_409_and_stores_nothing_of_that_request() {
    let server = TestServer::start();
    let peer = server.register();
    let other = server.register();
    let original = NewOffer::new("v=0 same", ["t"]);
    server
        .client
        .publish(&peer, std::slice::from_ref(&original))
        .expect("first publish");
    for who in [&peer, &other] {
        let fresh = NewOffer::new(format!("v=0 fresh {}", who.peer_id), ["t"]);
        let error = server
            .client
            .publish(who, &[fresh, original.clone()])
            .expect_err("conflict");
        assert_eq!(error.status(), Some(409));
        assert!(error
            .server_message()
            .is_some_and(|m| m.contains("already exists")));
    }
    // Twice within one request, too.
    let error = server
        .client
        .publish(
            &other,
            &[NewOffer::new("dup", ["t"]), NewOffer::new("dup", ["t"])],
        )
        .expect_err("conflict");
    assert_eq!(error.status(), Some(409));
    let listing = server
        .client
        .offers_by_topic("t", None, None)
        .expect("listing");
    assert_eq!(listing.total, 1, "only the original offer is stored");
}

#[test]
fn oversize_bodies_get_413() {
    let server = TestServer::with_config(rondevu_server::ServerConfig {
        max_body_bytes: 1024,
        ..Default::default()
    });
    let peer = server.register();
    let body = format!(
        r#"{{"offers": [{{"sdp": "{}", "topics": ["t"]}}]}}"#,
        "x".repeat(2000)
    );
    let raw = server.post_json("/offers", Some(&peer), body.as_bytes());
    assert_eq!((raw.status, raw.error()), (413, "Request body too large"));
}

#[test]
fn unknown_routes_and_methods_answer_json() {
    let server = TestServer::start();
    let raw = server.get("/nope", None);
    assert_eq!((raw.status, raw.error()), (404, "Not found"));
    // A path segment that does not decode to UTF-8 is a 400, not a crash.
    let raw = server.get("/offers/by-topic/%FF%FE", None);
    assert_eq!(raw.status, 400);
    assert!(raw.error().starts_with("Invalid path"), "{}", raw.error());
    let raw = server.raw("PUT", "/health", &[], None);
    assert_eq!((raw.status, raw.error()), (405, "Method not allowed"));
}

#[test]
fn cors_echoes_the_origin_and_answers_preflight() {
    let server = TestServer::start();
    let raw = server.raw("GET", "/health", &[("Origin", "https://app.example")], None);
    assert_eq!(
        raw.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(raw.header("access-control-allow-credentials"), Some("true"));
    let raw = server.raw(
        "OPTIONS",
        "/offers",
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "content-type, authorization",
            ),
        ],
        None,
    );
    assert!(raw.status == 200 || raw.status == 204, "{}", raw.status);
    assert_eq!(
        raw.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(raw.header("access-control-max-age"), Some("600"));
    let methods = raw
        .header("access-control-allow-methods")
        .unwrap_or_default()
        .to_ascii_uppercase();
    for method in ["GET", "POST", "PUT", "DELETE", "OPTIONS"] {
        assert!(methods.contains(method), "{methods}");
    }
    let headers = raw
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    for header in ["content-type", "origin", "authorization"] {
        assert!(headers.contains(header), "{headers}");
    }

    let limited = TestServer::with_config(rondevu_server::ServerConfig {
        cors_origins: vec!["https://allowed.example".to_string()],
        ..Default::default()
    });
    let raw = limited.raw(
        "GET",
        "/health",
        &[("Origin", "https://evil.example")],
        None,
    );
    assert_eq!(raw.header("access-control-allow-origin"), None);
    let raw = limited.raw(
        "GET",
        "/health",
        &[("Origin", "https://allowed.example")],
        None,
    );
    assert_eq!(
        raw.header("access-control-allow-origin"),
        Some("https://allowed.example")
    );
}

#[test]
fn transport_failures_are_their_own_error() {
    let address = {
        let server = TestServer::start();
        server.handle.local_addr()
    };
    // The server is gone: connection refused.
    let client = rondevu_api::Client::builder(&format!("http://{address}"))
        .timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("client");
    let error = client.health().expect_err("nobody listens");
    assert!(
        matches!(error, rondevu_api::Error::Transport { .. }),
        "{error}"
    );
    assert!(rondevu_api::Client::new("ftp://x").is_err());
}

#[test]
fn expired_offers_are_hidden_and_swept() {
    let server = TestServer::with_config(rondevu_server::ServerConfig {
        offer_min_ttl_ms: 1,
        offer_default_ttl_ms: 150,
        cleanup_interval: std::time::Duration::from_millis(50),
        ..Default::default()
    });
    let peer = server.register();
    let answerer = server.register();
    let id = server
        .client
        .publish(&peer, &[NewOffer::new("v=0", ["t"])])
        .expect("publish")[0]
        .id
        .clone();
    server
        .client
        .answer(&answerer, &id, "a", None)
        .expect("answer");
    assert_eq!(
        server
            .client
            .offers_by_topic("t", None, None)
            .expect("listed")
            .total,
        1
    );
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(
        server
            .client
            .offers_by_topic("t", None, None)
            .expect("hidden")
            .total,
        0
    );
    assert!(server
        .client
        .my_offers(&peer)
        .expect("mine")
        .offers
        .is_empty());
    assert!(server.client.answers(&peer).expect("answers").is_empty());
    assert!(server
        .client
        .topics(&Default::default())
        .expect("topics")
        .topics
        .is_empty());
    assert!(server
        .client
        .peer_offers(&peer.peer_id)
        .expect("peer")
        .offers
        .is_empty());
    let error = server
        .client
        .answer(&answerer, &id, "late", None)
        .expect_err("expired");
    assert_eq!(error.server_message(), Some("Offer not found or expired"));
    let error = server
        .client
        .ice_candidates(&peer, &id, None)
        .expect_err("expired");
    assert_eq!(error.status(), Some(404));
    // The sweep deleted the row, so the owner cannot delete it any more either.
    assert_eq!(
        server
            .client
            .delete_offer(&peer, &id)
            .expect_err("swept")
            .status(),
        Some(404)
    );
}
