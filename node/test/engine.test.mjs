// Every public method of Engine on the embedded default, and the error classes the core
// produces through ask().
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'

import { t2t, tempDir } from './helpers.mjs'

const { Engine } = t2t

describe('embedded engine', () => {
  const tmp = tempDir()
  let engine

  before(async () => {
    engine = Engine.embedded({ dataDir: tmp.dir })
    assert.equal(engine.started, false)
    assert.throws(() => engine.modes(), t2t.OrchestratorNotReadyError)
    const [a, b] = await Promise.all([engine.start(), engine.start()])
    assert.equal(a, engine)
    assert.equal(b, engine)
    assert.equal(engine.started, true)
  })
  after(async () => {
    await engine.close()
    tmp.remove()
  })

  test('chat resolves to the DESIGN.md §3 envelope', async () => {
    const response = await engine.chat({ query: 'How many customers are there?' })
    assert.deepEqual(Object.keys(response).sort(), ['data', 'error', 'metadata', 'response_id', 'success', 'timestamp'])
    assert.equal(response.success, true, JSON.stringify(response))
    assert.equal(response.error, null)
    const { data } = response
    assert.deepEqual(
      Object.keys(data).sort(),
      ['explanation', 'metadata', 'recovery_performed', 'resolved_entities', 'results', 'sql_query'],
    )
    assert.deepEqual(Object.keys(data.results).sort(), ['columns', 'row_count', 'rows', 'total_rows', 'truncated'])
    assert.equal(data.results.row_count, 1)
    assert.ok(Array.isArray(data.results.rows[0]), 'rows are arrays')
    assert.equal(data.results.rows[0][0], 200)
    for (const key of ['mcp_servers_used', 'recovery_attempts', 'attempted_sql', 'generator', 'dialect']) {
      assert.ok(key in data.metadata, key)
    }
    assert.equal(data.metadata.dialect, 'sqlite')
    assert.equal(response.metadata.mode, 'multi_mcp')
    assert.equal(typeof response.metadata.processing_time_seconds, 'number')
    assert.equal(typeof response.metadata.recovery_performed, 'boolean')
    assert.match(response.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    assert.match(response.response_id, /^[0-9a-f-]{36}$/)
    // JSON round trip is exact: plain data only.
    assert.deepEqual(JSON.parse(JSON.stringify(response)), response)
  })

  test('chat takes camelCase options (and a plain string)', async () => {
    const single = await engine.chat({
      query: 'How many orders are there?',
      mode: 'single_mcp',
      sessionId: 'session-1',
      enableRecovery: false,
      context: { source: 'test' },
    })
    assert.equal(single.success, true, JSON.stringify(single))
    assert.equal(single.metadata.mode, 'single_mcp')
    assert.deepEqual(single.data.metadata.mcp_servers_used, ['database_mcp'])
    const text = await engine.chat('How many products are there?')
    assert.equal(text.success, true)
  })

  test('chat answers failures inside the envelope', async () => {
    const empty = await engine.chat({ query: '' })
    assert.equal(empty.success, false)
    assert.equal(empty.data, null)
    assert.equal(empty.error.code, 'INVALID_REQUEST')
    const badMode = await engine.chat({ query: 'x', mode: 'bogus' })
    assert.equal(badMode.error.code, 'INVALID_REQUEST')
    const notObject = await engine.chat(42)
    assert.equal(notObject.error.code, 'INVALID_REQUEST')
    const del = await engine.chat('DELETE FROM orders')
    assert.equal(del.error.code, 'SQL_REJECTED')
  })

  test('ask resolves to data and rejects with one class per code', async () => {
    const data = await engine.ask('SELECT name FROM products WHERE product_id = 123')
    assert.equal(data.results.rows[0][0], 'Magic Wand Pro')
    assert.equal(data.metadata.generator, 'raw_sql')

    await assert.rejects(engine.ask(''), (e) => e instanceof t2t.InvalidRequestError && e.code === 'INVALID_REQUEST')
    await assert.rejects(engine.ask({ query: 'x', mode: 'bogus' }), t2t.InvalidRequestError)
    await assert.rejects(
      engine.ask('DELETE FROM orders'),
      (e) => e instanceof t2t.SqlRejectedError && e.code === 'SQL_REJECTED' && !e.retryable,
    )
    await assert.rejects(
      engine.ask('How many employees are there?'),
      (e) => e instanceof t2t.UnanswerableError && e.code === 'UNANSWERABLE' && /employees/.test(e.message),
    )
  })

  test('modes, health, readiness, metrics, multiMcpEnabled', async () => {
    const modes = engine.modes()
    assert.equal(modes.default_mode, 'auto')
    assert.equal(modes.orchestrator_status, 'ready')
    assert.deepEqual(
      modes.available_modes.map((m) => [m.mode, m.available]),
      [
        ['single_mcp', true],
        ['multi_mcp', true],
        ['auto', true],
      ],
    )
    const health = await engine.health()
    assert.equal(health.status, 'healthy')
    assert.deepEqual(Object.keys(health.services).sort(), ['database_mcp', 'product_metadata_mcp'])
    assert.equal(health.services.database_mcp.healthy, true)
    assert.equal(health.services.database_mcp.transport, 'in_process')
    assert.deepEqual(
      [health.details.total_services, health.details.healthy_services, health.details.unhealthy_services],
      [2, 2, 0],
    )
    assert.deepEqual(engine.readiness(), { status: 'ready' })
    assert.equal(engine.multiMcpEnabled, true)

    const before = engine.metrics()
    await engine.chat('How many customers are there?')
    await engine.chat('How many employees are there?')
    const m = engine.metrics()
    assert.equal(m.total_queries, before.total_queries + 2)
    assert.equal(m.successful_queries, before.successful_queries + 1)
    assert.equal(m.failed_queries, before.failed_queries + 1)
    for (const key of ['query_latency_p50', 'query_latency_p95', 'query_latency_p99', 'success_rate', 'cache_hit_rate', 'uptime_seconds']) {
      assert.equal(typeof m[key], 'number', key)
    }
    assert.deepEqual(m.mcp_connection_status, { database_mcp: true, product_metadata_mcp: true })
    const text = engine.prometheus()
    assert.ok(text.includes('# TYPE talk2tables_chat_duration_seconds histogram'), text)
    assert.ok(text.includes('talk2tables_mcp_servers_connected 2'), text)
  })

  test('50 concurrent chat calls, without blocking the event loop', async () => {
    let ticks = 0
    const timer = setInterval(() => ticks++, 1)
    const questions = ['How many customers are there?', 'Top 5 products by revenue', 'Total sales per category']
    const started = Date.now()
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => engine.chat({ query: questions[i % 3], sessionId: `s${i}` })),
    )
    clearInterval(timer)
    const elapsed = Date.now() - started
    assert.equal(responses.length, 50)
    for (const r of responses) assert.equal(r.success, true, JSON.stringify(r.error))
    assert.equal(new Set(responses.map((r) => r.response_id)).size, 50)
    for (let i = 0; i < 50; i++) assert.deepEqual(responses[i].data.results, responses[i % 3].data.results)
    // The timer kept firing while the 50 calls were in flight (when they took long enough
    // for it to fire at all).
    if (elapsed > 50) assert.ok(ticks > 0, `event loop blocked for ${elapsed} ms`)
  })
})

