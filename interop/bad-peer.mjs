#!/usr/bin/env node
// A hostile peer for tests: joins a torrent's swarm through a Rondevu server, completes the
// BitTorrent handshake on the data channel, then sends garbage, and reports whether (and how
// fast) the other side drops the connection.
//
//   node bad-peer.mjs <magnet|infohash> --server URL [--garbage KIND] [--timeout S] [--reference-client] ...
//
// stdout JSON lines: ready, peer, handshake, garbage-sent, then dropped or still-open; error.
// Exit codes: 0 the remote dropped us after the garbage; 3 still connected --drop-wait seconds
// after the garbage; 1 error; 2 usage; 124 no handshake within --timeout.

import { randomBytes } from 'node:crypto'
import Peer from '@thaunknown/simple-peer/lite.js'
import { RondevuApi } from './lib/rondevu-api.mjs'
import { SwarmSignaling } from './lib/swarm-signaling.mjs'
import { makePeerFactory } from './lib/peer-factory.mjs'
import { emit, makeLogger } from './lib/report.mjs'
import { onlyLoopbackInterfaces } from './lib/netns.mjs'
import { parseCommandLine, positiveNumber, magnetOf, requireServer, UsageError } from './lib/cli-options.mjs'

const USAGE = `usage: bad-peer.mjs <magnet|infohash> --server URL [options]
  --garbage KIND       what to send after the handshake (default random):
                         random       64 KiB of random bytes
                         huge-length  a message length prefix of 0xFFFFFFF0, then junk
                         bad-piece    a piece message for a piece index that does not exist
                         bad-extended an extended (BEP 10) handshake that is not bencode
  --drop-wait SECS     how long to wait for the remote to drop us after the garbage (else exit 3);
                       default 10
  --timeout SECS       give up after SECS (exit 124); default 60
  --max-peers N, --label TEXT, --reference-client, --signal-role R   as in rondevu-peer.mjs`

const PROTOCOL = 'BitTorrent protocol'
const HANDSHAKE_LENGTH = 68
const CHUNK = 16 * 1024

/** The 68-byte BitTorrent handshake with the extension-protocol bit set. */
export function handshake (infoHash, peerId) {
  const bytes = new Uint8Array(HANDSHAKE_LENGTH)
  bytes[0] = PROTOCOL.length
  bytes.set(new TextEncoder().encode(PROTOCOL), 1)
  bytes[20 + 5] = 0x10
  bytes.set(Buffer.from(infoHash, 'hex'), 28)
  bytes.set(peerId, 48)
  return bytes
}

function message (id, payload) {
  const bytes = Buffer.alloc(5 + payload.length)
  bytes.writeUInt32BE(1 + payload.length, 0)
  bytes[4] = id
  payload.copy(bytes, 5)
  return bytes
}

const GARBAGE = {
  random: () => randomBytes(64 * 1024),
  'huge-length': () => Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xf0]), randomBytes(16 * 1024)]),
  'bad-piece': () => {
    const payload = Buffer.alloc(8 + 16 * 1024)
    payload.writeUInt32BE(0xfffffff0, 0)
    payload.writeUInt32BE(0, 4)
    randomBytes(16 * 1024).copy(payload, 8)
    return message(7, payload)
  },
  'bad-extended': () => message(20, Buffer.concat([Buffer.from([0]), Buffer.from('d1:mdxx:not bencode at all')]))
}

