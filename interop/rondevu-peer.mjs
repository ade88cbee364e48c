#!/usr/bin/env node
// A WebTorrent peer (Node, @roamhq/wrtc) that finds its peers through a Rondevu v0.1 server.
//
//   node rondevu-peer.mjs seed <file> --server URL [--timeout S] [--max-peers N] [--label L] [--reference-client]
//   node rondevu-peer.mjs get <magnet|infohash> --out DIR --server URL [--timeout S] [--linger S] ...
//
// stdout: one JSON object per line (ready, peer, progress, done, stopped, error); stderr: logs.
// Exit codes: 0 done (get) or stopped by SIGINT/SIGTERM; 1 error; 2 usage; 124 timeout.

import path from 'node:path'
import { statSync } from 'node:fs'
import WebTorrent from 'webtorrent'
import Peer from '@thaunknown/simple-peer/lite.js'
import { RondevuApi } from './lib/rondevu-api.mjs'
import { SwarmSignaling } from './lib/swarm-signaling.mjs'
import { makePeerFactory } from './lib/peer-factory.mjs'
import { emit, makeLogger } from './lib/report.mjs'
import { onlyLoopbackInterfaces } from './lib/netns.mjs'
import { parseCommandLine, positiveNumber, magnetOf, requireServer, UsageError } from './lib/cli-options.mjs'

const USAGE = `usage:
  rondevu-peer.mjs seed <file> --server URL [options]
  rondevu-peer.mjs get <magnet|infohash> --out DIR --server URL [options]
options:
  --timeout SECS       end the run after SECS (exit 124); default 120
  --max-peers N        at most N WebRTC sessions at once; default 8
  --label TEXT         data-channel label of our offers; default webtorrent (data with --reference-client)
  --reference-client   signal like the reference JS client 0.7.x (offerer posts no candidates,
                       answerer only early ones, 2 s / 1 s polling with 30 s limits)
  --signal-role R     both (default): publish offers and answer others'; offerer: only publish;
                       answerer: only answer (pins who offers, for tests)
  --linger SECS        get: keep sharing SECS after done before exiting; default 0`

/** WebTorrent kept off every network but our data channels. */
const CLIENT_OPTIONS = { dht: false, tracker: false, lsd: false, utp: false, webSeeds: false, natUpnp: false, natPmp: false }

const EXIT_ERROR = 1
const EXIT_USAGE = 2
const EXIT_TIMEOUT = 124

