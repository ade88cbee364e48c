// Wire vectors from WebTorrent's own JavaScript: the bytes bittorrent-protocol,
// ut_metadata, create-torrent, parse-torrent and magnet-uri produce, written as JSON
// (bytes as lowercase hex) for bt-wire's tests.
//
// usage: node interop/wire-vectors.mjs <output folder>
//        node interop/wire-vectors.mjs --serve-stdio | --fetch-stdio
//
// Deterministic by construction: fixed info-hashes, peer ids, contents and creation
// dates, so `cargo xtask test` can regenerate the vectors and diff them against the
// committed copies in bt-wire/tests/vectors/.
//
// With --serve-stdio it is instead a live WebTorrent peer on stdin/stdout: a
// bittorrent-protocol wire, set up as WebTorrent sets it up (ut_metadata, ut_pex,
// lt_donthave, fast bit), seeding the multi-file vector torrent. With --fetch-stdio the
// same wire downloads that torrent from a magnet's knowledge only (ut_metadata, then every
// block, each piece checked with SHA-1) and exits 0 only if everything verified.
// bt-wire's `webtorrent_peer` tests drive a `Session` against both.

import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

import Protocol from 'bittorrent-protocol'
import utMetadata from 'ut_metadata'
import utPex from 'ut_pex'
import ltDontHave from 'lt_donthave'
import createTorrent from 'create-torrent'
import parseTorrent, { toMagnetURI } from 'parse-torrent'
import magnetDecode, { encode as magnetEncode } from 'magnet-uri'
import BitField from 'bitfield'

const serveStdio = process.argv[2] === '--serve-stdio'
const fetchStdio = process.argv[2] === '--fetch-stdio'
const outDir = process.argv[2]
if (!outDir) {
  console.error('usage: node wire-vectors.mjs <output folder> | --serve-stdio | --fetch-stdio')
  process.exit(2)
}

const hex = bytes => Buffer.from(bytes).toString('hex')
const here = path.dirname(new URL(import.meta.url).pathname)
const versionOf = name =>
  JSON.parse(fs.readFileSync(path.join(here, 'node_modules', name, 'package.json'), 'utf8')).version

// Deterministic content: byte i of a stream seeded with `seed`.
const content = (length, seed) => {
  const buf = Buffer.alloc(length)
  for (let i = 0; i < length; i++) buf[i] = (i * 31 + seed * 17 + (i >> 8)) & 0xff
  return buf
}

const INFO_HASH = 'c9e15763f722f23e98a29decdfae341b98d53056'
const PEER_ID = hex(Buffer.from('-WW0208-rondevuvectr')) // 20 bytes, WebTorrent-style prefix
const REMOTE_PEER_ID = hex(Buffer.from('-RV0001-remotepeer01'))

// A wire whose outgoing bytes are captured synchronously, call by call.
function capturingWire () {
  const wire = new Protocol()
  const out = []
  wire._push = data => { out.push(Buffer.from(data)) }
  const take = () => {
    const bytes = Buffer.concat(out)
    out.length = 0
    return hex(bytes)
  }
  return { wire, take }
}

function write (name, value) {
  fs.writeFileSync(path.join(outDir, name), JSON.stringify(value, null, 2) + '\n')
}

const packages = Object.fromEntries(
  ['bittorrent-protocol', 'ut_metadata', 'ut_pex', 'create-torrent', 'parse-torrent', 'magnet-uri', 'bencode']
    .map(name => [name, versionOf(name)])
)

// --- Torrents ------------------------------------------------------------------------------

function create (input, opts) {
  return new Promise((resolve, reject) => {
    createTorrent(input, opts, (err, torrent) => (err ? reject(err) : resolve(torrent)))
  })
}

