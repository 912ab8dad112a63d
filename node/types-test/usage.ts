// Compiled by `tsc --noEmit -p types-test` in the test suite: the public types in use.
import {
  type ChatResponse,
  Engine,
  type QueryResult,
  SqlRejectedError,
  Talk2TablesError,
  UnanswerableError,
  ERROR_CLASSES,
  type Progress,
} from '../lib/index.js'

async function main(): Promise<void> {
  const engine = Engine.embedded({ dataDir: './.talk2tables' })
  await engine.start()
  const response: ChatResponse = await engine.chat({
    query: 'Top 5 products by revenue',
    mode: 'auto',
    sessionId: 'abc',
    enableRecovery: true,
    context: { user: 'me' },
  })
  if (response.success && response.data) {
    const names: string[] = response.data.results.columns
    const first = response.data.results.rows[0]?.[0]
    console.log(names, first, response.metadata.processing_time_seconds)
  } else if (response.error) {
    const code: string = response.error.code
    console.log(code)
  }
  try {
    const data: QueryResult = await engine.ask('DELETE FROM orders')
    console.log(data.sql_query)
  } catch (e) {
    if (e instanceof SqlRejectedError) {
      const code: 'SQL_REJECTED' = e.code
      console.log(code, e.retryable)
    } else if (e instanceof UnanswerableError || e instanceof Talk2TablesError) {
      console.log(e.code, e.message)
    }
  }
  console.log(engine.modes().available_modes.map((m) => m.mode))
  console.log((await engine.health()).status, engine.readiness().status, engine.metrics().total_queries)
  console.log(engine.multiMcpEnabled, ERROR_CLASSES.MCP_TIMEOUT.retryable)
  const stages: string[] = []
  const streamed: ChatResponse = await engine.chatStream('How many customers are there?', (event: Progress) => {
    if (event.status === 'finished') stages.push(`${event.stage} ${event.duration_ms ?? 0} ms`)
  })
  const usage = streamed.data?.metadata.llm_usage?.total_tokens ?? 0
  const exposition: string = engine.prometheus()
  console.log(stages, usage, exposition.length)
  const configured = Engine.fromConfig({ mcp_servers: { database_mcp: { url: 'http://127.0.0.1:8000/mcp' } } })
  await configured.close()
  await engine.close()
}

void main()
