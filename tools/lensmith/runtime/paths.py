"""Where user data lives: everything under ``$LENSMITH_HOME``, defaulting to the
platform's user data dir. Nothing is written to the repo or the current directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def home() -> Path:
    value = os.environ.get("LENSMITH_HOME")
    path = Path(value).expanduser() if value else Path(platformdirs.user_data_dir("lensmith"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_file() -> Path:
    return home() / "config.toml"


def sessions_dir() -> Path:
    path = home() / "sessions"
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoints_db() -> Path:
    return home() / "checkpoints.sqlite"


def memory_dir() -> Path:
    path = home() / "memory"
    path.mkdir(parents=True, exist_ok=True)
    return path


def evals_dir() -> Path:
    path = home() / "evals"
    path.mkdir(parents=True, exist_ok=True)
    return path