const torrentCases = []
{
  const single = content(40000, 1)
  single.name = 'hello.bin'
  torrentCases.push({
    name: 'single-file',
    input: single,
    files: [{ path: ['hello.bin'], data: single }],
    opts: {
      pieceLength: 16384,
      creationDate: new Date('2024-01-02T03:04:05Z'),
      createdBy: 'WebTorrent vectors',
      announceList: [['wss://tracker.example/announce']]
    }
  })
}
{
  const a = content(20000, 2)
  a.name = 'vectors/a.txt'
  const b = content(5, 3)
  b.name = 'vectors/sub/b.bin'
  const c = content(33000, 4)
  c.name = 'vectors/sub/deeper/c.dat'
  torrentCases.push({
    name: 'multi-file',
    input: [a, b, c],
    files: [
      { path: ['a.txt'], data: a },
      { path: ['sub', 'b.bin'], data: b },
      { path: ['sub', 'deeper', 'c.dat'], data: c }
    ],
    opts: {
      pieceLength: 32768,
      creationDate: new Date('2024-05-06T07:08:09Z'),
      createdBy: 'WebTorrent vectors',
      comment: 'multi-file vector',
      announceList: [['wss://tracker.example/announce'], ['udp://tracker.example:1337']],
      private: true
    }
  })
}

const torrents = []
for (const c of torrentCases) {
  const file = await create(c.input, c.opts)
  const parsed = await parseTorrent(file)
  torrents.push({
    name: c.name,
    torrent_hex: hex(file),
    // What the builder needs to reproduce the file byte for byte.
    build: {
      name: parsed.name,
      piece_length: c.opts.pieceLength,
      single_file: !Array.isArray(c.input),
      private: !!c.opts.private,
      files: c.files.map(f => ({ path: f.path, data_hex: hex(f.data) })),
      announce_list: c.opts.announceList,
      comment: c.opts.comment ?? null,
      created_by: c.opts.createdBy,
      creation_date: Math.ceil(c.opts.creationDate.getTime() / 1000),
      encoding: 'UTF-8'
    },
    // What parse-torrent reads from it.
    parsed: {
      info_hash: parsed.infoHash,
      name: parsed.name,
      length: parsed.length,
      piece_length: parsed.pieceLength,
      last_piece_length: parsed.lastPieceLength,
      pieces: parsed.pieces,
      files: parsed.files.map(f => ({ path: f.path.split(path.sep).join('/'), length: f.length, offset: f.offset })),
      announce: parsed.announce,
      private: !!parsed.private,
      magnet: toMagnetURI(parsed)
    }
  })
}

if (serveStdio) {
  await serve(torrentCases[1], torrents[1])
} else if (fetchStdio) {
  await fetch(torrents[1])
} else {
  fs.mkdirSync(outDir, { recursive: true })
  write('torrents.json', { packages, torrents })
  await writeWireVectors()
}

// A live seeding peer on stdin/stdout, as WebTorrent wires one up (lib/torrent.js, lib/peer.js).
async function serve (torrentCase, torrent) {
  const data = Buffer.concat(torrentCase.files.map(f => f.data))
  const pieceLength = torrentCase.opts.pieceLength
  const info = (await parseTorrent(Buffer.from(torrent.torrent_hex, 'hex'))).infoBuffer
  const wire = new Protocol()
  wire.use(utMetadata(info))
  wire.use(utPex())
  wire.use(ltDontHave())
  await wire.ut_metadata.setMetadata(info)
  wire.on('handshake', infoHash => {
    if (infoHash !== torrent.parsed.info_hash) {
      console.error(`serve: unexpected info-hash ${infoHash}`)
      wire.destroy()
      return
    }
    wire.handshake(infoHash, PEER_ID, { dht: false, fast: true })
    const field = new BitField(torrent.parsed.pieces.length)
    for (let i = 0; i < torrent.parsed.pieces.length; i++) field.set(i, true)
    wire.bitfield(field)
    wire.unchoke()
  })
  wire.on('request', (index, offset, length, respond) => {
    const start = index * pieceLength + offset
    respond(null, data.subarray(start, start + length))
  })
  wire.on('error', err => console.error(`serve: ${err.message}`))
  process.stdin.pipe(wire).pipe(process.stdout)
  await new Promise(resolve => process.stdin.on('end', resolve))
  wire.destroy()
}

