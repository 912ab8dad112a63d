// The Fastify example's chatbot API (DESIGN.md §3b) and progress stream, with the
// assertions of tests/tests/chatbot_api.rs and sample_stack.rs; expected numbers come from
// the sample database file (sql.js). Also the binding's chatStream() and prometheus().
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'

import { buildServer } from '../examples/server.mjs'
import { num, openSqlite, t2t, tempDir } from './helpers.mjs'

const { Engine } = t2t

/** The body the chatbot's `useChat.ts` sends. */
function chatbotRequest(history, question) {
  const messages = history.map(([role, content]) => ({ role, content }))
  messages.push({ role: 'user', content: question })
  return { messages, max_tokens: 2000, temperature: 0.7 }
}

/** Every field the chatbot reads, for a successful completion; returns `query_result`. */
function checkCompletion(body) {
  assert.ok(body.id.startsWith('chatcmpl-') && body.id.length > 12, body.id)
  assert.equal(body.object, 'chat.completion')
  assert.ok(Number.isInteger(body.created) && body.created > 1_600_000_000)
  assert.ok(typeof body.model === 'string' && body.model.length > 0)
  const choice = body.choices[0]
  assert.equal(choice.index, 0)
  assert.equal(choice.message.role, 'assistant')
  const content = choice.message.content
  const sqlBlock = content.split('```sql\n')[1]
  assert.ok(sqlBlock?.includes('```'), `closed sql block: ${content}`)
  assert.ok(sqlBlock.trimStart().toUpperCase().startsWith('SELECT'), content)
  assert.equal(choice.finish_reason, 'stop', JSON.stringify(body))
  const qr = choice.query_result
  assert.equal(qr.success, true)
  assert.equal(qr.error, null)
  assert.equal(qr.row_count, qr.data.length)
  for (const row of qr.data) {
    assert.deepEqual(Object.keys(row).sort(), [...qr.columns].sort(), 'rows are objects keyed by column')
  }
  assert.ok(qr.execution_time >= 0)
  const { prompt_tokens: p, completion_tokens: c, total_tokens: t } = body.usage
  assert.ok(p > 0 && c > 0, JSON.stringify(body.usage))
  assert.equal(t, p + c)
  return qr
}

function sqlOf(body) {
  return body.choices[0].message.content.split('```sql\n')[1]?.split('```')[0] ?? ''
}

/** [event name, JSON data] per server-sent event. */
function sseEvents(text) {
  return text
    .split('\n\n')
    .map((block) => {
      let name = 'message'
      const data = []
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim()
        else if (line.startsWith('data:')) data.push(line.slice(5).trim())
      }
      return data.length ? [name, JSON.parse(data.join('\n'))] : null
    })
    .filter((e) => e !== null)
}

