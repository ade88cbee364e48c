// A small client for the Rondevu v0.1 topic API (fetch-based, isomorphic).

export class RondevuError extends Error {
  constructor (method, path, status, message) {
    super(`${method} ${path}: ${status} ${message}`)
    this.status = status
  }
}

export class RondevuApi {
  /**
   * @param {string} baseUrl  e.g. http://127.0.0.1:3000
   * @param {{requestTimeoutMs?: number}} [options]
   */
  constructor (baseUrl, { requestTimeoutMs = 10_000 } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '')
    this.requestTimeoutMs = requestTimeoutMs
    this.credentials = null
  }

  get peerId () {
    return this.credentials?.peerId
  }

  async request (method, path, body, { auth = false, retried = false } = {}) {
    const headers = {}
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    if (auth) {
      if (!this.credentials) await this.register()
      headers.Authorization = `Bearer ${this.credentials.peerId}:${this.credentials.secret}`
    }
    const response = await fetch(this.baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.requestTimeoutMs)
    })
    const text = await response.text()
    let json = null
    try { json = text ? JSON.parse(text) : null } catch { json = null }
    if (response.status === 401 && auth && !retried) {
      // Credentials die with a server restart (another AUTH_SECRET): register again, once.
      await this.register()
      return this.request(method, path, body, { auth, retried: true })
    }
    if (!response.ok) throw new RondevuError(method, path, response.status, json?.error ?? text.slice(0, 200))
    return json
  }

  /** POST /register → {peerId, secret}; kept for later authenticated calls. */
  async register () {
    const credentials = await this.request('POST', '/register', {})
    if (!/^[0-9a-f]{32}$/.test(credentials?.peerId ?? '') || typeof credentials.secret !== 'string') {
      throw new Error('the server answered /register without a valid peerId and secret')
    }
    this.credentials = credentials
    return credentials
  }

  /** POST /offers with one or more `{sdp, topics, ttl}`; returns the created offers. */
  async publishOffers (offers) {
    const reply = await this.request('POST', '/offers', { offers }, { auth: true })
    return reply.offers
  }

  /** GET /offers/by-topic/:topic, leaving out the owners in `bloom` (a BloomFilter). */
  async offersByTopic (topic, { limit = 50, bloom } = {}) {
    let path = `/offers/by-topic/${encodeURIComponent(topic)}?limit=${limit}`
    if (bloom) path += `&bloom=${bloom.toQueryValue()}`
    const reply = await this.request('GET', path)
    return reply.offers
  }

  async answerOffer (offerId, sdp) {
    return this.request('POST', `/offers/${encodeURIComponent(offerId)}/answer`, { sdp }, { auth: true })
  }

  /** GET /offers/answers: answers to the caller's offers. */
  async answers () {
    const reply = await this.request('GET', '/offers/answers', undefined, { auth: true })
    return reply.answers
  }

  async postCandidates (offerId, candidates) {
    return this.request('POST', `/offers/${encodeURIComponent(offerId)}/ice-candidates`, { candidates }, { auth: true })
  }

  /** The other side's candidates newer than `since` (all when undefined), oldest first. */
  async candidates (offerId, since) {
    const query = since === undefined ? '' : `?since=${since}`
    const reply = await this.request('GET', `/offers/${encodeURIComponent(offerId)}/ice-candidates${query}`, undefined, { auth: true })
    return reply.candidates
  }

  async deleteOffer (offerId) {
    return this.request('DELETE', `/offers/${encodeURIComponent(offerId)}`, undefined, { auth: true })
  }
}
