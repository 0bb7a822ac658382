"""What an embedded store can tell without opening Chroma, and writes that wait for it.

Opening the embedded store costs a second or more on a small CPU (importing chromadb,
loading MiniLM), and a one-shot ``lensmith ask`` would pay it twice: to recall from a
memory that may hold nothing, and to remember the turn afterwards. So:

- after every write batch the store saves how many entries each collection holds
  (``counts.json``, under the store's write lock), and a reader that finds no turns and
  no facts there knows, without opening anything, that there is nothing to recall;
- a finished turn, and what the tools saw in a photo from chat, are appended to a small
  journal (one JSON object per line) and written into Chroma by the next process that
  opens the collection anyway: a recall, a search, ``lensmith index`` or ``memory``.

Appends are serialised per journal with ``flock``; a flusher claims the whole journal by
renaming it, so two processes never write the same entries twice, and an appender that
opened the file just before the rename notices and appends to the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("lensmith.memory")

COUNTS_NAME = "counts.json"
MAX_JOURNAL_BYTES = 16 << 20  # beyond this, writes go straight to Chroma
STALE_CLAIM_S = 600.0  # a claimed journal this old belonged to a process that died mid-flush


def read_counts(folder: Path) -> dict[str, int] | None:
    """Entries per collection as of the last write, or None when unknown."""
    try:
        data = json.loads((folder / COUNTS_NAME).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int)}


def write_counts(folder: Path, counts: dict[str, int]) -> None:
    tmp = folder / f"{COUNTS_NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(counts, sort_keys=True))
    os.replace(tmp, folder / COUNTS_NAME)


class Journal:
    """Append-only JSON lines, taken whole by whoever flushes them."""

    def __init__(self, folder: Path, name: str) -> None:
        self.folder = folder
        self.name = name
        self.path = folder / f"pending-{name}.jsonl"

    def pending(self) -> bool:
        if _size(self.path) > 0:
            return True
        return any(self._claims(stale_only=True))

    def full(self) -> bool:
        return _size(self.path) >= MAX_JOURNAL_BYTES

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        while True:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
                except FileNotFoundError:
                    same = False
                if same:  # not claimed by a flusher while we waited for the lock
                    os.write(fd, line)
                    return
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def take(self) -> Iterator[list[dict[str, Any]]]:
        """The pending records; they are dropped when the block ends without an error
        (a failure leaves them claimed, and a later flush retries them)."""
        claimed = []
        if _size(self.path) > 0:
            fd = os.open(self.path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                target = self.folder / f"claimed-{self.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.jsonl"
                with contextlib.suppress(FileNotFoundError):
                    os.rename(self.path, target)
                    claimed.append(target)
            finally:
                os.close(fd)
        claimed.extend(self._claims(stale_only=True))
        records: list[dict[str, Any]] = []
        for path in claimed:
            records.extend(_read_lines(path))
        yield records
        for path in claimed:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def discard(self) -> None:
        for path in [self.path, *self._claims(stale_only=False)]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _claims(self, *, stale_only: bool) -> list[Path]:
        out = []
        now = time.time()
        for path in self.folder.glob(f"claimed-{self.name}.*.jsonl"):
            try:
                old = now - path.stat().st_mtime > STALE_CLAIM_S
            except FileNotFoundError:
                continue
            if old or not stale_only:
                out.append(path)
        return out


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read_lines(path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return out
    for line in raw.splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # a line cut by a crash mid-append
            log.warning("skipping a damaged line in %s", path)
            continue
        if isinstance(record, dict):
            out.append(record)
    return out