describe('Fastify chatbot API over the embedded sample', () => {
  const tmp = tempDir()
  let app
  let engine
  let url
  let db

  const post = async (path, body, headers = {}) => {
    const response = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    })
    return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() }
  }
  const postJson = async (path, body) => {
    const r = await post(path, body)
    return { status: r.status, body: JSON.parse(r.text) }
  }
  const get = async (path) => (await fetch(`${url}${path}`, { signal: AbortSignal.timeout(60_000) })).json()

  before(async () => {
    engine = Engine.embedded({ dataDir: tmp.dir })
    await engine.start()
    app = buildServer(engine, { allowedOrigins: '' })
    url = await app.listen({ host: '127.0.0.1', port: 0 })
    db = await openSqlite(join(tmp.dir, 'sample.db'))
  })
  after(async () => {
    db?.close()
    await app?.close()
    await engine?.close()
    tmp.remove()
  })

  test('chat completions as the chatbot calls them', async () => {
    const history = [
      ['user', 'hello'],
      ['assistant', 'Hi! Ask me about your data.'],
    ]
    let { status, body } = await postJson('/chat/completions', chatbotRequest(history, 'How many orders were cancelled?'))
    assert.equal(status, 200, JSON.stringify(body))
    let qr = checkCompletion(body)
    const expected = db.scalar("SELECT COUNT(*) FROM orders WHERE status = 'cancelled'")
    assert.equal(num(qr.data[0][qr.columns[0]]), expected)
    assert.ok(body.choices[0].message.content.includes(String(expected)), 'the answer in words names the count')

    ;({ body } = await postJson('/chat/completions', chatbotRequest([], 'Total sales by category')))
    qr = checkCompletion(body)
    assert.equal(qr.row_count, 10)
    const reference = db.pairs(
      'SELECT p.category, SUM(oi.quantity * oi.unit_price) FROM order_items oi JOIN products p ON p.product_id = oi.product_id GROUP BY p.category',
    )
    for (const [category, total] of reference) {
      const row = qr.data.find((r) => r.category === category)
      assert.ok(row, `${category} missing`)
      const value = num(Object.entries(row).find(([k]) => k !== 'category')[1])
      assert.ok(Math.abs(value - total) < 0.01, `${category}: ${value} vs ${total}`)
    }
  })

  test('empty messages → 400, bad shapes → 422, no user message → 400', async () => {
    const { status, body } = await postJson('/chat/completions', { messages: [] })
    assert.equal(status, 400)
    assert.equal(body.detail, 'Messages array cannot be empty')
    assert.equal((await post('/chat/completions', { messages: 'How many customers?' })).status, 422)
    assert.equal((await post('/chat/completions', '{nope')).status, 422)
    assert.equal((await post('/chat/completions', { messages: [{ role: 'system', content: 'x' }] })).status, 400)
  })

  test('an unanswerable question is 200 with finish_reason "error"', async () => {
    const { status, body } = await postJson('/chat/completions', chatbotRequest([], 'what is the meaning of life'))
    assert.equal(status, 200, JSON.stringify(body))
    const choice = body.choices[0]
    assert.equal(choice.finish_reason, 'error')
    assert.ok(choice.message.content.startsWith('Sorry'), choice.message.content)
    assert.equal(choice.query_result.success, false)
    assert.ok(choice.query_result.error.includes('UNANSWERABLE'))
    assert.deepEqual(choice.query_result.data, [])
  })

  test('stream: true gives chat.completion.chunk events ending in [DONE]', async () => {
    const request = { ...chatbotRequest([], 'How many orders were cancelled?'), stream: true }
    const { status, type, text } = await post('/chat/completions', request)
    assert.equal(status, 200)
    assert.ok(type.startsWith('text/event-stream'), type)
    const data = text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => l.slice(6))
    assert.equal(data.at(-1), '[DONE]', text)
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d))
    assert.ok(chunks.length >= 3, text)
    const id = chunks[0].id
    assert.ok(id.startsWith('chatcmpl-'))
    assert.equal(chunks[0].choices[0].delta.role, 'assistant')
    let content = ''
    for (const chunk of chunks) {
      assert.equal(chunk.object, 'chat.completion.chunk')
      assert.equal(chunk.id, id)
      assert.ok(Number.isInteger(chunk.created) && typeof chunk.model === 'string')
      content += chunk.choices[0].delta.content ?? ''
    }
    assert.ok(content.includes('```sql\nSELECT'), content)
    const last = chunks.at(-1).choices[0]
    assert.equal(last.finish_reason, 'stop')
    assert.equal(last.query_result.success, true)
    assert.ok(chunks.slice(0, -1).every((c) => c.choices[0].finish_reason === null))
  })

  test('a follow-up keeps the earlier filters', async () => {
    const { body: first } = await postJson('/chat/completions', chatbotRequest([], 'How many orders were cancelled?'))
    checkCompletion(first)
    const history = [
      ['user', 'How many orders were cancelled?'],
      ['assistant', first.choices[0].message.content],
    ]
    const { body: second } = await postJson('/chat/completions', chatbotRequest(history, 'now only for last month'))
    const qr = checkCompletion(second)
    const sql = sqlOf(second)
    assert.ok(sql.includes("'cancelled'"), `the earlier filter is kept: ${sql}`)
    assert.ok(sql.includes('order_date'), `last month's dates are added: ${sql}`)
    const expected = db.scalar(
      "SELECT COUNT(*) FROM orders WHERE status = 'cancelled' AND order_date >= date('now', 'start of month', '-1 month') AND order_date < date('now', 'start of month')",
    )
    assert.equal(num(qr.data[0][qr.columns[0]]), expected)
  })

  test('/health, /models, /mcp/status and CORS', async () => {
    let body = await get('/health')
    assert.equal(body.status, 'healthy')
    assert.equal(body.mcp_server_status, 'connected')
    assert.ok(typeof body.version === 'string' && Number.isInteger(body.timestamp))

    body = await get('/models')
    assert.equal(body.object, 'list')
    assert.equal(body.data.length, 1)
    assert.equal(body.data[0].object, 'model')
    assert.ok(typeof body.data[0].id === 'string' && Number.isInteger(body.data[0].created))

    body = await get('/mcp/status')
    assert.equal(body.connected, true, JSON.stringify(body))
    assert.equal(body.server_url, 'in-process')
    assert.equal(body.transport, 'in_process')
    assert.ok(body.tools.some((t) => t.name === 'execute_query'))
    assert.ok(Array.isArray(body.resources) && typeof body.database_metadata === 'object')

    const preflight = (origin) =>
      fetch(`${url}/chat/completions`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      })
    const allowed = await preflight('http://localhost:3000')
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://localhost:3000')
    const refused = await preflight('http://evil.example')
    assert.equal(refused.headers.get('access-control-allow-origin'), null)
  })

  test('/api/chat/stream: finished stages in order, then the response', async () => {
    const { status, type, text } = await post('/api/chat/stream', { query: 'How many products are there?' })
    assert.equal(status, 200)
    assert.ok(type.startsWith('text/event-stream'), type)
    const events = sseEvents(text)
    const stages = events.filter(([n, e]) => n === 'progress' && e.status === 'finished').map(([, e]) => e.stage)
    assert.deepEqual(stages, ['gathering', 'resolving', 'generating', 'validating', 'executing'], text)
    const [name, last] = events.at(-1)
    assert.equal(name, 'response')
    assert.equal(last.success, true, JSON.stringify(last))
    assert.ok(events.slice(0, -1).every(([n]) => n === 'progress'))

    const bad = await post('/api/chat/stream', { query: '   ' })
    assert.equal(bad.status, 422)
    assert.equal(JSON.parse(bad.text).error.code, 'INVALID_REQUEST')
    assert.equal((await post('/api/chat/stream', '{nope')).status, 422)
  })

  test('/api/metrics/prometheus and engine.prometheus()', async () => {
    const response = await fetch(`${url}/api/metrics/prometheus`)
    assert.equal(response.status, 200)
    assert.ok(response.headers.get('content-type').startsWith('text/plain'))
    const text = await response.text()
    assert.ok(text.includes('# TYPE talk2tables_chat_duration_seconds histogram'), text)
    assert.ok(/talk2tables_queries_total\{outcome="success"\} [1-9]/.test(text), text)
    assert.ok(engine.prometheus().includes('# TYPE talk2tables_'))
  })

  test('engine.chatStream reports every stage before resolving to the envelope', async () => {
    const events = []
    const response = await engine.chatStream({ query: 'How many customers are there?' }, (e) => events.push(e))
    assert.equal(response.success, true, JSON.stringify(response))
    const finished = events.filter((e) => e.status === 'finished').map((e) => e.stage)
    assert.deepEqual(finished, ['gathering', 'resolving', 'generating', 'validating', 'executing'])
    assert.ok(events.every((e, i) => i === 0 || events[i - 1].elapsed_ms <= e.elapsed_ms))
    assert.ok(events.filter((e) => e.status === 'finished').every((e) => e.duration_ms >= 0))

    const failed = await engine.chatStream({ query: 'DELETE FROM orders' })
    assert.equal(failed.error.code, 'SQL_REJECTED')
    const invalid = await engine.chatStream({ query: 42 })
    assert.equal(invalid.error.code, 'INVALID_REQUEST')
    await assert.rejects(engine.chatStream('x', 'not a function'), t2t.InvalidRequestError)
  })
})
