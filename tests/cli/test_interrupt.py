"""Ctrl-C during ``lensmith ask`` (issue 14): the turn is recorded as cancelled, the
command exits 130 at once, and no traceback is printed. The planner is an
OpenAI-compatible server on 127.0.0.1 that accepts and never answers, so the turn is
certainly running when the signal arrives."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

LENSMITH = Path(sys.executable).parent / "lensmith"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_ctrl_c_records_the_turn_as_cancelled_and_exits_130(lensmith_home: Path, tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def silent() -> None:  # accept, read, never answer
        listener.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    threading.Thread(target=silent, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    env = {**os.environ, "LENSMITH_HOME": str(lensmith_home), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [str(LENSMITH), "ask", "--no-memory", "--planner", "openai", "--planner-url", url, "--planner-model", "m",
         "what is this?"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # a shell's background job ignores SIGINT, and a child inherits that: undo it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        deadline = time.monotonic() + 120
        while not any("planner:" in line for line in lines):  # the turn has started
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "the turn never started: " + "".join(lines)
            time.sleep(0.1)
        time.sleep(0.5)  # the request is now waiting on the silent server
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
            process.wait()
        for conn in held:
            conn.close()
        listener.close()
    reader.join(5)
    stderr = "".join(lines)
    assert code == 130, stderr
    assert elapsed < 6, elapsed
    assert "Traceback" not in stderr and "ContextVar" not in stderr, stderr
    assert "Interrupted" in stderr, stderr
    [turns] = list((lensmith_home / "sessions").glob("*/turns.jsonl"))
    [saved] = [json.loads(line) for line in turns.read_text().splitlines()]
    assert saved["cancelled"] is True and saved["error"] is None
