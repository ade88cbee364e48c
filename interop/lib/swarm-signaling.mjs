// Finds and connects WebRTC peers for one topic (a torrent's info-hash) through a Rondevu v0.1
// server, the way the original plugin (RondevuConnectionManager) does: publish offers under the
// topic, discover other peers' offers (excluding known peers with a bloom filter), answer them,
// trickle ICE candidates with the `since` cursor. Each connected simple-peer is handed to
// `onConnect`, e.g. for `torrent.addPeer(peer)`. Isomorphic (fetch + simple-peer).

import { BloomFilter } from './bloom.mjs'
import { allowedCandidateInit, isLoopbackAddress, loopbackOnlySdp, parseCandidate, withoutCandidates } from './ice-scope.mjs'

/** Polling schedules. `reference` copies the reference JavaScript client 0.7.x. */
export const SCHEDULES = {
  adaptive: {
    answers: { min: 50, max: 1000 },
    candidates: { min: 25, max: 500 },
    discover: { min: 100, max: 2000 },
    answerLimitMs: 30_000,
    candidateLimitMs: 30_000
  },
  reference: {
    answers: { min: 2000, max: 2000 },
    candidates: { min: 1000, max: 1000 },
    discover: { min: 2000, max: 2000 },
    answerLimitMs: 30_000,
    candidateLimitMs: 30_000
  }
}

const OFFER_TTL_MS = 60_000
const OFFERS_IN_FLIGHT = 2

/** A sleep that `wake()` can end early; `stop()` ends it for good. */
class Napper {
  constructor () {
    this.wakers = new Set()
    this.stopped = false
  }

  nap (ms) {
    if (this.stopped) return Promise.resolve()
    return new Promise(resolve => {
      const done = () => { clearTimeout(timer); this.wakers.delete(done); resolve() }
      const timer = setTimeout(done, ms)
      this.wakers.add(done)
    })
  }

  wake () {
    for (const done of [...this.wakers]) done()
  }

  stop () {
    this.stopped = true
    this.wake()
  }
}

/** Exponential back-off between `min` and `max`, reset on activity. */
class Backoff {
  constructor ({ min, max }) {
    this.min = min
    this.max = max
    this.current = min
  }

  next (active) {
    this.current = active ? this.min : Math.min(this.max, Math.ceil(this.current * 1.5))
    return this.current
  }
}

export class SwarmSignaling {
  /**
   * @param {object} options
   * @param {import('./rondevu-api.mjs').RondevuApi} options.api
   * @param {string} options.topic  the info-hash, 40 lowercase hex characters
   * @param {(opts: {initiator: boolean, channelName?: string}) => object} options.createPeer
   * @param {(peer: object, info: object) => void} options.onConnect  called once per connected peer
   * @param {number} [options.maxPeers]  sessions (connecting + connected) at most
   * @param {boolean} [options.referenceClient]  behave like the reference client 0.7.x
   * @param {string} [options.label]  data-channel label of our offers
   * @param {(message: string) => void} [options.log]
   * @param {boolean} [options.offer]  publish offers (default true)
   * @param {boolean} [options.answer]  answer others' offers (default true)
   */
  constructor ({ api, topic, createPeer, onConnect, maxPeers = 8, referenceClient = false, label, log = () => {}, offer = true, answer = true }) {
    if (!/^[0-9a-f]{40}$/.test(topic)) throw new Error(`topic must be 40 lowercase hex characters, got ${topic}`)
    this.api = api
    this.topic = topic
    this.createPeer = createPeer
    this.onConnect = onConnect
    this.maxPeers = maxPeers
    this.referenceClient = referenceClient
    this.label = label ?? (referenceClient ? 'data' : 'webtorrent')
    this.log = log
    this.doOffer = offer
    this.doAnswer = answer
    this.schedule = referenceClient ? SCHEDULES.reference : SCHEDULES.adaptive
    this.sessions = new Set()
    this.triedOffers = new Set()
    this.napper = new Napper()
    this.startedAt = Date.now()
    this.loops = []
  }

