"""The tool-use suite; POPE and CHAIR live in :mod:`lensmith.evals.pope` and
:mod:`lensmith.evals.chair` (re-exported here for older imports)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lensmith.agent.trace import TurnTrace
from lensmith.evals.chair import CHAIR_PROMPT as CHAIR_PROMPT
from lensmith.evals.chair import chair_cases as chair_cases
from lensmith.evals.chair import chair_dataset as chair_dataset
from lensmith.evals.dataset import Case, Dataset, FunctionEvaluator
from lensmith.evals.faithfulness import grounding_aggregate as _grounding_aggregate
from lensmith.evals.faithfulness import grounding_scores as _grounding_scores
from lensmith.evals.metrics import (
    answer_matches,
    check_constraint,
    mean,
    tool_f1,
    tool_selection_ok,
)
from lensmith.evals.pope import ALL_SETTINGS as ALL_SETTINGS
from lensmith.evals.pope import POPE_SETTINGS as POPE_SETTINGS
from lensmith.evals.pope import pope_cases as pope_cases
from lensmith.evals.pope import pope_dataset as pope_dataset
from lensmith.evals.pope import pope_dataset_from_files as pope_dataset_from_files
from lensmith.evals.pope import pope_negatives as pope_negatives
from lensmith.evals.pope import pope_question as pope_question
from lensmith.evals.sources import Item
from lensmith.runtime.vocab import plural

DATA = Path(__file__).parent / "data"


# ---- tool use -----------------------------------------------------------------
def tool_cases(items: Sequence[Item], task_file: Path = DATA / "tool_tasks.json") -> list[Case]:
    """The hand-written tasks on the shipped photos, then tasks generated from the scenes
    (counting, reading the sign, left/right) with exact references."""
    by_id = {i.id: i for i in items}
    raw = json.loads(task_file.read_text())
    cases: list[Case] = []
    for task in raw["tasks"]:
        item = by_id.get(task["image"])
        if item is None:
            continue
        cases.append(
            Case(
                name=f"tools-{task['id']}", question=task["question"], images=[item.path],
                expected={k: task[k] for k in ("tools", "optional_tools", "constraints", "reference", "facts") if k in task},
                metadata={"image": item.id, "source": item.source, "difficulty": item.difficulty,
                          "category": task.get("category", ""), "provenance": item.provenance},
            )
        )  # fmt: skip
    for item in items:
        if item.source != "scene":
            continue
        meta = {"image": item.id, "source": "scene", "difficulty": item.difficulty, "provenance": item.provenance}
        exact = [c for c in sorted(item.objects) if c not in item.inexact]
        if exact:
            obj = exact[0]
            n = item.objects[obj]
            cases.append(Case(
                name=f"tools-{item.id}-count-{obj.replace(' ', '_')}", question=f"How many {plural(obj)} are in this image?",
                images=[item.path], metadata={**meta, "category": "count"},
                expected={"tools": ["detect"], "constraints": [{"tool": "detect", "arg": "image", "op": "image"},
                          {"tool": "detect", "arg": "classes", "op": "absent_or_contains", "value": obj}],
                          "reference": {"count": n, "object": obj}, "facts": [{"kind": "count", "subject": obj, "value": n}]},
            ))  # fmt: skip
        if item.text:
            cases.append(Case(
                name=f"tools-{item.id}-read", question="What does the sign in this image say?",
                images=[item.path], metadata={**meta, "category": "read"},
                expected={"tools": ["read_text"], "constraints": [{"tool": "read_text", "arg": "image", "op": "image"}],
                          "reference": {"text": item.text[0]}, "facts": [{"kind": "text", "value": item.text[0]}]},
            ))  # fmt: skip
        sided = [c for c, cols in sorted(item.columns.items()) if len(cols) == 1 and cols[0] in ("left", "right") and c not in item.inexact]
        if sided:
            obj = sided[0]
            side = item.columns[obj][0]
            cases.append(Case(
                name=f"tools-{item.id}-where-{obj.replace(' ', '_')}",
                question=f"Is the {obj} on the left or on the right side of the image?",
                images=[item.path], metadata={**meta, "category": "spatial"},
                expected={"tools": ["detect"], "constraints": [{"tool": "detect", "arg": "image", "op": "image"},
                          {"tool": "detect", "arg": "classes", "op": "absent_or_contains", "value": obj}],
                          "reference": {"side": side}, "facts": [{"kind": "position", "subject": obj, "value": side}]},
            ))  # fmt: skip
    if task_file == DATA / "tool_tasks.json":  # the user-phrased question set (evals/tool_questions.py)
        from lensmith.evals.tool_questions import question_cases

        cases.extend(question_cases(items))
    return cases


def _side_matches(answer: str, side: str) -> bool:
    words = set(answer.lower().replace(",", " ").replace(".", " ").split())
    other = "right" if side == "left" else "left"
    return side in words and other not in words


def _tools_eval(case: Case, trace: TurnTrace) -> dict[str, Any]:
    expected = case.expected
    calls = [{"tool": c.tool, "args": c.args} for c in trace.calls if not c.error]
    called = [c.tool for c in trace.calls if not c.error]
    want = expected.get("tools", [])
    optional = expected.get("optional_tools", [])
    constraints = []
    for con in expected.get("constraints", []):
        con = dict(con)
        if con["op"] == "image":
            con["image_ids"] = trace.images
        constraints.append(check_constraint(con, calls))
    reference = expected.get("reference")
    outcome = None
    if "answer" in expected:  # strict grading of the user-phrased questions
        from lensmith.evals.tool_questions import grade_trace

        outcome = grade_trace(case, trace)
    answer_ok: bool | None = None if outcome is None else outcome == "correct"
    if reference and trace.ok:
        answer_ok = _side_matches(trace.answer, reference["side"]) if "side" in reference else answer_matches(trace.answer, reference)
    elif reference:
        answer_ok = False
    return {
        "called": called,
        "tool_selection": tool_selection_ok(want, called, optional),
        "tool_f1": tool_f1(want, called, optional),
        "argument_accuracy": (sum(constraints) / len(constraints)) if constraints else None,
        "answer_correct": answer_ok,
        "outcome": outcome,
    }


def _tools_aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out = {
        "tool_selection_accuracy": mean(1.0 if r["scores"]["tool_selection"] else 0.0 for r in rows),
        "tool_f1": mean(r["scores"]["tool_f1"] for r in rows),
        "argument_accuracy": mean(r["scores"]["argument_accuracy"] for r in rows),
        "answer_accuracy": mean(
            None if r["scores"]["answer_correct"] is None else float(r["scores"]["answer_correct"]) for r in rows
        ),
    }
    out.update(_grounding_aggregate(rows))
    from lensmith.evals.tool_questions import outcome_aggregate

    out.update(outcome_aggregate(rows))
    return out


def tools_dataset(items: Sequence[Item], task_file: Path = DATA / "tool_tasks.json") -> Dataset:
    return Dataset(
        name="tools",
        cases=tool_cases(items, task_file),
        evaluators=[FunctionEvaluator("tools", _tools_eval), FunctionEvaluator("grounding", lambda c, t: _grounding_scores(t))],
        aggregate=_tools_aggregate,
        headline=["tool_selection_accuracy", "tool_f1", "argument_accuracy", "answer_accuracy", "grounded_share",
                  "heldout/correct_or_declined", "heldout/off_topic"],
        description="Tool use: selection, arguments, answers and grounded claims",
    )
