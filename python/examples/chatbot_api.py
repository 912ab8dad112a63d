"""The API of the original React chatbot (DESIGN.md §3b) on FastAPI, with the same shapes
as the axum server's ``examples/server/src/compat.rs``:

- ``POST /chat/completions``: OpenAI chat completions; the last user message is the
  question, earlier user messages go to the core as ``context.previous_questions``
  (oldest first). ``stream: true`` gives ``chat.completion.chunk`` server-sent events
  ending in ``data: [DONE]``.
- ``GET /health``, ``GET /models``, ``GET /mcp/status``.
- CORS from ``ALLOWED_ORIGINS`` (:func:`add_cors`).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, StreamingResponse

import talk2tables
from talk2tables import ChatResponse, Engine

MODEL_ID = "talk2tables"
"""The one model ``GET /models`` lists and every completion names."""

DEFAULT_ALLOWED_ORIGINS = "http://localhost:3000"
"""Origins allowed when ``ALLOWED_ORIGINS`` is unset or blank (the chatbot's dev server)."""

KEEP_ALIVE_SECONDS = 15.0
"""Seconds between keep-alive comments of a streamed completion (axum's default)."""


def add_cors(app: FastAPI, allowed_origins: str | None) -> None:
    """CORS for every route: origins from ``allowed_origins`` (the value of
    ``ALLOWED_ORIGINS``, comma-separated; ``*`` allows any; ``None`` or blank means
    :data:`DEFAULT_ALLOWED_ORIGINS`); methods GET, POST, OPTIONS; any header; max age 600 s."""
    raw = allowed_origins if allowed_origins and allowed_origins.strip() else DEFAULT_ALLOWED_ORIGINS
    entries = [o.strip() for o in raw.split(",") if o.strip()]
    origins = ["*"] if "*" in entries else [o.rstrip("/") for o in entries]
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["*"],
        max_age=600,
    )


def _client_error(status: int, message: str) -> JSONResponse:
    """400/422 body: FastAPI's ``detail`` plus an OpenAI-style ``error`` object."""
    body = {"detail": message, "error": {"message": message, "type": "invalid_request_error", "code": "INVALID_REQUEST"}}
    return JSONResponse(body, status_code=status)


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a message: a string, or the ``text`` of OpenAI content parts; else ``""``."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def _shape_error(body: Any) -> str | None:
    """What compat.rs gets from serde: ``{messages: [{role: str, content?}], stream?: bool}``."""
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    messages = body.get("messages")
    if not isinstance(messages, list):
        return "messages: an array of {role, content} is required"
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            return f"messages[{i}]: must be an object"
        if not isinstance(m.get("role"), str):
            return f"messages[{i}].role: a string is required"
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        return "stream: must be a boolean"
    return None


def to_chat_request(messages: list[dict[str, Any]]) -> tuple[str, dict[str, Any] | None] | None:
    """``(query, context)`` for the core: the last user message is the query, earlier
    user messages are ``context.previous_questions`` (oldest first, blank ones left out).
    ``None`` when no message has the ``user`` role."""
    users = [message_text(m) for m in messages if m.get("role") == "user"]
    if not users:
        return None
    previous = [q for q in users[:-1] if q.strip()]
    return users[-1], ({"previous_questions": previous} if previous else None)


