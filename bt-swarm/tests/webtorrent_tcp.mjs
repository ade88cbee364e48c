// A real WebTorrent (Node) peer for bt-swarm's interop test, over TCP on 127.0.0.1 only.
//
//   node webtorrent_tcp.mjs <interopDir> leech <torrentFile> <outDir> <port>
//       adds the torrent, connects to 127.0.0.1:<port> once ready, prints `done` when complete.
//   node webtorrent_tcp.mjs <interopDir> seed <path>
//       seeds <path>, prints `ready <infoHash> <tcpPort>`, runs until stdin closes.
//
// WebTorrent comes from <interopDir>/node_modules (installed by `cargo xtask npm-install`).
// DHT, trackers, LSD, uTP, web seeds and NAT port mapping are all off: no traffic leaves
// loopback.
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [interopDir, mode, ...rest] = process.argv.slice(2)
const entry = path.join(interopDir, 'node_modules', 'webtorrent', 'index.js')
const { default: WebTorrent } = await import(pathToFileURL(entry).href)

const client = new WebTorrent({
  dht: false,
  tracker: false,
  lsd: false,
  utp: false,
  webSeeds: false,
  natUpnp: false,
  natPmp: false
})
const fail = (message) => {
  console.error(`webtorrent_tcp: ${message}`)
  process.exit(1)
}
client.on('error', (error) => fail(error.message))
setTimeout(() => fail("timed out"), 20_000).unref()

if (mode === 'leech') {
  const [torrentFile, outDir, port] = rest
  const torrent = client.add(fs.readFileSync(torrentFile), { path: outDir })
  torrent.on('error', (error) => fail(error.message))
  let connected = false
  const connect = () => {
    if (connected) return
    connected = true
    torrent.addPeer(`127.0.0.1:${port}`)
  }
  // Connect once WebTorrent has checked its (empty) folder: a wire opened earlier gets
  // `interested` before `bitfield`, which bt-wire's Session refuses today.
  torrent.on('ready', connect)
  if (torrent.ready) connect()
  torrent.on('done', () => {
    console.log('done')
    client.destroy(() => process.exit(0))
  })
} else if (mode === 'seed') {
  const [input] = rest
  client.seed(input, { announce: [] }, (torrent) => {
    const report = () => {
      const address = client.address()
      console.log(`ready ${torrent.infoHash} ${address.port}`)
    }
    if (client.listening) report()
    else client.once('listening', report)
  })
  process.stdin.resume()
  process.stdin.on('end', () => client.destroy(() => process.exit(0)))
} else {
  fail(`unknown mode ${mode}`)
}
