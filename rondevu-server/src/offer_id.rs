//! Content-based offer ids: SHA-256 of the JavaScript `JSON.stringify` text of the offer.
//!
//! The reference server hashes `{"sdp":<sdp>,"topics":<sorted topics>}` as produced by
//! JavaScript, so our escaping and sort order must match JavaScript's byte for byte.

use std::cmp::Ordering;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// Appends `text` to `out` as a JSON string literal escaped exactly like JavaScript's
/// `JSON.stringify`: `\"`, `\\`, `\b \f \n \r \t`, other controls below 0x20 as `\u00xx`
/// (lowercase hex); `/`, DEL, U+2028/U+2029 and all other non-ASCII are left as they are.
pub fn push_js_json_string(out: &mut String, text: &str) {
    out.reserve(text.len() + 2);
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if (control as u32) < 0x20 => {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\u{:04x}", control as u32);
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

/// Compares two strings the way JavaScript's default `Array.prototype.sort` does:
/// lexicographically by UTF-16 code units (not by Unicode scalar values).
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// The compact JSON text `{"sdp":…,"topics":[…]}` with `topics` sorted by UTF-16 code units.
pub fn canonical_offer_json(sdp: &str, topics: &[String]) -> String {
    let mut sorted: Vec<&str> = topics.iter().map(String::as_str).collect();
    sorted.sort_by(|a, b| cmp_utf16(a, b));
    let mut json = String::with_capacity(sdp.len() + 32);
    json.push_str("{\"sdp\":");
    push_js_json_string(&mut json, sdp);
    json.push_str(",\"topics\":[");
    for (index, topic) in sorted.iter().enumerate() {
        if index > 0 {
            json.push(',');
        }
        push_js_json_string(&mut json, topic);
    }
    json.push_str("]}");
    json
}

/// The offer id: lowercase hex SHA-256 of [`canonical_offer_json`].
pub fn offer_id(sdp: &str, topics: &[String]) -> String {
    let digest = Sha256::digest(canonical_offer_json(sdp, topics).as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(serde::Deserialize)]
    struct Vector {
        sdp: String,
        topics: Vec<String>,
        id: String,
    }

    fn vectors() -> Vec<Vector> {
        // A copy of `shared/vectors/offer-ids.json`, made by the JavaScript reference.
        serde_json::from_str(include_str!("../testdata/offer-ids.json")).expect("vectors parse")
    }

    #[test]
    fn every_offer_id_vector_matches() {
        let vectors = vectors();
        assert!(!vectors.is_empty());
        for vector in &vectors {
            assert_eq!(
                offer_id(&vector.sdp, &vector.topics),
                vector.id,
                "sdp {:?} topics {:?}",
                vector.sdp,
                vector.topics
            );
        }
    }

    #[test]
    fn escapes_like_json_stringify() {
        let mut out = String::new();
        push_js_json_string(
            &mut out,
            "a\"\\\u{8}\u{c}\n\r\t\u{1}\u{1f}/\u{7f}\u{2028}é😀",
        );
        assert_eq!(
            out,
            "\"a\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f/\u{7f}\u{2028}é😀\""
        );
    }

    #[test]
    fn utf16_order_differs_from_code_point_order() {
        // U+FF61 is one code unit 0xFF61; U+1F600 is the pair 0xD83D 0xDE00, which sorts first.
        let mut topics = vec!["\u{ff61}".to_string(), "😀".to_string()];
        topics.sort_by(|a, b| cmp_utf16(a, b));
        assert_eq!(topics, vec!["😀".to_string(), "\u{ff61}".to_string()]);
        assert_eq!("😀".cmp("\u{ff61}"), Ordering::Greater);
    }

    proptest! {
        /// Our escaper produces JSON that any JSON parser reads back as the same text, and it
        /// agrees with serde_json everywhere except the characters JavaScript leaves alone.
        #[test]
        fn escaped_text_round_trips(text in any::<String>()) {
            let mut out = String::new();
            push_js_json_string(&mut out, &text);
            let back: String = serde_json::from_str(&out).expect("valid JSON");
            prop_assert_eq!(back, text);
        }

        /// For every valid string, our escaper agrees byte for byte with serde_json, whose
        /// string escaping is JavaScript's (same short escapes, lowercase `\u00xx`, nothing
        /// else escaped): an independent oracle for `JSON.stringify`.
        #[test]
        fn escaping_matches_an_independent_serializer(text in any::<String>()) {
            let mut out = String::new();
            push_js_json_string(&mut out, &text);
            prop_assert_eq!(out, serde_json::to_string(&text).expect("serializes"));
        }

        /// The id does not depend on the order topics are given in.
        #[test]
        fn id_ignores_topic_order(sdp in any::<String>(), mut topics in proptest::collection::vec(any::<String>(), 0..6)) {
            let id = offer_id(&sdp, &topics);
            topics.reverse();
            prop_assert_eq!(offer_id(&sdp, &topics), id.clone());
            prop_assert_eq!(id.len(), 64);
            prop_assert!(id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
    }
}