def estimated_usage(prompt_chars: int, completion_chars: int) -> dict[str, int]:
    """One token per four characters, rounded up (answers without an LLM)."""
    p, c = -(-prompt_chars // 4), -(-completion_chars // 4)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def usage_for(response: ChatResponse, prompt_chars: int, completion_chars: int) -> dict[str, int]:
    """``usage``: the LLM's counts (``data.metadata.llm_usage``) when reported, else the estimate."""
    usage = response.data.metadata.llm_usage if response.data is not None else None
    if usage is not None:
        return {
            "prompt_tokens": usage["prompt_tokens"],
            "completion_tokens": usage["completion_tokens"],
            "total_tokens": usage["total_tokens"],
        }
    return estimated_usage(prompt_chars, completion_chars)


def _cell_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def summary(columns: list[str], rows: list[list[Any]], truncated: bool) -> str:
    """One sentence on the rows: the value itself for a single cell, else the row count."""
    if len(columns) == 1 and len(rows) == 1:
        if not rows[0]:
            return "The query returned one empty row."
        return f"The answer is {_cell_text(rows[0][0])} ({columns[0]})."
    if not rows:
        return "The query returned no rows."
    if len(rows) == 1:
        return "The query returned 1 row."
    more = " (truncated; there are more)" if truncated else ""
    return f"The query returned {len(rows)} rows{more}."


def answer_for(response: ChatResponse) -> tuple[str, str, dict[str, Any]]:
    """``(content, finish_reason, query_result)`` for one envelope: ``content`` a sentence,
    the SQL in a ```sql block, the resolved entities and the explanation; ``query_result``
    ``{success, data: [{column: value}], columns, error, row_count, execution_time (s)}``."""
    execution_time = response.metadata.processing_time_seconds
    data = response.data
    if data is not None:
        results = data.results
        rows = [dict(zip(results.columns, row, strict=False)) for row in results.rows]
        content = summary(results.columns, results.rows, results.truncated)
        content += f"\n\n```sql\n{data.sql_query.strip()}\n```\n"
        if data.resolved_entities:
            items = [f'"{e.original_term}" → {e.resolved_value} ({e.entity_type})' for e in data.resolved_entities]
            content += "\nResolved: " + "; ".join(items) + "\n"
        if data.explanation.strip():
            content += "\n" + data.explanation.strip() + "\n"
        query_result = {
            "success": True,
            "data": rows,
            "columns": list(results.columns),
            "error": None,
            "row_count": results.row_count,
            "execution_time": execution_time,
        }
        return content, "stop", query_result
    error = response.error
    code = error.code if error else "INTERNAL"
    message = error.message if error else "the core returned neither an answer nor an error"
    content = f"Sorry, I could not answer that: {message} ({code})."
    if error and error.attempted_sql:
        content += f"\n\nLast SQL tried:\n\n```sql\n{error.attempted_sql[-1].sql.strip()}\n```\n"
    query_result = {
        "success": False,
        "data": [],
        "columns": [],
        "error": f"{code}: {message}",
        "row_count": 0,
        "execution_time": execution_time,
    }
    return content, "error", query_result


def register_chatbot_api(app: FastAPI, engine: Engine, server_urls: Mapping[str, str] | None = None) -> None:
    """The §3b routes for ``engine`` on ``app``. ``server_urls`` maps server_id → URL (or
    command line) for ``server_url`` of ``GET /mcp/status``: servers not in it are
    reported ``in-process``; ``None`` means the URLs are unknown (``server_url: null``)."""
    started = int(time.time())

    @app.post("/chat/completions", response_model=None)
    async def completions(request: Request) -> JSONResponse | StreamingResponse:
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError) as exc:
            return _client_error(422, f"Failed to parse the request body as JSON: {exc}")
        shape = _shape_error(body)
        if shape is not None:
            return _client_error(422, shape)
        messages: list[dict[str, Any]] = body["messages"]
        if not messages:
            return _client_error(400, "Messages array cannot be empty")
        chat_request = to_chat_request(messages)
        if chat_request is None:
            return _client_error(400, "Messages must include at least one user message")
        query, context = chat_request
        prompt_chars = sum(len(message_text(m)) for m in messages)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if body.get("stream") is True:
            events = _stream_completion(engine, query, context, completion_id, created, prompt_chars)
            return StreamingResponse(events, media_type="text/event-stream", headers={"cache-control": "no-cache"})
        response = await engine.chat(query, context=context)
        content, finish_reason, query_result = answer_for(response)
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": MODEL_ID,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": finish_reason,
                        "query_result": query_result,
                    }
                ],
                "usage": usage_for(response, prompt_chars, len(content)),
            }
        )

    @app.get("/health")
    async def health() -> dict[str, Any]:
        connected = engine.readiness()["status"] == "ready"
        return {
            "status": "healthy",
            "version": talk2tables.__version__,
            "timestamp": int(time.time()),
            "mcp_server_status": "connected" if connected else "disconnected",
        }

    @app.get("/models")
    async def models() -> dict[str, Any]:
        model = {
            "id": MODEL_ID,
            "object": "model",
            "created": started,
            "owned_by": "talk2tables",
            "permission": [],
            "root": MODEL_ID,
            "parent": None,
        }
        return {"object": "list", "data": [model]}

    @app.get("/mcp/status")
    async def mcp_status() -> dict[str, Any]:
        report = await engine.health()
        services: dict[str, Any] = report.get("services", {})
        database = next(
            ((k, s) for k, s in services.items() if "execute_query" in s.get("tools", [])),
            next(((k, s) for k, s in services.items() if s.get("healthy")), None),
        )
        if database is None:
            return {"connected": False, "error": "no MCP server is configured or connected", "servers": services}
        server_id, service = database
        body: dict[str, Any] = {
            "connected": service.get("healthy", False),
            "server_url": None if server_urls is None else server_urls.get(server_id, "in-process"),
            "transport": service.get("transport") or "in_process",
            "tools": [{"name": t, "description": None} for t in service.get("tools", [])],
            "resources": [],
            "database_metadata": {
                "server_id": server_id,
                "name": service.get("name"),
                "domains": service.get("domains"),
                "priority": service.get("priority"),
                "resource_count": service.get("resources"),
                "multi_mcp_enabled": engine.multi_mcp_enabled(),
                "overall_status": report.get("status"),
            },
            "servers": services,
        }
        if service.get("last_error"):
            body["error"] = service["last_error"]
        return body


def _sse(data: Any) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data)}\n\n"


async def _stream_completion(
    engine: Engine, query: str, context: dict[str, Any] | None, completion_id: str, created: int, prompt_chars: int
) -> AsyncIterator[str]:
    """``stream: true``: the assistant-role chunk at once (then keep-alive comments while
    the core works), the answer's text in line-sized chunks, a last chunk with
    ``finish_reason``, ``query_result`` and ``usage``, then ``data: [DONE]``."""

    def chunk(delta: dict[str, Any], finish: str | None, **extra: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, **extra}
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_ID,
            "choices": [choice],
        }

    yield _sse(chunk({"role": "assistant", "content": ""}, None))
    task = asyncio.ensure_future(engine.chat(query, context=context))
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=KEEP_ALIVE_SECONDS)
            if done:
                break
            yield ":\n\n"
        response = task.result()
    finally:
        task.cancel()
    content, finish_reason, query_result = answer_for(response)
    for piece in re.findall(r"[^\n]*\n|[^\n]+$", content):
        yield _sse(chunk({"content": piece}, None))
    last = chunk({}, finish_reason, query_result=query_result)
    last["usage"] = usage_for(response, prompt_chars, len(content))
    yield _sse(last)
    yield _sse("[DONE]")