// A live leeching peer on stdin/stdout: handshake, ut_metadata fetch (as WebTorrent does
// for a magnet), then every block requested and every piece verified.
async function fetch (torrent) {
  const infoHash = torrent.parsed.info_hash
  const fail = message => {
    console.error(`fetch: ${message}`)
    process.exit(1)
  }
  const wire = new Protocol()
  wire.use(utMetadata())
  wire.use(utPex())
  wire.use(ltDontHave())
  wire.on('error', err => fail(err.message))
  wire.ut_metadata.fetch()
  wire.ut_metadata.on('warning', err => console.error(`fetch: ut_metadata warning: ${err.message}`))
  wire.ut_metadata.on('metadata', async metadata => {
    const parsed = await parseTorrent(metadata)
    if (parsed.infoHash !== infoHash) fail(`metadata hashes to ${parsed.infoHash}`)
    let missing = 0
    let verified = 0
    const requestAll = () => {
      for (let index = 0; index < parsed.pieces.length; index++) {
        const size = index === parsed.pieces.length - 1 ? parsed.lastPieceLength : parsed.pieceLength
        const blocks = []
        let remaining = Math.ceil(size / 16384)
        for (let offset = 0; offset < size; offset += 16384) {
          missing++
          wire.request(index, offset, Math.min(16384, size - offset), (err, block) => {
            if (err) fail(`request ${index}/${offset}: ${err.message}`)
            blocks[offset / 16384] = block
            if (--remaining === 0) {
              const digest = crypto.createHash('sha1').update(Buffer.concat(blocks)).digest('hex')
              if (digest !== parsed.pieces[index]) fail(`piece ${index} does not verify`)
              verified++
            }
            if (--missing === 0) {
              if (verified !== parsed.pieces.length) fail(`verified ${verified} of ${parsed.pieces.length} pieces`)
              console.error(`fetch: metadata and ${verified} pieces verified`)
              process.exit(0)
            }
          })
        }
      }
    }
    wire.once('unchoke', requestAll)
    wire.interested()
  })
  process.stdin.pipe(wire).pipe(process.stdout)
  wire.handshake(infoHash, PEER_ID, { dht: false, fast: true })
  await new Promise(resolve => process.stdin.on('end', resolve))
  fail('the seeder closed the stream before the download completed')
}

