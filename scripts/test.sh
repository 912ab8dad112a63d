#!/usr/bin/env bash
# Runs every test of the project: formatting, lints, unit tests, and the end-to-end
# tests that start the real MCP server binaries and the axum server on loopback.
# Usage: ./scripts/test.sh            (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

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
