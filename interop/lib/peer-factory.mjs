// Builds simple-peer instances for the signaling manager (isomorphic: the caller passes the
// simple-peer class, from node_modules in Node or from the browser bundle).

/** Backpressure marks for the polled drain (bytes buffered in the data channel). */
const HIGH_WATER = 1024 * 1024
const LOW_WATER = 256 * 1024
const DRAIN_POLL_MS = 1

/**
 * @param {typeof import('@thaunknown/simple-peer/lite.js').default} Peer  the simple-peer class
 * @param {{pollDrain?: boolean}} options  pollDrain: replace simple-peer's write backpressure by
 *   a 1 ms poll of `bufferedAmount` with a 1 MiB high-water mark. Needed with @roamhq/wrtc,
 *   which never fires `bufferedamountlow` (simple-peer would wait on it or on a 150 ms check).
 * @returns {(opts: {initiator: boolean, channelName?: string}) => object}
 */
export function makePeerFactory (Peer, { pollDrain = false } = {}) {
  return ({ initiator, channelName }) => {
    const peer = new Peer({
      initiator,
      channelName,
      trickle: true,
      // Never any STUN/TURN: loopback only.
      config: { iceServers: [] }
    })
    if (pollDrain) installPolledDrain(peer)
    return peer
  }
}

function installPolledDrain (peer) {
  const original = peer._write.bind(peer)
  let timer = null
  const check = () => {
    timer = null
    if (peer.destroyed || !peer._cb || !peer._channel) return
    if (peer._channel.bufferedAmount <= LOW_WATER) {
      const cb = peer._cb
      peer._cb = null
      cb(null)
    } else {
      timer = setTimeout(check, DRAIN_POLL_MS)
    }
  }
  peer._write = (chunk, cb) => {
    if (peer.destroyed || !peer._connected) return original(chunk, cb)
    try {
      peer.send(chunk)
    } catch (error) {
      return peer.destroy(error)
    }
    if (peer._channel.bufferedAmount > HIGH_WATER) {
      peer._cb = cb
      if (timer === null) timer = setTimeout(check, DRAIN_POLL_MS)
    } else {
      cb(null)
    }
  }
  peer.once('close', () => { if (timer !== null) clearTimeout(timer) })
}