async function main () {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    out: { type: 'string' },
    linger: { type: 'string' },
    'signal-role': { type: 'string', default: 'both' }
  })
  if (values.help) {
    process.stderr.write(USAGE + '\n')
    return 0
  }
  const [mode, target] = positionals
  if (mode !== 'seed' && mode !== 'get') throw new UsageError(`the first argument must be seed or get, got ${JSON.stringify(mode)}`)
  if (!target) throw new UsageError(`${mode} needs ${mode === 'seed' ? 'a file' : 'a magnet link or info-hash'}`)
  const server = requireServer(values.server)
  const timeoutSecs = positiveNumber(values.timeout, '--timeout', 120)
  const maxPeers = positiveNumber(values['max-peers'], '--max-peers', 8)
  const lingerSecs = values.linger === undefined ? 0 : positiveNumber(values.linger, '--linger', 0)
  const referenceClient = values['reference-client']
  const signalRole = values['signal-role']
  if (!['both', 'offerer', 'answerer'].includes(signalRole)) throw new UsageError(`--signal-role must be both, offerer or answerer, got ${signalRole}`)
  if (mode === 'get' && !values.out) throw new UsageError('get needs --out DIR')
  if (mode === 'seed' && !statSync(target, { throwIfNoEntry: false })?.isFile()) throw new UsageError(`not a file: ${target}`)

  const log = makeLogger(`${mode}${referenceClient ? '/ref' : ''}`)
  if (!onlyLoopbackInterfaces()) {
    log('warning: this host has non-loopback interfaces; libwebrtc may pair them with loopback candidates (traffic stays on lo but uses their addresses). Run inside `unshare -n` for full isolation.')
  }
  const client = new WebTorrent(CLIENT_OPTIONS)
  client.on('error', error => finish(EXIT_ERROR, error.message))
  const api = new RondevuApi(server)
  const createPeer = makePeerFactory(Peer, { pollDrain: true })
  let signaling = null
  let finished = false
  const startedAt = Date.now()

  const finish = async (code, errorMessage) => {
    if (finished) return
    finished = true
    if (errorMessage) emit('error', { message: errorMessage })
    // Destroying the client closes its chunk stores, which writes out pieces still held in
    // memory: a download is on disk only after that. Then our offers are deleted.
    const cleanup = async () => {
      await new Promise(resolve => client.destroy(() => resolve()))
      if (signaling) await signaling.stop()
    }
    await Promise.race([cleanup().catch(() => {}), new Promise(resolve => setTimeout(resolve, 20000))])
    process.exit(code)
  }

  setTimeout(() => finish(EXIT_TIMEOUT, `timeout after ${timeoutSecs} s`), timeoutSecs * 1000)
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      emit('stopped', { signal })
      finish(0)
    })
  }

  const startSignaling = torrent => {
    signaling = new SwarmSignaling({
      api,
      topic: torrent.infoHash,
      createPeer,
      maxPeers,
      referenceClient,
      label: values.label,
      offer: signalRole !== 'answerer',
      answer: signalRole !== 'offerer',
      log,
      onConnect: (peer, info) => {
        emit('peer', info)
        log(`connected to ${info.remotePeerId} as ${info.role} (label ${info.label}) after ${info.signalingMs} ms`)
        if (!torrent.destroyed) torrent.addPeer(peer)
      }
    })
    return signaling.start()
  }

  const reportProgress = torrent => {
    let last = ''
    const timer = setInterval(() => {
      const fields = {
        downloaded: torrent.downloaded,
        uploaded: torrent.uploaded,
        length: torrent.length ?? null,
        speed: Math.round(torrent.downloadSpeed),
        uploadSpeed: Math.round(torrent.uploadSpeed),
        peers: torrent.numPeers
      }
      const key = JSON.stringify(fields)
      if (key !== last) emit('progress', fields)
      last = key
    }, 500)
    timer.unref()
  }

  if (mode === 'seed') {
    client.seed(path.resolve(target), { announce: [], announceList: [] }, async torrent => {
      torrent.on('error', error => finish(EXIT_ERROR, error.message))
      const magnet = `magnet:?xt=urn:btih:${torrent.infoHash}&dn=${encodeURIComponent(torrent.name)}`
      emit('ready', { infoHash: torrent.infoHash, magnet, length: torrent.length, pieceLength: torrent.pieceLength, name: torrent.name })
      log(`seeding ${torrent.name} (${torrent.length} bytes) as ${torrent.infoHash}`)
      reportProgress(torrent)
      try {
        await startSignaling(torrent)
      } catch (error) {
        finish(EXIT_ERROR, `signaling: ${error.message}`)
      }
    })
  } else {
    const { magnet, infoHash } = magnetOf(target)
    const torrent = client.add(magnet, { path: path.resolve(values.out), announce: [] })
    torrent.on('error', error => finish(EXIT_ERROR, error.message))
    emit('ready', { infoHash, magnet })
    reportProgress(torrent)
    torrent.once('metadata', () => log(`metadata: ${torrent.name}, ${torrent.length} bytes in ${torrent.pieces.length} pieces`))
    torrent.once('done', () => {
      const ms = Date.now() - startedAt
      emit('done', { ms, bytes: torrent.length, name: torrent.name, files: torrent.files.map(file => file.path) })
      log(`done: ${torrent.length} bytes in ${ms} ms (${(torrent.length / 1e3 / ms).toFixed(1)} MB/s)`)
      if (lingerSecs > 0) {
        setTimeout(() => finish(0), lingerSecs * 1000)
      } else {
        finish(0)
      }
    })
    const begin = () => startSignaling(torrent).catch(error => finish(EXIT_ERROR, `signaling: ${error.message}`))
    if (torrent.infoHash) begin()
    else torrent.once('infoHash', begin)
  }
  return null
}

main().then(code => {
  if (code !== null) process.exit(code)
}, error => {
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n${USAGE}\n`)
    emit('error', { message: error.message })
    process.exit(EXIT_USAGE)
  }
  emit('error', { message: error.message })
  process.exit(EXIT_ERROR)
})
