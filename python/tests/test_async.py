"""Concurrency, cancellation and fork safety of the binding."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time

import pytest

import talk2tables as t
from talk2tables import Engine, _native

from .conftest import BlackHole, scalar, server_config


async def wait_in_flight_zero(limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while _native.in_flight() > 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert _native.in_flight() == 0


async def test_fifty_concurrent_chats(engine: Engine, sample_db: sqlite3.Connection) -> None:
    questions = [
        ("How many customers are there?", scalar(sample_db, "SELECT COUNT(*) FROM customers")),
        ("How many products are there?", scalar(sample_db, "SELECT COUNT(*) FROM products")),
        ("How many orders are there?", scalar(sample_db, "SELECT COUNT(*) FROM orders")),
    ]
    before = engine.metrics()["total_queries"]
    jobs = [questions[i % 3] for i in range(50)]
    responses = await asyncio.gather(*(engine.chat(q) for q, _ in jobs))
    assert len({r.response_id for r in responses}) == 50
    for (q, want), r in zip(jobs, responses, strict=True):
        data = r.raise_for_error()
        assert data.results.rows[0][0] == want, q
    assert engine.metrics()["total_queries"] == before + 50


async def test_cancelled_chat_leaves_engine_usable(engine: Engine) -> None:
    cancelled = 0
    for delay in (0, 0, 0, 0.001, 0.002, 0.005):
        task = asyncio.create_task(engine.chat("Total sales per category"))
        await asyncio.sleep(delay)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            cancelled += 1
    assert cancelled >= 3  # the immediate cancels land before any result
    await wait_in_flight_zero()
    r = await engine.chat("Total sales per category")
    assert r.success and r.data is not None and r.data.results.row_count == 10
    assert engine.readiness()["status"] == "ready"


async def test_cancel_drops_the_rust_future(black_hole: BlackHole) -> None:
    # The handshake with a server that never answers would wait 10 s; cancelling the
    # task must drop the Rust future at once (the in-flight guard moved into it drops).
    await wait_in_flight_zero()
    cfg = server_config(f"http://127.0.0.1:{black_hole.port}/mcp", fail_fast=True, timeout=30)
    eng = Engine.from_config(cfg)
    task = asyncio.create_task(eng.start())
    deadline = time.monotonic() + 5
    while black_hole.accepted == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert black_hole.accepted >= 1, "the engine never connected"
    assert _native.in_flight() == 1 and not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    started = time.monotonic()
    await wait_in_flight_zero(limit=2)
    assert time.monotonic() - started < 2
    assert not eng.started


async def test_gil_is_released_while_waiting(black_hole: BlackHole) -> None:
    # While the Rust future waits for a silent server, other Python threads run freely.
    import threading

    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    thread = threading.Thread(target=spin)
    thread.start()
    cfg = server_config(f"http://127.0.0.1:{black_hole.port}/mcp", fail_fast=True, timeout=0.5)
    with pytest.raises(t.Talk2TablesError):
        await Engine.from_config(cfg).start()
    stop.set()
    thread.join()
    assert ticks > 50


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
async def test_use_after_fork_is_a_clear_error(engine: Engine) -> None:
    assert (await engine.chat("How many customers are there?")).success  # runtime is up
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must fail fast with INVALID_REQUEST, not hang
        code = 1
        try:
            os.close(read)
            try:
                engine.metrics()
            except t.InvalidRequestError as exc:
                if "fork" in exc.message:
                    code = 0
            os.write(write, b"ok" if code == 0 else b"no")
        finally:
            os._exit(code)
    os.close(write)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        await asyncio.sleep(0.02)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung")
    message = os.read(read, 16)
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0, message
    # The parent is unaffected.
    assert (await engine.chat("How many customers are there?")).success


def test_exit_after_await_is_clean(tmp_path: object) -> None:
    # A script that awaits and exits at once: the atexit drain must prevent crashes.
    import subprocess

    script = (
        "import asyncio, sys, talk2tables as t\n"
        "async def main():\n"
        "    e = await t.Engine.embedded(sys.argv[1]).start()\n"
        "    r = await e.chat('How many customers are there?')\n"
        "    print(r.success)\n"
        "asyncio.run(main())\n"
    )
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "True"
