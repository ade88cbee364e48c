//! Trickle ICE candidates in the browser's JSON form (`RTCIceCandidateInit`), and the rules for
//! which remote candidates a UDP-only peer can use.

use serde::{Deserialize, Serialize};
use str0m::Candidate;

use crate::Error;

/// An ICE candidate as browsers and libwebrtc trickle it: the JSON of `RTCIceCandidateInit`
/// (`{"candidate":"candidate:…","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"…"}`).
///
/// An empty `candidate` string means end-of-candidates.
///
/// ```
/// use rondevu_rtc::IceCandidateInit;
/// let json = r#"{"candidate":"candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"abcd"}"#;
/// let init: IceCandidateInit = serde_json::from_str(json).unwrap();
/// assert_eq!(init.sdp_mid.as_deref(), Some("0"));
/// assert_eq!(serde_json::to_string(&init).unwrap(), json);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidateInit {
    /// The `candidate:` attribute line without `a=`; empty for end-of-candidates.
    #[serde(default)]
    pub candidate: String,
    /// The media stream identification tag of the m-line the candidate belongs to.
    #[serde(default)]
    pub sdp_mid: Option<String>,
    /// The index of the m-line the candidate belongs to.
    #[serde(default, rename = "sdpMLineIndex")]
    pub sdp_m_line_index: Option<u16>,
    /// The ICE username fragment of the session the candidate belongs to.
    #[serde(default)]
    pub username_fragment: Option<String>,
}

impl IceCandidateInit {
    /// The JSON form of one of our local candidates, for the m-line `mid` of session `ufrag`.
    pub fn from_local(candidate: &Candidate, mid: Option<&str>, ufrag: Option<&str>) -> Self {
        IceCandidateInit {
            candidate: candidate.to_sdp_string(),
            sdp_mid: mid.map(str::to_owned),
            sdp_m_line_index: Some(0),
            username_fragment: ufrag.map(str::to_owned),
        }
    }

    /// True for the end-of-candidates marker (an empty `candidate` string).
    pub fn is_end_of_candidates(&self) -> bool {
        self.candidate.trim().is_empty()
    }
}

/// Why a remote candidate was not handed to ICE. None of these is an error: browsers and
/// libwebrtc announce such candidates routinely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The empty end-of-candidates marker.
    EndOfCandidates,
    /// A TCP candidate; this stack speaks UDP only.
    Tcp,
    /// A host hidden behind an mDNS name (`<uuid>.local`); there is no mDNS resolver here.
    Mdns,
    /// The address is outside the peer's address scope (e.g. not loopback under the loopback
    /// policy).
    OutsideScope,
}

/// What became of a remote candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateOutcome {
    /// Handed to ICE.
    Added,
    /// Ignored, for the given reason.
    Skipped(SkipReason),
}

/// Classifies and parses a remote candidate line (`candidate:…`, with or without `a=`).
///
/// Returns `Ok(Err(reason))` for candidates to skip, `Ok(Ok(candidate))` for usable ones and
/// `Err` for malformed ones.
pub(crate) fn parse_remote(
    line: &str,
    loopback_only: bool,
) -> Result<Result<Candidate, SkipReason>, Error> {
    let line = line.trim();
    let line = line.strip_prefix("a=").unwrap_or(line);
    if line.is_empty() {
        return Ok(Err(SkipReason::EndOfCandidates));
    }
    let malformed = |reason: String| Error::MalformedCandidate {
        candidate: line.to_owned(),
        reason,
    };
    let mut fields = line.split_ascii_whitespace();
    let protocol = fields
        .nth(2)
        .ok_or_else(|| malformed("too few fields".into()))?;
    let address = fields
        .nth(1)
        .ok_or_else(|| malformed("too few fields".into()))?;
    if protocol.eq_ignore_ascii_case("tcp") {
        return Ok(Err(SkipReason::Tcp));
    }
    if address.to_ascii_lowercase().ends_with(".local") {
        return Ok(Err(SkipReason::Mdns));
    }
    let candidate =
        Candidate::from_sdp_string(line).map_err(|error| malformed(error.to_string()))?;
    if loopback_only && !candidate.addr().ip().is_loopback() {
        return Ok(Err(SkipReason::OutsideScope));
    }
    Ok(Ok(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "candidate:842163049 1 udp 1677729535 127.0.0.1 46154 typ host generation 0 ufrag sXtX network-cost 999";

    #[test]
    fn parses_libwebrtc_host_candidate() {
        let candidate = parse_remote(HOST, true).unwrap().unwrap();
        assert_eq!(candidate.addr(), "127.0.0.1:46154".parse().unwrap());
    }

    #[test]
    fn skips_what_a_udp_stack_cannot_use() {
        let tcp = "candidate:1 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active";
        let mdns = "candidate:2 1 udp 2122260223 1c8b1a1e-0b8a-4a7e-8a8a-4c2f0e8e6c9a.local 54321 typ host";
        let lan = "candidate:3 1 udp 2122260223 192.168.1.20 54321 typ host";
        assert_eq!(parse_remote(tcp, false).unwrap(), Err(SkipReason::Tcp));
        assert_eq!(parse_remote(mdns, false).unwrap(), Err(SkipReason::Mdns));
        assert_eq!(
            parse_remote("", false).unwrap(),
            Err(SkipReason::EndOfCandidates)
        );
        assert_eq!(
            parse_remote(lan, true).unwrap(),
            Err(SkipReason::OutsideScope)
        );
        assert!(parse_remote(lan, false).unwrap().is_ok());
    }

    #[test]
    fn malformed_candidates_are_typed_errors() {
        for bad in [
            "candidate:",
            "candidate:1 1 udp",
            "candidate:1 1 udp x 127.0.0.1 5 typ host",
            "candidate:1 1 udp 1 127.0.0.1 99999 typ host",
            "candidate:1 1 udp 1 not-an-ip 5 typ host",
            "candidate:1 1 udp 1 127.0.0.1 5 typ alien",
            "garbage",
        ] {
            assert!(
                matches!(
                    parse_remote(bad, false),
                    Err(Error::MalformedCandidate { .. })
                ),
                "{bad}"
            );
        }
    }
}
