//! Stateless peer credentials: AES-256-GCM over the peer id, and the `Authorization` header.
//!
//! A secret is `base64(IV ‖ AES-256-GCM(key, IV, utf8(peerId)) ‖ tag)` with a 12-byte random
//! IV and no associated data, exactly as the reference server makes it, so credentials issued
//! by either server verify on the other when both share the same `AUTH_SECRET`.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

/// Length of the GCM nonce (IV) at the front of a secret.
const IV_LEN: usize = 12;
/// Length of the GCM authentication tag.
const TAG_LEN: usize = 16;
/// Longest secret we bother to decode (a 32-character peer id makes 80 base64 characters).
const MAX_SECRET_LEN: usize = 512;

/// Why an `Authorization` header was refused (each maps to a 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No `Authorization` header at all.
    #[error("Missing Authorization header")]
    MissingHeader,
    /// Not `Bearer <token>` (two space-separated parts, the first `Bearer`).
    #[error("Invalid Authorization header format. Expected: Bearer <peerId>:<secret>")]
    HeaderFormat,
    /// The token is not `<peerId>:<secret>`.
    #[error("Invalid credentials format. Expected: <peerId>:<secret>")]
    TokenFormat,
    /// The secret does not decrypt to the peer id under the server key.
    #[error("Invalid credentials")]
    InvalidCredentials,
}

/// Errors making an [`AuthSecret`].
#[derive(Debug, thiserror::Error)]
pub enum AuthSecretError {
    /// The text is not 64 hexadecimal characters.
    #[error("AUTH_SECRET must be 64 hexadecimal characters (32 bytes)")]
    BadHex,
    /// The operating system's random source failed.
    #[error("could not read random bytes: {0}")]
    Random(String),
}

/// The server's 32-byte credential key (`AUTH_SECRET`).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthSecret([u8; 32]);

impl fmt::Debug for AuthSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthSecret(..)")
    }
}

impl AuthSecret {
    /// Parses 64 hexadecimal characters (either case).
    pub fn from_hex(text: &str) -> Result<Self, AuthSecretError> {
        let text = text.trim();
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return Err(AuthSecretError::BadHex);
        }
        let mut key = [0u8; 32];
        for (slot, pair) in key.iter_mut().zip(bytes.chunks_exact(2)) {
            let high = hex_value(pair[0]).ok_or(AuthSecretError::BadHex)?;
            let low = hex_value(pair[1]).ok_or(AuthSecretError::BadHex)?;
            *slot = (high << 4) | low;
        }
        Ok(Self(key))
    }

    /// Uses the given raw key bytes.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self(key)
    }

    /// Generates a random key from the operating system.
    pub fn generate() -> Result<Self, AuthSecretError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|error| AuthSecretError::Random(error.to_string()))?;
        Ok(Self(key))
    }

    /// The key as 64 lowercase hex characters (for persisting it).
    pub fn to_hex(&self) -> String {
        lower_hex(&self.0)
    }
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

/// Lowercase hex of `bytes`.
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 0x0f)] as char);
    }
    text
}

/// Issues and checks credentials under one [`AuthSecret`].
#[derive(Clone)]
pub struct Authenticator {
    cipher: Aes256Gcm,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authenticator(..)")
    }
}

/// A freshly registered peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    /// 16 random bytes as 32 lowercase hex characters.
    pub peer_id: String,
    /// The stateless secret proving ownership of `peer_id`.
    pub secret: String,
}

impl Authenticator {
    /// An authenticator for `key`.
    pub fn new(key: &AuthSecret) -> Self {
        let cipher = Aes256Gcm::new(&key.0.into());
        Self { cipher }
    }

