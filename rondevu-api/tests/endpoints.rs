//! Every endpoint of the spec, through the typed client, against the real server.

mod common;

use common::{sdp, TestServer, TOPIC};
use rondevu_api::{NewOffer, PeerBloom, Role, TopicsQuery};
use serde_json::json;

#[test]
fn version_and_health() {
    let server = TestServer::start();
    let info = server.client.version().expect("version");
    assert_eq!(info.name, "Rondevu");
    assert_eq!(info.version, rondevu_server::VERSION);
    assert!(!info.description.is_empty());
    let health = server.client.health().expect("health");
    assert_eq!(health.status, "ok");
    assert_eq!(health.version, rondevu_server::VERSION);
    assert!(health.timestamp > 1_600_000_000_000);
}

#[test]
fn register_gives_distinct_hex_peer_ids() {
    let server = TestServer::start();
    let a = server.register();
    let b = server.register();
    assert_ne!(a.peer_id, b.peer_id);
    for peer in [&a, &b] {
        assert_eq!(peer.peer_id.len(), 32);
        assert!(peer
            .peer_id
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert!(!peer.secret.is_empty());
    }
    // An empty body registers too.
    let raw = server.raw("POST", "/register", &[], None);
    assert_eq!(raw.status, 200);
    assert_eq!(raw.json["peerId"].as_str().map(str::len), Some(32));
}

#[test]
fn publish_lists_and_returns_every_field() {
    let server = TestServer::start();
    let owner = server.register();
    let mut offer = NewOffer::new(sdp("one", 500), [TOPIC, "other", TOPIC]);
    offer.info = Some("seeding ubuntu".to_string());
    offer.secret = Some("s3cret".to_string());
    offer.ttl = Some(120_000);
    let plain = NewOffer::new(sdp("two", 500), [TOPIC]);
    let before = rondevu_server_now();
    let published = server
        .client
        .publish(&owner, &[offer.clone(), plain.clone()])
        .expect("publish");
    assert_eq!(published.len(), 2);
    // Content-based ids, duplicates stored once, request order kept.
    let topics = vec![TOPIC.to_string(), "other".to_string()];
    assert_eq!(
        published[0].id,
        rondevu_server::offer_id::offer_id(&offer.sdp, &topics)
    );
    assert_eq!(published[0].topics, topics);
    assert_eq!(published[0].peer_id, owner.peer_id);
    assert!(published[0].expires_at >= before + 120_000);
    assert!(
        published[1].expires_at >= before + 60_000 && published[1].expires_at < before + 120_000
    );

    let listing = server
        .client
        .offers_by_topic(TOPIC, None, None)
        .expect("by topic");
    assert_eq!(listing.topic, TOPIC);
    assert_eq!(listing.total, 2);
    assert_eq!(listing.returned, 2);
    let listed = listing
        .offers
        .iter()
        .find(|o| o.id == published[0].id)
        .expect("listed");
    assert_eq!(listed.peer_id, owner.peer_id);
    assert_eq!(listed.sdp, offer.sdp);
    assert_eq!(listed.topics, topics);
    assert!(listed.has_secret);
    assert_eq!(listed.info.as_deref(), Some("seeding ubuntu"));
    assert_eq!(listed.answerer_peer_id, None);
    assert!(listed.last_seen >= before);
    // The secret itself is never shown in public listings.
    let raw = server.get(&format!("/offers/by-topic/{TOPIC}"), None);
    assert!(!raw.json.to_string().contains("s3cret"));
    assert!(raw.json["offers"][0]
        .as_object()
        .expect("object")
        .contains_key("answererPeerId"));

    let mine = server.client.my_offers(&owner).expect("mine");
    assert_eq!(mine.peer_id, owner.peer_id);
    let my = mine
        .offers
        .iter()
        .find(|o| o.id == published[0].id)
        .expect("mine");
    assert_eq!(my.secret.as_deref(), Some("s3cret"));
    assert_eq!(my.info.as_deref(), Some("seeding ubuntu"));
    assert!(my.created_at >= before);
    assert_eq!(my.answered_at, None);

    let peer = server
        .client
        .peer_offers(&owner.peer_id)
        .expect("peer offers");
    assert_eq!(peer.peer_id, owner.peer_id);
    assert_eq!(peer.offers.len(), 2);
    assert_eq!(peer.topics, topics);
    assert!(peer
        .offers
        .iter()
        .any(|o| o.has_secret && o.info.as_deref() == Some("seeding ubuntu")));
    assert!(server
        .client
        .peer_offers("nobody")
        .expect("empty")
        .offers
        .is_empty());
}

fn rondevu_server_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

#[test]
fn client_chosen_ids_are_used_as_is() {
    let server = TestServer::start();
    let owner = server.register();
    let mut offer = NewOffer::new("v=0", ["t"]);
    offer.id = Some("my own id/with slash".to_string());
    let published = server.client.publish(&owner, &[offer]).expect("publish");
    assert_eq!(published[0].id, "my own id/with slash");
    server
        .client
        .delete_offer(&owner, "my own id/with slash")
        .expect("delete by that id");
}

#[test]
fn by_topic_limit_order_and_bloom_exclusion() {
    let server = TestServer::start();
    let peers: Vec<_> = (0..6).map(|_| server.register()).collect();
    for (index, peer) in peers.iter().enumerate() {
        server
            .client
            .publish(
                peer,
                &[NewOffer::new(sdp(&index.to_string(), 100), [TOPIC])],
            )
            .expect("publish");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let all = server
        .client
        .offers_by_topic(TOPIC, None, None)
        .expect("all");
    assert_eq!(all.total, 6);
    // Newest lastSeen first.
    let owners: Vec<&str> = all.offers.iter().map(|o| o.peer_id.as_str()).collect();
    let expected: Vec<&str> = peers.iter().rev().map(|p| p.peer_id.as_str()).collect();
    assert_eq!(owners, expected);
    assert!(all
        .offers
        .windows(2)
        .all(|w| w[0].last_seen >= w[1].last_seen));

    let limited = server
        .client
        .offers_by_topic(TOPIC, Some(2), None)
        .expect("limited");
    assert_eq!(
        (limited.total, limited.returned, limited.offers.len()),
        (6, 2, 2)
    );

    // A bloom holding three of the peers hides exactly them (whatever bytes its base64 has,
    // `+` and `/` included, survive the query string); total still counts them.
    let mut bloom = PeerBloom::new(4096, 3).expect("bloom");
    for peer in &peers[..3] {
        bloom.insert(&peer.peer_id);
    }
    let filtered = server
        .client
        .offers_by_topic(TOPIC, None, Some(&bloom))
        .expect("filtered");
    let hidden: Vec<&str> = peers[..3].iter().map(|p| p.peer_id.as_str()).collect();
    assert!(filtered
        .offers
        .iter()
        .all(|o| !hidden.contains(&o.peer_id.as_str())));
    assert_eq!(filtered.offers.len(), 3);
    assert_eq!(filtered.total, 6);
    assert!(server
        .client
        .offers_by_topic("unknown topic", None, None)
        .expect("none")
        .offers
        .is_empty());
}

#[test]
fn bloom_vectors_exclude_exactly_as_the_reference_server() {
    #[derive(serde::Deserialize)]
    struct Query {
        peer_id: String,
        server_test: bool,
    }
    #[derive(serde::Deserialize)]
    struct Vector {
        base64: String,
        queries: Vec<Query>,
    }
    // A copy of `shared/vectors/bloom-filters.json`, made by the JavaScript reference: for
    // each filter, how the reference server (k = 3, m = 8 × bytes) judges each peer id.
    let vectors: Vec<Vector> = serde_json::from_str(include_str!(
        "../../rondevu-server/testdata/bloom-filters.json"
    ))
    .expect("vectors");
    // With a known AUTH_SECRET we can mint credentials for the vectors' own peer ids, so
    // their offers are really stored and really filtered by the listing.
    let key = rondevu_server::AuthSecret::from_bytes([42; 32]);
    let auth = rondevu_server::Authenticator::new(&key);
    let server = TestServer::with_config(rondevu_server::ServerConfig {
        auth_secret: Some(key),
        ..Default::default()
    });
    for (index, vector) in vectors.iter().enumerate() {
        let topic = format!("bloom-vector-{index}");
        for query in &vector.queries {
            let credentials = rondevu_api::Credentials {
                peer_id: query.peer_id.clone(),
                secret: auth.secret_for(&query.peer_id).expect("secret"),
            };
            server
                .client
                .publish(
                    &credentials,
                    &[NewOffer::new(
                        format!("v=0 {index} {}", query.peer_id),
                        [topic.as_str()],
                    )],
                )
                .expect("publish");
        }
        let encoded = vector
            .base64
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        let raw = server.get(
            &format!("/offers/by-topic/{topic}?bloom={encoded}&limit=200"),
            None,
        );
        assert_eq!(raw.status, 200, "{}", vector.base64);
        let mut listed: Vec<&str> = raw.json["offers"]
            .as_array()
            .expect("offers")
            .iter()
            .filter_map(|offer| offer["peerId"].as_str())
            .collect();
        listed.sort_unstable();
        let mut expected: Vec<&str> = vector
            .queries
            .iter()
            .filter(|query| !query.server_test)
            .map(|query| query.peer_id.as_str())
            .collect();
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(listed, expected, "vector {index}");
        assert_eq!(raw.json["total"], vector.queries.len(), "vector {index}");
    }
}

#[test]
fn topics_count_distinct_peers_page_and_filter_literally() {
    let server = TestServer::start();
    let a = server.register();
    let b = server.register();
    let publish = |who, sdp_text: &str, topics: &[&str]| {
        server
            .client
            .publish(who, &[NewOffer::new(sdp_text, topics.iter().copied())])
            .expect("publish");
    };
    publish(&a, "1", &["abc", "a_c", "Abd"]);
    publish(&a, "2", &["abc"]);
    publish(&b, "3", &["abc", "a%z"]);
    let all = server
        .client
        .topics(&TopicsQuery::default())
        .expect("topics");
    assert_eq!(all.total, 4);
    assert_eq!(all.limit, 50);
    assert_eq!(all.offset, 0);
    assert_eq!(all.starts_with, None);
    let listed: Vec<(&str, u64)> = all
        .topics
        .iter()
        .map(|t| (t.topic.as_str(), t.active_peers))
        .collect();
    assert_eq!(listed, vec![("abc", 2), ("Abd", 1), ("a%z", 1), ("a_c", 1)]);

    let page = server
        .client
        .topics(&TopicsQuery {
            limit: Some(2),
            offset: Some(1),
            starts_with: None,
        })
        .expect("page");
    let names: Vec<&str> = page.topics.iter().map(|t| t.topic.as_str()).collect();
    assert_eq!(names, vec!["Abd", "a%z"]);
    assert_eq!((page.total, page.limit, page.offset), (4, 2, 1));

    let prefixed = |prefix: &str| -> Vec<String> {
        server
            .client
            .topics(&TopicsQuery {
                starts_with: Some(prefix.to_string()),
                ..Default::default()
            })
            .expect("prefix")
            .topics
            .into_iter()
            .map(|t| t.topic)
            .collect()
    };
    assert_eq!(prefixed("a_"), vec!["a_c"]); // `_` is not a wildcard
    assert_eq!(prefixed("a%"), vec!["a%z"]); // nor is `%`
    assert_eq!(prefixed("A"), vec!["Abd"]); // case-sensitive
    assert!(prefixed("zz").is_empty());
    let raw = server.get("/topics?startsWith=ab", None);
    assert_eq!(raw.json["startsWith"], "ab");
}

#[test]
fn delete_only_own_offers() {
    let server = TestServer::start();
    let owner = server.register();
    let other = server.register();
    let id = server
        .client
        .publish(&owner, &[NewOffer::new("v=0", ["t"])])
        .expect("publish")[0]
        .id
        .clone();
    let refused = server
        .client
        .delete_offer(&other, &id)
        .expect_err("not the owner");
    assert_eq!(refused.status(), Some(404));
    assert_eq!(
        refused.server_message(),
        Some("Offer not found or not authorized")
    );
    server.client.delete_offer(&owner, &id).expect("delete");
    assert_eq!(
        server
            .client
            .offers_by_topic("t", None, None)
            .expect("list")
            .total,
        0
    );
    let gone = server
        .client
        .delete_offer(&owner, &id)
        .expect_err("already gone");
    assert_eq!(gone.status(), Some(404));
    let raw = server.raw(
        "DELETE",
        &format!("/offers/{id}"),
        &[("Authorization", &common::bearer(&owner))],
        None,
    );
    assert_eq!(
        (raw.status, raw.error()),
        (404, "Offer not found or not authorized")
    );
}

#[test]
fn answer_rules_and_answers_listing() {
    let server = TestServer::start();
    let owner = server.register();
    let first = server.register();
    let second = server.register();
    let mut protected = NewOffer::new("v=0 protected", ["t"]);
    protected.secret = Some("pw".to_string());
    let ids: Vec<String> = server
        .client
        .publish(&owner, &[NewOffer::new("v=0 open", ["t"]), protected])
        .expect("publish")
        .into_iter()
        .map(|o| o.id)
        .collect();

    let message = |result: rondevu_api::Result<rondevu_api::AnswerAccepted>| {
        let error = result.expect_err("refused");
        (error.status(), error.server_message().map(str::to_string))
    };
    assert_eq!(
        message(server.client.answer(&first, "no-such-offer", "a", None)),
        (Some(400), Some("Offer not found or expired".to_string()))
    );
    assert_eq!(
        message(server.client.answer(&first, &ids[1], "a", None)),
        (Some(400), Some("Invalid or missing secret".to_string()))
    );
    assert_eq!(
        message(server.client.answer(&first, &ids[1], "a", Some("wrong"))),
        (Some(400), Some("Invalid or missing secret".to_string()))
    );
    let accepted = server
        .client
        .answer(&first, &ids[0], "answer sdp", None)
        .expect("answer");
    assert_eq!(accepted.offer_id, ids[0]);
    assert_eq!(accepted.answerer_id, first.peer_id);
    assert_eq!(
        message(server.client.answer(&second, &ids[0], "late", None)),
        (Some(400), Some("Offer already answered".to_string()))
    );
    std::thread::sleep(std::time::Duration::from_millis(3));
    let second_accept = server
        .client
        .answer(&second, &ids[1], "answer 2", Some("pw"))
        .expect("with secret");

    // Stored answeredAt is what the answer call reported, and listings show the answerer.
    let mine = server.client.my_offers(&owner).expect("mine");
    let stored = mine.offers.iter().find(|o| o.id == ids[0]).expect("offer");
    assert_eq!(stored.answered_at, Some(accepted.answered_at));
    assert_eq!(
        stored.answerer_peer_id.as_deref(),
        Some(first.peer_id.as_str())
    );
    let listing = server
        .client
        .offers_by_topic("t", None, None)
        .expect("listing");
    assert!(listing.offers.iter().all(|o| o.answerer_peer_id.is_some()));

    let answers = server.client.answers(&owner).expect("answers");
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0].offer_id, ids[1]); // newest answer first
    assert_eq!(answers[0].answered_at, second_accept.answered_at);
    assert_eq!(answers[1].sdp, "answer sdp");
    assert_eq!(answers[1].answerer_id, first.peer_id);
    assert_eq!(answers[1].topics, vec!["t".to_string()]);
    assert!(server.client.answers(&first).expect("none").is_empty());
}

