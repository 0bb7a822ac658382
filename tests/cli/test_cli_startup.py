"""`lensmith --help` stays fast: no heavy library is imported on its path (timing itself is
measured by benchmarks/help.py; an import check does not depend on the machine's load).
Typer itself imports pydantic for a subcommand's help, so pydantic is not on the list; rich is (help is plain click)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("rich", "langchain_core", "langgraph", "chromadb", "torch", "ultralytics", "easyocr", "textual",
         "lensmith.agent", "lensmith.runtime", "lensmith.memory", "lensmith.tools")

_PROBE = """
import contextlib, io, sys
sys.argv = ["lensmith", *sys.argv[1:]]
from lensmith.cli import app  # not main(): it leaves with os._exit, before the report below
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        app()
    except SystemExit:
        pass
loaded = sorted({m.split(".")[0] if not m.startswith("lensmith.") else ".".join(m.split(".")[:2]) for m in sys.modules})
print(" ".join(loaded))
print(len(out.getvalue()))
"""


def _loaded(*args: str) -> tuple[set[str], int]:
    out = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    modules, size = out.stdout.strip().splitlines()
    return set(modules.split()), int(size)


def test_help_imports_nothing_heavy() -> None:
    for args in (["--help"], ["ask", "--help"], ["index", "--help"], ["search", "--help"], ["warm", "--help"]):
        loaded, size = _loaded(*args)
        assert size > 200, args  # the help was printed
        assert not loaded & set(HEAVY), (args, sorted(loaded & set(HEAVY)))
