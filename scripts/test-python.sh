#!/usr/bin/env bash
# Builds the Python wheel (maturin, debug profile) in a virtual environment it creates
# under target/pyvenv, installs it, and runs the Python binding's pytest suite
# (python/tests: the engine, errors, cancellation, fork, mypy --strict, FastAPI app).
# Usage: ./scripts/test-python.sh     (from anywhere; needs python3 >= 3.10 with venv)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/target/pyvenv"
wheels="$root/target/pywheels"

if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "maturin==1.16.0" "pytest==9.2.0" "pytest-asyncio==1.5.0" "fastapi==0.165.0" \
    "httpx==0.28.1" "uvicorn==0.54.0" "mypy==2.4.1"

rm -rf "$wheels"
(cd python && VIRTUAL_ENV="$venv" "$venv/bin/maturin" build --locked --out "$wheels")
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheels"/talk2tables-*.whl

cd python
"$venv/bin/python" -m pytest