  async start () {
    await this.api.register()
    this.log(`registered as ${this.api.peerId} (${this.referenceClient ? 'reference-client' : 'adaptive'} mode)`)
    if (this.doOffer) this.loops.push(this.guard('offers', () => this.offerLoop()))
    if (this.doOffer) this.loops.push(this.guard('answers', () => this.answerPollLoop()))
    if (this.doAnswer) this.loops.push(this.guard('discovery', () => this.discoverLoop()))
  }

  /** Stops every loop, closes connecting peers and withdraws our offers (best effort). */
  async stop ({ closeConnected = true } = {}) {
    this.napper.stop()
    const withdrawals = []
    for (const session of [...this.sessions]) {
      if (!session.connected || closeConnected) this.endSession(session, 'stopping')
      if (session.role === 'offerer' && session.offerId) {
        withdrawals.push(this.api.deleteOffer(session.offerId).catch(() => {}))
      }
    }
    await Promise.all([...this.loops, ...withdrawals])
  }

  get stopped () {
    return this.napper.stopped
  }

  async guard (name, loop) {
    try {
      await loop()
    } catch (error) {
      if (!this.stopped) this.log(`${name} loop failed: ${error.message}`)
    }
  }

  /** Sessions that hold a peer slot: answered offers and our answers (not offers still waiting). */
  committedCount () {
    let count = 0
    for (const session of this.sessions) if (session.role === 'answerer' || session.answered) count++
    return count
  }

  /** Remote peer ids we already have a session with (connecting or connected). */
  knownRemotes () {
    const remotes = new Set()
    for (const session of this.sessions) if (session.remotePeerId) remotes.add(session.remotePeerId)
    return remotes
  }

  // ---------------------------------------------------------------- offerer side

  async offerLoop () {
    while (!this.stopped) {
      const pending = [...this.sessions].filter(s => s.role === 'offerer' && !s.answered).length
      if (pending < OFFERS_IN_FLIGHT && this.committedCount() < this.maxPeers) {
        this.openOffer()
      }
      await this.napper.nap(250)
    }
  }

  openOffer () {
    const session = this.newSession('offerer')
    session.offerDeadline = Date.now() + this.schedule.answerLimitMs
    const peer = session.peer = this.createPeer({ initiator: true, channelName: this.label })
    this.watchPeer(session)
    peer.on('signal', data => {
      if (data.type === 'offer') {
        this.publish(session, data.sdp)
      } else if (data.candidate) {
        // The reference offerer never posts candidates.
        if (!this.referenceClient) this.queueLocalCandidate(session, data.candidate)
      }
    })
  }

  async publish (session, sdp) {
    try {
      // The reference client posts its offer at once, before any candidate is in it.
      const published = this.referenceClient ? withoutCandidates(sdp) : loopbackOnlySdp(sdp)
      const [created] = await this.api.publishOffers([{ sdp: published, topics: [this.topic], ttl: OFFER_TTL_MS }])
      session.offerId = created.id
      this.log(`published offer ${created.id.slice(0, 12)}`)
      this.flushCandidates(session)
      this.napper.wake()
    } catch (error) {
      this.log(`publishing an offer failed: ${error.message}`)
      this.endSession(session, 'publish failed')
    }
  }

  async answerPollLoop () {
    const backoff = new Backoff(this.schedule.answers)
    while (!this.stopped) {
      let active = false
      const waiting = [...this.sessions].filter(s => s.role === 'offerer' && s.offerId && !s.answered)
      for (const session of waiting) {
        if (Date.now() > session.offerDeadline) {
          this.endSession(session, 'no answer in time')
          this.api.deleteOffer(session.offerId).catch(() => {})
        }
      }
      if (waiting.length > 0) {
        const answers = await this.api.answers().catch(error => {
          this.log(`polling answers failed: ${error.message}`)
          return []
        })
        for (const answer of answers) {
          const session = waiting.find(s => s.offerId === answer.offerId && !s.answered && !s.closed)
          if (!session) continue
          active = true
          // A second session with a peer we already have one with is settled by
          // resolveDuplicates (both sides pick the same survivor), not by the peer limit.
          const twin = [...this.sessions].some(s => s !== session && !s.closed && s.remotePeerId === answer.answererId)
          if (!twin && this.committedCount() >= this.maxPeers) {
            this.endSession(session, 'answered, but --max-peers sessions are already open')
            this.api.deleteOffer(session.offerId).catch(() => {})
            continue
          }
          session.answered = true
          session.remotePeerId = answer.answererId
          this.log(`answer from ${answer.answererId.slice(0, 8)} to offer ${answer.offerId.slice(0, 12)}`)
          if (!this.resolveDuplicates(session)) continue
          session.peer.signal({ type: 'answer', sdp: this.remoteSdp(session, answer.sdp) })
          this.guard('candidates', () => this.candidatePollLoop(session))
        }
      }
      await this.napper.nap(backoff.next(active))
    }
  }

