//! The few facts this crate reads from session descriptions itself: the remote's data channel
//! message size limit (`a=max-message-size`), and the `a=mid` / `a=ice-ufrag` our trickled
//! candidates must carry.

/// The limit assumed when the remote announces no `a=max-message-size` (RFC 8841 §6).
pub const DEFAULT_REMOTE_MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// The largest message we ever send in one piece, whatever the remote announces (`0`, meaning
/// "no limit", included): larger messages only cost latency and memory.
pub const SEND_MESSAGE_SIZE_CEILING: usize = 256 * 1024;

/// The message size limit the remote announces in `sdp` (`a=max-message-size`), capped at
/// [`SEND_MESSAGE_SIZE_CEILING`]. Absent or unparsable: the RFC 8841 default.
pub fn remote_max_message_size(sdp: &str) -> usize {
    let announced = attribute_values(sdp, "max-message-size")
        .find_map(|value| value.trim().parse::<u64>().ok());
    match announced {
        None => DEFAULT_REMOTE_MAX_MESSAGE_SIZE,
        Some(0) => SEND_MESSAGE_SIZE_CEILING,
        Some(size) => usize::try_from(size)
            .unwrap_or(usize::MAX)
            .min(SEND_MESSAGE_SIZE_CEILING),
    }
}

/// The first `a=mid:` value in `sdp`.
pub fn first_mid(sdp: &str) -> Option<String> {
    attribute_values(sdp, "mid")
        .next()
        .map(|v| v.trim().to_owned())
}

/// The first `a=ice-ufrag:` value in `sdp`.
pub fn first_ice_ufrag(sdp: &str) -> Option<String> {
    attribute_values(sdp, "ice-ufrag")
        .next()
        .map(|v| v.trim().to_owned())
}

/// The `a=candidate:` lines of `sdp`, without the `a=`.
pub fn candidate_lines(sdp: &str) -> impl Iterator<Item = &str> {
    sdp.lines()
        .filter_map(|line| line.trim().strip_prefix("a="))
        .filter(|attribute| attribute.starts_with("candidate:"))
}

/// `sdp` without its `a=candidate:` lines (they are re-added one by one, through the same
/// filter as trickled candidates).
pub fn without_candidates(sdp: &str) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        if !line.trim_start().starts_with("a=candidate:") {
            out.push_str(line);
        }
    }
    out
}

fn attribute_values<'a>(sdp: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    sdp.lines().filter_map(move |line| {
        line.trim()
            .strip_prefix("a=")?
            .strip_prefix(name)?
            .strip_prefix(':')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBWEBRTC_ANSWER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
        a=candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host\r\n\
        a=ice-ufrag:Ab1x\r\na=ice-pwd:0123456789012345678901\r\na=mid:0\r\n\
        a=sctp-port:5000\r\na=max-message-size:262144\r\n";

    #[test]
    fn reads_the_announced_limit_and_identifiers() {
        assert_eq!(remote_max_message_size(LIBWEBRTC_ANSWER), 262_144);
        assert_eq!(first_mid(LIBWEBRTC_ANSWER).as_deref(), Some("0"));
        assert_eq!(first_ice_ufrag(LIBWEBRTC_ANSWER).as_deref(), Some("Ab1x"));
        assert_eq!(candidate_lines(LIBWEBRTC_ANSWER).count(), 1);
        let stripped = without_candidates(LIBWEBRTC_ANSWER);
        assert_eq!(candidate_lines(&stripped).count(), 0);
        assert!(stripped.contains("a=mid:0\r\n"));
    }

    #[test]
    fn absent_zero_and_huge_limits() {
        assert_eq!(remote_max_message_size("v=0\r\n"), 65_536);
        assert_eq!(
            remote_max_message_size("a=max-message-size:0\r\n"),
            SEND_MESSAGE_SIZE_CEILING
        );
        assert_eq!(
            remote_max_message_size("a=max-message-size:99999999999\r\n"),
            SEND_MESSAGE_SIZE_CEILING
        );
        assert_eq!(remote_max_message_size("a=max-message-size:1200\n"), 1200);
    }
}
