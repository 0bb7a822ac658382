"""``lensmith index``: keep the image index in step with photo folders.

Incremental by content hash: a file whose size and mtime are unchanged is skipped without
reading it; otherwise its SHA-256 decides whether it changed. Changed files are
re-indexed, deleted ones dropped. Each image gets detect + read_text (through the tool
registry, like the agent calls them), and its documents (MiniLM) and pixels (CLIP, when
found) are embedded a batch at a time; each batch is written in one locked write, so an
interrupted run keeps every finished batch and the next run resumes after it.

Throughput: OCR is most of an image's time (EasyOCR's text detector costs nearly as much on
a photo without text as on a page), so a cheap check (:mod:`lensmith.memory.textcheck`)
runs first and OCR is skipped where it finds nothing text-like; the entry records that
(``ocr: "OCR skipped: …"``). Two images are looked at concurrently, so detection and
decoding of one overlap OCR of the other (the models release the GIL; OCR's networks run
one OpenVINO stream per concurrent read, see :mod:`lensmith.tools.ocr`), and the next
batch is queued for the workers before a batch is embedded and written, so the writes
overlap looking too.
"""

from __future__ import annotations

import contextvars
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lensmith.memory.store import ImageRecord, MemoryStore, Seen, file_sha256, image_key
from lensmith.memory.textcheck import check_text
from lensmith.runtime.artifacts import Artifact
from lensmith.runtime.errors import ImageError
from lensmith.runtime.images import ImageStore, use_store
from lensmith.tools.clip import ClipModel

log = logging.getLogger("lensmith.memory.indexer")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
LOOK_TOOLS = ("detect", "read_text")
WORKERS = 2  # images looked at concurrently

ProgressFn = Callable[[int, int, str], None]  # (done, total, current path)


