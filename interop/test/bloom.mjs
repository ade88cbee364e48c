// Self-test: our bloom filter against the shared vectors (bit-exact with the reference).
// Run: node --test test/bloom.mjs   (vectors from $RONDEVU_VECTORS_DIR or <repo>/../shared/vectors)
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { BloomFilter, bloomHash } from '../lib/bloom.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const vectorsDir = process.env.RONDEVU_VECTORS_DIR || path.resolve(here, '../../../shared/vectors')
const haveVectors = existsSync(path.join(vectorsDir, 'bloom-filters.json'))
const skip = haveVectors ? false : `no vectors in ${vectorsDir} (set RONDEVU_VECTORS_DIR)`
if (!haveVectors && process.env.RONDEVU_REQUIRE_VECTORS === '1') throw new Error(skip)

const load = name => JSON.parse(readFileSync(path.join(vectorsDir, name), 'utf8'))

test('bloom hash matches bloom-hash.json', { skip }, () => {
  const vectors = load('bloom-hash.json')
  assert.ok(vectors.length > 0)
  for (const { input, seed, hash } of vectors) {
    assert.equal(bloomHash(input, seed), hash, `h_${seed}(${JSON.stringify(input)})`)
  }
})

test('bloom filters match bloom-filters.json bytes and membership', { skip }, () => {
  const vectors = load('bloom-filters.json')
  assert.ok(vectors.length > 0)
  for (const vector of vectors) {
    const filter = new BloomFilter(vector.size_bits, vector.num_hashes)
    for (const id of vector.added) filter.add(id)
    const what = `m=${vector.size_bits} k=${vector.num_hashes} n=${vector.added.length}`
    assert.equal(filter.toBase64(), vector.base64, `bytes of ${what}`)
    for (const id of vector.added) assert.equal(filter.test(id), vector.client_test_added, `added ${id} in ${what}`)
    // How the server reads the filter: m = 8 × bytes, k = 3.
    const serverView = BloomFilter.fromBase64(vector.base64, 3)
    for (const query of vector.queries) {
      assert.equal(serverView.test(query.peer_id), query.server_test, `server test of ${query.peer_id} in ${what}`)
    }
  }
})

test('query value is percent-encoded', () => {
  const filter = new BloomFilter(1024, 3)
  for (let i = 0; i < 200; i++) filter.add(`peer-${i}`)
  const value = filter.toQueryValue()
  assert.doesNotMatch(value, /[+/=]/)
  assert.equal(decodeURIComponent(value), filter.toBase64())
})
