// The API of the original React chatbot (DESIGN.md §3b) on Fastify, the same shapes as
// the axum server's examples/server/src/compat.rs:
//
//   POST /chat/completions   OpenAI chat completions (`stream: true` → chat.completion.chunk
//                            server-sent events ending in `data: [DONE]`)
//   GET  /health, /models, /mcp/status
//   CORS from ALLOWED_ORIGINS (comma-separated, `*` for any; default http://localhost:3000)

/** The one model GET /models lists and every completion names. */
export const MODEL_ID = 'talk2tables'

/** Origins allowed when ALLOWED_ORIGINS is unset or blank (the chatbot's dev server). */
export const DEFAULT_ALLOWED_ORIGINS = 'http://localhost:3000'

/** Seconds between keep-alive comments of a streamed completion (axum's default). */
const KEEP_ALIVE_MS = 15_000

/**
 * CORS for every route of `app`, like tower-http's CorsLayer in compat.rs: an allowed
 * `Origin` is echoed in `access-control-allow-origin` (or `*` when any is allowed);
 * preflights (OPTIONS with `access-control-request-method`) are answered 200 with the
 * allowed methods (GET, POST, OPTIONS), any header and a max age of 600 s. Other origins
 * get no CORS headers. `allowedOrigins` is the value of ALLOWED_ORIGINS.
 */
export function registerCors(app, allowedOrigins) {
  const raw = allowedOrigins && allowedOrigins.trim() !== '' ? allowedOrigins : DEFAULT_ALLOWED_ORIGINS
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  const any = entries.includes('*')
  const origins = new Set(entries.map((o) => o.replace(/\/+$/, '')))
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin
    const allowed = typeof origin === 'string' && (any || origins.has(origin))
    if (allowed) {
      reply.header('access-control-allow-origin', any ? '*' : origin)
      if (!any) reply.header('vary', 'origin')
    }
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
      reply
        .header('access-control-allow-methods', 'GET,POST,OPTIONS')
        .header('access-control-allow-headers', '*')
        .header('access-control-max-age', '600')
      return reply.code(200).send()
    }
  })
}

/** 400/422 body: FastAPI's `detail` plus an OpenAI-style `error` object. */
function clientError(reply, status, message) {
  return reply.code(status).send({
    detail: message,
    error: { message, type: 'invalid_request_error', code: 'INVALID_REQUEST' },
  })
}

/** The text of a message: a string, or the `text` of OpenAI content parts; else ''. */
function messageText(message) {
  const { content } = message
  if (typeof content === 'string') return content
  if (Array.isArray(content)) {
    return content
      .map((part) => (part && typeof part === 'object' && typeof part.text === 'string' ? part.text : null))
      .filter((t) => t !== null)
      .join('\n')
  }
  return ''
}

/**
 * The shape check compat.rs gets from serde: `{messages: [{role: string, content?}],
 * stream?: boolean}`. Returns an error message, or null when the body is well formed.
 */
function shapeError(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return 'the body must be a JSON object'
  if (!Array.isArray(body.messages)) return 'messages: an array of {role, content} is required'
  for (const [i, m] of body.messages.entries()) {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return `messages[${i}]: must be an object`
    if (typeof m.role !== 'string') return `messages[${i}].role: a string is required`
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    return 'stream: must be a boolean'
  }
  return null
}

/**
 * The core's request for the messages: the last user message is the query, earlier user
 * messages are `context.previous_questions` (oldest first, blank ones left out). Null
 * when no message has the `user` role.
 */
export function toChatRequest(messages) {
  const users = messages.filter((m) => m.role === 'user').map(messageText)
  if (users.length === 0) return null
  const query = users[users.length - 1]
  const previous = users.slice(0, -1).filter((q) => q.trim() !== '')
  return previous.length > 0 ? { query, context: { previous_questions: previous } } : { query }
}

/** One token per four characters, rounded up (answers without an LLM). */
function estimatedUsage(promptChars, completionChars) {
  const p = Math.ceil(promptChars / 4)
  const c = Math.ceil(completionChars / 4)
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c }
}