#[test]
fn concurrent_answers_have_exactly_one_winner() {
    let server = TestServer::start();
    let owner = server.register();
    let id = server
        .client
        .publish(&owner, &[NewOffer::new("v=0", ["t"])])
        .expect("publish")[0]
        .id
        .clone();
    let answerers: Vec<_> = (0..8).map(|_| server.register()).collect();
    let wins = std::thread::scope(|scope| {
        let handles: Vec<_> = answerers
            .iter()
            .map(|peer| scope.spawn(|| server.client.answer(peer, &id, "a", None).is_ok()))
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().ok())
            .filter(|won| *won)
            .count()
    });
    assert_eq!(wins, 1);
}

#[test]
fn ice_candidates_both_ways_with_since() {
    let server = TestServer::start();
    let offerer = server.register();
    let answerer = server.register();
    let stranger = server.register();
    let id = server
        .client
        .publish(&offerer, &[NewOffer::new("v=0", ["t"])])
        .expect("publish")[0]
        .id
        .clone();
    let candidate = |n: u32| json!({"candidate": format!("candidate:{n} 1 udp 1 127.0.0.1 {n} typ host"), "sdpMid": "0", "sdpMLineIndex": 0});

    // The owner may post before any answer exists; the future answerer may not.
    assert_eq!(
        server
            .client
            .post_ice_candidates(&offerer, &id, &[candidate(1), candidate(2)])
            .expect("post"),
        2
    );
    let early = server
        .client
        .post_ice_candidates(&answerer, &id, &[candidate(9)])
        .expect_err("not yet");
    assert_eq!(early.status(), Some(403));
    server
        .client
        .answer(&answerer, &id, "answer", None)
        .expect("answer");
    server
        .client
        .post_ice_candidates(&answerer, &id, &[candidate(10)])
        .expect("answerer posts");

    let for_answerer = server
        .client
        .ice_candidates(&answerer, &id, None)
        .expect("get");
    assert_eq!(for_answerer.len(), 2);
    assert_eq!(for_answerer[0].candidate, candidate(1));
    assert_eq!(for_answerer[0].role, Role::Offerer);
    assert_eq!(for_answerer[0].peer_id, offerer.peer_id);
    assert!(for_answerer[0].created_at < for_answerer[1].created_at);
    let for_offerer = server
        .client
        .ice_candidates(&offerer, &id, None)
        .expect("get");
    assert_eq!(for_offerer.len(), 1);
    assert_eq!(for_offerer[0].role, Role::Answerer);
    assert_eq!(for_offerer[0].candidate, candidate(10));

    let cursor = for_answerer[1].created_at;
    assert!(server
        .client
        .ice_candidates(&answerer, &id, Some(cursor))
        .expect("none new")
        .is_empty());
    server
        .client
        .post_ice_candidates(&offerer, &id, &[candidate(3)])
        .expect("post");
    let newer = server
        .client
        .ice_candidates(&answerer, &id, Some(cursor))
        .expect("new");
    assert_eq!(newer.len(), 1);
    assert_eq!(newer[0].candidate, candidate(3));

    for error in [
        server
            .client
            .ice_candidates(&stranger, &id, None)
            .expect_err("stranger"),
        server
            .client
            .post_ice_candidates(&stranger, &id, &[candidate(5)])
            .expect_err("stranger"),
    ] {
        assert_eq!(error.status(), Some(403));
    }
    for error in [
        server
            .client
            .ice_candidates(&offerer, "gone", None)
            .expect_err("404"),
        server
            .client
            .post_ice_candidates(&offerer, "gone", &[candidate(5)])
            .expect_err("404"),
    ] {
        assert_eq!(error.status(), Some(404));
    }
}

