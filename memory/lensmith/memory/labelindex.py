"""Which ``image_texts`` entries carry a label (or text), kept in a small SQLite file beside
an embedded store, so that a filtered search does not ask Chroma to filter.

Chroma 1.5 answers a ``where`` by scanning its metadata table before the vector search:
at 100k entries that costs about as much as everything else in a search put together, and
more for a rare label than a common one. Given the allowed ids instead (``query(ids=…)``),
it skips that scan; a small allowed set is ranked here, exactly, from its vectors.

The file is written under the store's write lock with every change to ``image_texts``
(the store's ``put_images``/``forget_*``), and rebuilt from Chroma's metadata when its
entry count disagrees with the collection's (a store written by an older lensmith, or by
a process that died between the two writes).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

NAME = "labels.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (id TEXT PRIMARY KEY, key TEXT NOT NULL, has_text INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS entries_key ON entries (key);
CREATE TABLE IF NOT EXISTS labels (label TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (label, id)) WITHOUT ROWID;
"""


class LabelIndex:
    def __init__(self, folder: Path) -> None:
        self.path = folder / NAME
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                conn.executescript(_SCHEMA)
                with conn:
                    yield conn
            finally:
                conn.close()

    def count(self) -> int:
        with self._db() as db:
            return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def add(self, metas: Iterable[tuple[str, dict]]) -> None:
        """(entry id, its Chroma metadata) for entries just written."""
        rows = [(i, m.get("key", i.split("#")[0]), int(bool(m.get("has_text"))), list(m.get("labels") or []))
                for i, m in metas]
        with self._db() as db:
            self._delete(db, [r[0] for r in rows])
            db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", [r[:3] for r in rows])
            db.executemany("INSERT OR IGNORE INTO labels VALUES (?, ?)",
                           [(str(label), r[0]) for r in rows for label in r[3]])

    def remove(self, ids: Sequence[str]) -> None:
        with self._db() as db:
            self._delete(db, ids)

    def clear(self) -> None:
        with self._db() as db:
            db.execute("DELETE FROM labels")
            db.execute("DELETE FROM entries")

    @staticmethod
    def _delete(db: sqlite3.Connection, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            db.execute(f"DELETE FROM labels WHERE id IN ({marks})", chunk)  # noqa: S608 - placeholders only
            db.execute(f"DELETE FROM entries WHERE id IN ({marks})", chunk)  # noqa: S608

    def ids(self, labels: Sequence[str] = (), has_text: bool | None = None, *, aspect: str | None = None) -> list[str]:
        """Entry ids that carry every label (and text, or no text), in the order written."""
        clauses: list[str] = []
        params: list[str | int] = []
        for label in labels:
            clauses.append("id IN (SELECT id FROM labels WHERE label = ?)")
            params.append(label)
        if has_text is not None:
            clauses.append("has_text = ?")
            params.append(int(has_text))
        if aspect is not None:
            clauses.append("id LIKE ?")
            params.append(f"%#{aspect}")
        where = " AND ".join(clauses) or "1"
        with self._db() as db:
            return [row[0] for row in db.execute(f"SELECT id FROM entries WHERE {where} ORDER BY rowid", params)]  # noqa: S608
