"""Shared fixtures: one embedded engine for the session, the sample database it uses,
and loopback helpers (a closed port, a server that accepts and never answers)."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from talk2tables import Engine


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("t2t-data")


@pytest.fixture(scope="session")
async def engine(data_dir: Path) -> AsyncIterator[Engine]:
    eng = Engine.embedded(data_dir)
    await eng.start()
    yield eng
    await eng.close()


@pytest.fixture(scope="session")
def sample_db(engine: Engine, data_dir: Path) -> Iterator[sqlite3.Connection]:
    """The sample database the embedded engine created, opened read-only."""
    conn = sqlite3.connect(f"file:{data_dir / 'sample.db'}?mode=ro", uri=True)
    yield conn
    conn.close()


def scalar(conn: sqlite3.Connection, sql: str) -> float:
    row = conn.execute(sql).fetchone()
    return float(row[0])


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_config(url: str, *, fail_fast: bool = False, timeout: float = 2) -> dict[str, object]:
    """A config whose only server is a Database MCP at ``url``."""
    return {
        "mcp_servers": {
            "database_mcp": {
                "name": "Database MCP",
                "url": url,
                "transport": "streamable_http",
                "priority": 10,
                "domains": ["database"],
                "capabilities": ["execute_query", "list_resources"],
                "timeout": timeout,
            }
        },
        "orchestration": {"fail_fast": fail_fast, "resource_cache_ttl": 0},
    }


class BlackHole:
    """A loopback TCP server that accepts connections and never answers. Records when
    each accepted connection is closed by the client (EOF)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self.closed_at: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        conn.settimeout(0.2)
        deadline = time.monotonic() + 30
        with conn:
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    if conn.recv(65536) == b"":
                        self.closed_at.append(time.monotonic())
                        return
                except TimeoutError:
                    continue
                except OSError:
                    self.closed_at.append(time.monotonic())
                    return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()
