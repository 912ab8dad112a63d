'use strict'
// Talk 2 Tables for Node.js: the public API over the native addon (../native.js).
//
//   const { Engine } = require('talk2tables')
//   const engine = Engine.embedded({ dataDir: './.talk2tables' })
//   await engine.start()
//   const response = await engine.chat({ query: 'How many customers are there?' })
//   await engine.close()
//
// Every I/O method runs on the addon's tokio runtime and returns a Promise; nothing
// blocks Node's event loop. Responses are plain objects whose JSON is exactly the HTTP
// API's (DESIGN.md §3, snake_case). Errors are Talk2TablesError subclasses (./errors.js).

const path = require('node:path')

const native = require('../native.js')
const errors = require('./errors.js')

const { fromNativeError, InvalidRequestError, McpUnavailableError, OrchestratorNotReadyError } = errors

// camelCase option → wire name. Wire (snake_case) names are accepted as they are, so an
// HTTP request body can be passed straight through.
const WIRE_NAMES = { sessionId: 'session_id', enableRecovery: 'enable_recovery' }

/**
 * The request as the native side expects it: `{query, mode?, context?, session_id?,
 * enable_recovery?}`. A string is the query. Anything else is passed on unchanged and the
 * engine answers it with an INVALID_REQUEST envelope.
 */
function toWire(request) {
  if (typeof request === 'string') return { query: request }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) return request
  const wire = {}
  for (const [key, value] of Object.entries(request)) {
    if (value === undefined) continue
    wire[WIRE_NAMES[key] ?? key] = value
  }
  return wire
}

/** Awaits a native call, turning whatever it throws into a Talk2TablesError. */
async function call(fn) {
  try {
    return await fn()
  } catch (error) {
    throw fromNativeError(error)
  }
}

/** Runs a synchronous native call, turning whatever it throws into a Talk2TablesError. */
function callSync(fn) {
  try {
    return fn()
  } catch (error) {
    throw fromNativeError(error)
  }
}

/**
 * A Talk 2 Tables engine: the MCP servers it talks to, caches and metrics. Create it
 * with Engine.fromConfig() or Engine.embedded(), then `await engine.start()`.
 */
class Engine {
  #open
  #starting = null
  #native = null
  #closed = false

  /** @private Use Engine.fromConfig() or Engine.embedded(). */
  constructor(open) {
    if (typeof open !== 'function') {
      throw new InvalidRequestError('use Engine.fromConfig() or Engine.embedded() to create an Engine')
    }
    this.#open = open
  }

  /**
   * An engine for an mcp_config.yaml (DESIGN.md §2): a path to the file, or the same
   * structure as an object (`{mcp_servers: {...}, orchestration: {...}}`). `${VAR}` is
   * expanded and the environment variables of §2 are applied in both cases. Nothing is
   * read or connected until start(); its errors are CONFIG_ERROR (unreadable or invalid
   * configuration) and MCP_UNAVAILABLE (`fail_fast` and a server is down).
   * Throws InvalidRequestError for an argument that is neither a string nor an object.
   */
  static fromConfig(pathOrObject) {
    if (typeof pathOrObject === 'string' && pathOrObject.trim() !== '') {
      const file = pathOrObject
      return new Engine(() => native.NativeEngine.fromConfigPath(file))
    }
    if (pathOrObject !== null && typeof pathOrObject === 'object' && !Array.isArray(pathOrObject)) {
      const config = JSON.parse(JSON.stringify(pathOrObject))
      return new Engine(() => native.NativeEngine.fromConfigObject(config))
    }
    throw new InvalidRequestError('Engine.fromConfig expects a configuration file path or a configuration object')
  }

  /**
   * The embedded default: the sample database (created under `dataDir` when missing;
   * default `./.talk2tables`) and our Database and Metadata MCP servers inside this
   * process, answered by the offline SQL engine unless an LLM is configured by the
   * environment. start() rejects with CONFIG_ERROR when the directory or database cannot
   * be written.
   */
  static embedded(options = {}) {
    if (options === null || typeof options !== 'object') {
      throw new InvalidRequestError('Engine.embedded expects {dataDir?: string}')
    }
    const { dataDir = '.talk2tables' } = options
    if (typeof dataDir !== 'string' || dataDir.trim() === '') {
      throw new InvalidRequestError('Engine.embedded: dataDir must be a non-empty string')
    }
    const dir = path.resolve(dataDir)
    return new Engine(() => native.NativeEngine.embedded(dir))
  }

  /**
   * Reads the configuration and connects to the servers. Idempotent: later calls wait for
   * the same start. Resolves to the engine. A failed start may be retried.
   */
  async start() {
    if (this.#closed) throw new McpUnavailableError('the engine is closed')
    if (!this.#starting) {
      this.#starting = call(this.#open).then(
        (engine) => {
          this.#native = engine
          return engine
        },
        (error) => {
          this.#starting = null
          throw error
        },
      )
    }
    await this.#starting
    return this
  }

  /** Whether start() has completed (and close() has not been called). */
  get started() {
    return this.#native !== null && !this.#closed
  }

  /** The native engine, starting it when needed (chat, ask, health start the engine). */
  async #ready() {
    if (this.#native) return this.#native
    await this.start()
    return this.#native
  }