// Everything but the torrents: magnets, the handshakes, every message, ut_metadata.
async function writeWireVectors () {
  // --- Magnets -------------------------------------------------------------------------------

  const produced = [
    { infoHash: INFO_HASH },
    { infoHash: INFO_HASH, name: 'My File (1) & more/é.txt' },
    {
      infoHash: INFO_HASH,
      name: 'seeded by rondevu',
      announce: ['wss://tracker.example/announce', 'udp://tracker.example:1337'],
      urlList: ['https://seed.example/files/'],
      peerAddresses: ['127.0.0.1:6881', '[::1]:6882']
    }
  ].map(fields => ({
    fields: {
      info_hash: fields.infoHash,
      display_name: fields.name ?? null,
      trackers: fields.announce ?? [],
      web_seeds: fields.urlList ?? [],
      peers: fields.peerAddresses ?? []
    },
    uri: magnetEncode(fields)
  }))

  const base32 = 'ZHQVOY7XELZD5GFCTXWN7LRUDOMNKMCW' // INFO_HASH in base32
  const parsedOnly = [
    `magnet:?xt=urn:btih:${base32}&dn=base32+link`,
    `magnet:?xt=urn:btih:${INFO_HASH.toUpperCase()}&tr=wss%3A%2F%2Fa.example&tr=wss%3A%2F%2Fa.example&so=0-2&x.pe=10.0.0.1:51413`,
    `magnet:?dn=first+then+xt&xt=urn:btih:${INFO_HASH}&ws=https%3A%2F%2Fw.example%2F&kt=a+b`
  ].map(uri => {
    const m = magnetDecode(uri)
    return {
      uri,
      fields: {
        info_hash: m.infoHash,
        display_name: m.name ?? null,
        trackers: m.announce,
        web_seeds: m.urlList,
        peers: m.peerAddresses
      }
    }
  })
  write('magnets.json', { packages, produced, parsed: parsedOnly })

  // --- Handshake, extension handshake and every message ----------------------------------------

  // The info dictionary served over ut_metadata: the multi-file torrent's.
  const multiInfo = (await parseTorrent(Buffer.from(torrents[1].torrent_hex, 'hex'))).infoBuffer

  const { wire, take } = capturingWire()
  wire.use(utMetadata(multiInfo))
  wire.use(utPex())
  wire.use(ltDontHave())
  await wire.ut_metadata.setMetadata(multiInfo)
  // Pretend the remote handshake arrived with the extension and fast bits, as another
  // WebTorrent peer sends it, so our side answers with its handshake and extension handshake.
  wire.peerExtensions = { extended: true, fast: true, dht: false }
  wire.handshake(INFO_HASH, PEER_ID, { dht: false, fast: true })
  const handshakeAndExtension = take()
  const handshakeHex = handshakeAndExtension.slice(0, 136)
  const extensionHex = handshakeAndExtension.slice(136)
  const extensionPayload = bencodeOfExtended(extensionHex)

  function bencodeOfExtended (messageHex) {
    // <len:4><id=20:1><ext id:1><payload>
    return messageHex.slice(12)
  }

  write('handshake.json', {
    packages,
    info_hash: INFO_HASH,
    peer_id: PEER_ID,
    reserved: handshakeHex.slice(40, 56),
    bytes: handshakeHex,
    extension_handshake: {
      // As WebTorrent sends it: the extended message (id 20, extension id 0).
      message: extensionHex,
      payload: extensionPayload,
      m: Object.fromEntries(Object.entries(wire.extendedMapping).map(([id, name]) => [name, Number(id)])),
      metadata_size: multiInfo.length
    }
  })

  // The remote side's extension ids, as its extension handshake would set them.
  wire.peerExtendedMapping = { ut_metadata: 3, ut_pex: 4, lt_donthave: 5 }
  wire.hasFast = true

  const messages = []
  const record = (fields, send) => {
    send()
    messages.push({ ...fields, bytes: take() })
  }
  record({ type: 'keep_alive' }, () => wire.keepAlive())
  record({ type: 'unchoke' }, () => wire.unchoke())
  record({ type: 'choke' }, () => wire.choke())
  record({ type: 'interested' }, () => wire.interested())
  record({ type: 'not_interested' }, () => wire.uninterested())
  record({ type: 'have', piece: 5 }, () => wire.have(5))
  record({ type: 'have', piece: 4294967295 }, () => wire.have(4294967295))
  {
    const field = new BitField(10)
    for (const i of [0, 2, 3, 9]) field.set(i, true)
    record({ type: 'bitfield', piece_count: 10, pieces: [0, 2, 3, 9] }, () => wire.bitfield(field))
  }
  wire.peerChoking = false
  record({ type: 'request', piece: 1, offset: 16384, length: 16384 }, () => wire.request(1, 16384, 16384, () => {}))
  {
    const block = content(16384, 9)
    record({ type: 'piece', piece: 1, offset: 16384, data: hex(block) }, () => wire.piece(1, 16384, block))
    const short = content(1234, 10)
    record({ type: 'piece', piece: 2, offset: 0, data: hex(short) }, () => wire.piece(2, 0, short))
  }
  record({ type: 'cancel', piece: 1, offset: 16384, length: 16384 }, () => wire.cancel(1, 16384, 16384))
  record({ type: 'port', port: 6881 }, () => wire.port(6881))
  record({ type: 'suggest_piece', piece: 7 }, () => wire.suggest(7))
  record({ type: 'have_all' }, () => wire.haveAll())
  record({ type: 'have_none' }, () => wire.haveNone())
  record({ type: 'reject_request', piece: 3, offset: 0, length: 16384 }, () => wire.reject(3, 0, 16384))
  record({ type: 'allowed_fast', piece: 8 }, () => wire.allowedFast(8))
  record({ type: 'extended', id: 4, payload: hex(Buffer.from('d5:added0:e')) }, () => wire.extended('ut_pex', { added: new Uint8Array(0) }))
  write('messages.json', { packages, messages })

  // --- ut_metadata ---------------------------------------------------------------------------

  const metadata = []
  const recordMeta = (fields, send) => {
    send()
    const bytes = take()
    metadata.push({ ...fields, message: bytes, payload: bencodeOfExtended(bytes) })
  }
  recordMeta({ type: 'request', piece: 0 }, () => wire.ut_metadata._request(0))
  recordMeta({ type: 'reject', piece: 1 }, () => wire.ut_metadata._reject(1))
  // Serve a request the way ut_metadata does (its own _onRequest path).
  recordMeta({ type: 'data', piece: 0, total_size: multiInfo.length, data: hex(multiInfo.subarray(0, 16384)) },
    () => wire.ut_metadata._onRequest(0))
  write('ut_metadata.json', { packages, extension_id: 3, info: hex(multiInfo), messages: metadata })
  console.log(`wrote WebTorrent wire vectors to ${outDir}`)
}
