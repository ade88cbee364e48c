//! One connection per pair of peers, decided the same way on both sides.

/// Which side of a connection we played.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// We published the offer and the remote answered it.
    Offerer,
    /// The remote published the offer and we answered it.
    Answerer,
}

/// When two peers find and answer each other at once they end up with two connections. Both
/// keep the one made through the offer of the peer with the lower peer id, so both close the
/// same one and exactly one remains.
///
/// ```
/// use rondevu_discovery::{keeps_connection, Role};
///
/// // "a" < "b": the connection through a's offer survives on both sides.
/// assert!(keeps_connection("a", "b", Role::Offerer));   // seen by a
/// assert!(keeps_connection("b", "a", Role::Answerer));  // seen by b
/// assert!(!keeps_connection("a", "b", Role::Answerer)); // a answered b's offer: close it
/// assert!(!keeps_connection("b", "a", Role::Offerer));
/// ```
pub fn keeps_connection(own_peer_id: &str, remote_peer_id: &str, role: Role) -> bool {
    let offerer = match role {
        Role::Offerer => own_peer_id,
        Role::Answerer => remote_peer_id,
    };
    offerer == own_peer_id.min(remote_peer_id)
}
