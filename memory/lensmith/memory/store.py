"""lensmith's memory: one Chroma database with four collections.

- ``turns``: each question and final answer (session id, time, image ids and paths);
- ``facts``: short statements the agent chose to remember, with their evidence;
- ``image_texts``: what the tools saw in each image, one entry per aspect (``labels``,
  ``text``, ``caption``), embedded with MiniLM so text search works with no CLIP at all;
- ``images``: CLIP image embeddings, only when a CLIP is found.

Every image entry carries the same metadata (path, size, content hash, time indexed,
labels, has_text, ...), so filters work without a vector query. Embedded
(``PersistentClient`` under ``$LENSMITH_HOME/memory``) by default; ``HttpClient`` when a
Chroma server is configured. Embedded writers are serialised across processes (see
:mod:`memory.locking`).
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from lensmith.memory.deferred import Journal, read_counts, write_counts
from lensmith.memory.labelindex import LabelIndex
from lensmith.memory.locking import StoreLock
from lensmith.memory.minilm import MINILM  # noqa: F401 - registers the model for `lensmith models`
from lensmith.runtime.artifacts import Artifact, DetectArtifact, OcrArtifact, parse_artifact
from lensmith.runtime.databases import ensure_sound
from lensmith.runtime.errors import ToolError
from lensmith.tools.clip import ClipModel

if TYPE_CHECKING:  # chromadb (imported by the adapters) costs a second: loaded on first use
    from lensmith.memory.embeddings import MiniLMEmbedding

log = logging.getLogger("lensmith.memory")

TURNS, FACTS, IMAGE_TEXTS, IMAGES = "turns", "facts", "image_texts", "images"
ASPECTS = ("labels", "text", "caption")
TEXT_MIN_SCORE = 0.5  # OCR spans below this confidence do not count as "has text"
GET_PAGE = 5000


class MemoryUnavailable(ToolError):
    """The memory store cannot be opened or used (server unreachable, bad path, ...)."""


def _settings() -> Any:
    from chromadb.config import Settings

    # registers lensmith's embedding functions, which Chroma rebuilds when it reopens a collection
    import lensmith.memory.embeddings  # noqa: F401

    return Settings(anonymized_telemetry=False, allow_reset=False)


def image_key(path: str | Path) -> str:
    """Stable id of an indexed file: its absolute path, hashed."""
    resolved = str(Path(path).expanduser().resolve())
    return "file:" + hashlib.sha1(resolved.encode()).hexdigest()[:20]


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------
# What the tools saw in an image, and how it reads as documents
# ---------------------------------------------------------------------------------------


@dataclass
class Seen:
    """The evidence about one image that memory keeps."""

    label_counts: dict[str, int] = field(default_factory=dict)
    text: str = ""
    caption: str = ""
    analysed: bool = False  # detect/read_text ran on it
    ocr_note: str = ""  # why OCR did not run, when a text check skipped it (see textcheck.py)

    @classmethod
    def from_artifacts(cls, artifacts: Sequence[Artifact], caption: str | None = None) -> Seen:
        seen = cls(caption=(caption or "").strip())
        lines: list[str] = []
        for artifact in artifacts:
            if isinstance(artifact, DetectArtifact):
                # only a look for every class is a full look: a chat's "is there a printer?" (a
                # class-filtered detect) must not stand in for the photo's index entry
                if getattr(artifact, "all_classes", not artifact.queried and not artifact.not_detectable):
                    seen.analysed = True
                for label, n in artifact.counts().items():
                    seen.label_counts[label] = max(seen.label_counts.get(label, 0), n)
            elif isinstance(artifact, OcrArtifact):
                spans = [s.text.strip() for s in artifact.spans if s.score >= TEXT_MIN_SCORE and len(s.text.strip()) >= 2]
                if artifact.spans:
                    lines.extend(spans)
                elif artifact.full_text.strip():
                    lines.append(artifact.full_text.strip())
        seen.text = " ".join(lines).strip()
        return seen

    def labels_line(self) -> str:
        return ", ".join(f"{label} ×{n}" for label, n in sorted(self.label_counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def documents(self) -> dict[str, str]:
        """Aspect → document to embed. Labels always gets one, so every image has an entry."""
        docs: dict[str, str] = {}
        if self.label_counts:
            things = ", ".join(f"{n} {label}" for label, n in sorted(self.label_counts.items()))
            docs["labels"] = f"A photo containing {things}."
        else:
            docs["labels"] = "No objects detected." if self.analysed else "Not analysed."
        if self.text:
            docs["text"] = f"Text in the photo: {self.text[:2000]}"
        if self.caption:
            docs["caption"] = self.caption
        return docs


@dataclass
class ImageRecord:
    path: str
    size_bytes: int
    mtime_ns: int
    sha256: str
    width: int = 0
    height: int = 0
    root: str = ""  # the folder it was indexed from ("" for images seen in chat)
    source: str = "index"  # "index" | "chat"

    @property
    def key(self) -> str:
        return image_key(self.path)

    def metadata(self, seen: Seen, *, indexed_at: float) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "key": self.key,
            "path": self.path,
            "name": Path(self.path).name,
            "size_bytes": int(self.size_bytes),
            "mtime_ns": int(self.mtime_ns),
            "sha256": self.sha256,
            "image_id": "img:" + self.sha256[:8],
            "width": int(self.width),
            "height": int(self.height),
            "root": self.root,
            "source": self.source,
            "indexed_at": float(indexed_at),
            "has_text": bool(seen.text),
            "analysed": bool(seen.analysed),
            "label_counts": json.dumps(seen.label_counts, sort_keys=True),
            "text": seen.text[:500],
            "caption": seen.caption[:500],
        }
        if seen.ocr_note:
            meta["ocr"] = seen.ocr_note
        if seen.label_counts:  # Chroma rejects empty lists; a missing key never matches $contains
            meta["labels"] = sorted(seen.label_counts)
        return meta


# ---------------------------------------------------------------------------------------
# Clients: embedded (locked, reopened when another process wrote), server, ephemeral
# ---------------------------------------------------------------------------------------


class _Backend:
    kind = "ephemeral"
    location = "in memory"

    def client(self) -> Any:
        raise NotImplementedError

    @contextlib.contextmanager
    def writing(self) -> Iterator[Any]:
        with self._mutex:
            yield self.client()

    def close(self) -> None:
        pass

    _mutex: threading.RLock


class _Ephemeral(_Backend):
    def __init__(self) -> None:
        import chromadb

        self._mutex = threading.RLock()
        self._client = chromadb.EphemeralClient(settings=_settings())

    def client(self) -> Any:
        return self._client


class _Http(_Backend):
    kind = "server"

    def __init__(self, url: str) -> None:
        import chromadb

        self._mutex = threading.RLock()
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if not parsed.hostname:
            raise MemoryUnavailable(f"Not a Chroma server URL: {url!r} (expected e.g. http://localhost:8000)")
        self.location = url
        port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        try:
            self._client = chromadb.HttpClient(
                host=parsed.hostname, port=port, ssl=parsed.scheme == "https", settings=_settings()
            )
            self._client.heartbeat()
        except Exception as exc:  # noqa: BLE001 - connection errors come in many types
            raise MemoryUnavailable(
                f"Chroma server unreachable at {url}: {type(exc).__name__}: {str(exc)[:200]}. "
                "Start one with `chroma run --path DIR --port PORT`, or remove memory.chroma_url "
                "from the config to use the embedded store"
            ) from exc

    def client(self) -> Any:
        return self._client


class _Persistent(_Backend):
    kind = "embedded"

    def __init__(self, path: Path) -> None:
        if path.exists() and not path.is_dir():
            raise MemoryUnavailable(f"Memory path {path} exists and is not a folder")
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.location = str(path)
        self.lock = StoreLock(path)
        self._mutex = threading.RLock()
        self._client: Any = None
        self._seen = -1
        self.reopened = 0  # how often another process's writes made us reload (tests read it)

    def _reopen(self) -> None:
        import chromadb

        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self.reopened += 1
        self._client = chromadb.PersistentClient(path=str(self.path), settings=_settings())
        # A first touch backfills from the log and may persist/purge: do it now, locked.
        for col in self._client.list_collections():
            self._client.get_collection(col.name, embedding_function=None).count()

    def client(self) -> Any:
        with self._mutex:
            if self._client is None or self.lock.generation() != self._seen:
                with self.lock.held():
                    self._reopen()
                    self._seen = self.lock.generation()
            return self._client

    @contextlib.contextmanager
    def writing(self) -> Iterator[Any]:
        with self._mutex, self.lock.held():
            if self._client is None or self.lock.generation() != self._seen:
                self._reopen()
            try:
                yield self._client
            finally:
                self._seen = self.lock.bump()
                self._save_counts()

    def _save_counts(self) -> None:
        try:
            counts = {c.name: self._client.get_collection(c.name, embedding_function=None).count()
                      for c in self._client.list_collections()}
            write_counts(self.path, counts)
        except Exception as exc:  # noqa: BLE001 - a missing count only costs a later open
            log.debug("could not save the collection counts: %s", exc)
            (self.path / "counts.json").unlink(missing_ok=True)

    def saved_counts(self) -> dict[str, int] | None:
        """Entries per collection after the last write, without opening Chroma (None: unknown)."""
        counts = read_counts(self.path)
        if counts is None and not (self.path / "chroma.sqlite3").exists():
            return {}  # never written: empty
        return counts

    def close(self) -> None:
        with self._mutex:
            if self._client is not None:
                with contextlib.suppress(Exception):
                    self._client.close()
                self._client = None


_backends: dict[str, _Persistent] = {}
_backends_lock = threading.Lock()


def _persistent(path: Path) -> _Persistent:
    # One client per folder per process: Chroma shares a system per path anyway, and
    # reopening must drop every handle on it.
    key = str(path.expanduser().resolve())
    with _backends_lock:
        if key not in _backends:
            # a damaged database is moved aside (never replaced in place) and the user told
            if ensure_sound(Path(key) / "chroma.sqlite3", "memory database", move=Path(key)):
                Path(key).mkdir(parents=True, exist_ok=True)
            _backends[key] = _Persistent(Path(key))
        return _backends[key]


def filter_labels(labels: Sequence[str] | None) -> list[str]:
    """A label filter as entries store their labels: trimmed, lower case, blanks dropped."""
    return [label.strip().lower() for label in labels or [] if label.strip()]


@atexit.register
def close_all() -> None:
    """Close every embedded store this process opened. Chroma's Rust side writes its
    segments out when its bindings are dropped; the CLI ends with ``os._exit`` after the
    exit handlers (skipping seconds of interpreter teardown), so this must not wait for
    garbage collection."""
    with _backends_lock:
        backends = list(_backends.values())
    for backend in backends:
        backend.close()


# ---------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------


class MemoryStore:
    def __init__(self, backend: _Backend, *, prefix: str = "") -> None:
        self.backend = backend
        self.prefix = prefix
        self._text_ef: MiniLMEmbedding | None = None
        self._clip: ClipModel | None = None
        self._clip_checked = False
        # embedded stores defer a turn's writes to whoever opens Chroma next (see deferred.py)
        self._journals: dict[str, Journal] = {}
        # and keep which entries carry which label beside Chroma, for fast filtered search
        self.label_index: LabelIndex | None = None
        if isinstance(backend, _Persistent) and not prefix:
            self._journals = {TURNS: Journal(backend.path, TURNS), IMAGE_TEXTS: Journal(backend.path, "images")}
            self.label_index = LabelIndex(backend.path)
        self._label_index_seen: tuple | None = None  # see synced_label_index
        self._flushing = threading.local()

    # ---- description -----------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.backend.kind

    @property
    def location(self) -> str:
        return self.backend.location

    def __repr__(self) -> str:
        return f"MemoryStore({self.kind}: {self.location})"

    @property
    def text_ef(self) -> MiniLMEmbedding:
        if self._text_ef is None:
            from lensmith.memory.embeddings import MiniLMEmbedding

            self._text_ef = MiniLMEmbedding()
        return self._text_ef

    # ---- CLIP ------------------------------------------------------------------------
    def set_clip(self, clip: ClipModel | None) -> None:
        """Use this CLIP for the images collection (None: none, text search only)."""
        self._clip, self._clip_checked = clip, True

    def clip(self) -> ClipModel | None:
        if not self._clip_checked:
            from lensmith.tools.clip import find_clip

            self._clip, self._clip_checked = find_clip(), True
        return self._clip

    # ---- collections -----------------------------------------------------------------
    def _name(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def _collection(self, client: Any, name: str, *, create: bool = True, clip: ClipModel | None = None) -> Any:
        from lensmith.memory.embeddings import ClipEmbedding

        if name == IMAGES:
            ef: Any = ClipEmbedding(clip)
            meta = {"clip_model": clip.name, "dim": clip.dim} if clip is not None else None
        else:
            ef, meta = self.text_ef, None
        full = self._name(name)
        if create:
            return client.get_or_create_collection(
                full, embedding_function=ef, metadata=meta, configuration={"hnsw": {"space": "cosine"}}
            )
        return client.get_collection(full, embedding_function=ef)

    def may_hold(self, *names: str) -> bool:
        """False only when these collections are known to be empty, which an embedded store
        tells without importing Chroma or loading MiniLM (a cold ``ask`` on an empty memory)."""
        if not isinstance(self.backend, _Persistent):
            return True
        if any(self._journals[n].pending() for n in names if n in self._journals):
            return True
        counts = self.backend.saved_counts()
        return counts is None or any(counts.get(self._name(n), 0) > 0 for n in names)

    def flush_pending(self, *names: str) -> None:
        """Write the deferred turns (TURNS) and chat photos (IMAGE_TEXTS) into Chroma."""
        if getattr(self._flushing, "on", False):
            return
        self._flushing.on = True
        try:
            for name in names or tuple(self._journals):
                journal = self._journals.get(name)
                if journal is None or not journal.pending():
                    continue
                with journal.take() as records:
                    if name == TURNS:
                        self._write_turns(records)
                    else:
                        for r in records:
                            self._note_image_now(r["path"], [a for a in map(parse_artifact, r["artifacts"]) if a],
                                                 caption=r.get("caption"), sha256=r.get("sha256"))
        finally:
            self._flushing.on = False

    def collection(self, name: str, *, clip: ClipModel | None = None) -> Any | None:
        """A collection for reading, or None when nothing was ever written to it."""
        self.flush_pending(TURNS if name in (TURNS, FACTS) else IMAGE_TEXTS)
        client = self.backend.client()
        if self._name(name) not in {c.name for c in client.list_collections()}:
            return None
        return self._collection(client, name, create=False, clip=clip)

    def counts(self) -> dict[str, int]:
        out = {}
        for name in (TURNS, FACTS, IMAGE_TEXTS, IMAGES):
            col = self.collection(name)
            out[name] = col.count() if col is not None else 0
        return out

    def images_clip_model(self) -> str | None:
        col = self.collection(IMAGES)
        return (col.metadata or {}).get("clip_model") if col is not None else None

    # ---- turns and facts -------------------------------------------------------------
    def add_turn(
        self, *, session_id: str, turn_id: str, question: str, answer: str,
        image_ids: list[str], image_paths: list[str], origin: str | None = None, from_memory: bool = False,
    ) -> None:
        """``from_memory``: the answer came from recalled items, not from tools; such a turn is
        never recalled itself, so recollections do not nest."""
        doc = f"Q: {question.strip()}\nA: {answer.strip()}"
        meta: dict[str, Any] = {"session_id": session_id, "turn_id": turn_id, "time": time.time(),
                                "question": question[:1000], "origin": origin or current_origin(),
                                "from_memory": bool(from_memory)}
        if image_ids:
            meta["image_ids"] = list(image_ids)
        if image_paths:
            meta["image_paths"] = [str(p) for p in image_paths]
        record = {"id": f"{session_id}/{turn_id}", "doc": doc, "meta": meta}
        journal = self._journals.get(TURNS)
        if journal is not None and not journal.full():
            journal.append(record)
        else:
            self._write_turns([record])

    def _write_turns(self, records: Sequence[dict]) -> None:
        if not records:
            return
        latest = {r["id"]: r for r in records}  # a turn journaled twice: the last one wins
        vecs = self.text_ef.embed([r["doc"] for r in latest.values()])
        with self.backend.writing() as client:
            self._collection(client, TURNS).upsert(
                ids=list(latest), documents=[r["doc"] for r in latest.values()],
                metadatas=[r["meta"] for r in latest.values()], embeddings=vecs,
            )

    def add_fact(self, fact: str, *, evidence: list[str], session_id: str | None) -> str:
        fact = fact.strip()
        if not fact:
            raise ToolError("A fact to remember cannot be empty")
        fact_id = "fact:" + uuid.uuid4().hex[:12]
        meta: dict[str, Any] = {"session_id": session_id or "", "time": time.time(), "origin": current_origin()}
        if evidence:
            meta["evidence"] = [str(e) for e in evidence]
        vec = self.text_ef.embed([fact])
        with self.backend.writing() as client:
            self._collection(client, FACTS).add(ids=[fact_id], documents=[fact], metadatas=[meta], embeddings=vec)
        return fact_id

    def recall(
        self, query: str, *, k: int = 3, session_id: str | None = None, min_score: float = 0.25
    ) -> list[dict]:
        """Past turns (from other sessions) and facts relevant to ``query``: at most k of each."""
        if not query.strip() or k <= 0 or not self.may_hold(TURNS, FACTS):
            return []
        qvec = self.text_ef.embed([query])
        out: list[dict] = []
        with self.backend._mutex:
            turns = self.collection(TURNS)
            if turns is not None and turns.count():
                where = {"session_id": {"$ne": session_id}} if session_id else None
                res = turns.query(query_embeddings=qvec, n_results=min(2 * k, turns.count()), where=where,
                                  include=["documents", "metadatas", "distances"])
                kept = 0
                for doc, meta, dist in zip(res["documents"][0], res["metadatas"][0], res["distances"][0], strict=True):
                    score = 1.0 - float(dist)
                    if meta.get("from_memory") or kept >= k:
                        continue  # a turn answered from memory is never recalled: no nesting
                    if score >= min_score:
                        kept += 1
                        out.append({"kind": "turn", "text": doc, "score": round(score, 4),
                                    "source": f"turn:{meta['session_id']}/{meta['turn_id']}{_via(meta)}"})
            facts = self.collection(FACTS)
            if facts is not None and facts.count():
                res = facts.query(query_embeddings=qvec, n_results=min(k, facts.count()),
                                  include=["documents", "metadatas", "distances"])
                for fid, doc, meta, dist in zip(res["ids"][0], res["documents"][0], res["metadatas"][0],
                                                res["distances"][0], strict=True):
                    score = 1.0 - float(dist)
                    if score >= min_score:
                        evidence = ", ".join(meta.get("evidence") or [])
                        source = fid + _via(meta) + (f" (evidence: {evidence})" if evidence else "")
                        out.append({"kind": "fact", "text": doc, "score": round(score, 4), "source": source})
        return sorted(out, key=lambda r: -r["score"])

    # ---- images ----------------------------------------------------------------------
    def note_image(self, path: str, artifacts: list[Artifact], *, caption: str | None = None) -> None:
        """Make an image seen in chat searchable from what the tools saw in it."""
        p = Path(path)
        if not p.is_file():
            log.info("not noting %s: no such file", path)
            return
        journal = self._journals.get(IMAGE_TEXTS)
        if journal is not None and not journal.full():
            journal.append({"path": str(p.resolve()), "sha256": file_sha256(p), "caption": caption,
                            "artifacts": [a.model_dump(mode="json") for a in artifacts]})
            return
        self._note_image_now(path, artifacts, caption=caption)

    def _note_image_now(self, path: str, artifacts: list[Artifact], *, caption: str | None = None,
                        sha256: str | None = None) -> None:
        p = Path(path)
        if not p.is_file() or (sha256 is not None and file_sha256(p) != sha256):
            log.info("not noting %s: gone or changed since the tools looked at it", path)
            return
        from PIL import Image

        stat = p.stat()
        with Image.open(p) as im:
            width, height = im.size
        record = ImageRecord(path=str(p.resolve()), size_bytes=stat.st_size, mtime_ns=stat.st_mtime_ns,
                             sha256=file_sha256(p), width=width, height=height, source="chat")
        previous = self.image_entries([record.key])
        seen = Seen.from_artifacts(artifacts, caption)
        if previous:  # keep what earlier turns saw in it too
            old = previous[0]
            for label, n in json.loads(old.get("label_counts") or "{}").items():
                seen.label_counts.setdefault(label, n)
            if not seen.text and old.get("text"):
                seen.text = old["text"]
            if not seen.caption and old.get("caption"):
                seen.caption = old["caption"]
            seen.analysed = seen.analysed or bool(old.get("analysed"))
            record.root = old.get("root", "")
            record.source = old.get("source", "chat")
        self.put_images([(record, seen, None)])

    def put_images(self, items: Sequence[tuple[ImageRecord, Seen, np.ndarray | None]], *, clip: ClipModel | None = None) -> None:
        """Write (or replace) images: their aspect documents and, when given, CLIP vectors.

        The ``image_texts`` labels entry goes last: its presence marks an image as done, so an
        interrupted batch is redone on the next run.
        """
        if not items:
            return
        now = time.time()
        ids, docs, metas = [], [], []
        clip_ids, clip_vecs, clip_metas = [], [], []
        for record, seen, vec in items:
            meta = record.metadata(seen, indexed_at=now)
            for aspect, doc in seen.documents().items():
                ids.append(f"{record.key}#{aspect}")
                docs.append(doc)
                metas.append({**meta, "aspect": aspect, "searchable": not doc.startswith(("Not analysed", "No objects"))})
            if vec is not None:
                clip_ids.append(record.key)
                clip_vecs.append(np.asarray(vec, dtype=np.float32))
                clip_metas.append(meta)
        vecs = self.text_ef.embed(docs)
        keys = [record.key for record, _, _ in items]
        # labels entries last (see docstring)
        order = sorted(range(len(ids)), key=lambda i: metas[i]["aspect"] == "labels")
        with self.backend.writing() as client:
            texts = self._collection(client, IMAGE_TEXTS)
            stale = [f"{k}#{a}" for k in keys for a in ASPECTS]
            texts.delete(ids=stale)
            if self.label_index is not None:
                self.label_index.remove(stale)
            if clip_ids:
                images = self._images_for_write(client, clip)
                images.upsert(ids=clip_ids, embeddings=np.stack(clip_vecs), metadatas=clip_metas)
            self.add_texts(client, [ids[i] for i in order], [docs[i] for i in order], [metas[i] for i in order],
                           vecs[order])

    def add_texts(self, client: Any, ids: list[str], docs: list[str], metas: list[dict], vecs: np.ndarray) -> None:
        """Add ``image_texts`` entries with their vectors (call inside ``backend.writing()``)."""
        self._collection(client, IMAGE_TEXTS).add(ids=ids, documents=docs, metadatas=metas, embeddings=vecs)
        if self.label_index is not None:
            self.label_index.add(zip(ids, metas, strict=True), vecs)

    def filter_ids(self, labels: Sequence[str] | None = None, has_text: bool | None = None, *,
                   aspect: str | None = None) -> list[str] | None:
        """The ``image_texts`` ids that pass a label/has-text filter, from the label index;
        None when there is no filter or no label index (then Chroma filters)."""
        wanted = filter_labels(labels)
        if not wanted and has_text is None:
            return None
        index = self.synced_label_index()
        if index is None:
            return None
        return index.ids(wanted, has_text, aspect=aspect) if self.collection(IMAGE_TEXTS) is not None else []

    def synced_label_index(self) -> LabelIndex | None:
        """The label index (None: this store has none), first rebuilt from Chroma when out of
        step with ``image_texts``. Counting a 100k collection costs Chroma ~5 ms, so that is
        checked once per store generation (every write bumps it) and label-index file."""
        index, backend = self.label_index, self.backend
        if index is None or not isinstance(backend, _Persistent):
            return None

        def state() -> tuple | None:
            try:
                st = index.path.stat()
            except FileNotFoundError:
                return None
            return backend.lock.generation(), st.st_ino, st.st_size, st.st_mtime_ns

        seen = state()
        if seen is None or seen != self._label_index_seen:
            col = self.collection(IMAGE_TEXTS)
            if col is None:  # nothing written yet: nothing to be out of step with
                return index
            if not index.in_step(col.count()):
                self._rebuild_label_index(col)
            self._label_index_seen = state()
        return index

    def _rebuild_label_index(self, col: Any) -> None:
        assert self.label_index is not None
        log.info("rebuilding the label index from the store's metadata and vectors")
        with self.backend.writing():
            self.label_index.clear()
            offset = 0
            while True:
                res = col.get(include=["metadatas", "embeddings"], limit=GET_PAGE, offset=offset)
                if len(res["ids"]):
                    self.label_index.add(zip(res["ids"], res["metadatas"], strict=True), res["embeddings"])
                if len(res["ids"]) < GET_PAGE:
                    break
                offset += GET_PAGE

    def put_clip(self, metas: Sequence[dict], vectors: np.ndarray, *, clip: ClipModel | None = None) -> None:
        """Add CLIP vectors for images already in ``image_texts`` (CLIP found after indexing)."""
        if not len(metas):
            return
        clean = [{k: v for k, v in m.items() if k not in ("aspect", "searchable")} for m in metas]
        with self.backend.writing() as client:
            self._images_for_write(client, clip).upsert(
                ids=[m["key"] for m in clean], embeddings=np.asarray(vectors, dtype=np.float32), metadatas=clean
            )

    def refresh_file_stats(self, items: Sequence[tuple[str, dict]]) -> None:
        """Same bytes, new mtime (a copy, a touch): update the stored stats, keep the vectors."""
        updates: dict[str, int] = {}
        for path, meta in items:
            updates[meta["key"]] = Path(path).stat().st_mtime_ns
        with self.backend.writing() as client:
            texts = self._collection(client, IMAGE_TEXTS)
            found = texts.get(ids=[f"{k}#{a}" for k in updates for a in ASPECTS], include=[])["ids"]
            if found:
                texts.update(ids=found, metadatas=[{"mtime_ns": updates[i.split("#")[0]]} for i in found])

    def _images_for_write(self, client: Any, clip: ClipModel | None) -> Any:
        from lensmith.memory.embeddings import ClipEmbedding

        clip = clip or self.clip()
        if clip is None:
            raise ToolError("CLIP vectors given but no CLIP model is set")
        full = self._name(IMAGES)
        existing = {c.name for c in client.list_collections()}
        if full in existing:
            col = client.get_collection(full, embedding_function=ClipEmbedding(clip))
            if (col.metadata or {}).get("clip_model") != clip.name:
                log.warning("CLIP changed (%s → %s): dropping the old image embeddings",
                            (col.metadata or {}).get("clip_model"), clip.name)
                client.delete_collection(full)
        return self._collection(client, IMAGES, clip=clip)

    def image_entries(self, keys: Sequence[str] | None = None, *, where: dict | None = None,
                      limit: int | None = None) -> list[dict]:
        """One metadata dict per image (from its labels entry), optionally filtered."""
        col = self.collection(IMAGE_TEXTS)
        if col is None:
            return []
        clauses: list[dict] = [{"aspect": "labels"}]
        if where:
            clauses.append(where)
        full_where = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        if keys is not None:
            if not keys:
                return []
            res = col.get(ids=[f"{k}#labels" for k in keys], include=["metadatas"])
            return [m for m in res["metadatas"] if m]
        out: list[dict] = []
        offset = 0
        while True:
            page = GET_PAGE if limit is None else min(GET_PAGE, limit - len(out))
            if page <= 0:
                break
            res = col.get(where=full_where, include=["metadatas"], limit=page, offset=offset)
            out.extend(res["metadatas"])
            if len(res["ids"]) < page:
                break
            offset += page
        return out

    def clip_keys(self) -> set[str]:
        col = self.collection(IMAGES)
        if col is None:
            return set()
        keys: set[str] = set()
        offset = 0
        while True:
            res = col.get(include=[], limit=GET_PAGE, offset=offset)
            keys.update(res["ids"])
            if len(res["ids"]) < GET_PAGE:
                return keys
            offset += GET_PAGE

    # ---- forgetting ------------------------------------------------------------------
    def forget_images(self, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        self.flush_pending(IMAGE_TEXTS)
        with self.backend.writing() as client:
            names = {c.name for c in client.list_collections()}
            gone = [f"{k}#{a}" for k in keys for a in ASPECTS]
            if self._name(IMAGE_TEXTS) in names:
                self._collection(client, IMAGE_TEXTS).delete(ids=gone)
            if self.label_index is not None:
                self.label_index.remove(gone)
            if self._name(IMAGES) in names:
                from lensmith.memory.embeddings import ClipEmbedding

                client.get_collection(self._name(IMAGES), embedding_function=ClipEmbedding()).delete(ids=list(keys))
        return len(keys)

    def forget_image(self, path_or_key: str) -> int:
        """Forget one image (by path or key), or every image under a folder."""
        if path_or_key.startswith("file:"):
            keys = [path_or_key]
        else:
            target = Path(path_or_key).expanduser().resolve()
            keys = [image_key(target)] if self.image_entries([image_key(target)]) else []
            if not keys:
                prefix = str(target).rstrip("/") + "/"
                keys = [m["key"] for m in self.image_entries() if m["path"].startswith(prefix)]
        return self.forget_images(keys)

    def forget_session(self, session_id: str) -> int:
        removed = 0
        self.flush_pending(TURNS)
        with self.backend.writing() as client:
            names = {c.name for c in client.list_collections()}
            for name in (TURNS, FACTS):
                if self._name(name) in names:
                    col = self._collection(client, name)
                    ids = col.get(where={"session_id": session_id}, include=[])["ids"]
                    if ids:
                        col.delete(ids=ids)
                    removed += len(ids)
        return removed

    def forget_fact(self, fact_id: str) -> int:
        with self.backend.writing() as client:
            if self._name(FACTS) not in {c.name for c in client.list_collections()}:
                return 0
            col = self._collection(client, FACTS)
            found = col.get(ids=[fact_id], include=[])["ids"]
            if found:
                col.delete(ids=found)
            return len(found)

    def forget_all(self) -> dict[str, int]:
        """Delete every collection (documents, metadata and vectors), and what waits to be written."""
        for journal in self._journals.values():
            journal.discard()
        counts = self.counts()
        with self.backend.writing() as client:
            names = {c.name for c in client.list_collections()}
            for name in (TURNS, FACTS, IMAGE_TEXTS, IMAGES):
                if self._name(name) in names:
                    client.delete_collection(self._name(name))
            if self.label_index is not None:
                self.label_index.clear()
        return counts

    def sessions(self) -> list[tuple[str, int, float]]:
        """(session id, turns, last time) for every session with stored turns."""
        col = self.collection(TURNS)
        if col is None:
            return []
        stats: dict[str, list[float]] = {}
        for meta in col.get(include=["metadatas"])["metadatas"]:
            entry = stats.setdefault(meta["session_id"], [0, 0.0])
            entry[0] += 1
            entry[1] = max(entry[1], float(meta.get("time", 0.0)))
        return sorted(((s, int(n), t) for s, (n, t) in stats.items()), key=lambda x: -x[2])

    def facts(self, limit: int = 50) -> list[tuple[str, str, dict]]:
        col = self.collection(FACTS)
        if col is None:
            return []
        res = col.get(include=["documents", "metadatas"], limit=limit)
        rows = list(zip(res["ids"], res["documents"], res["metadatas"], strict=True))
        return sorted(rows, key=lambda r: -float(r[2].get("time", 0)))

    def close(self) -> None:
        self.backend.close()


# ---------------------------------------------------------------------------------------
# Opening, and the session's store
# ---------------------------------------------------------------------------------------


def open_memory(path: Path | str | None = None, url: str | None = None, *, ephemeral: bool = False) -> MemoryStore:
    """The embedded store at ``path`` (default ``$LENSMITH_HOME/memory``), a Chroma server at
    ``url``, or a throwaway in-memory one (``ephemeral``, isolated by a collection prefix)."""
    if url:
        return MemoryStore(_Http(url))
    if ephemeral:
        return MemoryStore(_Ephemeral(), prefix=f"t{uuid.uuid4().hex[:8]}_")
    if path is None:
        path = default_memory_dir()
    return MemoryStore(_persistent(Path(path)))


def default_memory_dir() -> Path:
    from lensmith.runtime.paths import memory_dir

    return memory_dir()


_current: contextvars.ContextVar[MemoryStore | None] = contextvars.ContextVar("lensmith_memory", default=None)
_current_session: contextvars.ContextVar[str | None] = contextvars.ContextVar("lensmith_memory_session", default=None)
# who writes: "CLI", "TUI", "MCP client <name>"; shown when an entry is recalled
_current_origin: contextvars.ContextVar[str] = contextvars.ContextVar("lensmith_memory_origin", default="")
_default: MemoryStore | None = None
_default_lock = threading.Lock()


def current_memory() -> MemoryStore:
    """The running session's store, or the default embedded one (opened on first use)."""
    store = _current.get()
    if store is not None:
        return store
    global _default
    with _default_lock:
        if _default is None or _default.location != str(default_memory_dir().resolve()):
            _default = open_memory()
        return _default


def current_session_id() -> str | None:
    return _current_session.get()


def current_origin() -> str:
    return _current_origin.get()


def _via(meta: dict) -> str:
    origin = meta.get("origin")
    return f" (from {origin})" if origin else ""


@contextlib.contextmanager
def use_memory(
    store: MemoryStore, *, session_id: str | None = None, origin: str | None = None
) -> Iterator[MemoryStore]:
    tokens = [(_current, _current.set(store)), (_current_session, _current_session.set(session_id))]
    if origin is not None:
        tokens.append((_current_origin, _current_origin.set(origin)))
    try:
        yield store
    finally:
        for var, token in reversed(tokens):
            try:
                var.reset(token)  # type: ignore[attr-defined]
            except ValueError:  # exited in another context (a cancelled task): nothing to undo there
                pass
