"""How ``Indexer.run`` schedules its work: two photos looked at at once, the next batch
queued before a batch is written, and an interrupted run that keeps what it finished.

The tools and the store are fakes (no models, no Chroma), so these run in well under a
second; the real pipeline end to end is in test_memory_index.py."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from PIL import Image

from lensmith.memory import indexer
from lensmith.memory.indexer import Indexer
from lensmith.runtime.artifacts import DetectArtifact
from lensmith.runtime.images import current_store

WAIT = 5.0  # seconds a fake waits for the other side before the test calls it a failure


class FakeDetect:
    """A look-tool that records which photos it looked at, when, and how many at once."""

    name = "detect"

    def __init__(self, seconds: float = 0.02) -> None:
        self.seconds = seconds
        self.lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.started: list[str] = []
        self.on_start: Any = None

    def invoke(self, call: dict) -> SimpleNamespace:
        image = call["args"]["image"]
        name = Path(current_store().get(image).source).stem  # the batch's store is this worker's
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.started.append(name)
        if self.on_start:
            self.on_start(name)
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
        art = DetectArtifact(tool="detect", image=image, method="fake", all_classes=True)
        return SimpleNamespace(status="success", content="", artifact=art)


class FakeStore:
    """The part of MemoryStore the indexer uses, in memory; ``before_write`` runs at the
    start of every put_images (with the batch's photo names)."""

    def __init__(self) -> None:
        self.written: list[list[str]] = []
        self.entries: list[dict] = []
        self.before_write: Any = None

    def image_entries(self) -> list[dict]:
        return list(self.entries)

    def clip_keys(self) -> set[str]:
        return set()

    def images_clip_model(self) -> None:
        return None

    def forget_images(self, keys: list[str]) -> int:
        return len(keys)

    def refresh_file_stats(self, items: list) -> None:
        pass

    def put_images(self, items: list, *, clip: Any = None) -> None:
        names = [Path(record.path).stem for record, _, _ in items]
        if self.before_write:
            self.before_write(names)
        self.written.append(names)
        self.entries += [record.metadata(seen, indexed_at=0.0) for record, seen, _ in items]


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(np.full((24, 32, 3), 40 * i, np.uint8)).save(folder / f"p{i}.png")
    return folder


@pytest.fixture(autouse=True)
def own_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The batches' working folders land here, where the test can see what is left."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_two_photos_are_looked_at_at_once_and_every_photo_is_written_once(photos: Path, own_tempdir: Path) -> None:
    tool, store = FakeDetect(seconds=0.05), FakeStore()
    progress: list[int] = []
    report = Indexer(store, tools=[tool], clip=None, batch_size=2).run(  # type: ignore[arg-type]
        [photos], on_progress=lambda done, total, path: progress.append(done))
    assert report.processed == 6 and report.added == 6 and not report.interrupted
    assert store.written == [["p0", "p1"], ["p2", "p3"], ["p4", "p5"]]
    assert tool.most_at_once == indexer.WORKERS == 2
    assert progress == sorted(progress) and progress[-1] == 6
    assert not list(own_tempdir.iterdir())  # every batch's working folder removed


def test_a_batch_is_written_while_the_next_batch_is_being_looked_at(photos: Path) -> None:
    tool, store = FakeDetect(), FakeStore()
    next_started = {name: threading.Event() for name in ("p2", "p4")}
    tool.on_start = lambda name: next_started[name].set() if name in next_started else None
    overlapped: list[bool] = []
    # the write of [p0, p1] waits for p2's look to begin: were the next batch only queued
    # after the write, this would time out
    store.before_write = lambda names: overlapped.append(
        next_started[f"p{int(names[-1][1:]) + 1}"].wait(WAIT) if names[-1] != "p5" else True)
    Indexer(store, tools=[tool], clip=None, batch_size=2).run([photos])  # type: ignore[arg-type]
    assert overlapped == [True, True, True]


def test_an_interrupted_run_keeps_finished_batches_and_the_next_run_does_the_rest(photos: Path, own_tempdir: Path) -> None:
    tool, store = FakeDetect(), FakeStore()
    cancel = threading.Event()
    # stop while the second batch is being looked at (the third is queued behind it)
    tool.on_start = lambda name: cancel.set() if name == "p3" else None
    first = Indexer(store, tools=[tool], clip=None, batch_size=2).run([photos], cancel=cancel)  # type: ignore[arg-type]
    assert first.interrupted
    done = [n for batch in store.written for n in batch]
    assert done[:2] == ["p0", "p1"] and "p5" not in done
    assert not list(own_tempdir.iterdir())

    tool.on_start = None
    second = Indexer(store, tools=[tool], clip=None, batch_size=2).run([photos])  # type: ignore[arg-type]
    assert not second.interrupted
    assert second.unchanged == len(done) and second.processed == 6 - len(done)
    assert sorted(e["path"] for e in store.entries) == sorted(str(p.resolve()) for p in photos.glob("*.png"))
