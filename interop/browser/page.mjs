// The browser side of the interop test: WebTorrent's browser build fetches a magnet, with peers
// found by the same signaling modules as rondevu-peer.mjs. Parameters come in the query string
// (server, magnet, maxPeers, referenceClient, label); every event is POSTed to /report as
// {event, ...} (the same events as rondevu-peer.mjs, plus log).

import WebTorrent from '/webtorrent.min.js'
import Peer from '@thaunknown/simple-peer/lite.js'
import { RondevuApi } from '../lib/rondevu-api.mjs'
import { SwarmSignaling } from '../lib/swarm-signaling.mjs'
import { makePeerFactory } from '../lib/peer-factory.mjs'

const params = new URLSearchParams(location.search)
const startedAt = Date.now()
let reports = Promise.resolve()

function report (event, fields = {}) {
  const body = JSON.stringify({ event, ...fields })
  reports = reports.then(() => fetch('/report', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body }).catch(() => {}))
  return reports
}

function log (message) {
  document.getElementById('log').textContent += message + '\n'
  report('log', { message })
}

async function sha256Hex (buffer) {
  const digest = await crypto.subtle.digest('SHA-256', buffer)
  return [...new Uint8Array(digest)].map(b => b.toString(16).padStart(2, '0')).join('')
}

async function main () {
  const server = params.get('server')
  const magnet = params.get('magnet')
  const match = /xt=urn:btih:([0-9a-fA-F]{40})/.exec(magnet ?? '')
  if (!server || !match) throw new Error('the page needs ?server=URL&magnet=MAGNET (hex v1 info-hash)')
  const infoHash = match[1].toLowerCase()

  // Chromium enumerates every interface (loopback included, with
  // --allow-loopback-in-peer-connection) only for a page holding a media permission; the driver
  // runs it with a fake microphone that is granted without a prompt.
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true })
  for (const track of stream.getTracks()) track.stop()

  const client = new WebTorrent({ dht: false, tracker: false, lsd: false, utp: false, webSeeds: false })
  client.on('error', error => report('error', { message: `client: ${error.message ?? error}` }))
  const torrent = client.add(magnet, { announce: [] })
  torrent.on('error', error => report('error', { message: `torrent: ${error.message ?? error}` }))
  report('ready', { infoHash, magnet, userAgent: navigator.userAgent })

  let last = ''
  const progress = setInterval(() => {
    const fields = { downloaded: torrent.downloaded, uploaded: torrent.uploaded, length: torrent.length ?? null, speed: Math.round(torrent.downloadSpeed), peers: torrent.numPeers }
    const key = JSON.stringify(fields)
    if (key !== last) report('progress', fields)
    last = key
  }, 500)

  const signaling = new SwarmSignaling({
    api: new RondevuApi(server),
    topic: infoHash,
    createPeer: makePeerFactory(Peer),
    maxPeers: Number(params.get('maxPeers') ?? 8),
    referenceClient: params.get('referenceClient') === '1',
    label: params.get('label') ?? undefined,
    offer: params.get('signalRole') !== 'answerer',
    answer: params.get('signalRole') !== 'offerer',
    log,
    onConnect: (peer, info) => {
      report('peer', info)
      if (!torrent.destroyed) torrent.addPeer(peer)
    }
  })

  torrent.once('done', async () => {
    const ms = Date.now() - startedAt
    clearInterval(progress)
    const files = []
    for (const file of torrent.files) {
      files.push({ path: file.path, length: file.length, sha256: await sha256Hex(await file.arrayBuffer()) })
    }
    await signaling.stop()
    report('done', { ms, bytes: torrent.length, files })
  })

  await signaling.start()
}

window.addEventListener('error', event => report('error', { message: `page: ${event.message}` }))
window.addEventListener('unhandledrejection', event => report('error', { message: `page: ${event.reason?.message ?? event.reason}` }))
main().catch(error => report('error', { message: error.message }))
