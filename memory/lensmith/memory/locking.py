"""Serialise writers of one embedded Chroma store across processes.

What Chroma 1.5's embedded (Rust) backend guarantees, from its source
(``rust/log/src/sqlite_log.rs``, ``rust/log/src/local_compaction_manager.rs``,
``rust/segment/src/local_hnsw.rs``, ``rust/frontend/src/executor/local.rs``):

- The SQLite side is safe across processes: writes append to the ``embeddings_queue`` log
  in one transaction (WAL, ``busy_timeout`` 1000 s) and metadata is applied transactionally.
- The HNSW vector index is not. Each process keeps its own copy in memory, loaded from the
  segment folder once and caught up from the log once per collection ("backfill"). After
  every write the writing process applies the log to *its* copy, persists the index files
  in place every ``sync_threshold`` (1000) records, records that offset in ``max_seq_id``,
  and purges the log up to it. A second process with an older in-memory copy then misses
  the purged records for good, and when it persists it overwrites the other's files:
  vectors are lost (their metadata and documents stay, so the loss is silent). Even a
  reader writes: its first query backfills and may persist and purge.

So every write batch, and every (re)load of a client, runs under one file lock per store,
and a generation counter next to it tells a process that someone else wrote since it
loaded its copy, in which case it reopens the client before reading or writing.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from lensmith.runtime.errors import ToolError

LOCK_NAME = "write.lock"
GENERATION_NAME = "generation"


class StoreBusy(ToolError):
    """Another process held the store's write lock for longer than we would wait."""


class StoreLock:
    def __init__(self, folder: str | Path, *, timeout_s: float = 600.0) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.timeout_s = timeout_s
        self._lock = FileLock(str(self.folder / LOCK_NAME), timeout=timeout_s, thread_local=False)
        self._generation = self.folder / GENERATION_NAME

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        try:
            self._lock.acquire()
        except Timeout as exc:
            raise StoreBusy(
                f"The memory store at {self.folder} stayed locked by another lensmith process "
                f"for {self.timeout_s:.0f} s ({self._holder()}); try again when it has finished"
            ) from exc
        try:
            yield
        finally:
            self._lock.release()

    def generation(self) -> int:
        try:
            return int(self._generation.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def bump(self) -> int:
        """Record a finished write batch (call with the lock held); returns the new generation."""
        new = self.generation() + 1
        tmp = self._generation.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(f"{new} pid={os.getpid()} t={time.time():.3f}\n")
        os.replace(tmp, self._generation)
        return new

    def _holder(self) -> str:
        try:
            return "last writer: " + self._generation.read_text().strip()
        except OSError:
            return "holder unknown"
