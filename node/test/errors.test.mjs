// The DESIGN.md §4 table: one class per code, the same table as the native core.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { t2t } from './helpers.mjs'

const EXPECTED = {
  INVALID_REQUEST: 'InvalidRequestError',
  CONFIG_ERROR: 'ConfigError',
  ORCHESTRATOR_NOT_READY: 'OrchestratorNotReadyError',
  MCP_UNAVAILABLE: 'McpUnavailableError',
  MCP_TIMEOUT: 'McpTimeoutError',
  MCP_PROTOCOL_ERROR: 'McpProtocolError',
  LLM_UNAVAILABLE: 'LlmUnavailableError',
  LLM_BAD_OUTPUT: 'LlmBadOutputError',
  UNANSWERABLE: 'UnanswerableError',
  SQL_REJECTED: 'SqlRejectedError',
  SQL_EXECUTION_FAILED: 'SqlExecutionFailedError',
  RECOVERY_EXHAUSTED: 'RecoveryExhaustedError',
  RATE_LIMITED: 'RateLimitedError',
  INTERNAL: 'InternalError',
}

test('the 14 codes of the native core, in order, with the same retryability', () => {
  const native = t2t.nativeErrorCodes()
  assert.deepEqual(
    native.map((r) => r.code),
    Object.keys(EXPECTED),
  )
  assert.deepEqual([...t2t.ERROR_CODES], Object.keys(EXPECTED))
  for (const { code, retryable } of native) {
    const cls = t2t.ERROR_CLASSES[code]
    assert.equal(cls.retryable, retryable, code)
    assert.equal(new cls('m').retryable, retryable, code)
  }
})

test('each code has its own exported class with .code, .retryable and .name', () => {
  const seen = new Set()
  for (const [code, name] of Object.entries(EXPECTED)) {
    const cls = t2t[name]
    assert.equal(typeof cls, 'function', `${name} exported`)
    assert.equal(t2t.ERROR_CLASSES[code], cls)
    assert.ok(!seen.has(cls), `${name} is its own class`)
    seen.add(cls)
    const err = new cls('something failed')
    assert.ok(err instanceof t2t.Talk2TablesError && err instanceof Error)
    assert.equal(err.code, code)
    assert.equal(err.name, name)
    assert.equal(err.message, 'something failed')
    for (const other of Object.values(EXPECTED)) {
      if (other !== name) assert.ok(!(err instanceof t2t[other]), `${name} is not a ${other}`)
    }
  }
})

test('native "[CODE] message" errors become the class of CODE', () => {
  for (const [code, name] of Object.entries(EXPECTED)) {
    const cause = new Error(`[${code}] went wrong: [x]\nsecond line`)
    const err = t2t.fromNativeError(cause)
    assert.ok(err instanceof t2t[name], code)
    assert.equal(err.message, 'went wrong: [x]\nsecond line')
    assert.equal(err.cause, cause)
  }
  const plain = t2t.fromNativeError(new Error('no prefix'))
  assert.ok(plain instanceof t2t.InternalError)
  const unknown = t2t.errorFromCode('NOT_A_CODE', 'm')
  assert.ok(unknown instanceof t2t.InternalError)
  assert.match(unknown.message, /NOT_A_CODE/)
  const arg = Object.assign(new Error('Failed to convert'), { code: 'InvalidArg' })
  assert.ok(t2t.fromNativeError(arg) instanceof t2t.InvalidRequestError)
})

test('failureEnvelope builds the §3 envelope and rejects unknown codes', () => {
  const env = t2t.failureEnvelope('SQL_REJECTED', 'no writes')
  assert.equal(env.success, false)
  assert.equal(env.data, null)
  assert.deepEqual(env.error, { code: 'SQL_REJECTED', message: 'no writes' })
  assert.equal(env.metadata.mode, 'auto')
  assert.match(env.timestamp, /Z$/)
  assert.equal(env.response_id.length, 36)
  assert.throws(() => t2t.failureEnvelope('NOPE', 'x'), t2t.InvalidRequestError)
  assert.match(t2t.version(), /^\d+\.\d+\.\d+/)
})
