#!/usr/bin/env node
// Fetches a magnet in headless Chromium: serves browser/ on 127.0.0.1 (the page bundles our
// signaling modules with simple-peer and loads WebTorrent's browser build), launches
// /usr/bin/chromium through playwright-core, and relays the page's events as JSON lines.
//
//   node browser/run.mjs <magnet|infohash> --server URL [--timeout S] [--max-peers N]
//                        [--reference-client] [--label L] [--signal-role R]
//
// stdout JSON lines: ready, peer, progress, done {ms, bytes, files: [{path, length, sha256}]},
// error, skipped. Exit codes: 0 done; 1 error; 2 usage; 77 skipped (no Chromium, and
// RONDEVU_REQUIRE_BROWSER is not 1); 124 timeout.
// Env: RONDEVU_CHROMIUM (default /usr/bin/chromium), RONDEVU_REQUIRE_BROWSER=1.

import http from 'node:http'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'
import { emit, makeLogger } from '../lib/report.mjs'
import { parseCommandLine, positiveNumber, magnetOf, requireServer, UsageError } from '../lib/cli-options.mjs'

const here = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const EXIT_SKIPPED = 77
const EXIT_TIMEOUT = 124

const USAGE = `usage: browser/run.mjs <magnet|infohash> --server URL [options]
  --timeout SECS       end the run after SECS (exit 124); default 90
  --max-peers N, --label TEXT, --reference-client, --signal-role R   as in rondevu-peer.mjs
env: RONDEVU_CHROMIUM=/path/to/chromium (default /usr/bin/chromium);
     RONDEVU_REQUIRE_BROWSER=1 makes a missing Chromium an error instead of a skip (exit 77)`

/**
 * Chromium flags: loopback ICE allowed, host addresses not hidden behind mDNS, quiet. The fake
 * media flags let the page take a (fake) microphone: without a media permission Chromium gathers
 * candidates only on the default-route interface, so never on loopback.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream'
]

/** The page bundle: browser/page.mjs + our modules + simple-peer, WebTorrent left external. */
async function bundlePage () {
  const esbuild = require('esbuild')
  const result = await esbuild.build({
    entryPoints: [path.join(here, 'page.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    external: ['/webtorrent.min.js'],
    alias: {
      'webrtc-polyfill': path.join(here, 'webrtc-global.mjs'),
      events: 'bare-events'
    },
    logLevel: 'silent'
  })
  return result.outputFiles[0].text
}

function servePage ({ pageJs, onReport }) {
  const webtorrentJs = readFileSync(require.resolve('webtorrent/dist/webtorrent.min.js'))
  const indexHtml = readFileSync(path.join(here, 'index.html'))
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1')
    const send = (type, body) => {
      response.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store' })
      response.end(body)
    }
    if (request.method === 'GET' && url.pathname === '/') return send('text/html; charset=utf-8', indexHtml)
    if (request.method === 'GET' && url.pathname === '/page.js') return send('text/javascript', pageJs)
    if (request.method === 'GET' && url.pathname === '/webtorrent.min.js') return send('text/javascript', webtorrentJs)
    if (request.method === 'POST' && url.pathname === '/report') {
      let body = ''
      request.setEncoding('utf8')
      request.on('data', chunk => {
        body += chunk
        if (body.length > 1_000_000) request.destroy()
      })
      request.on('end', () => {
        response.writeHead(204)
        response.end()
        try { onReport(JSON.parse(body)) } catch { onReport({ event: 'error', message: 'unparsable report from the page' }) }
      })
      return
    }
    response.writeHead(url.pathname === '/favicon.ico' ? 204 : 404)
    response.end()
  })
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server)))
}

async function main () {
  const { values, positionals } = parseCommandLine(process.argv.slice(2), {
    'signal-role': { type: 'string', default: 'both' }
  })
  if (values.help) {
    process.stderr.write(USAGE + '\n')
    return 0
  }
  const { magnet, infoHash } = magnetOf(positionals[0])
  const rondevuServer = requireServer(values.server)
  const timeoutSecs = positiveNumber(values.timeout, '--timeout', 90)
  const maxPeers = positiveNumber(values['max-peers'], '--max-peers', 8)
  const log = makeLogger('browser')

  const chromiumPath = process.env.RONDEVU_CHROMIUM || '/usr/bin/chromium'
  if (!existsSync(chromiumPath)) {
    const reason = `no Chromium at ${chromiumPath} (apt-get install -y chromium, or set RONDEVU_CHROMIUM)`
    if (process.env.RONDEVU_REQUIRE_BROWSER === '1') {
      emit('error', { message: `${reason}; RONDEVU_REQUIRE_BROWSER=1` })
      return 1
    }
    emit('skipped', { reason })
    log(`skipped: ${reason}`)
    return EXIT_SKIPPED
  }

  let settle
  const outcome = new Promise(resolve => { settle = resolve })
  const pageJs = await bundlePage()
  const pageServer = await servePage({
    pageJs,
    onReport: report => {
      if (report.event === 'log') return log(`page: ${report.message}`)
      emit(report.event, Object.fromEntries(Object.entries(report).filter(([key]) => key !== 'event')))
      if (report.event === 'done') settle({ code: 0 })
      if (report.event === 'error') settle({ code: 1 })
    }
  })
  const pageUrl = new URL(`http://127.0.0.1:${pageServer.address().port}/`)
  pageUrl.search = new URLSearchParams({
    server: rondevuServer,
    magnet,
    maxPeers: String(maxPeers),
    referenceClient: values['reference-client'] ? '1' : '0',
    signalRole: values['signal-role'],
    ...(values.label ? { label: values.label } : {})
  }).toString()

  const profile = mkdtempSync(path.join(tmpdir(), 'rondevu-chromium-'))
  const timer = setTimeout(() => settle({ code: EXIT_TIMEOUT, message: `timeout after ${timeoutSecs} s` }), timeoutSecs * 1000)
  let context = null
  try {
    const { chromium } = require('playwright-core')
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      chromiumSandbox: false,
      args: CHROMIUM_ARGS,
      timeout: 30_000
    })
    context.on('close', () => settle({ code: 1, message: 'Chromium closed unexpectedly' }))
    const page = context.pages()[0] ?? await context.newPage()
    page.on('console', message => log(`console.${message.type()}: ${message.text()}`))
    page.on('pageerror', error => settle({ code: 1, message: `page error: ${error.message}` }))
    page.on('crash', () => settle({ code: 1, message: 'the page crashed' }))
    log(`Chromium ${context.browser()?.version() ?? ''} → ${pageUrl.origin} (info-hash ${infoHash})`)
    await page.goto(pageUrl.href)
    const { code, message } = await outcome
    if (message) emit('error', { message })
    return code
  } catch (error) {
    emit('error', { message: `Chromium: ${error.message.split('\n')[0]}` })
    return 1
  } finally {
    clearTimeout(timer)
    if (context) await Promise.race([context.close().catch(() => {}), new Promise(resolve => setTimeout(resolve, 5000))])
    pageServer.close()
    try { rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }) } catch (error) { log(`could not remove ${profile}: ${error.message}`) }
  }
}

main().then(code => process.exit(code), error => {
  if (error instanceof UsageError) {
    process.stderr.write(`error: ${error.message}\n${USAGE}\n`)
    emit('error', { message: error.message })
    process.exit(2)
  }
  emit('error', { message: error.message })
  process.exit(1)
})