  // ---------------------------------------------------------------- answerer side

  async discoverLoop () {
    const backoff = new Backoff(this.schedule.discover)
    while (!this.stopped) {
      let active = false
      const room = this.maxPeers - this.committedCount()
      if (room > 0) {
        const known = this.knownRemotes()
        const bloom = new BloomFilter()
        bloom.add(this.api.peerId)
        for (const remote of known) bloom.add(remote)
        const offers = await this.api.offersByTopic(this.topic, { bloom }).catch(error => {
          this.log(`discovery failed: ${error.message}`)
          return []
        })
        const fresh = offers.filter(offer =>
          offer.peerId !== this.api.peerId &&
          !offer.answererPeerId &&
          !offer.hasSecret &&
          !known.has(offer.peerId) &&
          !this.triedOffers.has(offer.id))
        // One offer per remote peer, newest first (the server lists newest lastSeen first).
        const perPeer = new Map()
        for (const offer of fresh) if (!perPeer.has(offer.peerId)) perPeer.set(offer.peerId, offer)
        for (const offer of [...perPeer.values()].slice(0, room)) {
          active = true
          this.triedOffers.add(offer.id)
          this.answerOffer(offer)
        }
      }
      await this.napper.nap(backoff.next(active))
    }
  }

  answerOffer (offer) {
    const session = this.newSession('answerer')
    session.offerId = offer.id
    session.remotePeerId = offer.peerId
    const peer = session.peer = this.createPeer({ initiator: false })
    this.watchPeer(session)
    peer.on('signal', data => {
      if (data.type === 'answer') {
        this.postAnswer(session, data.sdp)
      } else if (data.candidate) {
        // The reference answerer posts only what it gathered before its state changed.
        if (this.referenceClient && session.stateChanged) return
        this.queueLocalCandidate(session, data.candidate)
      }
    })
    peer.on('iceStateChange', state => {
      if (state !== 'new') session.stateChanged = true
    })
    this.log(`answering offer ${offer.id.slice(0, 12)} of ${offer.peerId.slice(0, 8)}`)
    peer.signal({ type: 'offer', sdp: this.remoteSdp(session, offer.sdp) })
  }

  async postAnswer (session, sdp) {
    try {
      await this.api.answerOffer(session.offerId, this.referenceClient ? withoutCandidates(sdp) : loopbackOnlySdp(sdp))
    } catch (error) {
      this.log(`answering ${session.offerId.slice(0, 12)} failed: ${error.message}`)
      this.endSession(session, 'answer refused')
      return
    }
    session.answered = true
    this.flushCandidates(session)
    this.guard('candidates', () => this.candidatePollLoop(session))
  }

  // ---------------------------------------------------------------- both sides

  newSession (role) {
    const session = {
      role,
      offerId: null,
      remotePeerId: null,
      peer: null,
      answered: false,
      connected: false,
      closed: false,
      stateChanged: false,
      since: undefined,
      localCandidates: [],
      stats: { candidatesPosted: 0, candidatesReceived: 0, sdpCandidatesReceived: 0 },
      posting: Promise.resolve(),
      createdAt: Date.now()
    }
    this.sessions.add(session)
    return session
  }

  /**
   * Two sessions with the same remote peer (each side answered the other's offer at once):
   * both sides keep the same one, a connected one first, else the one whose offerer has the
   * smaller peer id. Returns whether `session` survives.
   */
  resolveDuplicates (session) {
    const twins = [...this.sessions].filter(s => !s.closed && s.remotePeerId === session.remotePeerId)
    if (twins.length < 2) return true
    const offererOf = s => (s.role === 'offerer' ? this.api.peerId : s.remotePeerId)
    twins.sort((a, b) => (b.connected - a.connected) || (offererOf(a) < offererOf(b) ? -1 : offererOf(a) > offererOf(b) ? 1 : a.createdAt - b.createdAt))
    for (const loser of twins.slice(1)) {
      this.endSession(loser, 'duplicate of another session with the same peer')
      if (loser.role === 'offerer' && loser.offerId) this.api.deleteOffer(loser.offerId).catch(() => {})
    }
    return twins[0] === session
  }

