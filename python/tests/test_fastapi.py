"""The FastAPI example against the phase-3 scenarios of tests/tests/sample_stack.rs."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talk2tables import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import fastapi_app  # noqa: E402


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fastapi-data")


@pytest.fixture(scope="module")
def client(app_dir: Path) -> Iterator[TestClient]:
    app = fastapi_app.create_app(Engine.embedded(app_dir))
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def db(client: TestClient, app_dir: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"file:{app_dir / 'sample.db'}?mode=ro", uri=True)
    yield conn
    conn.close()


def scalar(db: sqlite3.Connection, sql: str) -> float:
    return float(db.execute(sql).fetchone()[0])


def pairs(db: sqlite3.Connection, sql: str) -> list[tuple[str, float]]:
    return [(str(a), float(b)) for a, b in db.execute(sql).fetchall()]


def ask(client: TestClient, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    r = client.post("/api/chat", json=body)
    return r.status_code, r.json()


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert body["success"] is True and body["error"] is None, body
    data: dict[str, Any] = body["data"]
    return data


def error(body: dict[str, Any], code: str) -> None:
    assert body["success"] is False and body["data"] is None, body
    assert body["error"]["code"] == code, body


def label_values(data: dict[str, Any]) -> list[tuple[str, float]]:
    """(label, value) per row: the first text column and the last numeric one."""
    rows: list[list[Any]] = data["results"]["rows"]
    if not rows:
        return []
    first = rows[0]
    label = next((i for i, v in enumerate(first) if isinstance(v, str)), 0)
    value = max((i for i, v in enumerate(first) if isinstance(v, (int, float))), default=len(first) - 1)
    return [(str(r[label]), float(r[value])) for r in rows]


def test_phase3_scenarios(client: TestClient, db: sqlite3.Connection) -> None:
    status, body = ask(client, {"query": "Show me total sales for abracadabra this month"})
    assert status == 200
    data = ok(body)
    assert "123" in data["sql_query"] and "start of month" in data["sql_query"]
    assert any(
        e["original_term"].lower() == "abracadabra" and e["resolved_value"] == "123"
        for e in data["resolved_entities"]
    )
    want = scalar(
        db,
        "SELECT COALESCE(SUM(oi.quantity * oi.unit_price), 0) FROM order_items oi JOIN orders o "
        "ON o.order_id = oi.order_id WHERE oi.product_id = 123 "
        "AND o.order_date >= date('now','start of month') AND o.order_date < date('now','start of month','+1 month')",
    )
    assert want > 0 and data["results"]["rows"][0][-1] == pytest.approx(want, rel=1e-6)
    assert body["metadata"]["mode"] == "multi_mcp" and data["metadata"]["dialect"] == "sqlite"
    assert {"product_metadata_mcp", "database_mcp"} <= set(data["metadata"]["mcp_servers_used"])

    _, body = ask(client, {"query": "How many customers are there?"})
    assert ok(body)["results"]["rows"][0][0] == scalar(db, "SELECT COUNT(*) FROM customers")

    _, body = ask(client, {"query": "Top 5 products by revenue"})
    got = label_values(ok(body))
    want_top = pairs(
        db,
        "SELECT p.name, SUM(oi.quantity * oi.unit_price) AS revenue FROM products p JOIN order_items oi "
        "ON oi.product_id = p.product_id GROUP BY p.product_id, p.name ORDER BY revenue DESC LIMIT 5",
    )
    assert len(got) == 5
    for (gl, gv), (wl, wv) in zip(got, want_top, strict=True):
        assert gl == wl and gv == pytest.approx(wv, rel=1e-6)

    _, body = ask(client, {"query": "Total sales per category"})
    got = sorted(label_values(ok(body)))
    want_cat = sorted(
        pairs(
            db,
            "SELECT p.category, SUM(oi.quantity * oi.unit_price) FROM products p JOIN order_items oi "
            "ON oi.product_id = p.product_id GROUP BY p.category",
        )
    )
    assert len(got) == 10
    for (gl, gv), (wl, wv) in zip(got, want_cat, strict=True):
        assert gl == wl and gv == pytest.approx(wv, rel=1e-6)

    _, body = ask(client, {"query": "SELECT name, price FROM products WHERE product_id = 123"})
    data = ok(body)
    assert data["results"]["rows"][0][0] == "Magic Wand Pro"
    assert data["metadata"]["generator"] == "raw_sql" and "LIMIT" in data["sql_query"].upper()

    before = scalar(db, "SELECT COUNT(*) FROM orders")
    status, body = ask(client, {"query": "DELETE FROM orders"})
    assert status == 200
    error(body, "SQL_REJECTED")
    assert scalar(db, "SELECT COUNT(*) FROM orders") == before

    status, body = ask(client, {"query": "How many employees are there?"})
    assert status == 200
    error(body, "UNANSWERABLE")

    status, body = ask(client, {"query": "How many orders are there?", "mode": "single_mcp"})
    data = ok(body)
    assert body["metadata"]["mode"] == "single_mcp"
    assert data["metadata"]["mcp_servers_used"] == ["database_mcp"]
    assert data["results"]["rows"][0][0] == before


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""},
        {"query": "   "},
        {"query": "x", "mode": "bogus"},
        {"mode": "auto"},
        {"query": 42},
        {"query": "x", "context": "not an object"},
        {"query": "x", "enable_recovery": "yes"},
        {"query": "x" * 10_001},
        ["not", "an", "object"],
    ],
)
def test_malformed_requests_are_422_envelopes(client: TestClient, body: Any) -> None:
    r = client.post("/api/chat", json=body)
    assert r.status_code == 422
    envelope = r.json()
    error(envelope, "INVALID_REQUEST")
    assert set(envelope) == {"success", "data", "error", "metadata", "timestamp", "response_id"}
    assert envelope["timestamp"].endswith("Z") and len(envelope["response_id"]) == 36


def test_not_json_is_422(client: TestClient) -> None:
    r = client.post("/api/chat", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 422
    error(r.json(), "INVALID_REQUEST")


def test_status_routes(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    root = r.json()
    assert root["service"] == "Talk 2 Tables" and root["multi_mcp_enabled"] is True
    assert root["status"] == "running" and isinstance(root["version"], str)

    health = client.get("/api/health").json()
    assert health["status"] == "healthy" and health["details"]["total_services"] == 2
    assert health["services"]["database_mcp"]["healthy"] is True
    assert health["services"]["product_metadata_mcp"]["healthy"] is True

    assert client.get("/api/health/live").json() == {"status": "alive"}
    r = client.get("/api/health/ready")
    assert (r.status_code, r.json()) == (200, {"status": "ready"})

    modes = client.get("/api/chat/modes").json()
    assert modes["default_mode"] == "auto" and modes["orchestrator_status"] == "ready"
    assert len(modes["available_modes"]) == 3

    before = client.get("/api/metrics").json()
    ask(client, {"query": "How many customers are there?"})
    ask(client, {"query": "How many products are there?"})
    metrics = client.get("/api/metrics").json()
    assert metrics["total_queries"] == before["total_queries"] + 2
    assert metrics["successful_queries"] == before["successful_queries"] + 2
    assert metrics["cache_hits"] >= 1
    assert metrics["mcp_connection_status"]["database_mcp"] is True

    r = client.get("/api/metrics/prometheus")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert "# TYPE talk2tables_" in r.text


def test_not_ready_is_503() -> None:
    from .conftest import closed_port, server_config

    app = fastapi_app.create_app(Engine.from_config(server_config(f"http://127.0.0.1:{closed_port()}/mcp")))
    with TestClient(app) as c:
        r = c.get("/api/health/ready")
        assert r.status_code == 503
        assert r.json()["status"] == "not_ready" and r.json()["reasons"]
        assert c.get("/").json()["status"] == "degraded"
        assert c.get("/api/health").json()["status"] == "unhealthy"
        status, body = ask(c, {"query": "How many customers are there?", "mode": "multi_mcp"})
        assert status == 200
        error(body, "ORCHESTRATOR_NOT_READY")
