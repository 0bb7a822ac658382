"""The TUI's wording and parsing, without running an app."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from lensmith.agent.trace import ToolCallRecord, TurnTrace, Verdict
from lensmith.runtime.artifacts import DetectArtifact, EditArtifact, SegmentArtifact
from lensmith.tui.format import (
    artifact_image_ids,
    call_outcome,
    check_image,
    evidence_lines,
    pasted_image_paths,
    planner_line,
    verdict_lines,
)
from lensmith.tui.search import UNAVAILABLE, search_memory
from lensmith.tui.widgets.prompt import complete_path


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "a photo.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(path)
    return path


def test_pasted_paths_quoted_escaped_urls_and_several(png, tmp_path):
    other = tmp_path / "b.png"
    other.write_bytes(png.read_bytes())
    assert pasted_image_paths(f"'{png}'") == [png]
    assert pasted_image_paths(str(png).replace(" ", "\\ ")) == [png]
    assert pasted_image_paths(f"file://{str(png).replace(' ', '%20')}") == [png]
    assert pasted_image_paths(f"'{png}' {other}\n") == [png, other]
    assert pasted_image_paths("how many cats are there?") == []
    assert pasted_image_paths(f"{other} and some words") == []
    assert pasted_image_paths(str(tmp_path / "missing.png")) == []


def test_check_image_says_why(png, tmp_path):
    assert check_image(png) is None
    bad = tmp_path / "x.jpg"
    bad.write_text("nope")
    assert "Not an image" in check_image(bad)
    assert "not found" in check_image(tmp_path / "none.png")
    assert "folder" in check_image(tmp_path)


def test_complete_path_only_folders_and_images(tmp_path):
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "cat.jpg").write_bytes(b"")
    (tmp_path / "pics" / "car.png").write_bytes(b"")
    (tmp_path / "pics" / "cab.txt").write_text("")
    base = f"{tmp_path}/pi"
    assert complete_path(base) == f"{tmp_path}/pics/"
    assert complete_path(f"{tmp_path}/pics/ca") in (f"{tmp_path}/pics/car.png", f"{tmp_path}/pics/cat.jpg")
    assert complete_path(f"{tmp_path}/pics/cat") == f"{tmp_path}/pics/cat.jpg"
    assert complete_path(f"{tmp_path}/pics/cab") is None  # not an image
    assert complete_path(f"{tmp_path}/nowhere/x") is None


def _trace() -> TurnTrace:
    detect = ToolCallRecord(
        call_id="c1", tool="detect", args={"image": "img:1"}, summary="1 × cat (0.90)",
        artifact=DetectArtifact(tool="detect", image="img:1", method="yolo", images=["img:2"]),
    )
    broken = ToolCallRecord(call_id="c2", tool="read_text", args={}, error="read_text failed: boom")
    return TurnTrace(
        session_id="s", turn_id="t1", question="q", calls=[detect, broken], answer="two cats",
        verdicts=[
            Verdict(claim="a cat", kind="presence", status="supported", evidence=["c1"], tool="detect", strength=0.9,
                    confidence="high"),
            Verdict(claim="a tie", kind="presence", status="supported", evidence=["c1"], tool="detect", strength=0.48,
                    confidence="low", method="yolo", method_kind="model", reason="detect found 1 × tie"),
            Verdict(claim="two cats", kind="count", status="contradicted", evidence=["c1"], reason="detect saw 1"),
            Verdict(claim="a sign", kind="text", status="unverified", reason="no OCR result"),
        ],
    )


def test_verdicts_supported_quiet_others_marked_and_linked():
    lines = verdict_lines(_trace())
    assert lines[0].startswith("[dim]✓ consistent with the tools: a cat (detect 0.90)")
    # weak evidence gets its own line and says how weak
    assert "weak evidence" in lines[1] and "a tie" in lines[1] and "0.48, low confidence" in lines[1]
    assert "contradicted" in lines[2] and "two cats" in lines[2] and "detect saw 1" in lines[2]
    assert "@click=app.open_call('t1','c1')" in lines[2] and "[1]" in lines[2]
    assert "unverified" in lines[3] and "@click" not in lines[3] and "no OCR result" in lines[3]


def test_evidence_lines_link_each_call_and_show_errors():
    lines = evidence_lines(_trace())
    assert "@click=app.open_call('t1','c1')" in lines[0] and "1 × cat" in lines[0]
    assert "@click=app.open_call('t1','c2')" in lines[1] and "boom" in lines[1]
    assert "boom" in call_outcome(_trace().calls[1]) and "✗" in call_outcome(_trace().calls[1])


def test_heuristic_planner_always_says_so():
    assert "rule-based" in planner_line("heuristic", "auto: no planner model configured")
    assert "rule-based" not in planner_line("openai:qwen @ http://x", "chosen in config")


def test_artifact_images_result_first():
    seg = SegmentArtifact(tool="segment", image="img:in", method="sam", overlay="img:ov", images=["img:ov", "img:m"])
    assert artifact_image_ids(seg) == ["img:ov", "img:m", "img:in"]
    edit = EditArtifact(tool="edit", image="img:in", method="opencv-telea", edited="img:ed", mask="img:mk")
    assert artifact_image_ids(edit) == ["img:ed", "img:mk", "img:in"]
    assert artifact_image_ids(None) == []


def test_search_without_memory_says_unavailable():
    markup, kind = search_memory(None, "cats")
    assert markup == UNAVAILABLE and kind == "warning"


def test_search_lists_recalled_turns():
    class Memory:
        def recall(self, query, k, session_id, min_score):
            return [{"kind": "turn", "text": "Q: how many cats? A: one", "source": "turn:s/t", "score": 0.8}]

    markup, kind = search_memory(Memory(), "cats")
    assert kind == "info" and "how many cats" in markup and "0.80" in markup
