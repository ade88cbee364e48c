//! `cargo xtask demo --signaling`: the signaling round trip alone, for real, step by step.
//!
//! Starts the embedded `rondevu-server` on 127.0.0.1, then two peers (a seeder and a leecher)
//! meet under a torrent's info-hash through the `rondevu-api` client: register, publish,
//! discover with a bloom filter, answer, trade ICE candidates both ways with `since`, clean up.
//! Every step is checked; any surprise ends the demo with an error (non-zero exit).

use std::time::Instant;

use peer_bloom::PeerBloom;
use rondevu_api::{Client, NewOffer};
use rondevu_server::ServerConfig;
use serde_json::{json, Value};

/// The topic: an info-hash as WebTorrent prints it (40 lowercase hex characters).
const INFO_HASH: &str = "08ada5a7a6183aae1e09d831df6748d566095a10";

/// An SDP offer shaped like a browser's data-channel offer (never used for a connection).
const OFFER_SDP: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
a=ice-ufrag:demo\r\na=ice-pwd:demo-password-0123456789ab\r\na=setup:actpass\r\na=mid:0\r\n\
a=sctp-port:5000\r\n";
const ANSWER_SDP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=setup:active\r\na=mid:0\r\n";

/// Runs the signaling demo.
pub fn run() -> Result<(), String> {
    let started = Instant::now();
    let mut step = Steps::default();

    step.say("start the embedded rondevu-server on 127.0.0.1 (in-memory SQLite)");
    let server = rondevu_server::serve(ServerConfig {
        port: 0,
        ..ServerConfig::default()
    })
    .map_err(|error| format!("server did not start: {error}"))?;
    let client = Client::new(&server.url()).map_err(text)?;
    let info = client.version().map_err(text)?;
    let health = client.health().map_err(text)?;
    step.detail(format!(
        "{} {} at {} — health: {}",
        info.name,
        info.version,
        server.url(),
        health.status
    ));

    step.say("register two peers (stateless AES-256-GCM credentials)");
    let seeder = client.register().map_err(text)?;
    let leecher = client.register().map_err(text)?;
    step.detail(format!("seeder  {}", seeder.peer_id));
    step.detail(format!("leecher {}", leecher.peer_id));

    step.say(&format!(
        "seeder publishes an offer under info-hash {INFO_HASH}"
    ));
    let mut offer = NewOffer::new(OFFER_SDP, [INFO_HASH]);
    offer.info = Some("rondevu-torrent demo seeder".to_string());
    offer.ttl = Some(120_000);
    let published = client.publish(&seeder, &[offer]).map_err(text)?;
    let offer_id = published
        .first()
        .map(|offer| offer.id.clone())
        .ok_or("publish acknowledged no offer")?;
    step.detail(format!("offer id {offer_id} (SHA-256 of its JSON text)"));

    step.say("leecher discovers offers by topic, skipping itself with a bloom filter");
    let mut known = PeerBloom::new(1024, 3).map_err(text)?;
    known.insert(&leecher.peer_id);
    let found = client
        .offers_by_topic(INFO_HASH, Some(50), Some(&known))
        .map_err(text)?;
    let listed = found
        .offers
        .iter()
        .find(|listed| listed.id == offer_id)
        .ok_or("the seeder's offer is not listed")?;
    expect(
        listed.peer_id == seeder.peer_id,
        "listed offer has the wrong owner",
    )?;
    expect(
        listed.answerer_peer_id.is_none(),
        "fresh offer already answered",
    )?;
    step.detail(format!(
        "found {} of {} offer(s): {} by {} ({:?})",
        found.returned,
        found.total,
        short(&listed.id),
        short(&listed.peer_id),
        listed.info.as_deref().unwrap_or("")
    ));
    let mut knows_seeder = known.clone();
    knows_seeder.insert(&seeder.peer_id);
    let hidden = client
        .offers_by_topic(INFO_HASH, Some(50), Some(&knows_seeder))
        .map_err(text)?;
    expect(
        hidden
            .offers
            .iter()
            .all(|offer| offer.peer_id != seeder.peer_id),
        "a bloom holding the seeder did not hide its offer",
    )?;
    step.detail(format!(
        "with the seeder in the bloom: {} returned, {} total — already-known peers are hidden",
        hidden.returned, hidden.total
    ));

    step.say("leecher answers the offer");
    let accepted = client
        .answer(&leecher, &offer_id, ANSWER_SDP, None)
        .map_err(text)?;
    step.detail(format!("accepted at {}", accepted.answered_at));
    let answers = client.answers(&seeder).map_err(text)?;
    let answer = answers
        .iter()
        .find(|answer| answer.offer_id == offer_id)
        .ok_or("the seeder does not see the answer")?;
    expect(
        answer.answerer_id == leecher.peer_id,
        "answer from the wrong peer",
    )?;
    expect(answer.sdp == ANSWER_SDP, "answer SDP changed on the way")?;
    step.detail(format!(
        "seeder polls /offers/answers: answer from {} ({} bytes of SDP)",
        short(&answer.answerer_id),
        answer.sdp.len()
    ));

    step.say("ICE candidates both ways, polled with a `since` cursor");
    let seeder_candidates = [candidate(1, 50_000), candidate(2, 50_001)];
    let leecher_candidates = [candidate(1, 60_000)];
    client
        .post_ice_candidates(&seeder, &offer_id, &seeder_candidates)
        .map_err(text)?;
    client
        .post_ice_candidates(&leecher, &offer_id, &leecher_candidates)
        .map_err(text)?;
    let at_leecher = client
        .ice_candidates(&leecher, &offer_id, None)
        .map_err(text)?;
    let at_seeder = client
        .ice_candidates(&seeder, &offer_id, None)
        .map_err(text)?;
    expect(
        at_leecher
            .iter()
            .map(|c| &c.candidate)
            .eq(seeder_candidates.iter()),
        "leecher did not receive the seeder's candidates",
    )?;
    expect(
        at_seeder
            .iter()
            .map(|c| &c.candidate)
            .eq(leecher_candidates.iter()),
        "seeder did not receive the leecher's candidates",
    )?;
    step.detail(format!(
        "leecher got {} from the seeder, seeder got {} from the leecher",
        at_leecher.len(),
        at_seeder.len()
    ));
    let cursor = at_leecher.iter().map(|c| c.created_at).max().unwrap_or(0);
    let late = candidate(3, 50_002);
    client
        .post_ice_candidates(&seeder, &offer_id, std::slice::from_ref(&late))
        .map_err(text)?;
    let newer = client
        .ice_candidates(&leecher, &offer_id, Some(cursor))
        .map_err(text)?;
    expect(
        newer.len() == 1 && newer[0].candidate == late,
        "the since cursor did not return exactly the new candidate",
    )?;
    step.detail(format!(
        "since={cursor}: only the late candidate ({})",
        newer[0].candidate["candidate"].as_str().unwrap_or("?")
    ));

    step.say("clean up: the seeder deletes its offer");
    client.delete_offer(&seeder, &offer_id).map_err(text)?;
    let after = client
        .offers_by_topic(INFO_HASH, None, None)
        .map_err(text)?;
    expect(after.total == 0, "the offer is still listed after deletion")?;
    step.detail("topic is empty again".to_string());

    step.say("stop the server");
    server.shutdown();
    println!(
        "\nsignaling round trip complete in {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
    Ok(())
}

/// Numbered step printer.
#[derive(Default)]
struct Steps {
    count: u32,
}

impl Steps {
    fn say(&mut self, what: &str) {
        self.count += 1;
        println!("[{}] {what}", self.count);
    }

    fn detail(&self, what: String) {
        println!("      {what}");
    }
}

/// A host candidate on loopback, as a browser would post it.
fn candidate(foundation: u32, port: u16) -> Value {
    json!({
        "candidate": format!("candidate:{foundation} 1 udp 2122260223 127.0.0.1 {port} typ host"),
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": "demo"
    })
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn expect(condition: bool, failure: &str) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(format!("demo check failed: {failure}"))
    }
}

fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}
