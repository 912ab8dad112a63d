"""The FastAPI example's chatbot API (DESIGN.md §3b) and progress stream, with the
assertions of tests/tests/chatbot_api.rs and sample_stack.rs. Expected numbers come from
the sample database file."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from talk2tables import ChatResponse, Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import fastapi_app  # noqa: E402


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chatbot-data")


@pytest.fixture(scope="module")
def client(app_dir: Path) -> Iterator[TestClient]:
    app = fastapi_app.create_app(Engine.embedded(app_dir), allowed_origins=None)
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def db(client: TestClient, app_dir: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"file:{app_dir / 'sample.db'}?mode=ro", uri=True)
    yield conn
    conn.close()


def scalar(db: sqlite3.Connection, sql: str) -> float:
    return float(db.execute(sql).fetchone()[0])


def chatbot_request(history: list[tuple[str, str]], question: str) -> dict[str, Any]:
    """The body the chatbot's ``useChat.ts`` sends."""
    messages = [{"role": r, "content": c} for r, c in history] + [{"role": "user", "content": question}]
    return {"messages": messages, "max_tokens": 2000, "temperature": 0.7}


def check_completion(body: dict[str, Any]) -> dict[str, Any]:
    """Every field the chatbot reads, for a successful completion; returns ``query_result``."""
    assert body["id"].startswith("chatcmpl-") and len(body["id"]) > 12
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int) and body["created"] > 1_600_000_000
    assert isinstance(body["model"], str) and body["model"]
    choice = body["choices"][0]
    assert choice["index"] == 0
    assert choice["message"]["role"] == "assistant"
    content: str = choice["message"]["content"]
    sql_block = content.split("```sql\n")[1]
    assert "```" in sql_block, content
    assert sql_block.lstrip().upper().startswith("SELECT"), content
    assert choice["finish_reason"] == "stop", body
    qr: dict[str, Any] = choice["query_result"]
    assert qr["success"] is True and qr["error"] is None
    assert qr["row_count"] == len(qr["data"])
    for row in qr["data"]:
        assert sorted(row) == sorted(qr["columns"]), "rows are objects keyed by column"
    assert qr["execution_time"] >= 0
    usage = body["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0, usage
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    return qr


def sql_of(body: dict[str, Any]) -> str:
    content: str = body["choices"][0]["message"]["content"]
    return content.split("```sql\n")[1].split("```")[0]


def test_chat_completions_as_the_chatbot_calls_it(client: TestClient, db: sqlite3.Connection) -> None:
    history = [("user", "hello"), ("assistant", "Hi! Ask me about your data.")]
    r = client.post("/chat/completions", json=chatbot_request(history, "How many orders were cancelled?"))
    assert r.status_code == 200, r.text
    body = r.json()
    qr = check_completion(body)
    expected = scalar(db, "SELECT COUNT(*) FROM orders WHERE status = 'cancelled'")
    assert float(qr["data"][0][qr["columns"][0]]) == expected
    assert f"{expected:g}" in body["choices"][0]["message"]["content"]

    body = client.post("/chat/completions", json=chatbot_request([], "Total sales by category")).json()
    qr = check_completion(body)
    assert qr["row_count"] == 10
    reference = db.execute(
        "SELECT p.category, SUM(oi.quantity * oi.unit_price) FROM order_items oi "
        "JOIN products p ON p.product_id = oi.product_id GROUP BY p.category"
    ).fetchall()
    for category, total in reference:
        row = next(r for r in qr["data"] if r["category"] == category)
        value = next(v for k, v in row.items() if k != "category")
        assert float(value) == pytest.approx(float(total), abs=0.01)


def test_bad_requests(client: TestClient) -> None:
    r = client.post("/chat/completions", json={"messages": []})
    assert r.status_code == 400
    assert r.json()["detail"] == "Messages array cannot be empty"
    assert client.post("/chat/completions", json={"messages": "How many customers?"}).status_code == 422
    assert client.post("/chat/completions", json={"messages": [{"role": "system", "content": "x"}]}).status_code == 400
    assert client.post("/chat/completions", content=b"{nope").status_code == 422


def test_unanswerable_is_200_with_finish_reason_error(client: TestClient) -> None:
    r = client.post("/chat/completions", json=chatbot_request([], "what is the meaning of life"))
    assert r.status_code == 200, r.text
    choice = r.json()["choices"][0]
    assert choice["finish_reason"] == "error"
    assert choice["message"]["content"].startswith("Sorry")
    assert choice["query_result"]["success"] is False
    assert "UNANSWERABLE" in choice["query_result"]["error"]
    assert choice["query_result"]["data"] == []


def test_streaming_completion_ends_with_done(client: TestClient) -> None:
    request = chatbot_request([], "How many orders were cancelled?") | {"stream": True}
    r = client.post("/chat/completions", json=request)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    data = [line[len("data: ") :] for line in r.text.splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]", r.text
    chunks = [json.loads(d) for d in data[:-1]]
    assert len(chunks) >= 3
    completion_id = chunks[0]["id"]
    assert completion_id.startswith("chatcmpl-")
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content = ""
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk" and chunk["id"] == completion_id
        assert isinstance(chunk["created"], int) and isinstance(chunk["model"], str)
        content += chunk["choices"][0]["delta"].get("content") or ""
    assert "```sql\nSELECT" in content, content
    last = chunks[-1]["choices"][0]
    assert last["finish_reason"] == "stop" and last["query_result"]["success"] is True
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


def test_follow_up_keeps_the_earlier_filters(client: TestClient, db: sqlite3.Connection) -> None:
    first = client.post("/chat/completions", json=chatbot_request([], "How many orders were cancelled?")).json()
    check_completion(first)
    answer = first["choices"][0]["message"]["content"]
    history = [("user", "How many orders were cancelled?"), ("assistant", answer)]
    second = client.post("/chat/completions", json=chatbot_request(history, "now only for last month")).json()
    qr = check_completion(second)
    sql = sql_of(second)
    assert "'cancelled'" in sql, f"the earlier filter is kept: {sql}"
    assert "order_date" in sql, f"last month's dates are added: {sql}"
    expected = scalar(
        db,
        "SELECT COUNT(*) FROM orders WHERE status = 'cancelled' AND order_date >= date('now', 'start of month', "
        "'-1 month') AND order_date < date('now', 'start of month')",
    )
    assert float(qr["data"][0][qr["columns"][0]]) == expected


def test_health_models_mcp_status_and_cors(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "healthy" and body["mcp_server_status"] == "connected"
    assert isinstance(body["version"], str) and isinstance(body["timestamp"], int)

    body = client.get("/models").json()
    assert body["object"] == "list" and len(body["data"]) == 1
    assert body["data"][0]["object"] == "model"
    assert isinstance(body["data"][0]["id"], str) and isinstance(body["data"][0]["created"], int)

    body = client.get("/mcp/status").json()
    assert body["connected"] is True, body
    assert body["server_url"] == "in-process" and body["transport"] == "in_process"
    assert any(t["name"] == "execute_query" for t in body["tools"]), body
    assert isinstance(body["resources"], list) and isinstance(body["database_metadata"], dict)

    def preflight(origin: str) -> Any:
        return client.options(
            "/chat/completions",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )

    assert preflight("http://localhost:3000").headers.get("access-control-allow-origin") == "http://localhost:3000"
    assert "access-control-allow-origin" not in preflight("http://evil.example").headers


def sse_events(text: str) -> list[tuple[str, Any]]:
    """(event name, JSON data) per server-sent event."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].strip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


def test_progress_stream(client: TestClient) -> None:
    r = client.post("/api/chat/stream", json={"query": "How many products are there?"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    stages = [e["stage"] for name, e in events if name == "progress" and e["status"] == "finished"]
    assert stages == ["gathering", "resolving", "generating", "validating", "executing"], r.text
    name, last = events[-1]
    assert name == "response" and last["success"] is True, last
    assert all(name == "progress" for name, _ in events[:-1])

    r = client.post("/api/chat/stream", json={"query": "   "})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "INVALID_REQUEST"


async def test_engine_chat_stream(engine: Engine) -> None:
    items = [item async for item in engine.chat_stream("How many customers are there?")]
    response = items[-1]
    assert isinstance(response, ChatResponse) and response.success, response
    progress = [i for i in items[:-1] if not isinstance(i, ChatResponse)]
    assert len(progress) == len(items) - 1
    assert [p["stage"] for p in progress if p["status"] == "finished"] == [
        "gathering",
        "resolving",
        "generating",
        "validating",
        "executing",
    ]
    assert all(p["duration_ms"] >= 0 for p in progress if p["status"] == "finished")
    assert [p["elapsed_ms"] for p in progress] == sorted(p["elapsed_ms"] for p in progress)