    /// Makes a new random peer id and its secret.
    pub fn register(&self) -> Result<IssuedCredentials, AuthSecretError> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|error| AuthSecretError::Random(error.to_string()))?;
        let peer_id = lower_hex(&id);
        let secret = self.secret_for(&peer_id)?;
        Ok(IssuedCredentials { peer_id, secret })
    }

    /// Encrypts `peer_id` under a fresh random IV: the secret for that peer.
    pub fn secret_for(&self, peer_id: &str) -> Result<String, AuthSecretError> {
        let mut iv = [0u8; IV_LEN];
        getrandom::fill(&mut iv).map_err(|error| AuthSecretError::Random(error.to_string()))?;
        let nonce = Nonce::from(iv);
        let sealed = self
            .cipher
            .encrypt(&nonce, peer_id.as_bytes())
            .map_err(|_| AuthSecretError::Random("AES-GCM refused to encrypt".to_string()))?;
        let mut bytes = Vec::with_capacity(IV_LEN + sealed.len());
        bytes.extend_from_slice(&iv);
        bytes.extend_from_slice(&sealed);
        Ok(BASE64.encode(bytes))
    }

    /// True when `secret` decrypts under our key to exactly `peer_id`.
    pub fn verify(&self, peer_id: &str, secret: &str) -> bool {
        if secret.len() > MAX_SECRET_LEN {
            return false;
        }
        let Ok(bytes) = BASE64.decode(secret) else {
            return false;
        };
        if bytes.len() < IV_LEN + TAG_LEN {
            return false;
        }
        let (iv, sealed) = bytes.split_at(IV_LEN);
        let Ok(iv) = <[u8; IV_LEN]>::try_from(iv) else {
            return false;
        };
        match self.cipher.decrypt(&Nonce::from(iv), sealed) {
            Ok(plain) => plain == peer_id.as_bytes(),
            Err(_) => false,
        }
    }

    /// Checks an `Authorization` header value; on success returns the caller's peer id.
    pub fn authenticate(&self, header: Option<&str>) -> Result<String, AuthFailure> {
        let header = header.ok_or(AuthFailure::MissingHeader)?;
        let mut parts = header.split(' ');
        let (Some(scheme), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(AuthFailure::HeaderFormat);
        };
        if scheme != "Bearer" {
            return Err(AuthFailure::HeaderFormat);
        }
        let mut pieces = token.split(':');
        let (Some(peer_id), Some(secret), None) = (pieces.next(), pieces.next(), pieces.next())
        else {
            return Err(AuthFailure::TokenFormat);
        };
        if self.verify(peer_id, secret) {
            Ok(peer_id.to_string())
        } else {
            Err(AuthFailure::InvalidCredentials)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(serde::Deserialize)]
    struct Vector {
        auth_secret_hex: String,
        peer_id: String,
        secret: String,
        tampered_secret: String,
        tampered_valid: bool,
    }

    fn vectors() -> Vec<Vector> {
        // A copy of `shared/vectors/credentials.json`, made by the JavaScript reference.
        serde_json::from_str(include_str!("../testdata/credentials.json")).expect("vectors parse")
    }

    #[test]
    fn reference_secrets_verify_and_tampered_ones_do_not() {
        let vectors = vectors();
        assert!(!vectors.is_empty());
        for vector in &vectors {
            let key = AuthSecret::from_hex(&vector.auth_secret_hex).expect("vector key");
            let auth = Authenticator::new(&key);
            assert!(
                auth.verify(&vector.peer_id, &vector.secret),
                "{}",
                vector.peer_id
            );
            assert_eq!(
                auth.verify(&vector.peer_id, &vector.tampered_secret),
                vector.tampered_valid
            );
            let header = format!("Bearer {}:{}", vector.peer_id, vector.secret);
            assert_eq!(auth.authenticate(Some(&header)), Ok(vector.peer_id.clone()));
        }
    }

    #[test]
    fn header_forms_map_to_their_failures() {
        let auth = Authenticator::new(&AuthSecret::from_bytes([7; 32]));
        let issued = auth.register().expect("register");
        let good = format!("Bearer {}:{}", issued.peer_id, issued.secret);
        assert_eq!(auth.authenticate(Some(&good)), Ok(issued.peer_id.clone()));
        assert_eq!(auth.authenticate(None), Err(AuthFailure::MissingHeader));
        for bad in [
            "Bearer",
            "Basic a:b",
            "Bearer  a:b",
            "bearer a:b",
            "Bearer a:b c",
        ] {
            assert_eq!(
                auth.authenticate(Some(bad)),
                Err(AuthFailure::HeaderFormat),
                "{bad}"
            );
        }
        for bad in ["Bearer ab", "Bearer a:b:c", "Bearer "] {
            assert_eq!(
                auth.authenticate(Some(bad)),
                Err(AuthFailure::TokenFormat),
                "{bad}"
            );
        }
        let other = auth.register().expect("register");
        let swapped = format!("Bearer {}:{}", other.peer_id, issued.secret);
        assert_eq!(
            auth.authenticate(Some(&swapped)),
            Err(AuthFailure::InvalidCredentials)
        );
        let foreign = Authenticator::new(&AuthSecret::from_bytes([8; 32]));
        assert_eq!(
            foreign.authenticate(Some(&good)),
            Err(AuthFailure::InvalidCredentials)
        );
    }

    #[test]
    fn registered_peer_ids_are_32_lowercase_hex() {
        let auth = Authenticator::new(&AuthSecret::generate().expect("random"));
        let issued = auth.register().expect("register");
        assert_eq!(issued.peer_id.len(), 32);
        assert!(issued
            .peer_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    #[test]
    fn auth_secret_hex_is_checked() {
        assert!(AuthSecret::from_hex("zz").is_err());
        assert!(AuthSecret::from_hex(&"g".repeat(64)).is_err());
        let key = AuthSecret::from_hex(&"aB".repeat(32)).expect("hex");
        assert_eq!(key.to_hex(), "ab".repeat(32));
    }

    proptest! {
        /// Arbitrary header text never panics and never authenticates.
        #[test]
        fn random_headers_never_authenticate(header in any::<String>()) {
            let auth = Authenticator::new(&AuthSecret::from_bytes([1; 32]));
            prop_assert!(auth.authenticate(Some(&header)).is_err());
        }
    }
}