describe('engine lifecycle', () => {
  test('fromConfig/embedded validate their arguments synchronously', () => {
    assert.throws(() => Engine.fromConfig(42), t2t.InvalidRequestError)
    assert.throws(() => Engine.fromConfig(''), t2t.InvalidRequestError)
    assert.throws(() => Engine.fromConfig([]), t2t.InvalidRequestError)
    assert.throws(() => Engine.embedded({ dataDir: '' }), t2t.InvalidRequestError)
    assert.throws(() => new Engine(), t2t.InvalidRequestError)
  })

  test('after close(): MCP_UNAVAILABLE envelopes, start() rejects, close() again is fine', async () => {
    const tmp = tempDir()
    try {
      const engine = Engine.embedded({ dataDir: tmp.dir })
      // chat starts the engine when needed.
      assert.equal((await engine.chat('How many customers are there?')).success, true)
      await engine.close()
      assert.equal(engine.started, false)
      await engine.close()
      await assert.rejects(engine.start(), t2t.McpUnavailableError)
    } finally {
      tmp.remove()
    }
  })

  test('close() on a started engine: chat answers MCP_UNAVAILABLE, ask rejects', async () => {
    const tmp = tempDir()
    try {
      const engine = Engine.embedded({ dataDir: tmp.dir })
      await engine.start()
      await engine.close()
      const response = await engine.chat('How many customers are there?')
      assert.equal(response.success, false)
      assert.equal(response.error.code, 'MCP_UNAVAILABLE')
      await assert.rejects(engine.ask('How many customers are there?'), t2t.McpUnavailableError)
    } finally {
      tmp.remove()
    }
  })
})
