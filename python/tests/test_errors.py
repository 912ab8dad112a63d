"""Each error code raised as its own class, produced by the real core where it can be."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import talk2tables as t
from talk2tables import Engine, _native
from talk2tables.errors import error_for, from_native

from .conftest import BlackHole, closed_port, scalar, server_config


def test_mapping_covers_every_core_code() -> None:
    core = _native.error_codes()
    assert len(core) == 14
    assert [code for code, _ in core] == list(t.ERROR_CLASSES)
    classes = set()
    for code, retryable in core:
        cls = t.error_class(code)
        assert cls.code == code and cls.retryable is retryable, code
        assert issubclass(cls, t.Talk2TablesError) and cls is not t.Talk2TablesError
        classes.add(cls)
        err = from_native(_native.NativeError(code, "msg", ["outer", "inner"]))
        assert type(err) is cls and err.code == code and err.retryable is retryable
        assert str(err) == f"{code}: msg" and err.message == "msg"
        assert isinstance(err.__cause__, t.RustCause) and str(err.__cause__) == "outer"
        assert str(err.__cause__.__cause__) == "inner" and err.__cause__.__cause__.__cause__ is None
    assert len(classes) == 14
    assert t.error_class("SOMETHING_NEW") is t.InternalError
    assert type(from_native(_native.NativeError("bad"))) is t.InternalError
    assert error_for("UNANSWERABLE", "x").__cause__ is None


async def test_invalid_request_empty_query(engine: Engine) -> None:
    with pytest.raises(t.InvalidRequestError) as info:
        await engine.ask("")
    assert info.value.code == "INVALID_REQUEST" and not info.value.retryable
    r = await engine.chat("   ")
    assert not r.success and r.error is not None and r.error.code == "INVALID_REQUEST"
    with pytest.raises(t.InvalidRequestError):
        r.raise_for_error()
    with pytest.raises(t.InvalidRequestError, match="10000"):
        await engine.ask("x" * 10_001)


async def test_sql_rejected_changes_nothing(engine: Engine, sample_db: sqlite3.Connection) -> None:
    before = scalar(sample_db, "SELECT COUNT(*) FROM orders")
    with pytest.raises(t.SqlRejectedError) as info:
        await engine.ask("DELETE FROM orders")
    assert info.value.code == "SQL_REJECTED" and "DELETE" in info.value.message
    r = await engine.chat("DROP TABLE orders")
    assert r.error is not None and r.error.code == "SQL_REJECTED"
    assert scalar(sample_db, "SELECT COUNT(*) FROM orders") == before


async def test_unanswerable(engine: Engine) -> None:
    with pytest.raises(t.UnanswerableError) as info:
        await engine.ask("How many employees are there?")
    assert info.value.code == "UNANSWERABLE" and not info.value.retryable


async def test_orchestrator_not_ready_and_mcp_unavailable() -> None:
    cfg = server_config(f"http://127.0.0.1:{closed_port()}/mcp")
    async with Engine.from_config(cfg) as eng:
        r = await eng.chat("How many customers are there?", mode="multi_mcp")
        assert r.error is not None and r.error.code == "ORCHESTRATOR_NOT_READY"
        with pytest.raises(t.OrchestratorNotReadyError) as info:
            r.raise_for_error()
        assert info.value.retryable
        with pytest.raises(t.McpUnavailableError) as unavailable:
            await eng.ask("How many customers are there?")
        assert unavailable.value.retryable and unavailable.value.code == "MCP_UNAVAILABLE"


async def test_fail_fast_start_raises_mcp_unavailable() -> None:
    cfg = server_config(f"http://127.0.0.1:{closed_port()}/mcp", fail_fast=True)
    eng = Engine.from_config(cfg)
    with pytest.raises(t.McpUnavailableError):
        await eng.start()
    assert not eng.started


async def test_start_against_a_silent_server_times_out(black_hole: BlackHole) -> None:
    cfg = server_config(f"http://127.0.0.1:{black_hole.port}/mcp", fail_fast=True, timeout=0.5)
    with pytest.raises((t.McpTimeoutError, t.McpUnavailableError)) as info:
        await Engine.from_config(cfg).start()
    assert info.value.retryable


def test_config_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("mcp_servers: [unclosed\n  - x: {\n")
    with pytest.raises(t.ConfigError) as info:
        Engine.from_config(bad)
    assert info.value.code == "CONFIG_ERROR" and "bad.yaml" in info.value.message

    cfg = server_config("http://127.0.0.1:1/mcp")
    cfg["mcp_servers"]["database_mcp"]["priority"] = 0  # type: ignore[index]
    with pytest.raises(t.ConfigError, match="priority"):
        Engine.from_config(cfg)

    with pytest.raises(t.ConfigError) as missing:
        Engine.from_config(tmp_path / "missing.yaml")
    assert isinstance(missing.value.__cause__, t.RustCause)  # the io::Error below it

    with pytest.raises(t.ConfigError):
        Engine.from_config({"not": object()})
    with pytest.raises(t.ConfigError):
        Engine.from_config(42)  # type: ignore[arg-type]
