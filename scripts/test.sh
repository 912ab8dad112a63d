#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit tests, and the end-to-end
# tests that start the real MCP server binaries and the axum server on loopback.
# Usage: ./scripts/test.sh            (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> chat page: npm ci && npm run build (the committed dist/ must match)"
(cd examples/server/web && npm ci --no-audit --no-fund && npm run build)
if ! git diff --quiet -- examples/server/web/dist || [ -n "$(git status --porcelain -- examples/server/web/dist)" ]; then
    git status --short -- examples/server/web/dist
    echo "examples/server/web/dist differs from its source: commit the rebuilt dist/" >&2
    exit 1
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo build (binaries the end-to-end tests start)"
cargo build --workspace --locked

echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --workspace --locked

echo "==> chat page in headless Chromium (node --test, playwright-core, Debian's chromium)"
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq chromium
fi
(cd tests/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund && node --test)

echo "==> the official openai Python client against /chat/completions"
if [ ! -x target/pyvenv-openai/bin/python ]; then
    python3 -m venv target/pyvenv-openai
fi
target/pyvenv-openai/bin/pip install -q -r tests/openai/requirements.txt
target/pyvenv-openai/bin/python -m pytest -q tests/openai
