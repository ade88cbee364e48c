// Headless Chromium (WebTorrent's browser build + our signaling modules) fetches a magnet from a
// JS seeder through our Rust server; the page's SHA-256 of the file must match.
// Skips when Chromium is missing, unless RONDEVU_REQUIRE_BROWSER=1.
//
// Run: RONDEVU_BIN=/work/target/debug/rondevu node test/browser.mjs

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { isolateNetwork } from '../lib/netns.mjs'
import { rondevuBinary, startServer, spawnScript, tempDir, writeRandomFile } from './support.mjs'

isolateNetwork()

const chromium = process.env.RONDEVU_CHROMIUM || '/usr/bin/chromium'
const { bin, skip: noServer } = rondevuBinary()
const noBrowser = !existsSync(chromium) && process.env.RONDEVU_REQUIRE_BROWSER !== '1'
  ? `no Chromium at ${chromium} (apt-get install -y chromium; RONDEVU_REQUIRE_BROWSER=1 turns this skip into a failure)`
  : false
const skip = noServer || noBrowser

let server
before(async () => { if (bin && !skip) server = await startServer(bin) })
after(async () => { if (server) await server.stop() })

async function browserFetch (seedFlags, browserFlags) {
  const work = tempDir()
  const children = []
  try {
    const source = path.join(work.dir, 'source.bin')
    const expected = writeRandomFile(source, 4 * 1024 * 1024)
    const seeder = spawnScript('rondevu-peer.mjs', ['seed', source, '--server', server.url, '--timeout', '80', ...seedFlags], { name: 'seed' })
    children.push(seeder)
    const { magnet } = await seeder.waitFor('ready', 15_000)
    const browser = spawnScript('browser/run.mjs', [magnet, '--server', server.url, '--timeout', '60', ...browserFlags], { name: 'browser' })
    children.push(browser)
    const peer = await browser.waitFor('peer', 45_000)
    const done = await browser.waitFor('done', 45_000)
    assert.equal((await browser.exited).code, 0, browser.stderr().slice(-2000))
    assert.equal(done.bytes, 4 * 1024 * 1024)
    assert.equal(done.files.length, 1)
    assert.equal(done.files[0].sha256, expected, 'the browser got other bytes than the seeded ones')
    return { peer }
  } finally {
    await Promise.all(children.map(child => child.stop()))
    work.cleanup()
  }
}

test('browser leecher fetches from a JS seeder (default signaling)', { skip, timeout: 90_000 }, async () => {
  const { peer } = await browserFetch([], [])
  assert.ok(peer.candidatesPosted + peer.candidatesReceived + peer.sdpCandidatesReceived > 0)
})

test('browser answers a reference-client seeder that posts no candidates', { skip, timeout: 90_000 }, async () => {
  const { peer } = await browserFetch(['--reference-client', '--signal-role', 'offerer'], ['--signal-role', 'answerer'])
  assert.equal(peer.role, 'answerer')
  assert.equal(peer.label, 'data')
  assert.equal(peer.candidatesReceived + peer.sdpCandidatesReceived, 0)
})
