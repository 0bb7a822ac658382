"""The CLI leaves with os._exit after doing what a normal exit does: work handed to
threads and exit handlers still finishes, the exit status is kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import atexit, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from lensmith.cli import _exit_now

out = Path(sys.argv[1])
pool = ThreadPoolExecutor(1)
pool.submit(lambda: (time.sleep(0.5), (out / "deferred").write_text("written")))
atexit.register(lambda: (out / "atexit").write_text("ran"))
sys.stdout.write("buffered, not yet flushed")
_exit_now(int(sys.argv[2]) if sys.argv[2].isdigit() else sys.argv[2])
"""


def run(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), code],
                          capture_output=True, text=True, timeout=60)


def test_exit_now_finishes_threads_and_handlers_and_keeps_the_status(tmp_path: Path) -> None:
    done = run(tmp_path, "3")
    assert done.returncode == 3, done.stderr
    assert (tmp_path / "deferred").read_text() == "written"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert done.stdout == "buffered, not yet flushed"


def test_exit_now_with_a_message_prints_it_and_fails(tmp_path: Path) -> None:
    done = run(tmp_path, "no such session")
    assert done.returncode == 1
    assert "no such session" in done.stderr
