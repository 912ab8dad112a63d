"""`mypy --strict` over scripts using the package (inline types, py.typed, _native.pyi)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent / "typing"


def mypy(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # Run from an empty directory so the installed package (not the source tree) is checked.
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )


def test_mypy_strict_passes(tmp_path: Path) -> None:
    out = mypy(HERE / "uses_stubs.py", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_catches_misuse(tmp_path: Path) -> None:
    out = mypy(HERE / "misuses_api.py", tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stdout.count("error:") >= 4, out.stdout


def test_package_and_fastapi_example_are_strict_clean(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    out = mypy(root / "examples" / "fastapi_app.py", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    out = mypy(root / "examples" / "chatbot_api.py", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    out = mypy(root / "src" / "talk2tables", tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
