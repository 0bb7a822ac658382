"""Third-party loader chatter (ultralytics' "Loading … for OpenVINO inference...",
EasyOCR's notices) stays off stdout and stderr unless --verbose asks for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

LENSMITH = str(Path(sys.executable).parent / "lensmith")
NOISE = ("for OpenVINO inference", "Using OpenVINO", "Ultralytics 8", "Using CPU", "Downloading")


def _run(home: Path, *args: str) -> subprocess.CompletedProcess:
    # YOLO_VERBOSE=True is the worst case: ultralytics then logs every load to stdout itself
    env = {**os.environ, "LENSMITH_HOME": str(home), "YOLO_VERBOSE": "True", "COLUMNS": "200"}
    out = subprocess.run([LENSMITH, *args], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Path:
    from lensmith.cli.samples import write_samples

    folder = tmp_path_factory.mktemp("quiet-samples")
    write_samples(folder)
    return folder


def test_ask_and_eval_print_no_loader_lines(samples: Path, lensmith_home: Path, tmp_path: Path) -> None:
    asked = _run(lensmith_home, "ask", "--planner", "heuristic", "--no-memory", str(samples / "sign.png"),
                 "how many people are there and what does the text say?")
    assert "detect" in asked.stdout and "read_text" in asked.stdout  # both loaders really ran
    evaluated = _run(lensmith_home, "eval", "pope", "--limit", "2", "--out", str(tmp_path / "run"))
    for out in (asked, evaluated):
        text = out.stdout + out.stderr
        assert not [word for word in NOISE if word in text], text[-2000:]


def test_verbose_shows_them_on_stderr_and_json_stays_clean(samples: Path, lensmith_home: Path) -> None:
    out = _run(lensmith_home, "--verbose", "ask", "--json", "--planner", "heuristic", "--no-memory",
               str(samples / "bus.jpg"), "is there a bus?")
    assert "for OpenVINO inference" in out.stderr  # the line exists; only --verbose shows it
    assert json.loads(out.stdout)["calls"][0]["tool"] == "detect"