/** `usage`: the LLM's counts (`data.metadata.llm_usage`) when reported, else the estimate. */
export function usageFor(response, promptChars, completionChars) {
  const u = response.data?.metadata?.llm_usage
  if (u) return { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens }
  return estimatedUsage(promptChars, completionChars)
}

/** A cell as compat.rs's summary writes it: strings as they are, anything else as JSON. */
function cellText(v) {
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/** One sentence on the rows: the value itself for a single cell, else the row count. */
export function summary(columns, rows, truncated) {
  if (columns.length === 1 && rows.length === 1) {
    return rows[0].length > 0
      ? `The answer is ${cellText(rows[0][0])} (${columns[0]}).`
      : 'The query returned one empty row.'
  }
  if (rows.length === 0) return 'The query returned no rows.'
  if (rows.length === 1) return 'The query returned 1 row.'
  return `The query returned ${rows.length} rows${truncated ? ' (truncated; there are more)' : ''}.`
}

/**
 * What a completion says about one envelope: `content` (a sentence, the SQL in a ```sql
 * block, the resolved entities, the explanation), `finish_reason` ("stop" | "error") and
 * `query_result` `{success, data: [{column: value}], columns, error, row_count,
 * execution_time (seconds)}`.
 */
export function answerFor(response) {
  const executionTime = response.metadata?.processing_time_seconds ?? 0
  const data = response.data
  if (data) {
    const { columns, rows, truncated, row_count: rowCount } = data.results
    const objects = rows.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])))
    let content = summary(columns, rows, truncated)
    content += `\n\n\`\`\`sql\n${data.sql_query.trim()}\n\`\`\`\n`
    if (data.resolved_entities.length > 0) {
      const items = data.resolved_entities.map((e) => `"${e.original_term}" → ${e.resolved_value} (${e.entity_type})`)
      content += `\nResolved: ${items.join('; ')}\n`
    }
    if (data.explanation.trim() !== '') content += `\n${data.explanation.trim()}\n`
    return {
      content,
      finish_reason: 'stop',
      query_result: {
        success: true,
        data: objects,
        columns,
        error: null,
        row_count: rowCount,
        execution_time: executionTime,
      },
    }
  }
  const code = response.error?.code ?? 'INTERNAL'
  const message = response.error?.message ?? 'the core returned neither an answer nor an error'
  let content = `Sorry, I could not answer that: ${message} (${code}).`
  const tried = response.error?.attempted_sql?.at(-1)
  if (tried) content += `\n\nLast SQL tried:\n\n\`\`\`sql\n${tried.sql.trim()}\n\`\`\`\n`
  return {
    content,
    finish_reason: 'error',
    query_result: {
      success: false,
      data: [],
      columns: [],
      error: `${code}: ${message}`,
      row_count: 0,
      execution_time: executionTime,
    },
  }
}

/** `chatcmpl-` and 32 hex digits, like compat.rs's simple UUID. */
function completionId() {
  return `chatcmpl-${crypto.randomUUID().replace(/-/g, '')}`
}

/**
 * The §3b routes for `engine` on `app`. `options.serverUrls` maps server_id → URL (or
 * command line) for `server_url` of GET /mcp/status; `options.version` is the service
 * version. `serverUrls: null` means the URLs are unknown (`server_url: null`). Bodies arrive as strings (the app's catch-all parser) or already parsed.
 */
