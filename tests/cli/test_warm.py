"""`lensmith ask --warm`: a background agent started on demand, reused, stopped on
request or when idle, and reachable only with the key in the user's 0600 file."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

LENSMITH = [sys.executable, "-m", "lensmith.cli"]


def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*LENSMITH, *args], capture_output=True, text=True, timeout=timeout)


def status() -> dict:
    out = cli("warm", "status", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def warm_home(lensmith_home: Path) -> Iterator[Path]:
    yield lensmith_home
    info = status()
    if info["running"]:
        cli("warm", "stop")
        time.sleep(0.5)
        if status()["running"]:
            os.kill(info["pid"], signal.SIGKILL)


def test_ask_warm_starts_reuses_and_stops_the_agent(warm_home: Path) -> None:
    first = cli("ask", "--warm", "--planner", "heuristic", "--json", "how many dogs are there?")
    assert first.returncode == 0, first.stderr
    answer = json.loads(first.stdout)
    assert answer["planner"] == "heuristic" and "image" in answer["answer"].lower()  # asks for a photo
    running = status()
    assert running["running"]

    second = cli("ask", "--warm", "--planner", "heuristic", "--json", "what does the sign say?")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["session_id"] != answer["session_id"]
    assert status()["pid"] == running["pid"]  # the same process answered

    run = warm_home / "run"
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    assert stat.S_IMODE((run / "agent.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((run / "agent.sock").stat().st_mode) == 0o600

    stopped = cli("warm", "stop")
    assert f"stopped warm agent {running['pid']}" in stopped.stdout
    time.sleep(0.5)
    assert not status()["running"]
    assert not (run / "agent.sock").exists()


def test_a_client_without_the_key_is_refused_and_the_agent_keeps_serving(warm_home: Path) -> None:
    from multiprocessing.connection import Client

    assert cli("ask", "--warm", "--planner", "heuristic", "how many cats?").returncode == 0
    sock = str(warm_home / "run" / "agent.sock")
    with pytest.raises(Exception):  # noqa: B017 - AuthenticationError or a closed connection
        conn = Client(sock, family="AF_UNIX", authkey=b"not the key")
        conn.send_bytes(b'{"command": "stop"}')
        conn.recv_bytes()
    # a raw connection that sends garbage instead of the handshake
    import socket

    raw = socket.socket(socket.AF_UNIX)
    raw.connect(sock)
    raw.sendall(b"\x00\x00\x00\x05hello")
    raw.close()
    assert status()["running"]
    again = cli("ask", "--warm", "--planner", "heuristic", "--json", "how many cats?")
    assert again.returncode == 0, again.stderr


def test_the_agent_stops_by_itself_when_idle(warm_home: Path) -> None:
    sock = warm_home / "run" / "agent.sock"
    server = subprocess.Popen([*LENSMITH, "warm", "serve", "--idle", "2"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not sock.exists() and server.poll() is None:
        time.sleep(0.05)
    assert sock.exists() or "listening" in server.communicate(timeout=60)[1]  # it did start
    assert server.wait(timeout=120) == 0  # and left by itself, with no client
    assert not sock.exists()
    assert not status()["running"]


def test_request_paths_are_made_absolute_but_urls_and_ids_are_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lensmith.cli.warm import request_for

    monkeypatch.chdir(tmp_path)
    request = request_for("q", ["bus.jpg", "img:3fa2c9e1", "https://example.com/a.jpg"], None, planner="heuristic")
    assert request["images"] == [str(tmp_path / "bus.jpg"), "img:3fa2c9e1", "https://example.com/a.jpg"]
    assert request["flags"] == {"planner": "heuristic"}
