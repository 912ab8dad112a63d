#!/usr/bin/env node
// The HTTP API of DESIGN.md §3 and the chatbot API of §3b on Fastify, served by the Node
// binding: the same routes, shapes and status codes as the axum server
// (examples/server/src/http.rs and compat.rs). CORS from ALLOWED_ORIGINS.
//
//   node examples/server.mjs                          embedded default (./.talk2tables)
//   node examples/server.mjs --config mcp_config.yaml
//   node examples/server.mjs --data-dir DIR --host 127.0.0.1 --port 0
//
// Prints "listening on http://HOST:PORT" to stderr once bound; stops on SIGINT/SIGTERM.
import { createRequire } from 'node:module'
import { parseArgs } from 'node:util'
import { pathToFileURL } from 'node:url'

import Fastify from 'fastify'

import { registerChatbotApi, registerCors } from './chatbot_api.mjs'

const require = createRequire(import.meta.url)
const { Engine, version, failureEnvelope } = require('../lib/index.js')

/**
 * HTTP status of a chat envelope: 200 for answers and for questions that could not be
 * answered; 422 for malformed requests; 429 for rate limits; 500 only for bugs.
 */
export function statusFor(response) {
  switch (response.error?.code) {
    case 'INVALID_REQUEST':
      return 422
    case 'RATE_LIMITED':
      return 429
    case 'INTERNAL':
      return 500
    default:
      return 200
  }
}

/**
 * The request body as JSON, or an error message: the content type must be JSON and the
 * body must parse.
 */
function jsonBody(request) {
  const type = request.headers['content-type'] ?? ''
  if (!/^application\/([\w.+-]+\+)?json\b/i.test(type)) {
    return { error: 'Expected request with `Content-Type: application/json`' }
  }
  try {
    return { body: JSON.parse(typeof request.body === 'string' ? request.body : '') }
  } catch (error) {
    return { error: `Failed to parse the request body as JSON: ${error.message}` }
  }
}

/**
 * A Fastify instance serving `engine` (a started Engine): POST /api/chat,
 * POST /api/chat/stream, GET /api/chat/modes, /api/health, /api/health/live,
 * /api/health/ready, /api/metrics, /api/metrics/prometheus, /, and the chatbot API
 * (POST /chat/completions, GET /health, /models, /mcp/status).
 *
 * Options: `logger` (Fastify's), `allowedOrigins` (default: the ALLOWED_ORIGINS
 * variable), `serverUrls` (server_id → URL for GET /mcp/status; servers not in it are
 * reported `in-process`; `null` when unknown, reported as `server_url: null`).
 */
export function buildServer(engine, options = {}) {
  const app = Fastify({ logger: options.logger ?? false })
  registerCors(app, options.allowedOrigins ?? process.env.ALLOWED_ORIGINS)

  // Bodies are parsed by the route, so that every malformed body gets the 422 envelope
  // (Fastify's own parser would answer 400/415 with its own shape).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => done(null, body))

  const invalid = (reply, message) => reply.code(422).send(failureEnvelope('INVALID_REQUEST', message))

  app.get('/', async () => ({
    service: 'Talk 2 Tables',
    version: version(),
    multi_mcp_enabled: engine.multiMcpEnabled,
    status: engine.readiness().status === 'ready' ? 'running' : 'degraded',
  }))

  app.post('/api/chat', async (request, reply) => {
    const { body, error } = jsonBody(request)
    if (error) return invalid(reply, error)
    const response = await engine.chat(body)
    return reply.code(statusFor(response)).send(response)
  })

  // Server-sent events: `progress` per stage start and end, then one `response` with the
  // envelope. A request refused before any stage ran (malformed: INVALID_REQUEST) gets
  // the same 422 JSON envelope as /api/chat instead of a stream.
  app.post('/api/chat/stream', async (request, reply) => {
    const { body, error } = jsonBody(request)
    if (error) return invalid(reply, error)
    let raw = null
    const event = (name, data) => raw.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`)
    const open = () => {
      if (raw) return
      reply.hijack()
      raw = reply.raw
      raw.writeHead(200, {
        ...reply.getHeaders(),
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      })
    }
    let response
    try {
      response = await engine.chatStream(body, (progress) => {
        open()
        event('progress', progress)
      })
    } catch (err) {
      if (!raw) throw err
      response = failureEnvelope('INTERNAL', err.message)
    }
    if (!raw) {
      if (response.error?.code === 'INVALID_REQUEST') return reply.code(422).send(response)
      open()
    }
    event('response', response)
    raw.end()
  })

  app.get('/api/chat/modes', async () => engine.modes())
  app.get('/api/health', async () => engine.health())
  app.get('/api/health/live', async () => ({ status: 'alive' }))
  app.get('/api/health/ready', async (_request, reply) => {
    const readiness = engine.readiness()
    return reply.code(readiness.status === 'ready' ? 200 : 503).send(readiness)
  })
  app.get('/api/metrics', async () => engine.metrics())
  app.get('/api/metrics/prometheus', async (_request, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(engine.prometheus()),
  )

  registerChatbotApi(app, engine, { serverUrls: options.serverUrls, version: version() })

  // Errors outside the envelope (a bug, or a body over the limit): JSON, never HTML.
  app.setErrorHandler((error, _request, reply) => {
    const status = error.statusCode && error.statusCode < 500 ? 422 : 500
    reply.code(status).send(failureEnvelope(status === 422 ? 'INVALID_REQUEST' : 'INTERNAL', error.message))
  })
  return app
}

async function main() {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      'data-dir': { type: 'string', default: '.talk2tables' },
      host: { type: 'string', default: process.env.HOST || '0.0.0.0' },
      port: { type: 'string', default: process.env.PORT || '8001' },
    },
  })
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${values.port}`)
  const configPath = values.config ?? (process.env.MCP_CONFIG_PATH || undefined)
  const engine = configPath ? Engine.fromConfig(configPath) : Engine.embedded({ dataDir: values['data-dir'] })
  await engine.start()
  // The embedded servers run in this process; a configuration file's URLs are not known here.
  const app = buildServer(engine, { serverUrls: configPath ? null : {} })
  const address = await app.listen({ host: values.host, port })
  console.error(`talk2tables fastify server listening on ${address.replace('0.0.0.0', '127.0.0.1')}`)

  const stop = async () => {
    await app.close()
    await engine.close()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((error) => {
    console.error(`${error.name ?? 'Error'}${error.code ? ` [${error.code}]` : ''}: ${error.message}`)
    process.exit(1)
  })
}
