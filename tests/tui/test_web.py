"""``lensmith chat --web``: the Textual app served by textual-serve, driven in a real
headless Chromium: a question typed, the answer and the annotated image seen on the page.

xterm.js draws the terminal on a canvas, so the page's text is read from the bytes its
websocket delivered (Chromium's own network log) and the image from a screenshot."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

LENSMITH = str(Path(sys.executable).parent / "lensmith")
CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")
ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, server: subprocess.Popen, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.poll() is not None:
            raise AssertionError(f"lensmith chat --web exited: {server.stdout.read() if server.stdout else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _colourful(png: str) -> int:
    """Strongly coloured pixels in the artifact panel (bottom right): the UI itself is grey."""
    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int)
    h, w = pixels.shape[:2]
    region = pixels[int(h * 0.5):int(h * 0.9), int(w * 0.62):]
    return int(((region.max(axis=2) - region.min(axis=2)) > 60).sum())


@pytest.fixture
def served(lensmith_home: Path, tmp_path: Path):
    import ultralytics

    photo = tmp_path / "bus.jpg"
    shutil.copy(Path(ultralytics.__file__).parent / "assets" / "bus.jpg", photo)
    port = _free_port()
    server = subprocess.Popen(
        [LENSMITH, "chat", "--web", "--port", str(port), "--planner", "heuristic", "--no-memory", str(photo)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        env={**os.environ, "LENSMITH_HOME": str(lensmith_home), "COLUMNS": "200"},
    )
    try:
        _wait_for_port(port, server)
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the app it started for the browser
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None or DRIVER is None, reason="no Chromium/chromedriver installed (.ci/run installs them)")
def test_a_question_asked_in_the_browser_gets_its_answer_and_image(served: str, tmp_path: Path) -> None:
    selenium = pytest.importorskip("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.keys import Keys

    assert selenium
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1600,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    browser = webdriver.Chrome(service=Service(DRIVER), options=options)
    received: list[bytes] = []

    def page_text() -> str:
        for entry in browser.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.webSocketFrameReceived":
                frame = message["params"]["response"]
                payload = frame["payloadData"]
                received.append(base64.b64decode(payload) if frame["opcode"] == 2 else payload.encode())
        return ANSI.sub("", b"".join(received).decode("utf-8", "replace"))

    def wait_for(pattern: str, timeout: float) -> re.Match:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if found := re.search(pattern, page_text()):
                return found
            time.sleep(0.5)
        raise AssertionError(f"{pattern!r} never appeared on the page; last text: {page_text()[-1500:]!r}")

    try:
        browser.get(served)
        wait_for(r"Ask about your images", 60)
        wait_for(r"attached \(1\):.*bus\.jpg", 10)
        before = str(tmp_path / "before.png")
        browser.save_screenshot(before)
        assert _colourful(before) < 200  # no image in the artifact panel yet

        keyboard = browser.find_element("css selector", ".xterm-helper-textarea")
        browser.execute_script("arguments[0].focus()", keyboard)
        keyboard.send_keys("how many people are there?")
        keyboard.send_keys(Keys.ENTER)

        answer = wait_for(r"There are (\d+) people", 150)  # a cold YOLO load on a busy 2-core VM
        assert int(answer.group(1)) >= 3
        wait_for(r"annotated image img:[0-9a-f]{8}", 10)
        wait_for(r"method: yolo \(model\)", 20)  # the artifact panel's header, above the image it draws
        end = time.monotonic() + 20
        after = str(tmp_path / "after.png")
        while True:  # the half-cell image is painted a moment after its header
            browser.save_screenshot(after)
            if _colourful(after) > 2000 or time.monotonic() > end:
                break
            time.sleep(0.5)
        assert _colourful(after) > 2000, "the annotated photo is not drawn in the artifact panel"
    finally:
        browser.quit()


def test_web_serves_the_same_chat_on_loopback_by_default(monkeypatch, tmp_path: Path) -> None:
    import textual_serve.server
    from typer.testing import CliRunner

    from lensmith.cli import app

    served: dict = {}

    class FakeServer:
        def __init__(self, command: str, **kwargs) -> None:
            served.update(kwargs, command=command)

        def serve(self) -> None:
            served["served"] = True

    monkeypatch.setattr(textual_serve.server, "Server", FakeServer)
    photo = tmp_path / "a photo.jpg"
    photo.write_bytes(b"x")
    runner = CliRunner()
    result = runner.invoke(app, ["chat", "--web", "--planner", "heuristic", "--no-memory", str(photo)])
    assert result.exit_code == 0, result.output
    assert served["served"] and served["host"] == "127.0.0.1" and served["port"] == 8000
    command = served["command"]
    assert " chat " in command and "--web" not in command
    assert f"'{photo.resolve()}'" in command  # quoted: the path has a space
    assert "--planner heuristic" in command and "--no-memory" in command and "--images halfcell" in command
    assert "warning" not in result.output

    exposed = runner.invoke(app, ["chat", "--web", "--host", "0.0.0.0", "--port", "9000"])
    assert exposed.exit_code == 0, exposed.output
    assert served["host"] == "0.0.0.0" and served["port"] == 9000
    assert "warning:" in exposed.output and "anyone who reaches this port" in exposed.output
