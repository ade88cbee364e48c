//! Remote input that is wrong in every way we could think of: typed errors, never a panic.

use std::time::Instant;

use proptest::prelude::*;
use rondevu_rtc::{CandidateOutcome, Error, IceCandidateInit, Peer, PeerConfig, SkipReason};

fn peer() -> Peer {
    Peer::new(PeerConfig::default(), Instant::now())
}

fn candidate(line: &str) -> IceCandidateInit {
    IceCandidateInit {
        candidate: line.to_owned(),
        sdp_mid: Some("0".to_owned()),
        sdp_m_line_index: Some(0),
        username_fragment: None,
    }
}

#[test]
fn an_answer_before_any_offer_is_a_typed_error() {
    let mut offerer = peer();
    let offer = offerer.create_offer().unwrap();
    let mut answerer = peer();
    let answer = answerer.accept_offer(&offer).unwrap();
    let mut fresh = peer();
    assert!(matches!(
        fresh.accept_answer(&answer),
        Err(Error::WrongSignalingState { .. })
    ));
    // The answerer has no offer of its own either.
    assert!(matches!(
        answerer.accept_answer(&answer),
        Err(Error::WrongSignalingState { .. })
    ));
    // And the real offerer still takes it.
    offerer.accept_answer(&answer).unwrap();
    assert!(matches!(
        offerer.accept_answer(&answer),
        Err(Error::WrongSignalingState { .. })
    ));
}

#[test]
fn malformed_sdp_is_a_typed_error() {
    for bad in [
        "",
        "hello",
        "v=0\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n",
    ] {
        let result = peer().accept_offer(bad);
        assert!(
            matches!(
                result,
                Err(Error::MalformedSdp { .. } | Error::RemoteSdpRejected { .. })
            ),
            "{bad:?}: {result:?}"
        );
    }
    let mut offerer = peer();
    offerer.create_offer().unwrap();
    assert!(matches!(
        offerer.accept_answer("v=0\r\nnonsense"),
        Err(Error::MalformedSdp { .. })
    ));
}

#[test]
fn an_offer_without_fingerprint_is_rejected() {
    let offer = peer().create_offer().unwrap();
    let stripped: String = offer
        .split_inclusive('\n')
        .filter(|line| !line.starts_with("a=fingerprint"))
        .collect();
    assert!(matches!(
        peer().accept_offer(&stripped),
        Err(Error::RemoteSdpRejected { .. })
    ));
}

#[test]
fn candidates_are_skipped_or_refused_not_panicked_on() {
    let mut p = peer();
    let offer = p.create_offer().unwrap();
    let _ = offer;
    assert_eq!(
        p.add_remote_candidate(&candidate("")).unwrap(),
        CandidateOutcome::Skipped(SkipReason::EndOfCandidates)
    );
    assert_eq!(
        p.add_remote_candidate(&candidate(
            "candidate:1 1 TCP 1518280447 127.0.0.1 9 typ host tcptype active"
        ))
        .unwrap(),
        CandidateOutcome::Skipped(SkipReason::Tcp)
    );
    assert!(matches!(
        p.add_remote_candidate(&candidate("candidate:1 1 udp nope")),
        Err(Error::MalformedCandidate { .. })
    ));
}

#[test]
fn a_message_above_the_remote_limit_is_refused() {
    let mut p = peer();
    // Before the remote description, RFC 8841's default of 64 KiB applies.
    assert_eq!(p.max_message_size(), 65_536);
    assert!(matches!(
        p.write(&vec![0; 65_537]),
        Err(Error::MessageTooLarge {
            len: 65_537,
            max: 65_536
        })
    ));
    assert!(matches!(p.write(b"hi"), Err(Error::ChannelNotOpen)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any candidate string: a typed outcome or error, never a panic.
    #[test]
    fn arbitrary_candidates_never_panic(line in "(candidate:)?[ -~]{0,80}") {
        let mut p = peer();
        let _ = p.add_remote_candidate(&candidate(&line));
    }

    /// Any SDP-shaped text as an offer: a typed error or an answer, never a panic.
    #[test]
    fn arbitrary_offers_never_panic(lines in proptest::collection::vec("[a-z]=[ -~]{0,40}", 0..12)) {
        let sdp = lines.join("\r\n");
        let _ = peer().accept_offer(&sdp);
    }

    /// The browser JSON form survives a round trip exactly.
    #[test]
    fn candidate_json_round_trips(
        line in "[ -~]{0,100}",
        mid in proptest::option::of("[a-z0-9]{0,4}"),
        index in proptest::option::of(any::<u16>()),
        ufrag in proptest::option::of("[A-Za-z0-9+/]{0,16}"),
    ) {
        let init = IceCandidateInit {
            candidate: line,
            sdp_mid: mid,
            sdp_m_line_index: index,
            username_fragment: ufrag,
        };
        let json = serde_json::to_string(&init).unwrap();
        prop_assert!(json.contains("\"sdpMLineIndex\""));
        prop_assert!(json.contains("\"usernameFragment\""));
        let back: IceCandidateInit = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, init);
    }
}

#[test]
fn browser_json_with_nulls_and_missing_fields_parses() {
    let init: IceCandidateInit =
        serde_json::from_str(r#"{"candidate":"","sdpMid":null,"sdpMLineIndex":null}"#).unwrap();
    assert!(init.is_end_of_candidates());
    assert_eq!(init.username_fragment, None);
}
