"""Config validation (issue 14): one-line errors that name the file and the fix, warnings
for unknown keys and bad environment values, out-of-range values refused; the CLI
prints them without a traceback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lensmith.agent.config import ConfigError, load_settings
from lensmith.runtime import paths

LENSMITH = Path(sys.executable).parent / "lensmith"


def config(text: str) -> Path:
    path = paths.config_file()
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "words"), [
    ("[planner\nbackend = 'openai'\n", "TOML syntax error"),
    ("max_steps = 'many'\n", "max_steps"),
    ("max_steps = -1\n", "greater than or equal to 1"),
    ("max_steps = 0\n", "max_steps"),
    ("[planner]\ntimeout_s = -5\n", "planner.timeout_s"),
    ("planner = 3\n", "planner"),
    ("[memory]\nrecall_k = 'x'\n", "memory.recall_k"),
    ("[access]\nallow_dirs = 'one'\n", "access.allow_dirs"),
    ("[mcp]\ntoken = 'short'\n", "mcp.token"),
])
def test_bad_values_are_one_line_errors_naming_the_file(text: str, words: str) -> None:
    path = config(text)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "\n" not in message and str(path) in message and words in message
    assert "fix" in message or "move" in message


def test_a_folder_where_the_file_should_be() -> None:
    paths.config_file().mkdir()
    with pytest.raises(ConfigError, match="is a folder"):
        load_settings()


def test_unknown_keys_and_bad_env_values_warn_and_are_ignored(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    config("max_step = 3\n[planner]\nbackend = 'heuristic'\nbakend = 'x'\n[nonsense]\na = 1\n")
    monkeypatch.setenv("LENSMITH_PLANNER", "bogus")
    monkeypatch.setenv("LENSMITH_DEVICE", "gpu please")
    caplog.set_level(logging.WARNING)
    settings = load_settings()
    assert settings.planner.backend == "heuristic" and settings.device == "auto" and settings.max_steps == 8
    warned = " ".join(r.getMessage() for r in caplog.records)
    for key in ("max_step", "planner.bakend", "nonsense", "LENSMITH_PLANNER='bogus'", "LENSMITH_DEVICE"):
        assert key in warned, key


def test_good_env_values_still_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENSMITH_PLANNER", "heuristic")
    monkeypatch.setenv("LENSMITH_DEVICE", "cuda:1")
    settings = load_settings()
    assert settings.planner.backend == "heuristic" and settings.device == "cuda:1"


@pytest.mark.slow
def test_the_cli_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    path = config("max_steps = -1\n")
    env = {**os.environ, "COLUMNS": "60"}
    done = subprocess.run([str(LENSMITH), "ask", "hi"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and str(path) in lines[0] and "Traceback" not in done.stderr

    not_a_folder = tmp_path / "home-is-a-file"
    not_a_folder.write_text("")
    done = subprocess.run([str(LENSMITH), "ask", "hi"], env={**env, "LENSMITH_HOME": str(not_a_folder)},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert str(not_a_folder) in done.stderr and "LENSMITH_HOME" in done.stderr
