//! Every vector in `shared/vectors/bloom-hash.json` and `bloom-filters.json`, made by the
//! reference implementation, must come out the same here.

use std::path::PathBuf;

use peer_bloom::{hash, PeerBloom, SERVER_HASHES};
use serde::Deserialize;

#[derive(Deserialize)]
struct HashVector {
    input: String,
    seed: u32,
    hash: u32,
}

#[derive(Deserialize)]
struct FilterVector {
    size_bits: usize,
    num_hashes: u32,
    added: Vec<String>,
    base64: String,
    client_test_added: bool,
    queries: Vec<Query>,
}

#[derive(Deserialize)]
struct Query {
    peer_id: String,
    server_test: bool,
}

fn vectors<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<T> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error} (is ../shared beside the repository?)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn hashes_match_the_reference() {
    let vectors: Vec<HashVector> = vectors("bloom-hash.json");
    assert!(vectors.len() > 1000);
    for vector in &vectors {
        assert_eq!(
            hash(&vector.input, vector.seed),
            vector.hash,
            "hash({:?}, {})",
            vector.input,
            vector.seed
        );
    }
}

#[test]
fn filters_have_the_reference_bytes() {
    let vectors: Vec<FilterVector> = vectors("bloom-filters.json");
    assert!(!vectors.is_empty());
    for vector in &vectors {
        let mut filter = PeerBloom::new(vector.size_bits, vector.num_hashes).unwrap();
        for id in &vector.added {
            filter.insert(id);
        }
        assert_eq!(
            filter.to_base64(),
            vector.base64,
            "filter {} bits, k={}, {} ids",
            vector.size_bits,
            vector.num_hashes,
            vector.added.len()
        );
        let all_added_found = vector.added.iter().all(|id| filter.contains(id));
        assert_eq!(all_added_found, vector.client_test_added);
    }
}

#[test]
fn server_membership_matches_the_reference() {
    let vectors: Vec<FilterVector> = vectors("bloom-filters.json");
    for vector in &vectors {
        // The server reads the bytes back with m = 8 × byte length and always k = 3.
        let on_server = PeerBloom::from_base64(&vector.base64, SERVER_HASHES).unwrap();
        assert_eq!(on_server.bit_len(), vector.base64_bytes() * 8);
        for query in &vector.queries {
            assert_eq!(
                on_server.contains(&query.peer_id),
                query.server_test,
                "server test of {} against a {}-bit k={} filter",
                query.peer_id,
                vector.size_bits,
                vector.num_hashes
            );
        }
    }
}

impl FilterVector {
    fn base64_bytes(&self) -> usize {
        self.size_bits.div_ceil(8)
    }
}
