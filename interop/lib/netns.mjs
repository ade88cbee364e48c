// Runs the calling script again inside a fresh network namespace whose only interface is `lo`
// (`unshare -n`), so every peer, server and browser it starts can reach loopback and nothing
// else. Candidate filtering alone is not enough: libwebrtc pairs its sockets on other
// interfaces with a remote loopback candidate, so checks (and even the data, on the selected
// pair) flow between this machine's own eth0 address and ::1 / 127.0.0.1 over `lo`.
//
// RONDEVU_NETNS=off skips the namespace; RONDEVU_NETNS=require fails when it cannot be made.
// Needs root (or CAP_SYS_ADMIN), `unshare` and `ip`. Node only.

import { spawnSync } from 'node:child_process'
import { networkInterfaces } from 'node:os'

const MARK = 'RONDEVU_NETNS_INSIDE'

/** True when every local address is a loopback one (already isolated). */
export function onlyLoopbackInterfaces () {
  return Object.values(networkInterfaces()).flat().every(entry => entry.internal)
}

/**
 * Re-executes this process inside `unshare -n` unless that is switched off, impossible, or
 * already done; returns only when the current process is the one to run the tests.
 */
export function isolateNetwork () {
  const mode = process.env.RONDEVU_NETNS ?? 'auto'
  if (process.env[MARK] === '1' || mode === 'off' || onlyLoopbackInterfaces()) return
  const check = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up'], { stdio: 'ignore' })
  if (check.status !== 0) {
    const why = 'cannot create a network namespace (needs root, unshare and ip)'
    if (mode === 'require') {
      process.stderr.write(`error: ${why}; RONDEVU_NETNS=require\n`)
      process.exit(1)
    }
    process.stderr.write(`warning: ${why}; running on the host network with loopback-only candidate filtering\n`)
    return
  }
  process.stderr.write('note: running inside a fresh network namespace with only lo (RONDEVU_NETNS=off to skip)\n')
  const result = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$0" "$@"', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [MARK]: '1' }
  })
  process.exit(result.status ?? 1)
}