async function main () {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    garbage: { type: 'string', default: 'random' },
    'drop-wait': { type: 'string' },
    'signal-role': { type: 'string', default: 'both' }
  })
  if (values.help) {
    process.stderr.write(USAGE + '\n')
    return 0
  }
  const { infoHash } = magnetOf(positionals[0])
  const server = requireServer(values.server)
  const timeoutSecs = positiveNumber(values.timeout, '--timeout', 60)
  const maxPeers = positiveNumber(values['max-peers'], '--max-peers', 1)
  const dropWaitSecs = positiveNumber(values['drop-wait'], '--drop-wait', 10)
  const makeGarbage = GARBAGE[values.garbage]
  if (!makeGarbage) throw new UsageError(`--garbage must be one of ${Object.keys(GARBAGE).join(', ')}`)
  const signalRole = values['signal-role']
  if (!['both', 'offerer', 'answerer'].includes(signalRole)) throw new UsageError(`--signal-role must be both, offerer or answerer, got ${signalRole}`)

  const log = makeLogger('bad-peer')
  if (!onlyLoopbackInterfaces()) {
    log('warning: this host has non-loopback interfaces; libwebrtc may pair them with loopback candidates (traffic stays on lo but uses their addresses). Run inside `unshare -n` for full isolation.')
  }
  const ourPeerId = Buffer.concat([Buffer.from('-BP0001-'), randomBytes(12)])
  let signaling = null
  let finished = false
  const finish = async (code, errorMessage) => {
    if (finished) return
    finished = true
    if (errorMessage) emit('error', { message: errorMessage })
    if (signaling) await Promise.race([signaling.stop().catch(() => {}), new Promise(resolve => setTimeout(resolve, 3000))])
    process.exit(code)
  }
  setTimeout(() => finish(124, `timeout after ${timeoutSecs} s`), timeoutSecs * 1000)

  emit('ready', { infoHash })
  let attacked = false
  signaling = new SwarmSignaling({
    api: new RondevuApi(server),
    topic: infoHash,
    createPeer: makePeerFactory(Peer),
    maxPeers,
    referenceClient: values['reference-client'],
    label: values.label,
    offer: signalRole !== 'answerer',
    answer: signalRole !== 'offerer',
    log,
    onConnect: (peer, info) => {
      emit('peer', info)
      if (attacked) {
        peer.destroy()
        return
      }
      attacked = true
      attack(peer)
    }
  })

  function attack (peer) {
    let received = Buffer.alloc(0)
    let garbageSentAt = null
    peer.on('data', chunk => {
      if (garbageSentAt !== null) return
      received = Buffer.concat([received, Buffer.from(chunk)])
      if (received.length < HANDSHAKE_LENGTH) return
      const theirs = received.subarray(0, HANDSHAKE_LENGTH)
      if (theirs[0] !== PROTOCOL.length || theirs.subarray(1, 20).toString() !== PROTOCOL) {
        finish(1, 'the remote did not start with a BitTorrent handshake')
        return
      }
      const theirInfoHash = theirs.subarray(28, 48).toString('hex')
      emit('handshake', {
        infoHash: theirInfoHash,
        peerId: theirs.subarray(48, 68).toString('hex'),
        reserved: theirs.subarray(20, 28).toString('hex')
      })
      if (theirInfoHash !== infoHash) {
        finish(1, `the remote answered the handshake with info-hash ${theirInfoHash}`)
        return
      }
      const garbage = makeGarbage()
      // Channel messages of at most 16 KiB, well under any peer's max-message-size.
      for (let offset = 0; offset < garbage.length; offset += CHUNK) peer.write(garbage.subarray(offset, offset + CHUNK))
      garbageSentAt = Date.now()
      emit('garbage-sent', { kind: values.garbage, bytes: garbage.length })
      log(`sent ${garbage.length} bytes of ${values.garbage} garbage`)
      setTimeout(() => {
        if (finished) return
        emit('still-open', { ms: Date.now() - garbageSentAt })
        log(`still connected ${dropWaitSecs} s after the garbage`)
        finish(3)
      }, dropWaitSecs * 1000)
    })
    peer.on('close', () => {
      if (finished) return
      if (garbageSentAt === null) {
        finish(1, 'the connection closed before the handshake completed')
        return
      }
      emit('dropped', { ms: Date.now() - garbageSentAt })
      log('dropped by the remote, as it should')
      finish(0)
    })
    peer.write(handshake(infoHash, ourPeerId))
  }

  try {
    await signaling.start()
  } catch (error) {
    finish(1, `signaling: ${error.message}`)
  }
  return null
}

main().then(code => {
  if (code !== null) process.exit(code)
}, error => {
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n${USAGE}\n`)
    emit('error', { message: error.message })
    process.exit(2)
  }
  emit('error', { message: error.message })
  process.exit(1)
})
