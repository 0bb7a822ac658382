"""Detector error apart from planner faithfulness, on traces built by hand."""

from __future__ import annotations

from lensmith.agent.trace import ToolCallRecord, TurnTrace
from lensmith.evals.chair import _evaluator, group_metrics
from lensmith.evals.dataset import Case
from lensmith.evals.faithfulness import pope_summary, tool_says
from lensmith.evals.pope import _pope_eval
from lensmith.runtime.artifacts import DetectArtifact, Detection


def _trace(answer: str, detections: list[str] | None, *, queried: list[str] | None = None, image: str = "img:1") -> TurnTrace:
    calls = []
    if detections is not None:
        art = DetectArtifact(tool="detect", image=image, method="yolo",
                             detections=[Detection(label=d, score=0.6, box=[0, 0, 1, 1]) for d in detections],
                             all_classes=queried is None, queried=queried or [])  # fmt: skip
        calls.append(ToolCallRecord(call_id="c1", tool="detect", args={"image": image}, artifact=art))
    return TurnTrace(session_id="s", turn_id="t", question="q", images=["img:1"], calls=calls, answer=answer)


def _case(obj: str, label: str) -> Case:
    return Case(name=f"{obj}-{label}", question=f"Is there a {obj} in the image?", expected={"label": label, "object": obj},
                metadata={"image": "i", "setting": "random", "source": "photo"})  # fmt: skip


def test_tool_says_reads_only_this_image_and_what_was_looked_for():
    assert tool_says(_trace("", ["cake"]), "cake") == "yes"
    assert tool_says(_trace("", ["cake"]), "dog") == "no"  # an all-class run that found no dog
    assert tool_says(_trace("", [], queried=["cat"]), "dog") is None  # it only looked for cats
    assert tool_says(_trace("", ["dog"], image="img:other"), "dog") is None  # another image's run
    assert tool_says(_trace("", None), "dog") is None


def test_pope_cases_split_by_where_the_error_came_from():
    rows = []
    for case, trace in [
        (_case("cake", "no"), _trace("Yes, there is a cake.", ["cake"])),  # detector wrong, planner faithful
        (_case("cat", "yes"), _trace("No, there is no cat.", ["cat"])),  # detector right, planner departed
        (_case("dog", "yes"), _trace("Yes.", None)),  # no tool ran: a guess
        (_case("bus", "no"), _trace("No, there is no bus.", ["cat"])),  # all right
        (_case("cup", "yes"), _trace("Yes.", ["cup"]).model_copy(update={"error": "boom"})),  # a failed turn
    ]:
        rows.append({"name": case.name, "metadata": case.metadata, "expected": case.expected, "scores": _pope_eval(case, trace)})
    scores = [r["scores"] for r in rows]
    assert [s["tool_wrong"] for s in scores] == [True, False, None, False, False]
    assert [s["planner_unfaithful"] for s in scores] == [False, True, None, False, None]
    assert scores[-1]["prediction"] == "error" and not scores[-1]["correct"]
    summary = pope_summary(rows)
    assert summary["tools_wrong"]["value"] == 1 / 3 and summary["tools_wrong"]["n"] == 3
    assert summary["planner_unfaithful"]["value"] == 1 / 3
    assert summary["wrong_answers"] == 2 and summary["no_tool_evidence"] == 1
    assert summary["wrong_because_tools_wrong"] == 1 and summary["wrong_because_planner_departed"] == 1
    assert summary["wrong_without_tool_evidence"] == 0  # the guess happened to be right
    assert summary["failed_turns"] == 1


def test_chair_hallucinations_split_by_whether_the_tools_reported_them():
    case = Case(name="c", question="Describe this image.", expected={"truth": ["person"], "objects": ["person"]},
                metadata={"image": "i", "source": "photo"})  # fmt: skip
    trace = _trace("A man with a cake and a dog.", ["person", "cake"])
    scores = _evaluator("lensmith")(case, trace)
    assert scores["objects"] == ["person", "cake", "dog"]
    assert scores["halluc_from_tools"] == 1 and scores["halluc_not_from_tools"] == 1  # cake: detector; dog: planner
    assert scores["mentions_not_from_tools"] == 1 and scores["tool_false_classes"] == ["cake"]
    m = group_metrics([{"name": "c", "expected": case.expected, "metadata": case.metadata, "scores": scores}])
    assert m["chair_i"]["value"] == 2 / 3 and m["chair_i"]["n"] == 3
    assert m["chair_s"]["value"] == 1.0 and m["recall"]["value"] == 1.0
    assert (m["hallucinated_from_tools"], m["hallucinated_not_from_tools"]) == (1, 1)
