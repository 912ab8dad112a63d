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

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo build (binaries the end-to-end tests start)"
cargo build --workspace --locked

echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --workspace --locked

echo "==> Python binding: build the wheel in a venv, run pytest"
./scripts/test-python.sh
