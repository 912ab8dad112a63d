"""Exceptions of Talk 2 Tables: one class per stable error code (DESIGN.md §4).

Every error the engine raises is a :class:`Talk2TablesError` subclass with

- ``.code`` — the stable code, e.g. ``"SQL_REJECTED"`` (also a class attribute);
- ``.retryable`` — whether the same call may succeed later (also a class attribute);
- ``.message`` — the readable message without the code prefix;
- ``__cause__`` — the Rust error's ``source()`` chain as :class:`RustCause` exceptions
  (outermost first), or ``None``.
"""

from __future__ import annotations

from typing import Final

from . import _native

__all__ = [
    "ERROR_CLASSES",
    "ConfigError",
    "InternalError",
    "InvalidRequestError",
    "LlmBadOutputError",
    "LlmUnavailableError",
    "McpProtocolError",
    "McpTimeoutError",
    "McpUnavailableError",
    "OrchestratorNotReadyError",
    "RateLimitedError",
    "RecoveryExhaustedError",
    "RustCause",
    "SqlExecutionFailedError",
    "SqlRejectedError",
    "Talk2TablesError",
    "UnanswerableError",
    "error_class",
    "error_for",
]


class Talk2TablesError(Exception):
    """Base of every Talk 2 Tables error; ``str(err)`` is ``"CODE: message"``."""

    code: str = "INTERNAL"
    retryable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class RustCause(Exception):
    """One link of the Rust error's ``source()`` chain (its ``Display`` text)."""


class InvalidRequestError(Talk2TablesError):
    """Malformed input: empty query, too long, bad mode, bad argument."""

    code = "INVALID_REQUEST"
    retryable = False


class ConfigError(Talk2TablesError):
    """The configuration file or a variable is invalid."""

    code = "CONFIG_ERROR"
    retryable = False


class OrchestratorNotReadyError(Talk2TablesError):
    """multi_mcp asked for but the orchestrator is not initialised."""

    code = "ORCHESTRATOR_NOT_READY"
    retryable = True


class McpUnavailableError(Talk2TablesError):
    """An MCP server is not connected, or its circuit is open."""

    code = "MCP_UNAVAILABLE"
    retryable = True


class McpTimeoutError(Talk2TablesError):
    """An MCP request exceeded its timeout."""

    code = "MCP_TIMEOUT"
    retryable = True


class McpProtocolError(Talk2TablesError):
    """An MCP server answered outside the protocol."""

    code = "MCP_PROTOCOL_ERROR"
    retryable = False


class LlmUnavailableError(Talk2TablesError):
    """The LLM provider is unreachable, answered 5xx, or 429 after retries."""

    code = "LLM_UNAVAILABLE"
    retryable = True


class LlmBadOutputError(Talk2TablesError):
    """No usable SQL in the LLM provider's answer."""

    code = "LLM_BAD_OUTPUT"
    retryable = True


class UnanswerableError(Talk2TablesError):
    """The offline engine could not interpret the question."""

    code = "UNANSWERABLE"
    retryable = False


class SqlRejectedError(Talk2TablesError):
    """Validation refused the statement (write, multi-statement, forbidden function)."""

    code = "SQL_REJECTED"
    retryable = False


class SqlExecutionFailedError(Talk2TablesError):
    """The database returned an error (not retryable: the same SQL fails the same way)."""

    code = "SQL_EXECUTION_FAILED"
    retryable = False


class RecoveryExhaustedError(Talk2TablesError):
    """All SQL repair attempts failed."""

    code = "RECOVERY_EXHAUSTED"
    retryable = False


class RateLimitedError(Talk2TablesError):
    """The API's own rate limit."""

    code = "RATE_LIMITED"
    retryable = True


class InternalError(Talk2TablesError):
    """A bug (including a panic in the Rust core)."""

    code = "INTERNAL"
    retryable = False


ERROR_CLASSES: Final[dict[str, type[Talk2TablesError]]] = {
    cls.code: cls
    for cls in (
        InvalidRequestError,
        ConfigError,
        OrchestratorNotReadyError,
        McpUnavailableError,
        McpTimeoutError,
        McpProtocolError,
        LlmUnavailableError,
        LlmBadOutputError,
        UnanswerableError,
        SqlRejectedError,
        SqlExecutionFailedError,
        RecoveryExhaustedError,
        RateLimitedError,
        InternalError,
    )
}
"""Code → exception class, for all 14 codes of DESIGN.md §4."""


def error_class(code: str) -> type[Talk2TablesError]:
    """The class for ``code``; an unknown code (a newer core) maps to :class:`InternalError`."""
    return ERROR_CLASSES.get(code, InternalError)


def error_for(code: str, message: str, causes: list[str] | None = None) -> Talk2TablesError:
    """The exception for ``code`` with ``message``; ``causes`` (outermost first) are
    chained as :class:`RustCause` exceptions in ``__cause__``."""
    error = error_class(code)(message)
    chain: BaseException | None = None
    for text in reversed(causes or []):
        link = RustCause(text)
        link.__cause__ = chain
        chain = link
    error.__cause__ = chain
    return error


def from_native(exc: BaseException) -> Talk2TablesError:
    """Converts ``_native.NativeError(code, message, causes)`` to the public class."""
    args = exc.args
    if len(args) == 3 and isinstance(args[0], str) and isinstance(args[1], str):
        causes = [str(c) for c in args[2]] if isinstance(args[2], list) else []
        return error_for(args[0], args[1], causes)
    return InternalError(f"unexpected native error: {exc!r}")


NativeError: Final = _native.NativeError
