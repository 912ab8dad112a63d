// Types of the public API of `talk2tables` (lib/index.js). Hand-written; the native
// addon's generated types (../native.d.ts) are private to the wrapper.

/** How a question is answered (DESIGN.md §3). */
export type Mode = 'single_mcp' | 'multi_mcp' | 'auto'

/** The stable error codes of DESIGN.md §4. */
export type ErrorCode =
  | 'INVALID_REQUEST'
  | 'CONFIG_ERROR'
  | 'ORCHESTRATOR_NOT_READY'
  | 'MCP_UNAVAILABLE'
  | 'MCP_TIMEOUT'
  | 'MCP_PROTOCOL_ERROR'
  | 'LLM_UNAVAILABLE'
  | 'LLM_BAD_OUTPUT'
  | 'UNANSWERABLE'
  | 'SQL_REJECTED'
  | 'SQL_EXECUTION_FAILED'
  | 'RECOVERY_EXHAUSTED'
  | 'RATE_LIMITED'
  | 'INTERNAL'

/** One question. The wire's snake_case names (`session_id`, `enable_recovery`) are accepted too. */
export interface ChatRequest {
  /** The question in plain language, or one complete SQL query (1..10000 characters). */
  query: string
  /** Default `auto`. */
  mode?: Mode
  /** Free-form context from the caller. */
  context?: Record<string, unknown>
  /** Conversation id: follow-up questions with the same id refine the previous one. */
  sessionId?: string
  /** Whether failed SQL is repaired and retried; default true. */
  enableRecovery?: boolean
}

/** A JSON value of a result cell. */
export type Cell = string | number | boolean | null

/** Rows of one query: arrays aligned with `columns`. */
export interface Results {
  columns: string[]
  rows: Cell[][]
  row_count: number
  truncated: boolean
  total_rows: number | null
}

/** A term of the question mapped to something in the database. */
export interface ResolvedEntity {
  original_term: string
  resolved_value: string
  /** `product`, `business_term`, `date_range`, `value`, … */
  entity_type: string
  /** The server_id whose data made the resolution, or `core`. */
  source: string
}

/** One failed SQL statement of the recovery trail. */
export interface AttemptedSql {
  sql: string
  error_category: string
  error: string
}

/** The `data` of a successful answer (also what ask() resolves to). */
export interface QueryResult {
  sql_query: string
  results: Results
  resolved_entities: ResolvedEntity[]
  explanation: string
  recovery_performed: boolean
  metadata: {
    mcp_servers_used: string[]
    recovery_attempts: number
    attempted_sql: AttemptedSql[]
    /** `offline`, `llm:<provider>` or `raw_sql`. */
    generator: string
    dialect: string
    /** Tokens the LLM spent on this answer; absent when no LLM was called. */
    llm_usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number }
  }
}

/** A pipeline stage (DESIGN.md §1). */
export type Stage = 'gathering' | 'resolving' | 'generating' | 'validating' | 'executing' | 'recovering'

/** One progress event of chatStream() (the `progress` event of `POST /api/chat/stream`). */
export interface Progress {
  stage: Stage
  status: 'started' | 'finished' | 'failed'
  /** Milliseconds since the question arrived. */
  elapsed_ms: number
  /** For finished/failed: how long the stage took, in milliseconds. */
  duration_ms?: number
  /** A short note (row count, generator, error code). */
  detail?: string
}

/** The envelope every question gets back (DESIGN.md §3). */
export interface ChatResponse {
  success: boolean
  data: QueryResult | null
  error: { code: ErrorCode; message: string; attempted_sql?: AttemptedSql[] } | null
  metadata: {
    /** The mode that ran. */
    mode: Mode
    /** Wall time in the core, in seconds. */
    processing_time_seconds: number
    recovery_performed: boolean
    degraded?: boolean
    missing_servers?: string[]
  }
  /** RFC 3339 UTC. */
  timestamp: string
  /** A fresh UUID. */
  response_id: string
}

/** `GET /api/chat/modes`. */
export interface ModesInfo {
  available_modes: { mode: Mode; description: string; available: boolean }[]
  default_mode: Mode
  /** `ready`, `not_ready` or `disabled`. */
  orchestrator_status: string
}

/** Health of one server. */
export interface ServiceHealth {
  healthy: boolean
  status: 'connected' | 'disconnected'
  name: string
  transport: 'streamable_http' | 'sse' | 'stdio' | 'in_process'
  priority: number
  domains: string[]
  tools: string[]
  resources: number
  last_error: string | null
}

/** `GET /api/health`. */
export interface Health {
  status: 'healthy' | 'degraded' | 'unhealthy'
  services: Record<string, ServiceHealth>
  timestamp: string
  details: {
    total_services: number
    healthy_services: number
    unhealthy_services: number
    cache: { hits: number; misses: number }
  }
}

/** `GET /api/health/ready`. */
export interface Readiness {
  status: 'ready' | 'not_ready'
  reasons?: string[]
}

/** `GET /api/metrics` (latencies in seconds). */
export interface Metrics {
  query_latency_p50: number
  query_latency_p95: number
  query_latency_p99: number
  total_queries: number
  successful_queries: number
  failed_queries: number
  success_rate: number
  cache_hit_rate: number
  cache_hits: number
  cache_misses: number
  recovery_attempts: number
  recovery_successes: number
  recovery_success_rate: number
  mcp_connection_status: Record<string, boolean>
  uptime_seconds: number
  [key: string]: unknown
}

