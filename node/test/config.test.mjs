// Engine.fromConfig: files and objects, CONFIG_ERROR, and a server that is down
// (MCP_UNAVAILABLE, ORCHESTRATOR_NOT_READY).
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, test } from 'node:test'

import { deadServerConfig, t2t, tempDir } from './helpers.mjs'

const { Engine } = t2t
const tmp = tempDir()
after(() => tmp.remove())

test('bad YAML: start() rejects with ConfigError', async () => {
  const file = join(tmp.dir, 'bad.yaml')
  writeFileSync(file, 'mcp_servers:\n  database_mcp: [unclosed\n')
  const engine = Engine.fromConfig(file)
  await assert.rejects(
    engine.start(),
    (e) => e instanceof t2t.ConfigError && e.code === 'CONFIG_ERROR' && e.message.includes('bad.yaml'),
  )
  assert.equal(engine.started, false)
})

test('missing file and invalid values are CONFIG_ERROR', async () => {
  await assert.rejects(Engine.fromConfig(join(tmp.dir, 'missing.yaml')).start(), t2t.ConfigError)
  const config = await deadServerConfig()
  config.mcp_servers.database_mcp.priority = 5000
  await assert.rejects(Engine.fromConfig(config).start(), (e) => e instanceof t2t.ConfigError && /priority/.test(e.message))
})

test('the only server on a closed loopback port: MCP_UNAVAILABLE and ORCHESTRATOR_NOT_READY', async () => {
  const engine = Engine.fromConfig(await deadServerConfig())
  await engine.start() // fail_fast: false, so the engine starts and reports the server down
  try {
    await assert.rejects(
      engine.ask('How many customers are there?'),
      (e) => e instanceof t2t.McpUnavailableError && e.code === 'MCP_UNAVAILABLE' && e.retryable,
    )
    await assert.rejects(
      engine.ask({ query: 'How many customers are there?', mode: 'multi_mcp' }),
      (e) => e instanceof t2t.OrchestratorNotReadyError && e.code === 'ORCHESTRATOR_NOT_READY' && e.retryable,
    )
    const response = await engine.chat({ query: 'How many customers are there?', mode: 'multi_mcp' })
    assert.equal(response.success, false)
    assert.equal(response.error.code, 'ORCHESTRATOR_NOT_READY')
    assert.equal(engine.readiness().status, 'not_ready')
    assert.ok(engine.readiness().reasons.length > 0)
    const health = await engine.health()
    assert.equal(health.status, 'unhealthy')
    assert.equal(health.services.database_mcp.healthy, false)
    assert.equal(engine.modes().orchestrator_status, 'not_ready')
  } finally {
    await engine.close()
  }
})

test('fail_fast with the server down: start() rejects with McpUnavailableError', async () => {
  const engine = Engine.fromConfig(await deadServerConfig({ fail_fast: true }))
  await assert.rejects(engine.start(), (e) => e instanceof t2t.McpUnavailableError && e.code === 'MCP_UNAVAILABLE')
})

test('a YAML file works like the same object', async () => {
  const config = await deadServerConfig()
  const file = join(tmp.dir, 'mcp_config.yaml')
  writeFileSync(file, JSON.stringify(config)) // JSON is YAML
  const engine = Engine.fromConfig(file)
  await engine.start()
  try {
    assert.deepEqual(Object.keys((await engine.health()).services), ['database_mcp'])
  } finally {
    await engine.close()
  }
})
