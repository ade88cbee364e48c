//! A server restarted on the same database file and AUTH_SECRET keeps its offers and
//! accepts the credentials it issued before.

mod common;

use common::TestServer;
use rondevu_api::NewOffer;
use rondevu_server::{AuthSecret, ServerConfig};

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rondevu-api-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("rondevu.sqlite")
}

#[test]
fn restart_keeps_offers_and_credentials() {
    let db = temp_db("restart");
    let key = AuthSecret::from_hex(&"5a".repeat(32)).expect("key");
    let config = || ServerConfig {
        db_path: Some(db.clone()),
        auth_secret: Some(key.clone()),
        ..Default::default()
    };

    let (owner, answerer, offer_id) = {
        let server = TestServer::with_config(config());
        let owner = server.register();
        let answerer = server.register();
        let mut offer = NewOffer::new("v=0 persisted", ["persist-topic"]);
        offer.info = Some("kept".to_string());
        offer.ttl = Some(3_600_000);
        let id = server.client.publish(&owner, &[offer]).expect("publish")[0]
            .id
            .clone();
        server
            .client
            .answer(&answerer, &id, "answer", None)
            .expect("answer");
        server
            .client
            .post_ice_candidates(&owner, &id, &[serde_json::json!({"candidate": "c"})])
            .expect("candidate");
        server.handle.shutdown();
        (owner, answerer, id)
    };

    let server = TestServer::with_config(config());
    let listing = server
        .client
        .offers_by_topic("persist-topic", None, None)
        .expect("listing");
    assert_eq!(listing.total, 1);
    assert_eq!(listing.offers[0].id, offer_id);
    assert_eq!(listing.offers[0].info.as_deref(), Some("kept"));
    assert_eq!(
        listing.offers[0].answerer_peer_id.as_deref(),
        Some(answerer.peer_id.as_str())
    );
    // Old credentials still work for both sides.
    let mine = server
        .client
        .my_offers(&owner)
        .expect("old credentials accepted");
    assert_eq!(mine.offers.len(), 1);
    let candidates = server
        .client
        .ice_candidates(&answerer, &offer_id, None)
        .expect("candidates");
    assert_eq!(candidates.len(), 1);
    // New candidates still sort after the old ones.
    server
        .client
        .post_ice_candidates(&owner, &offer_id, &[serde_json::json!({"candidate": "d"})])
        .expect("post");
    let after = server
        .client
        .ice_candidates(&answerer, &offer_id, Some(candidates[0].created_at))
        .expect("since");
    assert_eq!(after.len(), 1);
    server.handle.shutdown();

    // Another key: same data, but the old credentials are refused.
    let other_key = TestServer::with_config(ServerConfig {
        auth_secret: Some(AuthSecret::from_hex(&"6b".repeat(32)).expect("key")),
        ..config()
    });
    assert_eq!(
        other_key
            .client
            .offers_by_topic("persist-topic", None, None)
            .expect("listing")
            .total,
        1
    );
    let error = other_key.client.my_offers(&owner).expect_err("other key");
    assert!(error.is_unauthorized());
    drop(other_key);
    if let Some(dir) = db.parent() {
        let _ = std::fs::remove_dir_all(dir);
    }
}
