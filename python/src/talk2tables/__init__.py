"""Talk 2 Tables: ask a database questions in plain language, get SQL and rows back.

>>> import asyncio, talk2tables
>>> async def main() -> None:
...     async with talk2tables.Engine.embedded() as engine:
...         answer = await engine.chat("How many customers are there?")
...         print(answer.data.results.rows if answer.data else answer.error)
>>> asyncio.run(main())  # doctest: +SKIP
"""

from __future__ import annotations

from . import _native
from .engine import DEFAULT_DATA_DIR, Engine
from .errors import (
    ERROR_CLASSES,
    ConfigError,
    InternalError,
    InvalidRequestError,
    LlmBadOutputError,
    LlmUnavailableError,
    McpProtocolError,
    McpTimeoutError,
    McpUnavailableError,
    OrchestratorNotReadyError,
    RateLimitedError,
    RecoveryExhaustedError,
    RustCause,
    SqlExecutionFailedError,
    SqlRejectedError,
    Talk2TablesError,
    UnanswerableError,
    error_class,
)
from .types import (
    AttemptedSql,
    ChatResponse,
    ErrorBody,
    LlmUsage,
    Mode,
    Progress,
    QueryMetadata,
    QueryOutput,
    QueryResult,
    ResolvedEntity,
    ResponseMetadata,
)

__version__: str = _native.__version__

__all__ = [
    "DEFAULT_DATA_DIR",
    "ERROR_CLASSES",
    "AttemptedSql",
    "ChatResponse",
    "ConfigError",
    "Engine",
    "ErrorBody",
    "InternalError",
    "InvalidRequestError",
    "LlmUsage",
    "LlmBadOutputError",
    "LlmUnavailableError",
    "McpProtocolError",
    "McpTimeoutError",
    "McpUnavailableError",
    "Mode",
    "OrchestratorNotReadyError",
    "Progress",
    "QueryMetadata",
    "QueryOutput",
    "QueryResult",
    "RateLimitedError",
    "RecoveryExhaustedError",
    "ResolvedEntity",
    "ResponseMetadata",
    "RustCause",
    "SqlExecutionFailedError",
    "SqlRejectedError",
    "Talk2TablesError",
    "UnanswerableError",
    "__version__",
    "error_class",
]
