// bad-peer.mjs against a JS seeder: it joins through our Rust server, completes the BitTorrent
// handshake (the seeder's info-hash comes back), sends garbage, and a good leecher still gets
// the whole file meanwhile. (Whether WebTorrent drops the bad peer is WebTorrent's business;
// the Rust tests use bad-peer.mjs to check that OUR side drops it.)
//
// Run: RONDEVU_BIN=/work/target/debug/rondevu node --test test/bad-peer.mjs

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import path from 'node:path'
import { isolateNetwork } from '../lib/netns.mjs'
import { rondevuBinary, startServer, spawnScript, tempDir, writeRandomFile, sha256File } from './support.mjs'

isolateNetwork()

const { bin, skip } = rondevuBinary()
let server
before(async () => { if (bin) server = await startServer(bin) })
after(async () => { if (server) await server.stop() })

test('bad peer handshakes, sends garbage, and a good leecher still completes', { skip, timeout: 60_000 }, async () => {
  const work = tempDir()
  const children = []
  try {
    const source = path.join(work.dir, 'source.bin')
    const expected = writeRandomFile(source, 2 * 1024 * 1024)
    const common = ['--server', server.url, '--timeout', '40']
    const seeder = spawnScript('rondevu-peer.mjs', ['seed', source, ...common], { name: 'seed' })
    children.push(seeder)
    const { infoHash, magnet } = await seeder.waitFor('ready', 15_000)

    const bad = spawnScript('bad-peer.mjs', [infoHash, ...common, '--garbage', 'bad-piece', '--drop-wait', '3'], { name: 'bad' })
    children.push(bad)
    const handshake = await bad.waitFor('handshake', 30_000)
    assert.equal(handshake.infoHash, infoHash)
    assert.equal(handshake.reserved.slice(10, 12), '10', 'WebTorrent sets the extension-protocol bit')
    const sent = await bad.waitFor('garbage-sent', 5_000)
    assert.ok(sent.bytes > 16 * 1024)

    const out = path.join(work.dir, 'out')
    const leecher = spawnScript('rondevu-peer.mjs', ['get', magnet, '--out', out, ...common], { name: 'get' })
    children.push(leecher)
    await leecher.waitFor('done', 30_000)
    assert.equal((await leecher.exited).code, 0)
    assert.equal(await sha256File(path.join(out, 'source.bin')), expected)

    const { code } = await bad.exited
    const verdict = bad.events.find(e => e.event === 'dropped' || e.event === 'still-open')
    assert.ok(verdict, 'bad-peer reports whether it was dropped')
    assert.equal(code, verdict.event === 'dropped' ? 0 : 3)
  } finally {
    await Promise.all(children.map(child => child.stop()))
    work.cleanup()
  }
})
