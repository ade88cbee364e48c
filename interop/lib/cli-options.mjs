// Shared command-line flags of the interop scripts (Node only).
import { parseArgs } from 'node:util'

export const COMMON_OPTIONS = {
  server: { type: 'string' },
  timeout: { type: 'string' },
  'max-peers': { type: 'string' },
  label: { type: 'string' },
  'reference-client': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false }
}

export class UsageError extends Error {}

export function parseCommandLine (argv, extraOptions = {}) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...extraOptions }, allowPositionals: true, strict: true })
  } catch (error) {
    throw new UsageError(error.message)
  }
}

export function positiveNumber (text, flag, fallback) {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${flag} needs a positive number, got ${JSON.stringify(text)}`)
  return value
}

/** A magnet link, or a bare 40-hex info-hash turned into one. Returns {magnet, infoHash}. */
export function magnetOf (text) {
  if (typeof text !== 'string') throw new UsageError('a magnet link or an info-hash is required')
  if (/^[0-9a-fA-F]{40}$/.test(text)) {
    const infoHash = text.toLowerCase()
    return { magnet: `magnet:?xt=urn:btih:${infoHash}`, infoHash }
  }
  const match = /^magnet:\?.*\bxt=urn:btih:([0-9a-fA-F]{40})\b/.exec(text)
  if (!match) throw new UsageError(`not a magnet link with a hex v1 info-hash: ${text}`)
  return { magnet: text, infoHash: match[1].toLowerCase() }
}

export function requireServer (url) {
  if (!url) throw new UsageError('--server URL is required (a Rondevu server, e.g. http://127.0.0.1:3000)')
  const parsed = new URL(url)
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname) && !/^127\./.test(parsed.hostname)) {
    throw new UsageError(`--server must be on loopback (network safety), got ${parsed.hostname}`)
  }
  return url
}
