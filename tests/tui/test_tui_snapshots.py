"""Snapshots of the main screens at a fixed terminal size (pytest-textual-snapshot).

The agent here replays a fixed turn (fixed session id, call ids, durations) through
the same event types the real loop emits, so every frame is the same on every run;
images are drawn with half-block cells at a fixed cell size. Update after checking
the pictures by eye: ``pytest tests/tui/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageDraw
from pytest_textual_snapshot import SVGImageExtension
from textual.widgets import Input
from textual_image._terminal import CellSize, get_cell_size

get_cell_size._result = CellSize(10, 20)  # type: ignore[attr-defined]

from lensmith.agent.config import Settings  # noqa: E402
from lensmith.agent.events import (  # noqa: E402
    AnswerDrafted,
    GroundingChecked,
    ModelLoading,
    ToolCalled,
    ToolFinished,
    TurnFinished,
    TurnStarted,
)
from lensmith.agent.sessions import Session, SessionInfo, SessionManager  # noqa: E402
from lensmith.agent.trace import ToolCallRecord, TurnTrace, Verdict  # noqa: E402
from lensmith.runtime.artifacts import DetectArtifact, Detection  # noqa: E402
from lensmith.runtime.images import use_store  # noqa: E402
from lensmith.tui.app import LensmithApp  # noqa: E402

SIZE = (120, 40)
STAMP = 1_735_732_800.0  # 2025-01-01 12:00 UTC


@pytest.fixture(autouse=True)
def _fixed_world(monkeypatch):
    """Snapshots under tests/tui/snapshots/, times in UTC."""
    monkeypatch.setattr(
        SVGImageExtension, "dirname",
        classmethod(lambda cls, *, test_location: str(Path(test_location.filepath).parent / "snapshots")),
    )
    # a blinking cursor is shown or not depending on when the frame is taken
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


class FixedSessions(SessionManager):
    def new(self, title: str = "") -> Session:
        folder = self.root / "20250101-120000-demo"
        folder.mkdir(parents=True, exist_ok=True)
        session = Session(folder, SessionInfo(id=folder.name, title=title, created=STAMP, updated=STAMP))
        session._save()
        return session


class ReplayAgent:
    """Plays one detect call and a checked answer, as the heuristic planner would."""

    def __init__(self, root: Path) -> None:
        self.settings = Settings(device="cpu")
        self.sessions = FixedSessions(root)
        self.planner = SimpleNamespace(name="heuristic", reason="auto: no planner model configured", heuristic=True)
        self.memory = None

    def ask(self, question, images, *, session, on_event, cancel):
        ids = dict(session_id=session.id, turn_id="turn0001")
        stored = [session.store.get(str(p)) for p in images]
        on_event(TurnStarted(question=question, images=[s.id for s in stored], planner=self.planner.name,
                             planner_note=self.planner.reason, **ids))
        trace = TurnTrace(question=question, images=[s.id for s in stored], planner=self.planner.name,
                          planner_note=self.planner.reason, started_at=STAMP, **ids)
        args = {"image": stored[0].id, "classes": ["cat"]}
        on_event(ToolCalled(call_id="call_1", tool="detect", args=args, step=1, **ids))
        on_event(ModelLoading(source="YOLO yolo11n", message="loading YOLO yolo11n", fraction=0.0, **ids))
        on_event(ModelLoading(source="YOLO yolo11n", message="loaded YOLO yolo11n", fraction=1.0, **ids))
        with use_store(session.store):
            picture = session.store.pil(stored[0].id).copy()
            ImageDraw.Draw(picture).rectangle([8, 6, 70, 50], outline=(255, 40, 40), width=3)
            annotated = session.store.add_artifact(picture, parent=stored[0].id, label="detect boxes")
        record = ToolCallRecord(
            call_id="call_1", tool="detect", args=args, summary="1 × cat (0.91); not detectable: none",
            duration_s=0.42, step=1,
            artifact=DetectArtifact(tool="detect", image=stored[0].id, method="yolo", model="yolo11n_int8_openvino_model",
                                    images=[annotated.id], queried=["cat"],
                                    detections=[Detection(label="cat", score=0.91, box=[8, 6, 70, 50])]),
        )
        trace.calls.append(record)
        on_event(ToolFinished(record=record, **ids))
        trace.answer = "There are two cats in the photo."
        trace.drafts = [trace.answer]
        on_event(AnswerDrafted(text=trace.answer, **ids))
        trace.verdicts = [
            Verdict(claim="cats", kind="presence", status="supported", subject="cat", evidence=["call_1"],
                    tool="detect", method="yolo11n_int8_openvino_model", method_kind="model", strength=0.91,
                    confidence="high", reason="detect found 1 × cat (0.91)"),
            Verdict(claim="two cats", kind="count", status="contradicted", subject="cat", expected=2, observed=1,
                    evidence=["call_1"], reason="detect found 1 × cat", tool="detect",
                    method="yolo11n_int8_openvino_model", method_kind="model", strength=0.91),
        ]
        on_event(GroundingChecked(verdicts=trace.verdicts, **ids))
        trace.duration_s = 0.61
        session.append_turn(trace)
        session.info.updated = STAMP
        session._save()
        on_event(TurnFinished(trace=trace, **ids))
        return trace


@pytest.fixture
def cat_png(tmp_path) -> Path:
    # a smooth, fixed picture: the same pixels on every machine
    y, x = np.mgrid[0:90, 0:120]
    rgb = np.stack([x * 2, y * 2, (x + y)], axis=-1).astype(np.uint8)
    path = tmp_path / "cat.png"
    Image.fromarray(rgb).save(path)
    return path


@pytest.fixture
def app(tmp_path) -> LensmithApp:
    os.environ.pop("LENSMITH_DEVICE", None)
    return LensmithApp(ReplayAgent(tmp_path / "sessions"), image_renderer="halfcell")


async def _until(pilot, condition, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app did not reach the expected state")


async def _attach(pilot, cat_png: Path) -> None:
    app = pilot.app
    app.prompt.value = f"/image {cat_png}"
    await pilot.press("enter")
    await _until(pilot, lambda: len(app.attachments) == 1)


async def _ask(pilot, cat_png: Path) -> None:
    app = pilot.app
    await _attach(pilot, cat_png)
    app.prompt.value = "how many cats are there?"
    await pilot.press("enter")
    await _until(pilot, lambda: app.turn_count == 1 and not app.running)
    # let the deferred work settle (artifact panel, image re-measure, scroll to end)
    for _ in range(3):
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.2)


def test_main_screen_after_a_turn(snap_compare, app, cat_png):
    assert snap_compare(app, terminal_size=SIZE, run_before=lambda pilot: _ask(pilot, cat_png))


def test_main_screen_with_an_attachment_waiting(snap_compare, app, cat_png):
    async def attach(pilot):
        await _attach(pilot, cat_png)
        pilot.app.prompt.value = "what is in this picture?"
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=attach)


def test_artifact_screen(snap_compare, app, cat_png):
    async def open_artifact(pilot):
        await _ask(pilot, cat_png)
        await pilot.app.run_action("open_call('turn0001','call_1')")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=open_artifact)


def test_sessions_screen(snap_compare, app, cat_png):
    async def sessions(pilot):
        await _ask(pilot, cat_png)
        await pilot.press("ctrl+r")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=sessions)


def test_settings_screen(snap_compare, app):
    async def settings(pilot):
        await pilot.press("f2")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=settings)


def test_help_screen(snap_compare, app):
    async def help_screen(pilot):
        await pilot.press("f1")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=help_screen)
