"""Type-checked with `mypy --strict` by test_typing.py: uses the public API and stubs."""

from __future__ import annotations

import asyncio

import talk2tables as t
from talk2tables import _native


async def main(data_dir: str) -> int:
    engine: t.Engine = t.Engine.embedded(data_dir)
    async with engine:
        response: t.ChatResponse = await engine.chat("How many customers are there?", mode="auto")
        if response.data is not None:
            rows: list[list[str | int | float | bool | None]] = response.data.results.rows
            sql: str = response.data.sql_query
            entities: list[t.ResolvedEntity] = response.data.resolved_entities
            print(sql, len(rows), len(entities))
        elif response.error is not None:
            code: str = response.error.code
            print(code)
        as_json: dict[str, object] = response.to_dict()
        try:
            result: t.QueryResult = await engine.ask("DELETE FROM orders")
            print(result.explanation)
        except t.SqlRejectedError as err:
            retry: bool = err.retryable
            print(err.code, retry)
        modes = engine.modes()
        health = await engine.health()
        metrics = engine.metrics()
        text: str = engine.prometheus()
        print(text)
        enabled: bool = engine.multi_mcp_enabled()
        async for item in engine.chat_stream("How many products are there?", mode="multi_mcp"):
            if isinstance(item, t.ChatResponse):
                print(item.success)
            else:
                progress: t.Progress = item
                ms: float = progress["elapsed_ms"]
                print(progress["stage"], progress["status"], ms, progress.get("duration_ms"))
        print(as_json, modes, health, metrics, enabled, engine.readiness())
    codes: list[tuple[str, bool]] = _native.error_codes()
    return len(codes)


if __name__ == "__main__":
    asyncio.run(main(".talk2tables"))
