#!/usr/bin/env node
// JS → JS throughput through our Rust Rondevu server: one JS seeder, `--runs` fresh JS leechers
// one after another, each fetching the same random file by magnet.
//
//   RONDEVU_BIN=/path/to/rondevu node bench/js-js.mjs [--size-mib 64] [--runs 3] [--reference-client] [--browser]
//
// --browser: the leecher is headless Chromium (browser/run.mjs) instead of rondevu-peer.mjs.
//
// stdout: a JSON line per run {event: "run", firstPeerMs, doneMs, mbps, transferMbps}, then
// {event: "summary", median...}. mbps = bytes / leecher start→done; transferMbps = bytes /
// first peer→done. MB = 10^6 bytes. Runs inside a fresh network namespace like the tests.

import { parseArgs } from 'node:util'
import path from 'node:path'
import { isolateNetwork } from '../lib/netns.mjs'
import { rondevuBinary, startServer, spawnScript, tempDir, writeRandomFile, sha256File } from '../test/support.mjs'

isolateNetwork()

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '64' },
    runs: { type: 'string', default: '3' },
    'reference-client': { type: 'boolean', default: false },
    browser: { type: 'boolean', default: false }
  }
})
const size = Number(values['size-mib']) * 1024 * 1024
const runs = Number(values.runs)
const { bin, skip } = rondevuBinary()
if (skip) {
  process.stderr.write(`${skip}\n`)
  process.exit(1)
}

const median = list => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]
const server = await startServer(bin)
const work = tempDir('rondevu-bench-')
const flags = values['reference-client'] ? ['--reference-client'] : []
const seeder = spawnScript('rondevu-peer.mjs', ['seed', path.join(work.dir, 'source.bin'), '--server', server.url, '--timeout', String(60 + runs * 60), ...flags], { name: 'seed' })
try {
  const expected = writeRandomFile(path.join(work.dir, 'source.bin'), size)
  const { magnet } = await seeder.waitFor('ready', 60_000)
  const results = []
  for (let run = 0; run < runs; run++) {
    const out = path.join(work.dir, `out-${run}`)
    const leecher = values.browser
      ? spawnScript('browser/run.mjs', [magnet, '--server', server.url, '--timeout', '120', ...flags], { name: 'browser' })
      : spawnScript('rondevu-peer.mjs', ['get', magnet, '--out', out, '--server', server.url, '--timeout', '120', ...flags], { name: 'get' })
    const peer = await leecher.waitFor('peer', 60_000)
    const done = await leecher.waitFor('done', 120_000)
    await leecher.exited
    const got = values.browser ? done.files[0].sha256 : await sha256File(path.join(out, 'source.bin'))
    if (got !== expected) throw new Error('downloaded bytes differ')
    const result = {
      firstPeerMs: peer.ms,
      doneMs: done.ms,
      mbps: +(size / 1e3 / done.ms).toFixed(1),
      transferMbps: +(size / 1e3 / (done.ms - peer.ms)).toFixed(1)
    }
    results.push(result)
    console.log(JSON.stringify({ event: 'run', run, sizeBytes: size, ...result }))
  }
  console.log(JSON.stringify({
    event: 'summary',
    runs,
    sizeBytes: size,
    medianFirstPeerMs: median(results.map(r => r.firstPeerMs)),
    medianDoneMs: median(results.map(r => r.doneMs)),
    medianMbps: median(results.map(r => r.mbps)),
    medianTransferMbps: median(results.map(r => r.transferMbps))
  }))
} finally {
  await seeder.stop()
  await server.stop()
  work.cleanup()
}
