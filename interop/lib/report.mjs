// Machine-readable output: one JSON object per line on stdout ({"event": ..., ...});
// human-readable logs on stderr. Node only.

export function emit (event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n')
}

export function makeLogger (name) {
  const started = Date.now()
  return message => {
    const seconds = ((Date.now() - started) / 1000).toFixed(3).padStart(7)
    process.stderr.write(`[${name} ${seconds}s] ${message}\n`)
  }
}
