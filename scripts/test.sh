#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit tests, the end-to-end
# tests that start the real MCP server binaries and the axum server on loopback, and
# the Python binding's pytest suite (scripts/test-python.sh).
# Usage: ./scripts/test.sh            (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools the tests use from Debian's packages, installed when missing (CI runs as root).
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing $*: install them (apt-get install $*) or run as root" >&2
    return 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null \
    || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null; }
}
command -v promtool >/dev/null || { echo "==> installing promtool (prometheus)"; apt_install prometheus; }
export T2T_REQUIRE_TOOLS=1

echo "==> chat page: npm ci && npm run build (the committed dist/ must match)"
(cd examples/server/web && npm ci --no-audit --no-fund && npm run build)
if ! git diff --quiet -- examples/server/web/dist || [ -n "$(git status --porcelain -- examples/server/web/dist)" ]; then
    git status --short -- examples/server/web/dist
    echo "examples/server/web/dist differs from its source: commit the rebuilt dist/" >&2
    exit 1
fi

# Interop peer no one here wrote: @modelcontextprotocol/server-everything (pinned), cached
# under target/interop/; the core's interop tests find it through T2T_SERVER_EVERYTHING.
SERVER_EVERYTHING_VERSION=2026.8.31
interop_dir="$PWD/target/interop"
export T2T_SERVER_EVERYTHING="$interop_dir/node_modules/.bin/mcp-server-everything"
installed_version() {
  node -p "require('$interop_dir/node_modules/@modelcontextprotocol/server-everything/package.json').version" 2>/dev/null || true
}
if [ ! -x "$T2T_SERVER_EVERYTHING" ] || [ "$(installed_version)" != "$SERVER_EVERYTHING_VERSION" ]; then
  command -v npm >/dev/null || { echo "npm is required to install server-everything for the interop tests" >&2; exit 1; }
  echo "==> installing @modelcontextprotocol/server-everything@$SERVER_EVERYTHING_VERSION into target/interop"
  mkdir -p "$interop_dir"
  npm install --prefix "$interop_dir" --no-audit --no-fund --loglevel=error \
    "@modelcontextprotocol/server-everything@$SERVER_EVERYTHING_VERSION" >/dev/null
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo build (binaries the end-to-end tests start)"
cargo build --workspace --locked

echo "==> PostgreSQL and MariaDB for the multi-engine tests"
# shellcheck source=scripts/db-setup.sh
. ./scripts/db-setup.sh

echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --workspace --locked

echo "==> node binding: npm ci, build the addon, node --test, tsc --noEmit"
(
    cd node
    npm ci --no-audit --no-fund
    node scripts/build.mjs
    node --test test/
    npx tsc --noEmit -p types-test
)

echo "==> chat page in headless Chromium (node --test, playwright-core, Debian's chromium)"
command -v chromium >/dev/null 2>&1 || apt_install chromium
(cd tests/web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund && node --test)

echo "==> the official openai Python client against /chat/completions"
if [ ! -x target/pyvenv-openai/bin/python ]; then
    python3 -m venv target/pyvenv-openai
fi
target/pyvenv-openai/bin/pip install -q -r tests/openai/requirements.txt
target/pyvenv-openai/bin/python -m pytest -q tests/openai

echo "==> Python binding: build the wheel in a venv, run pytest"
./scripts/test-python.sh
