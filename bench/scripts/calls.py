"""Per-call cost of the Python binding, measured inside Python (run by talk2tables-bench).

Env: T2T_DATA_DIR, T2T_MODES_CALLS, T2T_CHAT_CALLS, T2T_QUESTIONS (JSON array).
Prints one JSON line: {"modes_us", "chat_us"} or {"error"}.
"""
import asyncio
import json
import os
import sys
import time


async def measure():
    import talk2tables  # the binding; ImportError when it is not installed

    modes_calls = int(os.environ["T2T_MODES_CALLS"])
    chat_calls = int(os.environ["T2T_CHAT_CALLS"])
    questions = json.loads(os.environ["T2T_QUESTIONS"])
    engine = talk2tables.Engine.embedded(data_dir=os.environ["T2T_DATA_DIR"])
    if asyncio.iscoroutine(engine):
        engine = await engine
    start = getattr(engine, "start", None)
    if start is not None:
        started = start()
        if asyncio.iscoroutine(started):
            await started

    async def chat(q):
        r = engine.chat(q)
        if asyncio.iscoroutine(r) or isinstance(r, asyncio.Future):
            r = await r
        return r

    for q in questions:
        await chat(q)
    t = time.perf_counter_ns()
    for _ in range(modes_calls):
        engine.modes()
    modes_us = (time.perf_counter_ns() - t) / 1e3 / modes_calls
    each = []
    for i in range(chat_calls):
        t = time.perf_counter_ns()
        await chat(questions[i % len(questions)])
        each.append((time.perf_counter_ns() - t) / 1e3)
    each.sort()
    chat_us = each[(len(each) + 1) // 2 - 1]
    chat_mean_us = sum(each) / len(each)
    close = getattr(engine, "close", None)
    if close is not None:
        closed = close()
        if asyncio.iscoroutine(closed):
            await closed
    return {"modes_us": modes_us, "chat_us": chat_us, "chat_mean_us": chat_mean_us}


try:
    print(json.dumps(asyncio.run(measure())))
except Exception as e:  # reported to the bench as a note
    print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
    sys.exit(1)
