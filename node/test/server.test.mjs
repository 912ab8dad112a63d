// The Fastify example (examples/server.mjs) end to end on a free loopback port, with the
// phase-3 scenarios and assertions of tests/tests/sample_stack.rs. Expected numbers are
// computed by the test itself from the sample database file (sql.js).
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { buildServer } from '../examples/server.mjs'
import { api, deadServerConfig, num, openSqlite, t2t, tempDir } from './helpers.mjs'

const { Engine } = t2t

async function startServer(engine) {
  await engine.start()
  const app = buildServer(engine)
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, engine, url: address, stop: async () => (await app.close(), await engine.close()) }
}

function expectOk(question, body) {
  assert.equal(body.success, true, `${question}: expected success, got ${JSON.stringify(body)}`)
  return body.data
}

function expectError(question, body, code) {
  assert.equal(body.success, false, `${question}: expected failure ${code}, got ${JSON.stringify(body)}`)
  assert.equal(body.error.code, code, `${question}: wrong code in ${JSON.stringify(body)}`)
}

function assertClose(question, got, want) {
  const tol = Math.max(0.01, Math.abs(want) * 1e-9)
  assert.ok(Math.abs(got - want) <= tol, `${question}: got ${got}, want ${want}`)
}

/** The single number of a one-row, one-number result. */
function singleNumber(question, data) {
  const rows = data.results.rows
  assert.equal(rows.length, 1, `${question}: one row expected: ${JSON.stringify(data.results)}`)
  const numbers = rows[0].map(num).filter((v) => !Number.isNaN(v))
  assert.equal(numbers.length, 1, `${question}: one number expected: ${JSON.stringify(rows[0])}`)
  return numbers[0]
}

/** [label, value] per row: the first text column and the last numeric column. */
function labelValues(data) {
  return data.results.rows.map((row) => {
    const label = row.find((v) => typeof v === 'string' && Number.isNaN(Number(v)))
    const values = row.map(num).filter((v) => !Number.isNaN(v))
    return [String(label), values[values.length - 1]]
  })
}

describe('Fastify server over the embedded sample', () => {
  const tmp = tempDir()
  let server
  let http
  let db

  before(async () => {
    server = await startServer(Engine.embedded({ dataDir: tmp.dir }))
    http = api(server.url)
    db = await openSqlite(join(tmp.dir, 'sample.db'))
  })
  after(async () => {
    db?.close()
    await server?.stop()
    tmp.remove()
  })

  test('sample database questions end to end', async () => {
    // The headline question: product alias + this month.
    let q = 'Show me total sales for abracadabra this month'
    let { status, body } = await http.chat(q)
    assert.equal(status, 200)
    let data = expectOk(q, body)
    assert.ok(data.sql_query.includes('123'), `${q}: SQL should filter on product 123: ${data.sql_query}`)
    assert.ok(data.sql_query.includes('start of month'), `${q}: SQL should use SQLite month bounds: ${data.sql_query}`)
    assert.ok(
      data.resolved_entities.some((e) => e.original_term.toLowerCase() === 'abracadabra' && e.resolved_value === '123'),
      `${q}: abracadabra not resolved: ${JSON.stringify(data.resolved_entities)}`,
    )
    let want = db.scalar(
      `SELECT COALESCE(SUM(oi.quantity * oi.unit_price), 0) FROM order_items oi JOIN orders o ON o.order_id = oi.order_id
       WHERE oi.product_id = 123 AND o.order_date >= date('now','start of month')
       AND o.order_date < date('now','start of month','+1 month')`,
    )
    assert.ok(want > 0, 'the sample must have sales of product 123 this month')
    assertClose(q, singleNumber(q, data), want)
    assert.equal(data.metadata.dialect, 'sqlite')
    assert.equal(body.metadata.mode, 'multi_mcp')
    const used = data.metadata.mcp_servers_used
    assert.ok(used.includes('product_metadata_mcp') && used.includes('database_mcp'), JSON.stringify(used))

    // A count.
    q = 'How many customers are there?'
    ;({ body } = await http.chat(q))
    assertClose(q, singleNumber(q, expectOk(q, body)), db.scalar('SELECT COUNT(*) FROM customers'))

    // Top-N by revenue.
    q = 'Top 5 products by revenue'
    ;({ body } = await http.chat(q))
    let got = labelValues(expectOk(q, body))
    let wantPairs = db.pairs(
      `SELECT p.name, SUM(oi.quantity * oi.unit_price) AS revenue FROM products p JOIN order_items oi
       ON oi.product_id = p.product_id GROUP BY p.product_id, p.name ORDER BY revenue DESC LIMIT 5`,
    )
    assert.equal(got.length, 5, `${q}: ${JSON.stringify(body)}`)
    got.forEach(([gl, gv], i) => {
      assert.equal(gl, wantPairs[i][0], q)
      assertClose(q, gv, wantPairs[i][1])
    })

    // Group-by per category.
    q = 'Total sales per category'
    ;({ body } = await http.chat(q))
    got = labelValues(expectOk(q, body)).sort((a, b) => a[0].localeCompare(b[0]))
    wantPairs = db
      .pairs(
        `SELECT p.category, SUM(oi.quantity * oi.unit_price) FROM products p JOIN order_items oi
         ON oi.product_id = p.product_id GROUP BY p.category`,
      )
      .sort((a, b) => a[0].localeCompare(b[0]))
    assert.equal(got.length, 10, `${q}: ${JSON.stringify(body)}`)
    got.forEach(([gl, gv], i) => {
      assert.equal(gl, wantPairs[i][0], q)
      assertClose(q, gv, wantPairs[i][1])
    })

    // Raw SQL.
    q = 'SELECT name, price FROM products WHERE product_id = 123'
    ;({ body } = await http.chat(q))
    data = expectOk(q, body)
    assert.equal(data.results.rows[0][0], 'Magic Wand Pro')
    assert.equal(data.metadata.generator, 'raw_sql')
    assert.ok(data.sql_query.toUpperCase().includes('LIMIT'), 'LIMIT added')

    // A write is rejected and changes nothing.
    const beforeDb = await openSqlite(join(tmp.dir, 'sample.db'))
    const before = beforeDb.scalar('SELECT COUNT(*) FROM orders')
    beforeDb.close()
    q = 'DELETE FROM orders'
    ;({ status, body } = await http.chat(q))
    assert.equal(status, 200)
    expectError(q, body, 'SQL_REJECTED')
    const afterDb = await openSqlite(join(tmp.dir, 'sample.db')) // re-read the file
    assert.equal(afterDb.scalar('SELECT COUNT(*) FROM orders'), before)
    afterDb.close()

    // Something absent from the schema.
    q = 'How many employees are there?'
    ;({ body } = await http.chat(q))
    expectError(q, body, 'UNANSWERABLE')

    // Malformed requests are 422 with the envelope.
    ;({ status, body } = await http.post('/api/chat', { query: '' }))
    assert.equal(status, 422)
    expectError('empty', body, 'INVALID_REQUEST')
    ;({ status, body } = await http.post('/api/chat', { query: 'x', mode: 'bogus' }))
    assert.equal(status, 422)
    expectError('bad mode', body, 'INVALID_REQUEST')
    ;({ status, body } = await http.post('/api/chat', '{"query": '))
    assert.equal(status, 422)
    expectError('not JSON', body, 'INVALID_REQUEST')
    assert.equal(body.data, null)
    assert.equal(body.metadata.mode, 'auto')
    ;({ status, body } = await http.post('/api/chat', 'query=x', { 'content-type': 'text/plain' }))
    assert.equal(status, 422)
    expectError('not JSON content type', body, 'INVALID_REQUEST')
    ;({ status, body } = await http.post('/api/chat', { query: 42 }))
    assert.equal(status, 422)
    expectError('query not a string', body, 'INVALID_REQUEST')

    // single_mcp: no metadata server, so the alias is unknown but counts still work.
    ;({ body } = await http.post('/api/chat', { query: 'How many orders are there?', mode: 'single_mcp' }))
    data = expectOk('single_mcp count', body)
    assert.equal(body.metadata.mode, 'single_mcp')
    assertClose('single_mcp count', singleNumber('single_mcp', data), db.scalar('SELECT COUNT(*) FROM orders'))
    assert.deepEqual(data.metadata.mcp_servers_used, ['database_mcp'])
  })
})

