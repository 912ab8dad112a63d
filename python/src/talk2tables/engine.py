"""The :class:`Engine`: the public Python API over the Rust core (DESIGN.md §7)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import weakref
from collections.abc import AsyncGenerator, Awaitable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from . import _native
from .errors import ConfigError, InternalError, InvalidRequestError, from_native
from .types import ChatResponse, Mode, Progress, QueryResult

__all__ = ["DEFAULT_DATA_DIR", "Engine"]

DEFAULT_DATA_DIR = ".talk2tables"
"""Where :meth:`Engine.embedded` keeps the sample database when no ``data_dir`` is given
(relative to the current directory)."""

_MODES: frozenset[str] = frozenset({"single_mcp", "multi_mcp", "auto"})

T = TypeVar("T")


class _Completions:
    """Delivers results of native tasks to one event loop without the GIL on tokio
    threads: the native side queues ``(id, json | error)`` on a ``_native.Completions``
    and makes its socket readable; ``loop.add_reader`` runs :meth:`_deliver`, which
    resolves the waiting futures. (pyo3-async-runtimes' awaitables cost three thread
    hops and a GIL hand-off per call; this is one socket wake-up.)"""

    def __init__(self, loop: asyncio.AbstractEventLoop, native: Any) -> None:
        self._native = native
        self._waiting: dict[int, asyncio.Future[str]] = {}
        self._ids = itertools.count()
        loop.add_reader(native.fileno(), self._deliver)

    def _deliver(self) -> None:
        for task_id, raw, error in self._native.take():
            future = self._waiting.pop(task_id, None)
            if future is None or future.done():
                continue
            if error is None:
                future.set_result(raw)
            else:
                future.set_exception(error)

    async def run(self, start: Any, *args: Any) -> str:
        """Starts ``start(*args, completions, id)`` and awaits its JSON result; cancelling
        the awaiting task cancels the native task (its Rust future is dropped)."""
        task_id = next(self._ids)
        task = _call(start, *args, self._native, task_id)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting[task_id] = future
        try:
            return await future
        except _native.NativeError as exc:
            error = from_native(exc)
            raise error from error.__cause__
        finally:
            if not future.done() or future.cancelled():
                self._waiting.pop(task_id, None)
                task.cancel()


# One per running event loop; None where the loop cannot watch a file descriptor
# (e.g. Windows' proactor loop) or the native module has no Completions.
_COMPLETIONS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Completions | None] = (
    weakref.WeakKeyDictionary()
)


def _completions() -> _Completions | None:
    loop = asyncio.get_running_loop()
    try:
        return _COMPLETIONS[loop]
    except KeyError:
        pass
    bridge: _Completions | None = None
    native_class = getattr(_native, "Completions", None)
    if native_class is not None:
        try:
            bridge = _Completions(loop, native_class())
        except (NotImplementedError, AttributeError):
            bridge = None
    try:
        _COMPLETIONS[loop] = bridge
    except TypeError:  # a loop type without weak references: no caching
        pass
    return bridge


async def _await(awaitable: Awaitable[T]) -> T:
    """Awaits a native awaitable, re-raising ``NativeError`` as its public class."""
    try:
        return await awaitable
    except _native.NativeError as exc:
        error = from_native(exc)
        raise error from error.__cause__


def _call(fn: Any, *args: Any) -> Any:
    """Calls a native function, re-raising ``NativeError`` as its public class."""
    try:
        return fn(*args)
    except _native.NativeError as exc:
        error = from_native(exc)
        raise error from error.__cause__


def _request_json(
    query: str,
    mode: Mode,
    session_id: str | None,
    enable_recovery: bool,
    context: Mapping[str, Any] | None,
) -> str:
    """The ChatRequest JSON for the native side; raises :class:`InvalidRequestError` for
    arguments of the wrong type or an unknown ``mode``."""
    if not isinstance(query, str):
        raise InvalidRequestError(f"query must be a str, not {type(query).__name__}")
    if mode not in _MODES:
        raise InvalidRequestError(f"mode must be one of single_mcp, multi_mcp, auto; got {mode!r}")
    if session_id is not None and not isinstance(session_id, str):
        raise InvalidRequestError("session_id must be a str or None")
    if not isinstance(enable_recovery, bool):
        raise InvalidRequestError("enable_recovery must be a bool")
    request: dict[str, Any] = {"query": query, "mode": mode, "enable_recovery": enable_recovery}
    if session_id is not None:
        request["session_id"] = session_id
    if context is not None:
        if not isinstance(context, Mapping):
            raise InvalidRequestError("context must be a dict or None")
        request["context"] = dict(context)
    try:
        return json.dumps(request)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"context is not JSON-serialisable: {exc}") from exc


class Engine:
    """A Talk 2 Tables engine: connected MCP servers, caches and metrics.

    Make one with :meth:`from_config` or :meth:`embedded`, then ``await engine.start()``
    (or ``async with engine:``, which starts and closes it). Every I/O method returns an
    awaitable that runs on the binding's tokio runtime without holding the GIL;
    cancelling the awaiting task drops the Rust future. Calling a method of an engine
    that is not started raises :class:`InvalidRequestError`.

    Use it from one process: after ``os.fork()`` the child gets an
    :class:`InvalidRequestError` (start engines after forking, or use the ``spawn`` /
    ``forkserver`` start methods).
    """

    def __init__(self, *, _config: _native.Config | None = None, _data_dir: str | None = None) -> None:
        self._config = _config
        self._data_dir = _data_dir
        self._native: _native.Engine | None = None
        self._lock: asyncio.Lock | None = None

    # ----- construction -----

    @classmethod
    def from_config(cls, config: str | os.PathLike[str] | Mapping[str, Any]) -> Engine:
        """An engine for a configuration (DESIGN.md §2): a path to ``mcp_config.yaml``,
        or a dict with the same content (``{"mcp_servers": {...}, "orchestration": {...}}``).

        The configuration is parsed now (``${VAR}`` expanded from the environment and
        ``./.env``). Raises :class:`ConfigError` naming the file, line and field.
        """
        if isinstance(config, Mapping):
            try:
                text = json.dumps(dict(config))
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"configuration dict is not JSON-serialisable: {exc}") from exc
            native = _call(_native.Config.parse, text, "<config dict>")
        elif isinstance(config, (str, os.PathLike)):
            native = _call(_native.Config.load, os.fspath(config))
        else:
            raise ConfigError(f"config must be a path or a dict, not {type(config).__name__}")
        return cls(_config=native)

    @classmethod
    def embedded(cls, data_dir: str | os.PathLike[str] = DEFAULT_DATA_DIR) -> Engine:
        """The embedded default: the sample database (created under ``data_dir`` when
        missing), our Database and Metadata MCP servers run inside this process, and the
        offline SQL engine. Needs no other program and no network."""
        return cls(_data_dir=os.fspath(data_dir))

    # ----- lifecycle -----

    @property
    def started(self) -> bool:
        """Whether :meth:`start` has completed and :meth:`close` has not been called."""
        return self._native is not None

    async def start(self) -> Engine:
        """Connects to the servers (in parallel); returns ``self``. Does nothing when
        already started. Raises :class:`McpUnavailableError` when ``fail_fast`` /
        ``REQUIRE_MULTI_MCP`` is set and a server cannot be reached; for the embedded
        engine, :class:`ConfigError` when ``data_dir`` cannot be written."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._native is None:
                if self._config is not None:
                    self._native = await _await(_native.Engine.start(self._config))
                else:
                    self._native = await _await(_native.Engine.embedded(self._data_dir or DEFAULT_DATA_DIR))
        return self

    async def close(self) -> None:
        """Disconnects every server (stdio children are stopped). The engine can be
        started again afterwards. Does nothing when not started."""
        native, self._native = self._native, None
        if native is not None:
            await _await(native.close())

    async def __aenter__(self) -> Engine:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _require(self) -> _native.Engine:
        if self._native is None:
            raise InvalidRequestError("the engine is not started: await engine.start() or use 'async with engine:'")
        return self._native

    # ----- questions -----

    async def chat(
        self,
        query: str,
        mode: Mode = "auto",
        session_id: str | None = None,
        enable_recovery: bool = True,
        context: Mapping[str, Any] | None = None,
    ) -> ChatResponse:
        """Answers one question (or one SQL query) and returns the envelope of
        ``POST /api/chat``. Never raises for a question that could not be answered:
        check ``response.success`` / ``response.error``, or call
        ``response.raise_for_error()``. Raises :class:`InvalidRequestError` only for
        arguments of the wrong type or an unknown ``mode``."""
        native = self._require()
        body = _request_json(query, mode, session_id, enable_recovery, context)
        bridge = _completions()
        if bridge is not None:
            raw = await bridge.run(native.chat_into, body)
        else:
            raw = await _await(_call(native.chat, body))
        return ChatResponse.from_dict(json.loads(raw))

    async def chat_stream(
        self,
        query: str,
        mode: Mode = "auto",
        session_id: str | None = None,
        enable_recovery: bool = True,
        context: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[Progress | ChatResponse, None]:
        """Like :meth:`chat`, as an async iterator: a :class:`Progress` dict as each
        pipeline stage starts and ends (``{"stage": "executing", "status": "finished",
        "elapsed_ms": 12.5, "duration_ms": 3.1, "detail": "12 rows"}``), then the
        :class:`ChatResponse` as the last item. The question starts on the first
        ``__anext__``; closing the iterator early (``aclose()``, or its garbage
        collection after leaving the loop) or cancelling the task stops it. Raises
        :class:`InvalidRequestError` like :meth:`chat`, at the first ``__anext__``."""
        native = self._require()
        body = _request_json(query, mode, session_id, enable_recovery, context)
        stream = _call(native.chat_stream, body)
        while True:
            item = await _await(stream.next())
            if item is None:
                raise InternalError("the progress stream ended without a response")
            kind, raw = item
            if kind == "response":
                yield ChatResponse.from_dict(json.loads(raw))
                return
            progress: Progress = json.loads(raw)
            yield progress

    async def ask(self, query: str) -> QueryResult:
        """Answers one question and returns its result; raises the
        :class:`Talk2TablesError` subclass of the failure (``UnanswerableError``,
        ``SqlRejectedError``, ``InvalidRequestError`` for an empty query, …)."""
        native = self._require()
        if not isinstance(query, str):
            raise InvalidRequestError(f"query must be a str, not {type(query).__name__}")
        bridge = _completions()
        if bridge is not None:
            raw = await bridge.run(native.ask_into, query)
        else:
            raw = await _await(_call(native.ask, query))
        return QueryResult.from_dict(json.loads(raw))

    # ----- status -----

    def modes(self) -> dict[str, Any]:
        """``GET /api/chat/modes``: ``{available_modes: [{mode, description, available}],
        default_mode, orchestrator_status}``."""
        return dict(json.loads(_call(self._require().modes)))

    async def health(self) -> dict[str, Any]:
        """``GET /api/health``: ``{status: healthy|degraded|unhealthy, services:
        {server_id: {healthy, status, ...}}, timestamp, details}``."""
        return dict(json.loads(await _await(self._require().health())))

    def readiness(self) -> dict[str, Any]:
        """``GET /api/health/ready``: ``{status: "ready"}`` or ``{status: "not_ready",
        reasons: [...]}``."""
        return dict(json.loads(_call(self._require().readiness)))

    def metrics(self) -> dict[str, Any]:
        """``GET /api/metrics``: latency percentiles (seconds), query counters, cache and
        recovery counters, ``mcp_connection_status``, ``uptime_seconds``."""
        return dict(json.loads(_call(self._require().metrics)))

    def prometheus(self) -> str:
        """``GET /api/metrics/prometheus``: every metric in the Prometheus text exposition
        format (histograms of chat latency and MCP request duration, counters, gauges;
        names start with ``talk2tables_``)."""
        return str(_call(self._require().prometheus))

    def multi_mcp_enabled(self) -> bool:
        """Whether multi-server mode is enabled by configuration (``ENABLE_MULTI_MCP``)."""
        return bool(_call(self._require().multi_mcp_enabled))
