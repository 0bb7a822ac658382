"""Which ``image_texts`` entries carry a label (or text), and their vectors, kept beside an
embedded store so that a filtered search does not ask Chroma to filter.

Chroma 1.5 answers a ``where`` by scanning its metadata table before the vector search (at
100k entries ~300 ms, more for a rare label than a common one); handed the allowed ids
instead (``query(ids=…)``) it runs a filtered HNSW search, which is slow for a small set
(a few hundred allowed ids: slower than the ``where``) and ``get(ids, embeddings)`` costs
~0.1 ms an id. So this index keeps, per entry, its labels and has-text flag (SQLite) and
its unit vector (a flat float32 file, one row per position): a filtered search either ranks
the matching rows here exactly, or post-filters an unfiltered Chroma query (see
``lensmith.memory.search``).

Both files are written under the store's write lock with every change to ``image_texts``
(the store's ``put_images``/``forget_*``); the store rebuilds them from Chroma when the entry
count disagrees with the collection's (a store written by an older lensmith, or by a
process that died between the two writes). Vectors are appended before the SQLite rows
that point at them commit, so a committed position always has its vector. A rewrite
(clearing, compacting) goes to a new vector file whose name SQLite records in the same
transaction, so a crash leaves SQLite pointing at a whole file.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

NAME = "labels.sqlite3"
VERSION = 2  # PRAGMA user_version; an index of another version is dropped (then rebuilt)
COMPACT_SLACK = 4096  # dead vector rows tolerated beyond the live count before compacting
MEMO_MAX = 64  # filters whose counts and positions are remembered between searches

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, has_text INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS entries_has_text ON entries (has_text);
CREATE TABLE IF NOT EXISTS labels (label TEXT NOT NULL, pos INTEGER NOT NULL, PRIMARY KEY (label, pos)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class LabelIndex:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / NAME
        self._lock = threading.RLock()
        self._mapped: tuple[str, int, np.ndarray] | None = None  # (file, size, rows): reused while unchanged
        self._memo: tuple[tuple, dict[tuple, object]] = ((), {})  # (file state, results): see _remembered

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = sqlite3.connect(self.path, timeout=30)
            try:
                if conn.execute("PRAGMA user_version").fetchone()[0] != VERSION:
                    # version 1 had no vectors: start empty, the store's count check rebuilds it
                    conn.executescript("DROP TABLE IF EXISTS labels; DROP TABLE IF EXISTS entries; "
                                       f"DROP TABLE IF EXISTS state; PRAGMA user_version = {VERSION};")
                conn.executescript(_SCHEMA)
                with conn:
                    # one transaction per use: a reader sees the vector file its positions point into
                    conn.execute("BEGIN")
                    yield conn
            finally:
                conn.close()

    # ---- state -----------------------------------------------------------------------
    @staticmethod
    def _state(db: sqlite3.Connection) -> tuple[str | None, int]:
        """(vector file name, dimension); (None, 0) before the first vector."""
        got = dict(db.execute("SELECT name, value FROM state").fetchall())
        return got.get("file"), int(got.get("dim", 0))

    def _file_rows(self, name: str | None, dim: int) -> int:
        if not name or not dim:
            return 0
        try:
            return (self.folder / name).stat().st_size // (4 * dim)
        except FileNotFoundError:
            return 0

    def count(self) -> int:
        with self._db() as db:
            return int(db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def in_step(self, expected: int) -> bool:
        """Holds ``expected`` entries, each with its vector on disk."""
        with self._db() as db:
            n, top = db.execute("SELECT count(*), max(pos) FROM entries").fetchone()
            name, dim = self._state(db)
            return n == expected and (top is None or top < self._file_rows(name, dim))

    # ---- writing (under the store's write lock) ----------------------------------------
    def add(self, metas: Iterable[tuple[str, dict]], vectors: np.ndarray) -> None:
        """(entry id, its Chroma metadata) for entries just written, with their vectors."""
        pairs = list(metas)
        if not pairs:
            return
        vecs = _unit(np.asarray(vectors, dtype=np.float32))
        if vecs.shape[0] != len(pairs):
            raise ValueError(f"{len(pairs)} entries but {vecs.shape[0]} vectors")
        with self._db() as db:
            self._delete(db, [i for i, _ in pairs])
            name, dim = self._state(db)
            if name is None or dim != vecs.shape[1]:
                name, dim = self._new_file(db, vecs.shape[1])
            path = self.folder / name
            with open(path, "ab") as fh:
                start = fh.seek(0, os.SEEK_END)
                if start % (4 * dim):  # a write cut short by a crash: overwrite its partial row
                    fh.truncate(start - start % (4 * dim))
                    start -= start % (4 * dim)
                first = start // (4 * dim)
                fh.write(vecs.tobytes())
            db.executemany("INSERT INTO entries VALUES (?, ?, ?)",
                           [(first + n, i, int(bool(m.get("has_text")))) for n, (i, m) in enumerate(pairs)])
            db.executemany("INSERT OR IGNORE INTO labels VALUES (?, ?)",
                           [(str(label), first + n) for n, (_, m) in enumerate(pairs) for label in m.get("labels") or []])
            live = int(db.execute("SELECT count(*) FROM entries").fetchone()[0])
            compacted = self._compact(db, name, dim) if first + len(pairs) > 2 * live + COMPACT_SLACK else None
            self._changed(db)
        if compacted:
            self._drop_files(keep=compacted)

    def remove(self, ids: Sequence[str]) -> None:
        with self._db() as db:
            self._delete(db, ids)
            self._changed(db)

    def clear(self) -> None:
        with self._db() as db:
            db.execute("DELETE FROM labels")
            db.execute("DELETE FROM entries")
            db.execute("DELETE FROM state")
            self._changed(db)
        self._drop_files(keep=None)

    @staticmethod
    def _changed(db: sqlite3.Connection) -> None:
        db.execute("INSERT OR REPLACE INTO state VALUES ('changes', ?)", (uuid.uuid4().hex,))

    @staticmethod
    def _delete(db: sqlite3.Connection, ids: Sequence[str]) -> None:
        gone = json.dumps(list(ids))
        db.execute("DELETE FROM labels WHERE pos IN (SELECT pos FROM entries WHERE id IN (SELECT value FROM json_each(?)))",
                   (gone,))
        db.execute("DELETE FROM entries WHERE id IN (SELECT value FROM json_each(?))", (gone,))

    def _new_file(self, db: sqlite3.Connection, dim: int) -> tuple[str, int]:
        name = f"labels.{uuid.uuid4().hex[:12]}.f32"
        (self.folder / name).touch()
        db.execute("INSERT OR REPLACE INTO state VALUES ('file', ?), ('dim', ?)", (name, str(dim)))
        return name, dim

    def _compact(self, db: sqlite3.Connection, name: str, dim: int) -> str:
        """Rewrite the vector file without the rows of replaced and forgotten entries; returns
        the new file's name (the old one is deleted once this transaction commits)."""
        live = np.array([r[0] for r in db.execute("SELECT pos FROM entries ORDER BY pos")], dtype=np.int64)
        rows = self._rows(name, dim)
        new, _ = self._new_file(db, dim)
        with open(self.folder / new, "wb") as fh:
            for start in range(0, len(live), 8192):
                fh.write(np.ascontiguousarray(rows[live[start:start + 8192]]).tobytes())
        db.execute("CREATE TEMP TABLE moved (old INTEGER PRIMARY KEY, new INTEGER NOT NULL)")
        db.executemany("INSERT INTO temp.moved VALUES (?, ?)", ((int(p), n) for n, p in enumerate(live)))
        db.execute("CREATE TEMP TABLE e2 AS SELECT m.new AS pos, e.id, e.has_text FROM entries e JOIN temp.moved m ON m.old = e.pos")
        db.execute("CREATE TEMP TABLE l2 AS SELECT l.label, m.new AS pos FROM labels l JOIN temp.moved m ON m.old = l.pos")
        db.execute("DELETE FROM labels")
        db.execute("DELETE FROM entries")
        db.execute("INSERT INTO entries SELECT pos, id, has_text FROM temp.e2")
        db.execute("INSERT INTO labels SELECT label, pos FROM temp.l2")
        db.execute("DROP TABLE temp.moved")
        db.execute("DROP TABLE temp.e2")
        db.execute("DROP TABLE temp.l2")
        return new

    def _drop_files(self, keep: str | None) -> None:
        for path in self.folder.glob("labels.*.f32"):
            if path.name != keep:
                with contextlib.suppress(OSError):
                    path.unlink()

    # ---- reading ---------------------------------------------------------------------
    def _rows(self, name: str, dim: int) -> np.ndarray:
        """The vector file as a (rows, dim) array, mapped once per file size."""
        path = self.folder / name
        size = path.stat().st_size
        if self._mapped is None or self._mapped[:2] != (name, size):
            rows = size // (4 * dim)
            if rows == 0:
                mapped = np.zeros((0, dim), dtype=np.float32)
            else:
                mapped = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, dim))
            self._mapped = (name, size, mapped)
        return self._mapped[2]

    @staticmethod
    def _where(labels: Sequence[str], has_text: bool | None, aspect: str | None = None) -> tuple[str, list]:
        clauses: list[str] = []
        params: list[str | int] = []
        for label in labels:
            clauses.append("pos IN (SELECT pos FROM labels WHERE label = ?)")
            params.append(label)
        if has_text is not None:
            clauses.append("has_text = ?")
            params.append(int(has_text))
        if aspect is not None:
            clauses.append("id LIKE ?")
            params.append(f"%#{aspect}")
        return " AND ".join(clauses) or "1", params

    def ids(self, labels: Sequence[str] = (), has_text: bool | None = None, *, aspect: str | None = None) -> list[str]:
        """Entry ids that carry every label (and text, or no text), in the order written."""
        where, params = self._where(labels, has_text, aspect)
        with self._db() as db:
            return [row[0] for row in db.execute(f"SELECT id FROM entries WHERE {where} ORDER BY pos", params)]  # noqa: S608 - placeholders only

    def share(self, labels: Sequence[str] = (), has_text: bool | None = None) -> tuple[int, float]:
        """(entries, estimated fraction passing the filter), from per-label and has-text counts
        taken as independent: exact for one condition, cheap (index counts) for any."""
        with self._db() as db:
            total = self._count(db, "SELECT count(*) FROM entries", ())
            if not total:
                return 0, 0.0
            share = 1.0
            for label in labels:
                share *= self._count(db, "SELECT count(*) FROM labels WHERE label = ?", (label,)) / total
            if has_text is not None:
                share *= self._count(db, "SELECT count(*) FROM entries WHERE has_text = ?", (int(has_text),)) / total
            return total, share

    def _count(self, db: sqlite3.Connection, sql: str, params: tuple) -> int:
        got = self._remembered(db, ("count", sql, *params), lambda: int(db.execute(sql, params).fetchone()[0]))
        assert isinstance(got, int)
        return got

    def _remembered(self, db: sqlite3.Connection, key: tuple, compute: Callable[[], object]) -> object:
        """A result remembered until the index changes (every write, by any process, stores a
        new random ``changes`` token): a search asks for the same counts and positions again
        and again, and at 100k reading a third of the entries' positions costs SQLite ~10 ms."""
        row = db.execute("SELECT value FROM state WHERE name = 'changes'").fetchone()
        state = (str(self.path), row[0] if row else "")
        if self._memo[0] != state or len(self._memo[1]) >= MEMO_MAX:
            self._memo = (state, {})
        if key not in self._memo[1]:
            self._memo[1][key] = compute()
        return self._memo[1][key]

    def passing(self, ids: Sequence[str], labels: Sequence[str] = (), has_text: bool | None = None) -> set[str]:
        """Which of ``ids`` pass the filter."""
        # driven from the candidates (CROSS JOIN fixes the order): left to itself SQLite
        # walked the has-text index, a third of the entries, ~45 ms at 100k under load
        clauses = ["EXISTS (SELECT 1 FROM labels l WHERE l.label = ? AND l.pos = e.pos)"] * len(labels)
        params: list[str | int] = [json.dumps(list(ids)), *labels]
        if has_text is not None:
            clauses.append("e.has_text = ?")
            params.append(int(has_text))
        sql = ("SELECT e.id FROM json_each(?) j CROSS JOIN entries e ON e.id = j.value"  # noqa: S608 - placeholders only
               + "".join(f" AND {c}" for c in clauses))
        with self._db() as db:
            return {row[0] for row in db.execute(sql, params)}

    @staticmethod
    def _positions(db: sqlite3.Connection, labels: Sequence[str], has_text: bool | None) -> np.ndarray:
        """Positions of the entries passing the filter. Each condition is read from its own
        index as one string (a row per position costs Python far more) and the conditions
        are intersected here, which at 100k beat SQLite's own join for label + has-text."""
        queries: list[tuple[str, tuple[str | int, ...]]] = [
            ("SELECT group_concat(pos) FROM labels WHERE label = ?", (label,)) for label in labels]
        if has_text is not None:
            queries.append(("SELECT group_concat(pos) FROM entries WHERE has_text = ?", (int(has_text),)))
        pos: np.ndarray | None = None
        for sql, params in queries or [("SELECT group_concat(pos) FROM entries", ())]:
            joined = db.execute(sql, params).fetchone()[0]
            got = np.fromstring(joined, dtype=np.int64, sep=",") if joined else np.zeros(0, dtype=np.int64)
            pos = got if pos is None else np.intersect1d(pos, got, assume_unique=True)
            if not len(pos):
                break
        assert pos is not None
        return pos

    def nearest(self, query: np.ndarray, k: int, labels: Sequence[str] = (),
                has_text: bool | None = None) -> tuple[list[str], list[float]]:
        """The ``k`` entries passing the filter that are nearest ``query``, ranked exactly by
        cosine similarity: (ids, cosine distances), best first (ties: the earlier written)."""
        with self._db() as db:
            name, dim = self._state(db)
            found = self._remembered(db, ("positions", tuple(labels), has_text),
                                     lambda: self._positions(db, labels, has_text))
            assert isinstance(found, np.ndarray)
            pos = found
            if not len(pos) or name is None:
                return [], []
            q = _unit(np.asarray(query, dtype=np.float32).reshape(1, -1))[0]
            # einsum, not BLAS: OpenBLAS's second thread spins after a product and slowed the
            # next query's embedding on two cores from ~16 to ~40 ms
            sims = np.einsum("ij,j->i", self._rows(name, dim)[pos], q)
            if k < len(pos):
                part = np.argpartition(-sims, k)[:k]
                top = part[np.lexsort((pos[part], -sims[part]))]
            else:
                top = np.lexsort((pos, -sims))
            chosen = [int(p) for p in pos[top]]
            got = dict(db.execute("SELECT pos, id FROM entries WHERE pos IN (SELECT value FROM json_each(?))",
                                  (json.dumps(chosen),)).fetchall())
        return [got[p] for p in chosen], [1.0 - float(s) for s in sims[top]]


def _unit(vecs: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (cosine is the collection's space); zero rows stay zero."""
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.maximum(norms, 1e-12)
