"""The databases under ``$LENSMITH_HOME`` (the checkpoints, the Chroma memory) checked
before use. A damaged one is moved aside, never silently replaced or deleted, and the
caller gets one line telling the user where it went, so the next turn (and every new
session) starts on a fresh database while the old one stays for recovery."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

_checked: set[tuple[str, int, int]] = set()  # (path, size, mtime) already found sound
_lock = threading.Lock()


def sqlite_problem(path: Path) -> str | None:
    """Why the SQLite file at ``path`` is unusable, or None when it is sound (or absent)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    key = (str(path), info.st_size, info.st_mtime_ns)
    with _lock:
        if key in _checked:
            return None
    if not path.is_file():
        return "not a file"
    if info.st_size == 0:
        return "empty: cut short when it was written"  # SQLite would take it as a new database
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return None  # in use by another process, not damaged
        return str(exc)
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if rows != [("ok",)]:
        return "; ".join(str(r[0]) for r in rows[:3])
    with _lock:
        _checked.add(key)
    return None


def move_aside(path: Path) -> Path:
    """Rename ``path`` (a file or folder, with SQLite's -wal/-shm/-journal companions) to
    ``<name>.corrupt-<time>``; returns the new path."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.rename(target)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.rename(target.with_name(target.name + suffix))
    return target


def ensure_sound(path: Path, what: str, *, move: Path | None = None) -> str | None:
    """Check the SQLite file ``path``; when damaged, move ``move`` (default: ``path``)
    aside and return the one-line notice for the user (None when all is well)."""
    problem = sqlite_problem(path)
    if problem is None:
        return None
    moved = move_aside(move or path)
    notice = (f"The {what} at {path} is damaged ({problem}); it was moved to {moved} and a new one "
              "is started. Nothing was deleted: inspect or restore it from there.")
    log.warning(notice)
    return notice