  /** The native engine for synchronous methods, which need a started engine. */
  #startedNative(method) {
    if (!this.#native) {
      throw new OrchestratorNotReadyError(`engine.${method}() needs a started engine: await engine.start() first`)
    }
    return this.#native
  }

  /**
   * Answers one question. `request` is the query string or `{query, mode?, context?,
   * sessionId?, enableRecovery?}` (the wire's snake_case names `session_id`,
   * `enable_recovery` work too). Resolves to the DESIGN.md §3 envelope, also for a
   * question that cannot be answered (`success: false`, `error: {code, message}`); it
   * rejects only when the engine cannot start.
   */
  async chat(request) {
    const engine = await this.#ready()
    return JSON.parse(await call(() => engine.chat(toWire(request))))
  }

  /**
   * Answers one question like chat() and calls `onProgress(event)` as each pipeline
   * stage starts and ends, before resolving to the same envelope. `event` is
   * `{stage: "gathering"|"resolving"|"generating"|"validating"|"executing"|"recovering",
   * status: "started"|"finished"|"failed", elapsed_ms, duration_ms?, detail?}` (ms since
   * the question arrived; `duration_ms` on finished/failed). An exception thrown by
   * `onProgress` stops nothing; the first one rejects the promise after the answer.
   */
  async chatStream(request, onProgress) {
    if (onProgress !== undefined && typeof onProgress !== 'function') {
      throw new InvalidRequestError('chatStream: onProgress must be a function')
    }
    const engine = await this.#ready()
    const stream = await call(() => engine.chatStream(toWire(request)))
    let callbackError = null
    for (;;) {
      const item = await call(() => stream.next())
      if (item === null || item === undefined) break
      if (item.event === 'response') {
        if (callbackError) throw callbackError
        return item.data
      }
      if (onProgress && !callbackError) {
        try {
          onProgress(item.data)
        } catch (error) {
          callbackError = error
        }
      }
    }
    throw fromNativeError(new Error('[INTERNAL] the progress stream ended without a response'))
  }

  /**
   * Answers one question (same `request` as chat()) and resolves to the envelope's
   * `data`: `{sql_query, results: {columns, rows, row_count, truncated, total_rows},
   * resolved_entities, explanation, recovery_performed, metadata}`. Rejects with the
   * Talk2TablesError subclass of the failure's code (UnanswerableError, SqlRejectedError,
   * InvalidRequestError, McpUnavailableError, …).
   */
  async ask(request) {
    const engine = await this.#ready()
    return JSON.parse(await call(() => engine.ask(toWire(request))))
  }

  /** `GET /api/chat/modes`: `{available_modes: [{mode, description, available}], default_mode, orchestrator_status}`. */
  modes() {
    const engine = this.#startedNative('modes')
    return callSync(() => engine.modes())
  }

  /** `GET /api/health`: `{status: "healthy"|"degraded"|"unhealthy", services, timestamp, details}`. */
  async health() {
    const engine = await this.#ready()
    return call(() => engine.health())
  }

  /** `GET /api/health/ready`: `{status: "ready"}` or `{status: "not_ready", reasons: [...]}`. */
  readiness() {
    const engine = this.#startedNative('readiness')
    return callSync(() => engine.readiness())
  }

  /**
   * `GET /api/metrics`: `query_latency_p50/p95/p99` (seconds), `total_queries`,
   * `successful_queries`, `failed_queries`, `success_rate`, cache and recovery counters,
   * `mcp_connection_status` {server_id: bool}, `uptime_seconds`.
   */
  metrics() {
    const engine = this.#startedNative('metrics')
    return callSync(() => engine.metrics())
  }

  /**
   * `GET /api/metrics/prometheus`: every metric in the Prometheus text exposition format
   * (histograms of chat latency and MCP request duration, counters, gauges; names start
   * with `talk2tables_`).
   */
  prometheus() {
    const engine = this.#startedNative('prometheus')
    return callSync(() => engine.prometheus())
  }

  /** Whether multi-server mode is enabled by configuration (`ENABLE_MULTI_MCP`). */
  get multiMcpEnabled() {
    return this.#startedNative('multiMcpEnabled').multiMcpEnabled
  }

  /**
   * Disconnects every server. Afterwards chat() answers MCP_UNAVAILABLE envelopes and
   * start() rejects. Safe to call more than once; the process can exit once it resolves.
   */
  async close() {
    if (this.#closed) return
    this.#closed = true
    let engine = this.#native
    if (!engine && this.#starting) engine = await this.#starting.catch(() => null)
    if (engine) await call(() => engine.close())
  }
}

/** The version of the native addon, e.g. `0.1.0`. */
function version() {
  return native.version()
}

/**
 * A failed DESIGN.md §3 envelope for a request rejected before it reached an engine (for
 * HTTP servers: a body that is not JSON). `code` is a §4 code.
 */
function failureEnvelope(code, message) {
  return callSync(() => native.failureEnvelope(code, message))
}

/** The §4 table as the native core defines it: `[{code, retryable}]`. */
function nativeErrorCodes() {
  return native.errorCodes()
}

module.exports = { Engine, version, failureEnvelope, nativeErrorCodes, ...require('./errors.js') }
