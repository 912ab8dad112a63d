"""The HTTP API of DESIGN.md §3 on FastAPI, over the talk2tables Python binding.

Serves the same routes as the axum example (examples/server/src/http.rs, compat.rs):
``POST /api/chat`` (422 envelope for malformed requests), ``POST /api/chat/stream``
(server-sent ``progress`` events, then one ``response``), ``GET /api/chat/modes``,
``/api/health``, ``/api/health/live``, ``/api/health/ready`` (503 when not ready),
``/api/metrics``, ``/api/metrics/prometheus``, ``GET /``, and the React chatbot's API
(DESIGN.md §3b, in chatbot_api.py): ``POST /chat/completions``, ``GET /health``,
``/models``, ``/mcp/status``, with CORS from ``ALLOWED_ORIGINS``.

Run:  ``uvicorn fastapi_app:app --host 127.0.0.1 --port 8001`` (from python/examples).
The engine comes from ``MCP_CONFIG_PATH`` (a YAML config) when set, else the embedded
default with its data under ``T2T_DATA_DIR`` (default ``.talk2tables``). It is started
and closed in the app's lifespan.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

import talk2tables
from chatbot_api import add_cors, register_chatbot_api
from talk2tables import ChatResponse, Engine

_MODES = ("single_mcp", "multi_mcp", "auto")
_MAX_QUERY_CHARS = 10_000


def engine_from_env() -> Engine:
    """``MCP_CONFIG_PATH`` set → that config; else the embedded default under ``T2T_DATA_DIR``."""
    path = os.environ.get("MCP_CONFIG_PATH", "").strip()
    if path:
        return Engine.from_config(path)
    return Engine.embedded(os.environ.get("T2T_DATA_DIR", talk2tables.DEFAULT_DATA_DIR))


def failure_envelope(code: str, message: str, mode: str = "auto") -> dict[str, Any]:
    """A ChatResponse envelope for a request that never reached the engine."""
    return {
        "success": False,
        "data": None,
        "error": {"code": code, "message": message},
        "metadata": {"mode": mode, "processing_time_seconds": 0.0, "recovery_performed": False},
        "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "response_id": str(uuid.uuid4()),
    }


def _invalid(message: str) -> JSONResponse:
    return JSONResponse(failure_envelope("INVALID_REQUEST", message), status_code=422)


def _status_for(code: str | None) -> int:
    """200 for answers and unanswerable questions; 422 malformed; 429 rate limit; 500 bug."""
    return {"INVALID_REQUEST": 422, "RATE_LIMITED": 429, "INTERNAL": 500}.get(code or "", 200)


async def _chat_args(request: Request) -> dict[str, Any] | JSONResponse:
    """The keyword arguments of :meth:`Engine.chat` from a ``ChatRequest`` body, or the
    422 envelope for a body that is not one."""
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        return _invalid(f"request body is not valid JSON: {exc}")
    if not isinstance(body, dict):
        return _invalid("request body must be a JSON object")
    query = body.get("query")
    mode = body.get("mode", "auto")
    context = body.get("context")
    session_id = body.get("session_id")
    enable_recovery = body.get("enable_recovery", True)
    if not isinstance(query, str):
        return _invalid("query: a string is required")
    if mode not in _MODES:
        return _invalid(f"mode: expected one of single_mcp, multi_mcp, auto; got {mode!r}")
    if context is not None and not isinstance(context, dict):
        return _invalid("context: must be an object or null")
    if session_id is not None and not isinstance(session_id, str):
        return _invalid("session_id: must be a string or null")
    if not isinstance(enable_recovery, bool):
        return _invalid("enable_recovery: must be a boolean")
    return {
        "query": query,
        "mode": mode,
        "session_id": session_id,
        "enable_recovery": enable_recovery,
        "context": context,
    }


def create_app(
    engine: Engine | None = None,
    *,
    server_urls: Mapping[str, str] | None = None,
    allowed_origins: str | None = None,
) -> FastAPI:
    """The app for ``engine`` (default: :func:`engine_from_env`), started in the lifespan.

    ``server_urls``: server_id → URL for ``GET /mcp/status``; servers not in it are
    reported ``in-process`` (right for an embedded engine). When the engine comes from
    ``MCP_CONFIG_PATH`` and ``server_urls`` is not given, the URLs are unknown here and
    reported as ``null``. ``allowed_origins``: CORS origins (default: ``ALLOWED_ORIGINS``).
    """
    urls: Mapping[str, str] | None = server_urls if server_urls is not None else {}
    if engine is None:
        eng = engine_from_env()
        if server_urls is None and os.environ.get("MCP_CONFIG_PATH", "").strip():
            urls = None
    else:
        eng = engine

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await eng.start()
        try:
            yield
        finally:
            await eng.close()

    app = FastAPI(title="Talk 2 Tables", version=talk2tables.__version__, lifespan=lifespan)

    @app.get("/")
    async def root() -> dict[str, Any]:
        ready = eng.readiness()["status"] == "ready"
        return {
            "service": "Talk 2 Tables",
            "version": talk2tables.__version__,
            "multi_mcp_enabled": eng.multi_mcp_enabled(),
            "status": "running" if ready else "degraded",
        }

    @app.post("/api/chat")
    async def chat(request: Request) -> JSONResponse:
        parsed = await _chat_args(request)
        if isinstance(parsed, JSONResponse):
            return parsed
        response = await eng.chat(**parsed)
        code = response.error.code if response.error else None
        return JSONResponse(response.to_dict(), status_code=_status_for(code))

    @app.post("/api/chat/stream", response_model=None)
    async def chat_stream(request: Request) -> JSONResponse | StreamingResponse:
        """Server-sent events: ``progress`` per stage start and end, then one ``response``
        with the envelope. A request refused before any stage ran (INVALID_REQUEST) gets
        the same 422 JSON envelope as ``/api/chat`` instead of a stream."""
        parsed = await _chat_args(request)
        if isinstance(parsed, JSONResponse):
            return parsed
        events = eng.chat_stream(**parsed)
        first = await anext(events)
        if isinstance(first, ChatResponse) and first.error is not None and first.error.code == "INVALID_REQUEST":
            return JSONResponse(first.to_dict(), status_code=422)

        async def sse() -> AsyncIterator[str]:
            item: Any = first
            try:
                while True:
                    if isinstance(item, ChatResponse):
                        yield f"event: response\ndata: {json.dumps(item.to_dict())}\n\n"
                        return
                    yield f"event: progress\ndata: {json.dumps(item)}\n\n"
                    item = await anext(events)
            finally:
                await events.aclose()

        return StreamingResponse(sse(), media_type="text/event-stream", headers={"cache-control": "no-cache"})

    @app.get("/api/chat/modes")
    async def modes() -> dict[str, Any]:
        return eng.modes()

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return await eng.health()

    @app.get("/api/health/live")
    async def live() -> dict[str, Any]:
        return {"status": "alive"}

    @app.get("/api/health/ready")
    async def ready() -> JSONResponse:
        readiness = eng.readiness()
        return JSONResponse(readiness, status_code=200 if readiness["status"] == "ready" else 503)

    @app.get("/api/metrics")
    async def metrics() -> dict[str, Any]:
        return eng.metrics()

    @app.get("/api/metrics/prometheus")
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(eng.prometheus(), media_type="text/plain; version=0.0.4; charset=utf-8")

    register_chatbot_api(app, eng, urls)
    add_cors(app, allowed_origins if allowed_origins is not None else os.environ.get("ALLOWED_ORIGINS"))
    return app


def __getattr__(name: str) -> Any:
    # `uvicorn fastapi_app:app` builds the app on first access, so importing this module
    # (e.g. for create_app in tests) does not start anything.
    if name == "app":
        return create_app()
    raise AttributeError(name)