#[test]
fn candidate_times_strictly_increase_under_concurrent_posts() {
    let server = TestServer::start();
    let offerer = server.register();
    let answerer = server.register();
    let id = server
        .client
        .publish(&offerer, &[NewOffer::new("v=0", ["t"])])
        .expect("publish")[0]
        .id
        .clone();
    server
        .client
        .answer(&answerer, &id, "answer", None)
        .expect("answer");
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let (client, who, id) = (&server.client, &offerer, &id);
            scope.spawn(move || {
                for n in 0..25 {
                    client
                        .post_ice_candidates(
                            who,
                            id,
                            &[
                                json!({"t": thread, "n": n}),
                                json!({"t": thread, "n": n, "second": true}),
                            ],
                        )
                        .expect("post");
                }
            });
        }
    });
    let all = server
        .client
        .ice_candidates(&answerer, &id, None)
        .expect("all");
    assert_eq!(all.len(), 200);
    assert!(
        all.windows(2).all(|w| w[0].created_at < w[1].created_at),
        "createdAt strictly increasing"
    );
}

#[test]
fn listings_follow_every_write_immediately() {
    // By-topic listings are served from a cache; each write must show up on the next read.
    let server = TestServer::start();
    let owner = server.register();
    let answerer = server.register();
    let listing = || {
        server
            .client
            .offers_by_topic("cached", None, None)
            .expect("listing")
    };
    assert_eq!(listing().total, 0);
    let id = server
        .client
        .publish(&owner, &[NewOffer::new("v=0 a", ["cached"])])
        .expect("publish")[0]
        .id
        .clone();
    assert_eq!(listing().total, 1);
    assert_eq!(listing().offers[0].answerer_peer_id, None);
    server
        .client
        .answer(&answerer, &id, "answer", None)
        .expect("answer");
    assert_eq!(
        listing().offers[0].answerer_peer_id.as_deref(),
        Some(answerer.peer_id.as_str())
    );
    server
        .client
        .publish(&owner, &[NewOffer::new("v=0 b", ["cached", "x"])])
        .expect("publish");
    assert_eq!(listing().total, 2);
    server.client.delete_offer(&owner, &id).expect("delete");
    let after = listing();
    assert_eq!(after.total, 1);
    assert_ne!(after.offers[0].id, id);
}

#[test]
fn topics_too_large_to_cache_are_listed_from_the_database() {
    let server = TestServer::start();
    let owner = server.register();
    let other = server.register();
    // 1,001 offers: one more than the cache takes per topic.
    for batch in 0..11 {
        let who = if batch == 10 { &other } else { &owner };
        let count = if batch == 10 { 1 } else { 100 };
        let offers: Vec<NewOffer> = (0..count)
            .map(|n| NewOffer::new(format!("v=0 {batch}/{n}"), ["big"]))
            .collect();
        server.client.publish(who, &offers).expect("publish");
    }
    let page = server
        .client
        .offers_by_topic("big", Some(200), None)
        .expect("listing");
    assert_eq!((page.total, page.returned), (1_001, 200));
    assert_eq!(page.offers[0].peer_id, other.peer_id, "newest first");
    let mut bloom = PeerBloom::new(1024, 3).expect("bloom");
    bloom.insert(&other.peer_id);
    let filtered = server
        .client
        .offers_by_topic("big", Some(10), Some(&bloom))
        .expect("filtered");
    assert_eq!((filtered.total, filtered.returned), (1_001, 10));
    assert!(filtered.offers.iter().all(|o| o.peer_id == owner.peer_id));
}
