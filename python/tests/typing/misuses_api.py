"""Must FAIL `mypy --strict` (test_typing.py checks that the stubs catch these)."""

from __future__ import annotations

import talk2tables as t
from talk2tables import _native


async def main() -> None:
    engine = t.Engine.embedded(".talk2tables")
    await engine.chat(42)
    await engine.chat("q", mode="fast")
    count: int = (await engine.ask("q")).sql_query
    await _native.Engine.start("mcp_config.yaml")
