// Test plumbing shared by the interop tests: our Rust Rondevu server, child peers that print
// JSON lines, files and hashes. Node only.

import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const INTEROP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The `rondevu` binary from $RONDEVU_BIN, or a skip reason. */
export function rondevuBinary () {
  const bin = process.env.RONDEVU_BIN
  if (!bin) {
    const reason = 'RONDEVU_BIN is not set (build with `cargo build -p rondevu-cli` and point it at target/debug/rondevu)'
    if (process.env.RONDEVU_REQUIRE_NODE === '1') throw new Error(`${reason}; RONDEVU_REQUIRE_NODE=1 forbids skipping`)
    return { skip: reason }
  }
  if (!existsSync(bin)) throw new Error(`RONDEVU_BIN=${bin} does not exist`)
  return { bin }
}

/** Runs `rondevu server --listen 127.0.0.1:0`; resolves to {url, stop} once it listens. */
export async function startServer (bin, { timeoutMs = 10_000 } = {}) {
  const child = spawn(bin, ['server', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', chunk => { stderr += chunk })
  const url = await new Promise((resolve, reject) => {
    let stdout = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`server did not start in ${timeoutMs} ms: ${stderr}`)) }, timeoutMs)
    child.stdout.on('data', chunk => {
      stdout += chunk
      const match = /listening on (http:\/\/\S+)/.exec(stdout)
      if (match) { clearTimeout(timer); resolve(match[1]) }
    })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`server exited with ${code}: ${stderr}`)) })
  })
  return {
    url,
    stop: () => stopChild(child)
  }
}

function stopChild (child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise(resolve => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })
}

/**
 * A child Node script of interop/ that prints one JSON object per line. `events` collects them;
 * `waitFor(name)` resolves with the first such event; `exited` resolves with {code, signal}.
 */
export function spawnScript (script, args, { name = script, echo = process.env.RONDEVU_INTEROP_VERBOSE === '1' } = {}) {
  const child = spawn(process.execPath, [path.join(INTEROP_DIR, script), ...args], {
    cwd: INTEROP_DIR,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const events = []
  const waiters = []
  let stderr = ''
  let buffer = ''
  child.stdout.on('data', chunk => {
    buffer += chunk
    let newline
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      if (!line.trim()) continue
      let event
      try { event = JSON.parse(line) } catch { event = { event: 'unparsable', line } }
      events.push(event)
      if (echo) process.stderr.write(`${name} > ${line}\n`)
      for (const waiter of [...waiters]) waiter(event)
    }
  })
  child.stderr.on('data', chunk => {
    stderr += chunk
    if (echo) process.stderr.write(chunk)
  })
  const exited = new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  let exitInfo = null
  exited.then(info => { exitInfo = info; for (const waiter of [...waiters]) waiter(null) })

  const waitFor = (eventName, timeoutMs = 30_000) => {
    const found = events.find(e => e.event === eventName)
    if (found) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const done = (fn, value) => { clearTimeout(timer); waiters.splice(waiters.indexOf(waiter), 1); fn(value) }
      const waiter = event => {
        if (event === null) done(reject, new Error(`${name} exited (${JSON.stringify(exitInfo)}) before "${eventName}"; events: ${JSON.stringify(events.slice(-5))}; stderr tail:\n${stderr.slice(-3000)}`))
        else if (event.event === eventName) done(resolve, event)
        else if (event.event === 'error') done(reject, new Error(`${name} reported an error: ${event.message}; stderr tail:\n${stderr.slice(-3000)}`))
      }
      const timer = setTimeout(() => done(reject, new Error(`${name}: no "${eventName}" in ${timeoutMs} ms; stderr tail:\n${stderr.slice(-3000)}`)), timeoutMs)
      waiters.push(waiter)
      if (exitInfo) waiter(null)
    })
  }
  return {
    child,
    events,
    waitFor,
    exited,
    stderr: () => stderr,
    stop: () => stopChild(child)
  }
}

/** A fresh temporary folder, removed by `cleanup()`. */
export function tempDir (prefix = 'rondevu-interop-') {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Writes `size` random bytes to `file`; returns their SHA-256 hex. */
export function writeRandomFile (file, size) {
  const data = randomBytes(size)
  writeFileSync(file, data)
  return createHash('sha256').update(data).digest('hex')
}

export function sha256File (file) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(file).on('error', reject).on('data', chunk => hash.update(chunk)).on('end', () => resolve(hash.digest('hex')))
  })
}
