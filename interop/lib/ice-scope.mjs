// Network safety: only loopback ICE candidates (127.0.0.0/8, ::1) are ever announced or
// accepted. Isomorphic.

/** True for 127.0.0.0/8 and ::1 (in any spelling). */
export function isLoopbackAddress (address) {
  if (typeof address !== 'string') return false
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase()
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)) return true
  return bare === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(bare) || bare === '0:0:0:0:0:0:0:1'
}

/**
 * Parses the interesting fields of an ICE candidate attribute
 * (`candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type> ...`).
 * Returns null when the text is not a candidate.
 */
export function parseCandidate (text) {
  if (typeof text !== 'string') return null
  const parts = text.trim().replace(/^a=/, '').replace(/^candidate:/, '').split(/\s+/)
  if (parts.length < 8 || parts[6] !== 'typ') return null
  const ufragAt = parts.indexOf('ufrag')
  return {
    protocol: parts[2].toLowerCase(),
    address: parts[4],
    port: Number(parts[5]),
    type: parts[7],
    ufrag: ufragAt > 0 ? parts[ufragAt + 1] : undefined
  }
}

/** Only UDP candidates on a loopback address pass (TCP ones are useless to UDP-only peers). */
export function isAllowedCandidateText (text) {
  const parsed = parseCandidate(text)
  return parsed !== null && parsed.protocol === 'udp' && isLoopbackAddress(parsed.address)
}

/**
 * Filters an RTCIceCandidateInit-like object. Returns the object (as an RTCIceCandidateInit with
 * usernameFragment when known) or null when it must be dropped, including the empty
 * end-of-candidates marker.
 */
export function allowedCandidateInit (init) {
  if (!init || typeof init !== 'object' || typeof init.candidate !== 'string' || init.candidate === '') return null
  if (!isAllowedCandidateText(init.candidate)) return null
  const out = { candidate: init.candidate, sdpMid: init.sdpMid ?? '0', sdpMLineIndex: init.sdpMLineIndex ?? 0 }
  const ufrag = init.usernameFragment ?? parseCandidate(init.candidate).ufrag
  if (ufrag) out.usernameFragment = ufrag
  return out
}

/** Removes every `a=candidate` line that is not a loopback UDP candidate from an SDP. */
export function loopbackOnlySdp (sdp) {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n'
  return sdp.split(eol)
    .filter(line => !line.startsWith('a=candidate:') || isAllowedCandidateText(line))
    .join(eol)
}

/** Removes every `a=candidate` line (what an SDP looks like before gathering has begun). */
export function withoutCandidates (sdp) {
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n'
  return sdp.split(eol).filter(line => !line.startsWith('a=candidate:')).join(eol)
}
