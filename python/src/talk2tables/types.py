"""Typed results: the shapes of DESIGN.md §3 as frozen dataclasses.

Every class has ``from_dict`` (from the JSON the core produces) and ``to_dict`` (back to
exactly that JSON: same keys, same omissions, JSON-ready values).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, cast

from .errors import Talk2TablesError, error_for

__all__ = [
    "AttemptedSql",
    "ChatResponse",
    "ErrorBody",
    "LlmUsage",
    "Mode",
    "Progress",
    "QueryMetadata",
    "QueryOutput",
    "QueryResult",
    "ResolvedEntity",
    "ResponseMetadata",
]

Mode = Literal["single_mcp", "multi_mcp", "auto"]
"""How a question is answered: the Database MCP alone, every server, or multi when ready."""

JsonScalar = str | int | float | bool | None


class _ProgressRequired(TypedDict):
    stage: Literal["gathering", "resolving", "generating", "validating", "executing", "recovering"]
    status: Literal["started", "finished", "failed"]
    elapsed_ms: float
    """Milliseconds since the question arrived."""


class Progress(_ProgressRequired, total=False):
    """One progress event of :meth:`Engine.chat_stream` (the ``progress`` event of
    ``POST /api/chat/stream``): a pipeline stage started, finished or failed."""

    duration_ms: float
    """For ``finished``/``failed``: how long the stage took, in milliseconds."""
    detail: str
    """A short note (row count, generator, error code)."""


class LlmUsage(TypedDict):
    """Tokens counted by the LLM provider for one answer (0 where it did not say)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class QueryOutput:
    """Rows: ``columns`` names, ``rows`` arrays aligned with them (JSON scalars),
    ``row_count`` = ``len(rows)``, ``truncated`` when the server's row cap cut the result,
    ``total_rows`` the full count when known."""

    columns: list[str]
    rows: list[list[JsonScalar]]
    row_count: int
    truncated: bool
    total_rows: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QueryOutput:
        return cls(
            columns=list(d["columns"]),
            rows=[list(r) for r in d["rows"]],
            row_count=int(d["row_count"]),
            truncated=bool(d["truncated"]),
            total_rows=d.get("total_rows"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": list(self.columns),
            "rows": [list(r) for r in self.rows],
            "row_count": self.row_count,
            "truncated": self.truncated,
            "total_rows": self.total_rows,
        }

    def records(self) -> list[dict[str, JsonScalar]]:
        """The rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=False)) for row in self.rows]


@dataclass(frozen=True)
class ResolvedEntity:
    """A term of the question mapped to something in the database (``source`` is the
    ``server_id`` whose data made the resolution, or ``core``)."""

    original_term: str
    resolved_value: str
    entity_type: str
    source: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResolvedEntity:
        return cls(
            original_term=d["original_term"],
            resolved_value=d["resolved_value"],
            entity_type=d["entity_type"],
            source=d["source"],
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "original_term": self.original_term,
            "resolved_value": self.resolved_value,
            "entity_type": self.entity_type,
            "source": self.source,
        }


@dataclass(frozen=True)
class AttemptedSql:
    """One failed SQL of the recovery trail with its error category and message."""

    sql: str
    error_category: str
    error: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AttemptedSql:
        return cls(sql=d["sql"], error_category=d["error_category"], error=d["error"])

    def to_dict(self) -> dict[str, Any]:
        return {"sql": self.sql, "error_category": self.error_category, "error": self.error}


@dataclass(frozen=True)
class QueryMetadata:
    """``data.metadata``: servers used (by ``server_id``), recovery attempts, failed SQL,
    the generator (``offline``, ``llm:<provider>``, ``raw_sql``) and the SQL dialect."""

    mcp_servers_used: list[str]
    recovery_attempts: int
    attempted_sql: list[AttemptedSql]
    generator: str
    dialect: str
    llm_usage: LlmUsage | None = None
    """Tokens the LLM spent on this answer (generation and repairs); ``None`` when no LLM
    was called."""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QueryMetadata:
        usage = d.get("llm_usage")
        return cls(
            mcp_servers_used=list(d["mcp_servers_used"]),
            recovery_attempts=int(d["recovery_attempts"]),
            attempted_sql=[AttemptedSql.from_dict(a) for a in d["attempted_sql"]],
            generator=d["generator"],
            dialect=d["dialect"],
            llm_usage=None
            if usage is None
            else LlmUsage(
                prompt_tokens=int(usage["prompt_tokens"]),
                completion_tokens=int(usage["completion_tokens"]),
                total_tokens=int(usage["total_tokens"]),
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mcp_servers_used": list(self.mcp_servers_used),
            "recovery_attempts": self.recovery_attempts,
            "attempted_sql": [a.to_dict() for a in self.attempted_sql],
            "generator": self.generator,
            "dialect": self.dialect,
        }
        if self.llm_usage is not None:
            out["llm_usage"] = dict(self.llm_usage)
        return out


@dataclass(frozen=True)
class QueryResult:
    """``data`` of a successful answer (also what :meth:`Engine.ask` returns)."""

    sql_query: str
    results: QueryOutput
    resolved_entities: list[ResolvedEntity]
    explanation: str
    recovery_performed: bool
    metadata: QueryMetadata

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QueryResult:
        return cls(
            sql_query=d["sql_query"],
            results=QueryOutput.from_dict(d["results"]),
            resolved_entities=[ResolvedEntity.from_dict(e) for e in d["resolved_entities"]],
            explanation=d["explanation"],
            recovery_performed=bool(d["recovery_performed"]),
            metadata=QueryMetadata.from_dict(d["metadata"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "sql_query": self.sql_query,
            "results": self.results.to_dict(),
            "resolved_entities": [e.to_dict() for e in self.resolved_entities],
            "explanation": self.explanation,
            "recovery_performed": self.recovery_performed,
            "metadata": self.metadata.to_dict(),
        }


@dataclass(frozen=True)
class ErrorBody:
    """``error`` of a failed answer: the §4 ``code``, a readable ``message`` and, for
    ``RECOVERY_EXHAUSTED``, every SQL that was tried."""

    code: str
    message: str
    attempted_sql: list[AttemptedSql] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ErrorBody:
        return cls(
            code=d["code"],
            message=d["message"],
            attempted_sql=[AttemptedSql.from_dict(a) for a in d.get("attempted_sql", [])],
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.attempted_sql:
            out["attempted_sql"] = [a.to_dict() for a in self.attempted_sql]
        return out

    def to_exception(self) -> Talk2TablesError:
        """The :class:`Talk2TablesError` subclass for ``code`` with ``message``."""
        return error_for(self.code, self.message)


@dataclass(frozen=True)
class ResponseMetadata:
    """Top-level ``metadata``: the mode that ran, wall time in the core (seconds), whether
    SQL was repaired, and — when some servers were down — ``degraded`` with the
    ``missing_servers``."""

    mode: Mode
    processing_time_seconds: float
    recovery_performed: bool
    degraded: bool = False
    missing_servers: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ResponseMetadata:
        return cls(
            mode=cast(Mode, d["mode"]),
            processing_time_seconds=float(d["processing_time_seconds"]),
            recovery_performed=bool(d["recovery_performed"]),
            degraded=bool(d.get("degraded", False)),
            missing_servers=list(d.get("missing_servers", [])),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": self.mode,
            "processing_time_seconds": self.processing_time_seconds,
            "recovery_performed": self.recovery_performed,
        }
        if self.degraded:
            out["degraded"] = True
        if self.missing_servers:
            out["missing_servers"] = list(self.missing_servers)
        return out


@dataclass(frozen=True)
class ChatResponse:
    """The envelope every question gets back (``POST /api/chat``), success or failure.

    ``data`` is set when ``success``; ``error`` otherwise. ``timestamp`` is RFC 3339 UTC;
    ``response_id`` a fresh UUID.
    """

    success: bool
    data: QueryResult | None
    error: ErrorBody | None
    metadata: ResponseMetadata
    timestamp: str
    response_id: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChatResponse:
        return cls(
            success=bool(d["success"]),
            data=None if d.get("data") is None else QueryResult.from_dict(d["data"]),
            error=None if d.get("error") is None else ErrorBody.from_dict(d["error"]),
            metadata=ResponseMetadata.from_dict(d["metadata"]),
            timestamp=d["timestamp"],
            response_id=d["response_id"],
        )

    def to_dict(self) -> dict[str, Any]:
        """Exactly the JSON of DESIGN.md §3 (what ``POST /api/chat`` returns)."""
        return {
            "success": self.success,
            "data": None if self.data is None else self.data.to_dict(),
            "error": None if self.error is None else self.error.to_dict(),
            "metadata": self.metadata.to_dict(),
            "timestamp": self.timestamp,
            "response_id": self.response_id,
        }

    def raise_for_error(self) -> QueryResult:
        """Returns ``data``, or raises the :class:`Talk2TablesError` subclass of ``error``."""
        if self.data is not None:
            return self.data
        if self.error is not None:
            raise self.error.to_exception()
        raise error_for("INTERNAL", "response without data or error")
