"""Starting and stopping servers that tests run as real processes, on loopback only."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen | None = None, *, deadline: float | None = None) -> None:
    """Until 127.0.0.1:``port`` accepts a connection; fails at once if ``process`` died
    (with its stderr), and after 90 s (or at ``deadline``, a ``time.monotonic()`` value)."""
    deadline = deadline if deadline is not None else time.monotonic() + 90
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        if process is not None and process.poll() is not None:
            err = process.stderr.read() if process.stderr else ""
            raise AssertionError((err.decode() if isinstance(err, bytes) else err)[-2000:])
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)


@contextlib.contextmanager
def stopped_at_exit(process: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """Terminate ``process`` when the block ends, killing it if it has not gone in 15 s."""
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