  /** A remote SDP with only loopback candidates left, counting them. */
  remoteSdp (session, sdp) {
    const filtered = loopbackOnlySdp(sdp)
    session.stats.sdpCandidatesReceived = (filtered.match(/^a=candidate:/gm) || []).length
    return filtered
  }

  queueLocalCandidate (session, candidate) {
    const init = allowedCandidateInit(candidate)
    if (!init) {
      const parsed = parseCandidate(candidate?.candidate)
      if (parsed && !isLoopbackAddress(parsed.address)) this.log(`not announcing non-loopback candidate ${parsed.address}:${parsed.port} (${parsed.type})`)
      return
    }
    session.localCandidates.push(init)
    this.flushCandidates(session)
  }

  /** Posts queued local candidates once the server will take them (offer id known; answerer: answer accepted). */
  flushCandidates (session) {
    const ready = session.role === 'offerer' ? session.offerId !== null : session.answered
    if (!ready || session.closed || session.localCandidates.length === 0) return
    const batch = session.localCandidates.splice(0)
    session.stats.candidatesPosted += batch.length
    this.log(`posting ${batch.length} candidate(s) for ${session.offerId.slice(0, 12)}: ${batch.map(c => c.candidate.split(' ').slice(4, 6).join(':')).join(', ')}`)
    session.posting = session.posting.then(() =>
      this.api.postCandidates(session.offerId, batch).catch(error => {
        this.log(`posting candidates failed: ${error.message}`)
      }))
  }

  async candidatePollLoop (session) {
    const backoff = new Backoff(this.schedule.candidates)
    const deadline = Date.now() + this.schedule.candidateLimitMs
    while (!this.stopped && !session.closed && !session.connected) {
      if (Date.now() > deadline) {
        this.endSession(session, 'not connected in time')
        return
      }
      let active = false
      let items
      try {
        items = await this.api.candidates(session.offerId, session.since)
      } catch (error) {
        if (error.status === 404) {
          // The other side withdrew the offer (it gave up, or kept a twin session).
          this.endSession(session, 'offer withdrawn')
          return
        }
        this.log(`polling candidates failed: ${error.message}`)
        items = []
      }
      for (const item of items) {
        if (typeof item.createdAt === 'number' && (session.since === undefined || item.createdAt > session.since)) {
          session.since = item.createdAt
        }
        const init = allowedCandidateInit(item.candidate)
        if (!init || session.closed) continue
        active = true
        session.stats.candidatesReceived++
        session.peer.signal({ type: 'candidate', candidate: init })
      }
      await this.napper.nap(backoff.next(active))
    }
  }

  watchPeer (session) {
    const { peer } = session
    peer.on('connect', () => {
      if (session.closed) return
      session.connected = true
      if (!this.resolveDuplicates(session)) return
      this.onConnect(peer, {
        role: session.role,
        offerId: session.offerId,
        remotePeerId: session.remotePeerId,
        label: peer._channel?.label,
        remoteAddress: peer.remoteAddress,
        remotePort: peer.remotePort,
        ms: Date.now() - this.startedAt,
        signalingMs: Date.now() - session.createdAt,
        ...session.stats
      })
      this.napper.wake()
    })
    peer.on('error', error => this.log(`peer ${session.remotePeerId?.slice(0, 8) ?? '?'}: ${error.message}`))
    peer.on('close', () => this.endSession(session, 'closed'))
  }

  endSession (session, reason) {
    if (session.closed) return
    session.closed = true
    this.sessions.delete(session)
    this.log(`session ${session.role} ${session.offerId?.slice(0, 12) ?? '(unpublished)'} ended: ${reason}`)
    if (session.peer && !session.peer.destroyed) session.peer.destroy()
    if (session.role === 'offerer' && session.offerId && session.answered) {
      this.api.deleteOffer(session.offerId).catch(() => {})
    }
    this.napper.wake()
  }
}
