// JS seeder → JS leecher through our Rust Rondevu server, by magnet, SHA-256 compared.
// Covers proper trickle both ways and the reference client's habits (offerer posts no
// candidates: the connection forms through peer-reflexive discovery).
//
// Run: RONDEVU_BIN=/work/target/debug/rondevu node --test test/js-js.mjs

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { isolateNetwork } from '../lib/netns.mjs'
import { rondevuBinary, startServer, spawnScript, tempDir, writeRandomFile, sha256File } from './support.mjs'

isolateNetwork()

const FILE_SIZE = 4 * 1024 * 1024
const PEER_TIMEOUT_SECS = 40
const { bin, skip } = rondevuBinary()

let server
before(async () => { if (bin) server = await startServer(bin) })
after(async () => { if (server) await server.stop() })

/**
 * Seeds a random file with `seedFlags`, fetches it by magnet with `getFlags`, checks the bytes,
 * and returns what the leecher reported.
 */
async function transfer (seedFlags, getFlags) {
  const work = tempDir()
  const seeder = { stop: async () => {} }
  try {
    const source = path.join(work.dir, 'source.bin')
    const expected = writeRandomFile(source, FILE_SIZE)
    const common = ['--server', server.url, '--timeout', String(PEER_TIMEOUT_SECS)]
    Object.assign(seeder, spawnScript('rondevu-peer.mjs', ['seed', source, ...common, ...seedFlags], { name: 'seed' }))
    const ready = await seeder.waitFor('ready', 15_000)
    assert.match(ready.infoHash, /^[0-9a-f]{40}$/)
    assert.ok(ready.magnet.startsWith(`magnet:?xt=urn:btih:${ready.infoHash}`))

    const out = path.join(work.dir, 'out')
    const leecher = spawnScript('rondevu-peer.mjs', ['get', ready.magnet, '--out', out, ...common, ...getFlags], { name: 'get' })
    const firstPeer = await leecher.waitFor('peer', 35_000)
    const done = await leecher.waitFor('done', 35_000)
    const { code } = await leecher.exited
    assert.equal(code, 0, `leecher exit code; stderr:\n${leecher.stderr().slice(-2000)}`)
    assert.equal(done.bytes, FILE_SIZE)
    assert.equal(await sha256File(path.join(out, 'source.bin')), expected, 'downloaded bytes differ from the seeded ones')
    assert.ok(seeder.events.some(e => e.event === 'peer'), 'the seeder never reported its peer')

    await seeder.stop()
    const seederExit = await seeder.exited
    assert.equal(seederExit.code, 0, 'seeder stops cleanly on SIGTERM')
    assert.ok(seeder.events.some(e => e.event === 'stopped'))
    return { firstPeer, done, seederPeers: seeder.events.filter(e => e.event === 'peer') }
  } finally {
    await seeder.stop()
    work.cleanup()
  }
}

test('default mode both ways: trickle, adaptive polling', { skip, timeout: 60_000 }, async () => {
  const { firstPeer } = await transfer([], [])
  assert.equal(firstPeer.label, 'webtorrent')
  assert.ok(firstPeer.candidatesPosted > 0 && firstPeer.candidatesReceived + firstPeer.sdpCandidatesReceived > 0, 'trickle both ways')
})

test('leecher as reference client (both roles)', { skip, timeout: 60_000 }, async () => {
  await transfer([], ['--reference-client'])
})

test('reference seeder only offers (posts no candidates): leecher answers, peer-reflexive', { skip, timeout: 60_000 }, async () => {
  const { firstPeer, seederPeers } = await transfer(['--reference-client', '--signal-role', 'offerer'], ['--signal-role', 'answerer'])
  assert.equal(firstPeer.role, 'answerer')
  assert.equal(firstPeer.label, 'data', 'the reference client labels its channel "data"')
  assert.equal(firstPeer.candidatesReceived + firstPeer.sdpCandidatesReceived, 0, 'the reference offerer must not have sent any candidate')
  assert.ok(firstPeer.candidatesPosted > 0)
  assert.ok(seederPeers.every(p => p.role === 'offerer' && p.candidatesPosted === 0))
})

test('reference leecher only offers (posts no candidates): seeder answers', { skip, timeout: 60_000 }, async () => {
  const { firstPeer, seederPeers } = await transfer(['--signal-role', 'answerer'], ['--reference-client', '--signal-role', 'offerer'])
  assert.equal(firstPeer.role, 'offerer')
  assert.equal(firstPeer.candidatesPosted, 0)
  assert.ok(seederPeers.every(p => p.role === 'answerer' && p.candidatesReceived + p.sdpCandidatesReceived === 0))
})

test('both reference clients: answerer posts only its early candidates', { skip, timeout: 60_000 }, async () => {
  const { firstPeer } = await transfer(['--reference-client', '--signal-role', 'offerer'], ['--reference-client', '--signal-role', 'answerer'])
  assert.equal(firstPeer.role, 'answerer')
  assert.equal(firstPeer.label, 'data')
  assert.equal(firstPeer.candidatesReceived + firstPeer.sdpCandidatesReceived, 0)
})
