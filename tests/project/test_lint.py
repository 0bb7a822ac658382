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
def test_mypy_is_clean_and_sees_real_types_across_packages(tmp_path: Path) -> None:
    # one mypy run over the whole tree plus a probe with deliberate cross-package type
    # errors: the tree must be clean and the probe's errors must be caught, so lensmith.*
    # cannot have silently become Any (ignore_missing_imports would hide an unresolved
    # namespace)
    import uuid

    # a fresh module name each run: mypy's incremental cache keys files by module name
    probe = tmp_path / f"probe_{uuid.uuid4().hex[:8]}.py"
    probe.write_text(
        "from lensmith.runtime.images import ImageStore\n"
        "from lensmith.agent.trace import TurnTrace\n"
        "store: ImageStore = TurnTrace\n"
        "count: int = ImageStore.add\n"
    )
    result = _run("mypy", "--config-file", str(ROOT / "pyproject.toml"), *_mypy_files(), str(probe))
    out = result.stdout
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert errors and all(line.split(":")[0].endswith(probe.name) for line in errors), out + result.stderr
    assert 'type "type[TurnTrace]", variable has type "ImageStore"' in out, out
    assert f"{probe.name}:4: error: Incompatible types" in out, out


def _mypy_files() -> list[str]:
    import tomllib

    with (ROOT / "pyproject.toml").open("rb") as fh:
        return list(tomllib.load(fh)["tool"]["mypy"]["files"])
