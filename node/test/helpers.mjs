// Shared helpers of the test suite: temporary directories, a closed loopback port, the
// test's own SQLite reader (sql.js) for reference numbers, HTTP calls with timeouts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const require = createRequire(import.meta.url)

// Offline SQL engine, no configuration file from the environment: deterministic tests.
process.env.LLM_PROVIDER = 'offline'
process.env.MCP_CONFIG_PATH = ''

/** The package, as users load it. */
export const t2t = require('../lib/index.js')

/** A fresh temporary directory and a function removing it. */
export function tempDir(prefix = 'talk2tables-node-') {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A loopback port nothing listens on (bound to port 0, then released). */
export async function closedPort() {
  const server = net.createServer()
  await new Promise((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A config object whose only server is the Database MCP at a closed loopback port. */
export async function deadServerConfig(extra = {}) {
  const port = await closedPort()
  return {
    mcp_servers: {
      database_mcp: {
        name: 'Database MCP',
        url: `http://127.0.0.1:${port}/mcp`,
        transport: 'streamable_http',
        priority: 10,
        domains: ['database'],
        capabilities: ['execute_query', 'list_resources'],
        timeout: 5,
      },
    },
    orchestration: { resource_cache_ttl: 300, fail_fast: false, max_retries: 3, ...extra },
  }
}

/** Opens a SQLite file (read into memory) for the test's own reference queries. */
export async function openSqlite(path) {
  const initSqlJs = require('sql.js')
  const SQL = await initSqlJs()
  const db = new SQL.Database(readFileSync(path))
  const rows = (sql) => {
    const [result] = db.exec(sql)
    return result ? result.values : []
  }
  return {
    /** First column of the first row, as a number. */
    scalar: (sql) => Number(rows(sql)[0][0]),
    /** [label, number] pairs from the first two columns. */
    pairs: (sql) => rows(sql).map((r) => [String(r[0]), Number(r[1])]),
    close: () => db.close(),
  }
}

/** HTTP client for `base` with a 60 s timeout per request. */
export function api(base) {
  const request = async (method, path, body, headers = {}) => {
    const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(60_000) }
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body)
      init.headers['content-type'] ??= 'application/json'
    }
    const response = await fetch(`${base}${path}`, init)
    return { status: response.status, body: await response.json() }
  }
  return {
    get: (path) => request('GET', path),
    post: (path, body, headers) => request('POST', path, body, headers),
    chat: (query) => request('POST', '/api/chat', { query }),
  }
}

/** Reads a JSON number (number or numeric string). */
export function num(v) {
  return typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN
}
