// Per-call cost of the Node binding, measured inside Node (run by talk2tables-bench).
// Env: T2T_NODE_LIB (node/lib/index.js), T2T_DATA_DIR, T2T_MODES_CALLS, T2T_CHAT_CALLS,
// T2T_QUESTIONS (JSON array). Prints one JSON line: {modes_us, chat_us} or {error}.
'use strict'

async function main() {
  const { Engine } = require(process.env.T2T_NODE_LIB)
  const modesCalls = Number(process.env.T2T_MODES_CALLS)
  const chatCalls = Number(process.env.T2T_CHAT_CALLS)
  const questions = JSON.parse(process.env.T2T_QUESTIONS)
  const engine = Engine.embedded({ dataDir: process.env.T2T_DATA_DIR })
  await engine.start()
  for (const q of questions) {
    const r = await engine.chat({ query: q })
    if (!r.success) throw new Error(`warm-up ${q}: ${JSON.stringify(r.error)}`)
  }
  let t = process.hrtime.bigint()
  let available = 0
  for (let i = 0; i < modesCalls; i++) available += engine.modes().available_modes.length
  const modesUs = Number(process.hrtime.bigint() - t) / 1e3 / modesCalls
  const each = []
  for (let i = 0; i < chatCalls; i++) {
    t = process.hrtime.bigint()
    const r = await engine.chat({ query: questions[i % questions.length] })
    each.push(Number(process.hrtime.bigint() - t) / 1e3)
    if (!r.success) throw new Error(`chat failed: ${JSON.stringify(r.error)}`)
  }
  each.sort((a, b) => a - b)
  const chatUs = each[Math.ceil(each.length / 2) - 1]
  const chatMeanUs = each.reduce((a, b) => a + b, 0) / each.length
  await engine.close()
  console.log(JSON.stringify({ modes_us: modesUs, chat_us: chatUs, chat_mean_us: chatMeanUs, available }))
}

main().then(
  () => process.exit(0),
  (e) => {
    console.log(JSON.stringify({ error: String((e && e.stack) || e) }))
    process.exit(1)
  },
)