describe('Fastify server status endpoints', () => {
  const tmp = tempDir()
  let server
  let http

  before(async () => {
    server = await startServer(Engine.embedded({ dataDir: tmp.dir }))
    http = api(server.url)
  })
  after(async () => {
    await server?.stop()
    tmp.remove()
  })

  test('/, health, live, ready, modes, metrics', async () => {
    let { status, body } = await http.get('/')
    assert.equal(status, 200)
    assert.equal(body.multi_mcp_enabled, true)
    assert.equal(typeof body.version, 'string')
    assert.equal(body.status, 'running')
    assert.equal(body.service, 'Talk 2 Tables')

    ;({ body } = await http.get('/api/health'))
    assert.equal(body.status, 'healthy', JSON.stringify(body))
    assert.equal(body.details.total_services, 2)
    assert.equal(body.services.database_mcp.healthy, true)
    assert.equal(body.services.product_metadata_mcp.healthy, true)

    assert.equal((await http.get('/api/health/live')).body.status, 'alive')
    ;({ status, body } = await http.get('/api/health/ready'))
    assert.deepEqual([status, body.status], [200, 'ready'])

    ;({ body } = await http.get('/api/chat/modes'))
    assert.equal(body.default_mode, 'auto')
    assert.equal(body.orchestrator_status, 'ready')
    assert.equal(body.available_modes.length, 3)

    await http.chat('How many customers are there?')
    await http.chat('How many products are there?')
    ;({ body } = await http.get('/api/metrics'))
    assert.equal(body.total_queries, 2)
    assert.equal(body.successful_queries, 2)
    assert.ok(body.cache_hits >= 1, `warm cache after the first question: ${JSON.stringify(body)}`)
    assert.equal(body.mcp_connection_status.database_mcp, true)
  })
})

test('Fastify server with its Database MCP down: ready is 503, / is degraded', async () => {
  const server = await startServer(Engine.fromConfig(await deadServerConfig()))
  try {
    const http = api(server.url)
    const { status, body } = await http.get('/api/health/ready')
    assert.equal(status, 503)
    assert.equal(body.status, 'not_ready')
    assert.ok(body.reasons.length > 0)
    assert.equal((await http.get('/')).body.status, 'degraded')
    assert.equal((await http.get('/api/health')).body.status, 'unhealthy')
    const chat = await http.chat('How many customers are there?')
    assert.equal(chat.status, 200)
    expectError('server down', chat.body, 'MCP_UNAVAILABLE')
  } finally {
    await server.stop()
  }
})
