// The loopback-only candidate policy (lib/ice-scope.mjs): what may be announced or accepted.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { allowedCandidateInit, isLoopbackAddress, loopbackOnlySdp, parseCandidate, withoutCandidates } from '../lib/ice-scope.mjs'

const udp = (address, port = 50000, extra = '') => `candidate:1 1 udp 2122260223 ${address} ${port} typ host${extra}`

test('loopback addresses: 127.0.0.0/8 and ::1 only', () => {
  for (const address of ['127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', '[::1]', '0:0:0:0:0:0:0:1']) {
    assert.ok(isLoopbackAddress(address), address)
  }
  for (const address of ['192.0.2.2', 'fd00::2', 'fe80::1', '10.0.0.1', '0.0.0.0', '::', '128.0.0.1', '1127.0.0.1',
    '127.0.0.1.example', 'e0b6c5a4-8e1d-4c51-a7c1-7f1e0a0b9c2d.local', '', undefined, null, '::ffff:127.0.0.1']) {
    assert.ok(!isLoopbackAddress(address), String(address))
  }
})

test('candidate parsing', () => {
  assert.deepEqual(parseCandidate(udp('127.0.0.1', 4242, ' generation 0 ufrag AbCd')),
    { protocol: 'udp', address: '127.0.0.1', port: 4242, type: 'host', ufrag: 'AbCd' })
  assert.equal(parseCandidate('a=' + udp('::1')).address, '::1')
  assert.equal(parseCandidate(''), null)
  assert.equal(parseCandidate('candidate:garbage'), null)
  assert.equal(parseCandidate(42), null)
})

test('candidate inits: loopback UDP passes, everything else is dropped', () => {
  const kept = allowedCandidateInit({ candidate: udp('127.0.0.1', 1, ' ufrag xyz'), sdpMid: '0', sdpMLineIndex: 0 })
  assert.deepEqual(kept, { candidate: udp('127.0.0.1', 1, ' ufrag xyz'), sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'xyz' })
  assert.ok(allowedCandidateInit({ candidate: udp('::1') }))
  for (const init of [
    { candidate: udp('192.0.2.2') },
    { candidate: udp('fd00::2') },
    { candidate: udp('e0b6c5a4-8e1d-4c51-a7c1-7f1e0a0b9c2d.local') },
    { candidate: 'candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active' },
    { candidate: 'candidate:3 1 udp 1686052607 127.0.0.1 5000 typ srflx raddr 192.0.2.2 rport 5000'.replace('127.0.0.1', '203.0.113.9') },
    { candidate: '' }, // end-of-candidates
    {},
    null,
    'candidate:1 1 udp 1 127.0.0.1 1 typ host'
  ]) {
    assert.equal(allowedCandidateInit(init), null, JSON.stringify(init))
  }
})

test('SDP: non-loopback candidate lines removed, others kept; withoutCandidates removes all', () => {
  const sdp = ['v=0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
    'a=' + udp('192.0.2.2'), 'a=' + udp('127.0.0.1'), 'a=' + udp('::1'), 'a=' + udp('fd00::2'), 'a=mid:0', ''].join('\r\n')
  const filtered = loopbackOnlySdp(sdp)
  assert.equal(filtered, ['v=0', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0',
    'a=' + udp('127.0.0.1'), 'a=' + udp('::1'), 'a=mid:0', ''].join('\r\n'))
  assert.doesNotMatch(withoutCandidates(sdp), /a=candidate/)
  assert.match(withoutCandidates(sdp), /a=mid:0/)
})
