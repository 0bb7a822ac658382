"""Where user data lives: everything under ``$LENSMITH_HOME``, defaulting to the
platform's user data dir. Nothing is written to the repo or the current directory."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def home() -> Path:
    value = os.environ.get("LENSMITH_HOME")
    path = Path(value).expanduser() if value else Path(platformdirs.user_data_dir("lensmith"))
    try:
        path.mkdir(parents=True, exist_ok=True)
        usable = path.is_dir() and os.access(path, os.W_OK | os.X_OK)
        reason = "not a writable folder"
    except OSError as exc:
        usable, reason = False, exc.strerror or str(exc)
    if not usable:
        # imported here: the errors module brings in LangChain, which reading a path must not
        from lensmith.runtime.errors import SetupError

        raise SetupError(
            f"lensmith's data folder {path} is unusable ({reason}): make it writable, or set "
            "LENSMITH_HOME to a folder you own"
        )
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


def cache_dir() -> Path:
    """Derived files that can be rebuilt from their sources at any time (converted models,
    precomputed embeddings): deleting the folder costs only time.

    ``$LENSMITH_CACHE_DIR``, else the platform's user cache dir (``~/.cache/lensmith``), not
    ``$LENSMITH_HOME``: what is derived from the weights is the same for every home on the
    machine, so a new or emptied home should not pay for converting a model again.
    """
    value = os.environ.get("LENSMITH_CACHE_DIR")
    path = Path(value).expanduser() if value else Path(platformdirs.user_cache_dir("lensmith"))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from lensmith.runtime.errors import SetupError

        raise SetupError(
            f"lensmith's cache folder {path} is unusable ({exc.strerror or exc}): make it writable, or set "
            "LENSMITH_CACHE_DIR to a folder you own"
        ) from exc
    return path


def evals_dir() -> Path:
    path = home() / "evals"
    path.mkdir(parents=True, exist_ok=True)
    return path
