// A process that used the engine exits by itself after close(): nothing the addon
// leaves behind keeps Node's event loop alive.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'

import { tempDir } from './helpers.mjs'

const lib = fileURLToPath(new URL('../lib/index.js', import.meta.url))

test('a child process exits by itself within a few seconds of close()', async () => {
  const tmp = tempDir()
  const script = `
    const { Engine } = require(${JSON.stringify(lib)})
    ;(async () => {
      const engine = Engine.embedded({ dataDir: ${JSON.stringify(tmp.dir)} })
      await engine.start()
      const r = await engine.chat('How many customers are there?')
      if (!r.success) throw new Error(JSON.stringify(r.error))
      await Promise.all(Array.from({ length: 5 }, () => engine.chat('Top 5 products by revenue')))
      await engine.close()
      console.log('closed')
    })().catch((e) => { console.error(e); process.exitCode = 3 })
  `
  try {
    const child = spawn(process.execPath, ['-e', script], {
      env: { ...process.env, LLM_PROVIDER: 'offline', MCP_CONFIG_PATH: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    let closedAt = null
    child.stdout.on('data', () => {
      if (closedAt === null && stdout.includes('closed')) closedAt = Date.now()
    })
    const limit = setTimeout(() => child.kill('SIGKILL'), 60_000)
    const [code, signal] = await new Promise((resolve) => child.on('exit', (c, s) => resolve([c, s])))
    clearTimeout(limit)
    const exitedAt = Date.now()
    assert.equal(signal, null, `child was killed: it did not exit by itself\n${stderr}`)
    assert.equal(code, 0, stderr)
    assert.ok(closedAt !== null, `no "closed" line: ${stdout}\n${stderr}`)
    assert.ok(exitedAt - closedAt < 5_000, `exited ${exitedAt - closedAt} ms after close()`)
  } finally {
    tmp.remove()
  }
})
