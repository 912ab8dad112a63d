"""The official `openai` Python client against talk2tables-server's /chat/completions.

Starts the server (embedded default, --port 0, temp --data-dir) and points the client's
base_url at it: non-streaming and streaming completions, the model list, and the
400 for empty messages. Binary: $T2T_SERVER_BIN or target/debug/talk2tables-server.
"""

import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import threading

import openai
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def base_url():
    binary = os.environ.get("T2T_SERVER_BIN", str(ROOT / "target/debug/talk2tables-server"))
    data_dir = tempfile.mkdtemp(prefix="t2t-openai-")
    env = {k: v for k, v in os.environ.items() if k not in ("MCP_CONFIG_PATH", "MCP_SERVER_URL")}
    env["LLM_PROVIDER"] = "offline"
    proc = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", "0", "--data-dir", data_dir],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )
    found = {}
    ready = threading.Event()

    def read_stderr():
        for line in proc.stderr:
            m = re.search(r"listening on (http://[\d.]+:\d+)", line)
            if m and not ready.is_set():
                found["url"] = m.group(1)
                ready.set()

    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        assert ready.wait(60), "talk2tables-server did not start within 60 s"
        yield found["url"]
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def client(base_url):
    return openai.OpenAI(base_url=base_url, api_key="not-needed", timeout=60, max_retries=0)


def test_non_streaming(client):
    resp = client.chat.completions.create(
        model="talk2tables",
        messages=[{"role": "user", "content": "How many orders were cancelled?"}],
    )
    assert resp.id.startswith("chatcmpl-")
    assert resp.object == "chat.completion"
    choice = resp.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert "```sql\nSELECT" in choice.message.content
    assert "'cancelled'" in choice.message.content
    # The chatbot's extension field comes through as an extra attribute.
    qr = choice.model_extra["query_result"]
    assert qr["success"] is True and qr["row_count"] == 1
    count = next(iter(qr["data"][0].values()))
    assert isinstance(count, int) and count > 0
    assert str(count) in choice.message.content
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens


def test_streaming(client):
    stream = client.chat.completions.create(
        model="talk2tables",
        messages=[{"role": "user", "content": "Total sales by category"}],
        stream=True,
    )
    chunks = list(stream)
    assert len(chunks) >= 3
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "```sql\nSELECT" in text and "GROUP BY" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].choices[0].model_extra["query_result"]["row_count"] == 10


def test_failure_is_a_completion_with_finish_reason_error(client):
    resp = client.chat.completions.create(
        model="talk2tables",
        messages=[{"role": "user", "content": "what is the meaning of life"}],
    )
    assert resp.choices[0].finish_reason == "error"
    assert "UNANSWERABLE" in resp.choices[0].message.content


def test_models_and_empty_messages(client):
    assert [m.id for m in client.models.list()] == ["talk2tables"]
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="talk2tables", messages=[])