export function registerChatbotApi(app, engine, options = {}) {
  const serverUrls = options.serverUrls === undefined ? {} : options.serverUrls
  const version = options.version ?? '0.0.0'
  const started = Math.floor(Date.now() / 1000)

  app.post('/chat/completions', async (request, reply) => {
    let body = request.body
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body)
      } catch (error) {
        return clientError(reply, 422, `Failed to parse the request body as JSON: ${error.message}`)
      }
    }
    const shape = shapeError(body)
    if (shape) return clientError(reply, 422, shape)
    if (body.messages.length === 0) return clientError(reply, 400, 'Messages array cannot be empty')
    const chatRequest = toChatRequest(body.messages)
    if (!chatRequest) return clientError(reply, 400, 'Messages must include at least one user message')
    const promptChars = body.messages.reduce((n, m) => n + [...messageText(m)].length, 0)
    const id = completionId()
    const created = Math.floor(Date.now() / 1000)
    if (body.stream === true) return streamCompletion(engine, chatRequest, reply, { id, created, promptChars })
    const response = await engine.chat(chatRequest)
    const answer = answerFor(response)
    return {
      id,
      object: 'chat.completion',
      created,
      model: MODEL_ID,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: answer.content },
          finish_reason: answer.finish_reason,
          query_result: answer.query_result,
        },
      ],
      usage: usageFor(response, promptChars, [...answer.content].length),
    }
  })

  app.get('/health', async () => ({
    status: 'healthy',
    version,
    timestamp: Math.floor(Date.now() / 1000),
    mcp_server_status: engine.readiness().status === 'ready' ? 'connected' : 'disconnected',
  }))

  app.get('/models', async () => ({
    object: 'list',
    data: [
      {
        id: MODEL_ID,
        object: 'model',
        created: started,
        owned_by: 'talk2tables',
        permission: [],
        root: MODEL_ID,
        parent: null,
      },
    ],
  }))

  app.get('/mcp/status', async () => {
    const health = await engine.health()
    const services = Object.entries(health.services ?? {})
    const database =
      services.find(([, s]) => (s.tools ?? []).includes('execute_query')) ?? services.find(([, s]) => s.healthy)
    if (!database) {
      return { connected: false, error: 'no MCP server is configured or connected', servers: health.services ?? {} }
    }
    const [serverId, service] = database
    const body = {
      connected: service.healthy,
      server_url: serverUrls === null ? null : (serverUrls[serverId] ?? 'in-process'),
      transport: service.transport ?? 'in_process',
      tools: (service.tools ?? []).map((name) => ({ name, description: null })),
      resources: [],
      database_metadata: {
        server_id: serverId,
        name: service.name,
        domains: service.domains,
        priority: service.priority,
        resource_count: service.resources,
        multi_mcp_enabled: engine.multiMcpEnabled,
        overall_status: health.status,
      },
      servers: health.services,
    }
    if (service.last_error) body.error = service.last_error
    return body
  })
}

/**
 * `stream: true`: the assistant-role chunk at once (then keep-alive comments while the
 * core works), the answer's text in line-sized chunks, a last chunk with
 * `finish_reason`, `query_result` and `usage`, then `data: [DONE]`.
 */
async function streamCompletion(engine, chatRequest, reply, { id, created, promptChars }) {
  const chunk = (delta, finish, extra = {}) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: MODEL_ID,
    choices: [{ index: 0, delta, finish_reason: finish, ...extra }],
  })
  reply.hijack()
  const raw = reply.raw
  raw.writeHead(200, {
    ...reply.getHeaders(),
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  })
  const send = (data) => raw.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`)
  send(chunk({ role: 'assistant', content: '' }, null))
  const keepAlive = setInterval(() => raw.write(':\n\n'), KEEP_ALIVE_MS)
  try {
    const response = await engine.chat(chatRequest)
    const answer = answerFor(response)
    for (const piece of answer.content.match(/[^\n]*\n|[^\n]+$/g) ?? []) send(chunk({ content: piece }, null))
    const last = chunk({}, answer.finish_reason, { query_result: answer.query_result })
    last.usage = usageFor(response, promptChars, [...answer.content].length)
    send(last)
  } catch (error) {
    const answer = answerFor({ error: { code: error.code ?? 'INTERNAL', message: error.message } })
    send(chunk({ content: answer.content }, null))
    send(chunk({}, answer.finish_reason, { query_result: answer.query_result }))
  } finally {
    clearInterval(keepAlive)
    send('[DONE]')
    raw.end()
  }
}