def scan(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """Image files under the given folders/files (sorted), and the folders scanned."""
    files: set[Path] = set()
    roots: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser().resolve()
        if not path.exists():
            raise FileNotFoundError(f"No such file or folder: {raw}")
        if path.is_file():
            files.add(path)
            continue
        roots.append(path)
        for item in path.rglob("*"):
            rel = item.relative_to(path).parts
            if any(part.startswith(".") for part in rel):
                continue
            if item.suffix.lower() in IMAGE_SUFFIXES and item.is_file():
                files.add(item)
    return sorted(files), roots


class ToolRunner:
    """Runs the look-tools (detect, read_text) on image files the way the agent loop does.

    The tools are handed in by whoever wires lensmith together (the CLI), so that the
    configured tools and devices are the ones used; memory never discovers tools itself.
    """

    def __init__(self, tools: Sequence[Any], *, text_check: bool = False) -> None:
        """``text_check``: run OCR (read_text) only where :func:`check_text` finds text-like shapes."""
        self._tools = list(tools)
        self.names = tuple(t.name for t in self._tools)
        self.text_check = text_check

    def tools(self) -> list[Any]:
        return self._tools

    def look_one(self, store: ImageStore, image_id: str) -> tuple[Seen, list[str]]:
        artifacts: list[Artifact] = []
        errors: list[str] = []
        ocr_note = ""
        for tool in self.tools():
            if tool.name == "read_text" and self.text_check:
                verdict = check_text(np.asarray(store.pil(image_id)))
                if not verdict.maybe:
                    ocr_note = verdict.note
                    continue
            message = tool.invoke({"type": "tool_call", "id": f"index-{tool.name}", "name": tool.name,
                                   "args": {"image": image_id}})
            if message.status == "error":
                errors.append(f"{tool.name}: {message.content}")
            elif isinstance(message.artifact, Artifact):
                artifacts.append(message.artifact)
        seen = Seen.from_artifacts(artifacts)
        seen.ocr_note = ocr_note
        return seen, errors

    def look(self, paths: Sequence[str]) -> list[Seen | None]:
        """What the tools see in each file (None for files that are not usable images)."""
        folder = tempfile.mkdtemp(prefix="lensmith-look-")
        try:
            store = ImageStore(folder)
            out: list[Seen | None] = []
            with use_store(store):
                for path in paths:
                    try:
                        out.append(self.look_one(store, store.add(path).id)[0])
                    except ImageError:
                        out.append(None)
            return out
        finally:
            shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Plan:
    files: list[Path]
    roots: list[Path]
    todo: list[tuple[Path, str]]  # (file, "new"|"changed")
    unchanged: int
    touched: list[tuple[Path, dict]]  # same content, new mtime: metadata refresh only
    deleted: list[str]  # keys
    needs_clip: list[dict]  # unchanged images without a CLIP vector (metadata)


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    clip_added: int = 0
    bad: list[tuple[str, str]] = field(default_factory=list)
    tool_errors: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0
    processed: int = 0
    tools: bool = True
    clip: str | None = None

    @property
    def rate(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0


class Indexer:
    def __init__(
        self, store: MemoryStore, *, tools: Sequence[Any] | None = None,
        clip: ClipModel | None | bool = True, batch_size: int = 8, ocr_all: bool = False,
    ) -> None:
        """``tools``: the look-tools to run on each new photo (detect, read_text), or None to
        index files without looking at them. ``ocr_all``: OCR every photo, not only those
        where the text check finds text-like shapes."""
        self.store = store
        self.use_tools = tools is not None
        self.runner = ToolRunner(tools, text_check=not ocr_all) if tools is not None else None
        self._clip_arg = clip
        self.batch_size = max(1, batch_size)

    def clip(self) -> ClipModel | None:
        if self._clip_arg is True:
            return self.store.clip()
        return self._clip_arg or None

    # ---- planning --------------------------------------------------------------------
    def plan(self, paths: Iterable[str | Path]) -> Plan:
        files, roots = scan(paths)
        known = {m["path"]: m for m in self.store.image_entries()}
        clip = self.clip()
        clip_keys = self.store.clip_keys() if clip is not None and self.store.images_clip_model() == clip.name else set()
        todo: list[tuple[Path, str]] = []
        touched: list[tuple[Path, dict]] = []
        needs_clip: list[dict] = []
        unchanged = 0
        for file in files:
            meta = known.get(str(file))
            if meta is None:
                todo.append((file, "new"))
                continue
            stat = file.stat()
            same = stat.st_size == meta.get("size_bytes") and stat.st_mtime_ns == meta.get("mtime_ns")
            if not same:
                try:
                    digest = file_sha256(file)
                except OSError:
                    todo.append((file, "changed"))
                    continue
                if digest != meta.get("sha256"):
                    todo.append((file, "changed"))
                    continue
                touched.append((file, meta))
            # an image first indexed without tools gets them once tools are on
            if self.use_tools and not meta.get("analysed"):
                todo.append((file, "changed"))
                continue
            unchanged += 1
            if clip is not None and meta["key"] not in clip_keys:
                needs_clip.append(meta)
        on_disk = {str(f) for f in files}
        prefixes = [str(r).rstrip("/") + "/" for r in roots]
        deleted = [m["key"] for p, m in known.items()
                   if p not in on_disk and any(p.startswith(pre) for pre in prefixes)]
        return Plan(files, roots, todo, unchanged, touched, deleted, needs_clip)

    # ---- running ---------------------------------------------------------------------
    def run(
        self, paths: Iterable[str | Path], *, cancel: threading.Event | None = None,
        on_progress: ProgressFn | None = None, plan: Plan | None = None,
    ) -> IndexReport:
        started = time.perf_counter()
        plan = plan or self.plan(paths)
        clip = self.clip()
        report = IndexReport(unchanged=plan.unchanged, tools=self.use_tools, clip=clip.name if clip else None)
        cancel = cancel or threading.Event()
        if plan.deleted:
            report.removed = self.store.forget_images(plan.deleted)
        if plan.touched:
            self.store.refresh_file_stats([(str(f), m) for f, m in plan.touched])
        total = len(plan.todo) + len(plan.needs_clip)
        done = 0
        if on_progress:
            on_progress(0, total, "")
        root_of = _root_finder(plan.roots)
        batches = [plan.todo[i:i + self.batch_size] for i in range(0, len(plan.todo), self.batch_size)]
        queued: list[_Batch] = []
        pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="lensmith-index")
        try:
            # the next batch's photos are queued before this batch is embedded and written, so
            # the workers never wait for the store (nor idle beside this batch's slowest photo)
            for i, batch in enumerate(batches):
                if cancel.is_set():
                    break
                if i == 0:
                    queued.append(self._start(batch, pool, root_of, report, cancel))
                if i + 1 < len(batches):
                    queued.append(self._start(batches[i + 1], pool, root_of, report, cancel))
                items, kinds = self._finish(queued[i], clip, report, on_progress, done, total)
                done += len(batch)
                self.store.put_images(items, clip=clip)
                queued[i].close()
                report.processed += len(items)
                report.added += sum(1 for k in kinds if k == "new")
                report.updated += sum(1 for k in kinds if k == "changed")
        finally:
            # looks not begun are dropped (an interrupted run resumes with them); the folders
            # go once no worker reads from them
            pool.shutdown(wait=True, cancel_futures=True)
            for queued_batch in queued:
                queued_batch.close()
        if clip is not None:
            for start in range(0, len(plan.needs_clip), self.batch_size):
                if cancel.is_set():
                    break
                metas = plan.needs_clip[start:start + self.batch_size]
                vecs, ok = self._clip_vectors([m["path"] for m in metas], clip, report)
                self.store.put_clip([m for m, good in zip(metas, ok, strict=True) if good], vecs, clip=clip)
                report.clip_added += len(vecs)
                done += len(metas)
                if on_progress:
                    on_progress(done, total, metas[-1]["path"])
        report.interrupted = cancel.is_set()
        report.seconds = time.perf_counter() - started
        return report

    def _start(self, batch: list[tuple[Path, str]], pool: ThreadPoolExecutor, root_of: Callable[[Path], str],
               report: IndexReport, cancel: threading.Event) -> _Batch:
        """Read ``batch``'s files into a store of its own and queue their looks on ``pool``."""
        started = _Batch(tempfile.mkdtemp(prefix="lensmith-index-"))
        for file, kind in batch:
            try:
                stat = file.stat()
                stored = started.store.add(file)
                digest = file_sha256(file)
            except (ImageError, OSError) as exc:
                report.bad.append((str(file), str(exc).replace(f": {file}", "")))
                continue
            record = ImageRecord(
                path=str(file), size_bytes=stat.st_size, mtime_ns=stat.st_mtime_ns, sha256=digest,
                width=stored.original_width, height=stored.original_height, root=root_of(file),
            )
            look = None
            if self.runner is not None:
                # in this thread's context (the worker sets the batch's image store itself)
                look = pool.submit(contextvars.copy_context().run, self._look, started.store, stored.id, cancel)
            started.loaded.append((file, kind, stored, record, look))
        return started

    def _finish(self, started: _Batch, clip: ClipModel | None, report: IndexReport,
                on_progress: ProgressFn | None, done: int, total: int,
                ) -> tuple[list[tuple[ImageRecord, Seen, np.ndarray | None]], list[str]]:
        """Wait for ``started``'s looks; its entries (with CLIP vectors when ``clip``)."""
        items: list[tuple[ImageRecord, Seen, np.ndarray | None]] = []
        kinds: list[str] = []
        pixels = []
        for i, (file, kind, stored, record, look) in enumerate(started.loaded):
            seen = Seen()
            if look is not None:
                result = look.result()
                if result is None:  # cancelled before this image: resumed next run
                    continue
                seen, errors = result
                report.tool_errors.extend((str(file), e) for e in errors)
            items.append((record, seen, None))
            kinds.append(kind)
            if clip is not None:
                pixels.append(started.store.pil(stored.id))
            if on_progress:
                on_progress(done + i + 1, total, str(file))
        if clip is not None and pixels:
            vecs = clip.embed_images(pixels, batch_size=self.batch_size)
            items = [(r, s, v) for (r, s, _), v in zip(items, vecs, strict=True)]
        return items, kinds

    def _look(self, store: ImageStore, image_id: str, cancel: threading.Event) -> tuple[Seen, list[str]] | None:
        if cancel.is_set():
            return None
        assert self.runner is not None
        with use_store(store):
            return self.runner.look_one(store, image_id)

    def _clip_vectors(self, paths: list[str], clip: ClipModel, report: IndexReport) -> tuple[np.ndarray, list[bool]]:
        from PIL import Image

        images, ok = [], []
        for path in paths:
            try:
                with Image.open(path) as im:
                    images.append(im.convert("RGB"))
                ok.append(True)
            except OSError as exc:
                report.bad.append((path, str(exc)))
                ok.append(False)
        return clip.embed_images(images, batch_size=self.batch_size), ok


class _Batch:
    """A batch's files, read into a temporary image store, and their queued looks."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.store = ImageStore(folder)
        self.loaded: list[tuple[Path, str, Any, ImageRecord, Future[tuple[Seen, list[str]] | None] | None]] = []

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _root_finder(roots: list[Path]) -> Callable[[Path], str]:
    ordered = sorted(roots, key=lambda r: -len(str(r)))

    def root_of(file: Path) -> str:
        for root in ordered:
            if str(file).startswith(str(root).rstrip("/") + "/"):
                return str(root)
        return str(file.parent)

    return root_of


__all__ = ["Indexer", "IndexReport", "Plan", "ToolRunner", "scan", "image_key"]
