"""The HTTP API of DESIGN.md §3 on FastAPI, over the talk2tables Python binding.

Serves the same routes as the axum example (examples/server/src/http.rs):
``POST /api/chat`` (422 envelope for malformed requests), ``GET /api/chat/modes``,
``/api/health``, ``/api/health/live``, ``/api/health/ready`` (503 when not ready),
``/api/metrics``, ``/api/metrics/prometheus`` and ``GET /``.

Run:  ``uvicorn fastapi_app:app --host 127.0.0.1 --port 8001`` (from python/examples).
The engine comes from ``MCP_CONFIG_PATH`` (a YAML config) when set, else the embedded
default with its data under ``T2T_DATA_DIR`` (default ``.talk2tables``). It is started
and closed in the app's lifespan.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse

import talk2tables
from talk2tables import Engine

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


def create_app(engine: Engine | None = None) -> FastAPI:
    """The app for ``engine`` (default: :func:`engine_from_env`), started in the lifespan."""
    eng = engine if engine is not None else engine_from_env()

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
        response = await eng.chat(
            query, mode=mode, session_id=session_id, enable_recovery=enable_recovery, context=context
        )
        code = response.error.code if response.error else None
        return JSONResponse(response.to_dict(), status_code=_status_for(code))

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

    return app


def __getattr__(name: str) -> Any:
    # `uvicorn fastapi_app:app` builds the app on first access, so importing this module
    # (e.g. for create_app in tests) does not start anything.
    if name == "app":
        return create_app()
    raise AttributeError(name)