/** One server of `mcp_servers` (DESIGN.md §2). */
export interface ServerConfig {
  name?: string
  url?: string
  transport?: 'streamable_http' | 'sse' | 'stdio'
  command?: string[]
  priority?: number
  domains?: string[]
  capabilities?: string[]
  /** Seconds per MCP request. */
  timeout?: number
  [key: string]: unknown
}

/** The mcp_config.yaml structure as an object. */
export interface ConfigObject {
  mcp_servers: Record<string, ServerConfig>
  orchestration?: {
    resource_cache_ttl?: number
    fail_fast?: boolean
    enable_logging?: boolean
    log_level?: string
    max_retries?: number
    [key: string]: unknown
  }
  [key: string]: unknown
}

/** A Talk 2 Tables engine. Create with fromConfig() or embedded(), then start(). */
export declare class Engine {
  private constructor()
  /** A configuration file path or object; read and connected by start(). */
  static fromConfig(pathOrObject: string | ConfigObject): Engine
  /** The embedded default (sample database under `dataDir`, default `./.talk2tables`). */
  static embedded(options?: { dataDir?: string }): Engine
  /** Connects; idempotent. Rejects with ConfigError, McpUnavailableError. */
  start(): Promise<this>
  /** Whether start() completed and close() was not called. */
  readonly started: boolean
  /** The §3 envelope; rejects only when the engine cannot start. */
  chat(request: string | ChatRequest): Promise<ChatResponse>
  /** Like chat(), calling `onProgress` as each stage starts and ends before resolving. */
  chatStream(request: string | ChatRequest, onProgress?: (event: Progress) => void): Promise<ChatResponse>
  /** The envelope's data; rejects with the Talk2TablesError subclass of the failure. */
  ask(request: string | ChatRequest): Promise<QueryResult>
  modes(): ModesInfo
  health(): Promise<Health>
  readiness(): Readiness
  metrics(): Metrics
  /** Prometheus text exposition format. */
  prometheus(): string
  readonly multiMcpEnabled: boolean
  close(): Promise<void>
}

/** Base class of every error this package throws. */
export declare class Talk2TablesError extends Error {
  constructor(message: string, options?: { code?: ErrorCode; cause?: unknown })
  readonly code: ErrorCode
  readonly retryable: boolean
}
type ErrorClass<C extends ErrorCode> = {
  new (message: string, options?: { cause?: unknown }): Talk2TablesError & { readonly code: C }
  readonly code: C
  readonly retryable: boolean
}
export declare const InvalidRequestError: ErrorClass<'INVALID_REQUEST'>
export type InvalidRequestError = InstanceType<typeof InvalidRequestError>
export declare const ConfigError: ErrorClass<'CONFIG_ERROR'>
export type ConfigError = InstanceType<typeof ConfigError>
export declare const OrchestratorNotReadyError: ErrorClass<'ORCHESTRATOR_NOT_READY'>
export type OrchestratorNotReadyError = InstanceType<typeof OrchestratorNotReadyError>
export declare const McpUnavailableError: ErrorClass<'MCP_UNAVAILABLE'>
export type McpUnavailableError = InstanceType<typeof McpUnavailableError>
export declare const McpTimeoutError: ErrorClass<'MCP_TIMEOUT'>
export type McpTimeoutError = InstanceType<typeof McpTimeoutError>
export declare const McpProtocolError: ErrorClass<'MCP_PROTOCOL_ERROR'>
export type McpProtocolError = InstanceType<typeof McpProtocolError>
export declare const LlmUnavailableError: ErrorClass<'LLM_UNAVAILABLE'>
export type LlmUnavailableError = InstanceType<typeof LlmUnavailableError>
export declare const LlmBadOutputError: ErrorClass<'LLM_BAD_OUTPUT'>
export type LlmBadOutputError = InstanceType<typeof LlmBadOutputError>
export declare const UnanswerableError: ErrorClass<'UNANSWERABLE'>
export type UnanswerableError = InstanceType<typeof UnanswerableError>
export declare const SqlRejectedError: ErrorClass<'SQL_REJECTED'>
export type SqlRejectedError = InstanceType<typeof SqlRejectedError>
export declare const SqlExecutionFailedError: ErrorClass<'SQL_EXECUTION_FAILED'>
export type SqlExecutionFailedError = InstanceType<typeof SqlExecutionFailedError>
export declare const RecoveryExhaustedError: ErrorClass<'RECOVERY_EXHAUSTED'>
export type RecoveryExhaustedError = InstanceType<typeof RecoveryExhaustedError>
export declare const RateLimitedError: ErrorClass<'RATE_LIMITED'>
export type RateLimitedError = InstanceType<typeof RateLimitedError>
export declare const InternalError: ErrorClass<'INTERNAL'>
export type InternalError = InstanceType<typeof InternalError>

/** code → class. */
export declare const ERROR_CLASSES: { readonly [C in ErrorCode]: ErrorClass<C> }
/** Every code in DESIGN.md §4 order. */
export declare const ERROR_CODES: readonly ErrorCode[]
/** The error for a code (unknown codes give an InternalError). */
export declare function errorFromCode(code: string, message: string, options?: { cause?: unknown }): Talk2TablesError
/** A native "[CODE] message" error as its Talk2TablesError subclass. */
export declare function fromNativeError(error: unknown): Talk2TablesError
/** The native addon's version. */
export declare function version(): string
/** A failed §3 envelope (for requests rejected before reaching an engine). */
export declare function failureEnvelope(code: ErrorCode, message: string): ChatResponse
/** The §4 table as the native core defines it. */
export declare function nativeErrorCodes(): { code: ErrorCode; retryable: boolean }[]
