'use strict'
// Error classes of DESIGN.md §4: one Talk2TablesError subclass per stable code.
//
// The native addon cannot attach a `code` to the rejection of an async call
// (napi-rs/napi-rs#1632), so it sends the code as a message prefix: "[SQL_REJECTED] …".
// fromNativeError() parses that prefix and builds the matching class.

/** Base class of every error this package throws. `.code` is the §4 code. */
class Talk2TablesError extends Error {
  /**
   * @param {string} message readable message (without the code)
   * @param {{code?: string, cause?: unknown}} [options] `code` only for the base class;
   *   subclasses have a fixed code
   */
  constructor(message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    const own = new.target.code
    /** The stable code of DESIGN.md §4, e.g. `SQL_REJECTED`. */
    this.code = own ?? options.code ?? 'INTERNAL'
    /** Whether the same request may succeed when tried again later. */
    this.retryable = new.target.retryable ?? RETRYABLE.has(this.code)
    this.name = new.target.name
  }
}

// code → [class name, retryable], in DESIGN.md §4 order.
const TABLE = [
  ['INVALID_REQUEST', 'InvalidRequestError', false],
  ['CONFIG_ERROR', 'ConfigError', false],
  ['ORCHESTRATOR_NOT_READY', 'OrchestratorNotReadyError', true],
  ['MCP_UNAVAILABLE', 'McpUnavailableError', true],
  ['MCP_TIMEOUT', 'McpTimeoutError', true],
  ['MCP_PROTOCOL_ERROR', 'McpProtocolError', false],
  ['LLM_UNAVAILABLE', 'LlmUnavailableError', true],
  ['LLM_BAD_OUTPUT', 'LlmBadOutputError', true],
  ['UNANSWERABLE', 'UnanswerableError', false],
  ['SQL_REJECTED', 'SqlRejectedError', false],
  ['SQL_EXECUTION_FAILED', 'SqlExecutionFailedError', false],
  ['RECOVERY_EXHAUSTED', 'RecoveryExhaustedError', false],
  ['RATE_LIMITED', 'RateLimitedError', true],
  ['INTERNAL', 'InternalError', false],
]
const RETRYABLE = new Set(TABLE.filter((row) => row[2]).map((row) => row[0]))

/** code → subclass */
const ERROR_CLASSES = {}
const classes = {}
for (const [code, name, retryable] of TABLE) {
  // A named class per code, so stack traces and `err.name` say which one.
  const cls = { [name]: class extends Talk2TablesError {} }[name]
  Object.defineProperty(cls, 'code', { value: code, enumerable: true })
  Object.defineProperty(cls, 'retryable', { value: retryable, enumerable: true })
  ERROR_CLASSES[code] = cls
  classes[name] = cls
}

/** Every code, in DESIGN.md §4 order. */
const ERROR_CODES = Object.freeze(TABLE.map((row) => row[0]))

/**
 * The error for `code` (a §4 code); an unknown code gives an InternalError that names it.
 * @param {string} code
 * @param {string} message
 * @param {{cause?: unknown}} [options]
 */
function errorFromCode(code, message, options = {}) {
  const cls = ERROR_CLASSES[code]
  if (cls) return new cls(message, options)
  return new classes.InternalError(`unknown error code ${JSON.stringify(code)}: ${message}`, options)
}

const PREFIX = /^\[([A-Z_]+)\] ([\s\S]*)$/

/**
 * Turns an error thrown by the native addon into a Talk2TablesError. A message of the
 * form "[CODE] text" gives the class of CODE with message "text"; anything else (an
 * argument napi could not convert, …) becomes an InvalidRequestError when napi says the
 * argument was invalid, else an InternalError. The original error is the `cause`.
 * @param {unknown} error
 * @returns {Talk2TablesError}
 */
function fromNativeError(error) {
  if (error instanceof Talk2TablesError) return error
  const message = error instanceof Error ? error.message : String(error)
  const match = PREFIX.exec(message)
  if (match) return errorFromCode(match[1], match[2], { cause: error })
  if (error && typeof error === 'object' && error.code === 'InvalidArg') {
    return new classes.InvalidRequestError(message, { cause: error })
  }
  return new classes.InternalError(message, { cause: error })
}

// Written out (not spread) so Node's ESM loader sees every name of this CommonJS module.
module.exports = {
  Talk2TablesError,
  InvalidRequestError: classes.InvalidRequestError,
  ConfigError: classes.ConfigError,
  OrchestratorNotReadyError: classes.OrchestratorNotReadyError,
  McpUnavailableError: classes.McpUnavailableError,
  McpTimeoutError: classes.McpTimeoutError,
  McpProtocolError: classes.McpProtocolError,
  LlmUnavailableError: classes.LlmUnavailableError,
  LlmBadOutputError: classes.LlmBadOutputError,
  UnanswerableError: classes.UnanswerableError,
  SqlRejectedError: classes.SqlRejectedError,
  SqlExecutionFailedError: classes.SqlExecutionFailedError,
  RecoveryExhaustedError: classes.RecoveryExhaustedError,
  RateLimitedError: classes.RateLimitedError,
  InternalError: classes.InternalError,
  ERROR_CLASSES,
  ERROR_CODES,
  errorFromCode,
  fromNativeError,
}
