"""The code stays lint-clean (ruff) and the public surface type-checks (mypy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    exe = BIN / tool
    if not exe.exists():
        pytest.skip(f"{tool} is not installed (pip install -e '.[dev]')")
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff():
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy():
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_sees_real_types_across_packages(tmp_path: Path) -> None:
    # a deliberate cross-package type error must be caught, so lensmith.* cannot have
    # silently become Any (ignore_missing_imports would hide an unresolved namespace)
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from lensmith.runtime.images import ImageStore\n"
        "from lensmith.agent.trace import TurnTrace\n"
        "store: ImageStore = TurnTrace\n"
        "count: int = ImageStore.add\n"
    )
    result = _run("mypy", "--config-file", str(ROOT / "pyproject.toml"), "--follow-imports=silent", str(probe))
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert 'type "type[TurnTrace]", variable has type "ImageStore"' in out, out
    assert "probe.py:4: error: Incompatible types" in out, out
