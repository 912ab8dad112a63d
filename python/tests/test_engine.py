"""Every public method of talk2tables.Engine over the embedded engine."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

import talk2tables
from talk2tables import ChatResponse, Engine, InvalidRequestError, QueryResult

from .conftest import scalar

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


async def test_chat_headline_question(engine: Engine, sample_db: sqlite3.Connection) -> None:
    r = await engine.chat("Show me total sales for abracadabra this month")
    assert isinstance(r, ChatResponse)
    assert r.success and r.error is None and r.data is not None
    assert "123" in r.data.sql_query and "start of month" in r.data.sql_query
    assert any(
        e.original_term.lower() == "abracadabra" and e.resolved_value == "123" for e in r.data.resolved_entities
    )
    want = scalar(
        sample_db,
        "SELECT COALESCE(SUM(oi.quantity * oi.unit_price), 0) FROM order_items oi JOIN orders o "
        "ON o.order_id = oi.order_id WHERE oi.product_id = 123 "
        "AND o.order_date >= date('now','start of month') AND o.order_date < date('now','start of month','+1 month')",
    )
    assert want > 0
    assert r.data.results.row_count == 1
    got = r.data.results.rows[0][-1]
    assert isinstance(got, (int, float)) and got == pytest.approx(want, rel=1e-6)
    assert r.metadata.mode == "multi_mcp"
    assert r.data.metadata.dialect == "sqlite"
    assert {"product_metadata_mcp", "database_mcp"} <= set(r.data.metadata.mcp_servers_used)
    assert UUID.match(r.response_id) and r.timestamp.endswith("Z")


async def test_to_dict_is_exactly_the_core_json(engine: Engine) -> None:
    native = engine._native
    assert native is not None
    for request in (
        {"query": "Top 5 products by revenue"},
        {"query": "DELETE FROM orders"},
        {"query": ""},
        {"query": "How many orders are there?", "mode": "single_mcp", "session_id": "s1"},
    ):
        raw = json.loads(await native.chat(json.dumps(request)))
        typed = ChatResponse.from_dict(raw)
        assert typed.to_dict() == raw, request
        assert json.loads(json.dumps(typed.to_dict())) == raw
    assert set(raw) == {"success", "data", "error", "metadata", "timestamp", "response_id"}


async def test_chat_options(engine: Engine, sample_db: sqlite3.Connection) -> None:
    r = await engine.chat(
        "How many orders are there?",
        mode="single_mcp",
        session_id="py-session",
        enable_recovery=False,
        context={"user": "test", "n": [1, 2]},
    )
    data = r.raise_for_error()
    assert r.metadata.mode == "single_mcp"
    assert data.metadata.mcp_servers_used == ["database_mcp"]
    assert data.results.rows[0][0] == scalar(sample_db, "SELECT COUNT(*) FROM orders")
    with pytest.raises(InvalidRequestError):
        await engine.chat("x", mode="bogus")  # type: ignore[arg-type]
    with pytest.raises(InvalidRequestError):
        await engine.chat("x", context={"f": object()})
    with pytest.raises(InvalidRequestError):
        await engine.chat(42)  # type: ignore[arg-type]


async def test_ask_returns_the_result(engine: Engine, sample_db: sqlite3.Connection) -> None:
    result = await engine.ask("How many customers are there?")
    assert isinstance(result, QueryResult)
    assert result.results.rows[0][0] == scalar(sample_db, "SELECT COUNT(*) FROM customers")
    assert result.results.records() == [{result.results.columns[0]: result.results.rows[0][0]}]


async def test_raw_sql(engine: Engine) -> None:
    data = await engine.ask("SELECT name, price FROM products WHERE product_id = 123")
    assert data.results.rows[0][0] == "Magic Wand Pro"
    assert data.metadata.generator == "raw_sql"
    assert "LIMIT" in data.sql_query.upper()


async def test_status_methods(engine: Engine) -> None:
    modes = engine.modes()
    assert modes["default_mode"] == "auto"
    assert modes["orchestrator_status"] == "ready"
    assert [m["mode"] for m in modes["available_modes"]] == ["single_mcp", "multi_mcp", "auto"]

    health = await engine.health()
    assert health["status"] == "healthy", health
    assert health["details"]["total_services"] == 2
    assert health["services"]["database_mcp"]["healthy"] is True
    assert health["services"]["product_metadata_mcp"]["transport"] == "in_process"

    assert engine.readiness() == {"status": "ready"}
    assert engine.multi_mcp_enabled() is True

    before = engine.metrics()["total_queries"]
    await engine.chat("How many products are there?")
    metrics = engine.metrics()
    assert metrics["total_queries"] == before + 1
    assert metrics["mcp_connection_status"] == {"database_mcp": True, "product_metadata_mcp": True}
    for key in ("query_latency_p50", "success_rate", "cache_hit_rate", "uptime_seconds"):
        assert key in metrics

    text = engine.prometheus()
    assert "# TYPE talk2tables_" in text
    samples = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert samples and all(line.startswith("talk2tables_") for line in samples), samples[:5]


async def test_lifecycle(tmp_path: Path) -> None:
    eng = Engine.embedded(tmp_path)
    assert not eng.started
    with pytest.raises(InvalidRequestError, match="not started"):
        await eng.chat("How many customers are there?")
    with pytest.raises(InvalidRequestError):
        eng.metrics()
    async with eng as started:
        assert started is eng and eng.started
        assert await eng.start() is eng  # idempotent
        assert (await eng.chat("How many customers are there?")).success
    assert not eng.started
    await eng.close()  # closing twice is fine
    await eng.start()  # and it can start again
    assert (await eng.ask("How many products are there?")).results.row_count == 1
    await eng.close()
    assert (tmp_path / "sample.db").exists()


async def test_from_config_path_and_dict(tmp_path: Path) -> None:
    # A config naming no reachable server still starts (fail_fast off): it reports health.
    from .conftest import closed_port, server_config

    cfg = server_config(f"http://127.0.0.1:{closed_port()}/mcp")
    eng = Engine.from_config(cfg)
    async with eng:
        assert engine_status(await eng.health()) == "unhealthy"
        assert eng.readiness()["status"] == "not_ready"
        assert eng.modes()["orchestrator_status"] == "not_ready"
    path = tmp_path / "mcp_config.yaml"
    path.write_text(json.dumps(cfg))
    async with Engine.from_config(path) as eng2:
        assert eng2.readiness()["reasons"]
    async with Engine.from_config(str(path)) as eng3:
        assert eng3.metrics()["mcp_connection_status"] == {"database_mcp": False}


def engine_status(health: dict[str, object]) -> object:
    return health["status"]


def test_version_and_exports() -> None:
    assert talk2tables.__version__ == "0.1.0"
    for name in talk2tables.__all__:
        assert hasattr(talk2tables, name), name
