// The Rondevu peer-exclusion bloom filter, bit-exact with the reference client 0.7.x.
// Isomorphic: runs in Node and in browsers (uses only btoa/atob and typed arrays).
//
// Hash h_j(s): an FNV-1a variant over the string's UTF-16 code units, mod 2^32:
//   h = 2166136261 ^ j; for each code unit c: h ^= c; h += (h<<1)+(h<<4)+(h<<7)+(h<<8)+(h<<24)
// Bit i lives in byte[i >> 3], mask 1 << (i & 7) (least significant bit first).

/** Default size and hash count of the reference client (the server always tests with k = 3). */
export const DEFAULT_BITS = 1024
export const DEFAULT_HASHES = 3

/** h_j(s) as an unsigned 32-bit number. */
export function bloomHash (text, seed) {
  let h = (2166136261 ^ seed) >>> 0
  for (let i = 0; i < text.length; i++) {
    h = (h ^ text.charCodeAt(i)) >>> 0
    h = (h + (h << 1) + (h << 4) + (h << 7) + (h << 8) + (h << 24)) >>> 0
  }
  return h
}

export class BloomFilter {
  /**
   * @param {number} bits  size m in bits (stored in ceil(m/8) bytes)
   * @param {number} hashes  number of hash functions k (keep 3 for the server)
   */
  constructor (bits = DEFAULT_BITS, hashes = DEFAULT_HASHES) {
    if (!Number.isInteger(bits) || bits <= 0) throw new RangeError(`bloom size must be a positive integer, got ${bits}`)
    if (!Number.isInteger(hashes) || hashes <= 0) throw new RangeError(`bloom hash count must be a positive integer, got ${hashes}`)
    this.bits = bits
    this.hashes = hashes
    this.bytes = new Uint8Array(Math.ceil(bits / 8))
  }

  /** A filter read back from its bytes (m = 8 × length, as the server does). */
  static fromBase64 (base64, hashes = DEFAULT_HASHES) {
    const binary = atob(base64)
    const filter = new BloomFilter(binary.length * 8, hashes)
    for (let i = 0; i < binary.length; i++) filter.bytes[i] = binary.charCodeAt(i)
    return filter
  }

  add (text) {
    for (let j = 0; j < this.hashes; j++) {
      const index = bloomHash(text, j) % this.bits
      this.bytes[index >>> 3] |= 1 << (index & 7)
    }
  }

  test (text) {
    for (let j = 0; j < this.hashes; j++) {
      const index = bloomHash(text, j) % this.bits
      if ((this.bytes[index >>> 3] & (1 << (index & 7))) === 0) return false
    }
    return true
  }

  toBase64 () {
    let binary = ''
    for (const byte of this.bytes) binary += String.fromCharCode(byte)
    return btoa(binary)
  }

  /** The base64 percent-encoded for a query string (`+` → %2B, `/` → %2F, `=` → %3D). */
  toQueryValue () {
    return encodeURIComponent(this.toBase64())
  }
}
