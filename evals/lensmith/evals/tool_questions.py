"""The tool-use question set: questions as users phrase them, over the shipped photos.

``data/tool_questions.json`` holds each question with its photos (ids of
``data/real_images.json``, plus ``sign``: the rendered "BUSINESS CENTER / Printing
2nd floor" sign that ``lensmith samples`` writes too), the tools a careful planner
must call, the arguments it must pass, and how its answer is graded
(:mod:`lensmith.evals.toolgrade`). A third of the questions (``split: heldout``,
chosen by a hash of the id) were never looked at while tuning the heuristic planner;
the report gives each split separately, with 95% Wilson intervals.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lensmith.agent.trace import TurnTrace
from lensmith.evals.dataset import Case
from lensmith.evals.sources import Item
from lensmith.evals.toolgrade import OUTCOMES, grade

DATA = Path(__file__).parent / "data"
QUESTIONS = DATA / "tool_questions.json"
SIGN_LINES = ("BUSINESS CENTER", "Printing  2nd floor")


def render_sign(path: Path) -> Path:
    """A green direction sign with two lines of text (the same one ``lensmith samples`` writes)."""
    from PIL import Image, ImageDraw

    sign = Image.new("RGB", (800, 360), (20, 90, 40))
    draw = ImageDraw.Draw(sign)
    draw.rectangle((20, 20, 780, 340), outline=(255, 255, 255), width=6)
    draw.text((400, 140), SIGN_LINES[0], fill=(255, 255, 255), font=sign_font(64), anchor="mm")
    draw.text((400, 250), SIGN_LINES[1], fill=(255, 255, 255), font=sign_font(40), anchor="mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    sign.save(path)
    return path


def sign_font(size: int) -> Any:
    from PIL import ImageFont

    try:
        import matplotlib

        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans-Bold.ttf"), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size=size)


def question_cases(items: Sequence[Item], file: Path = QUESTIONS, *, sign_dir: Path | None = None) -> list[Case]:
    by_id = {i.id: i for i in items}
    if sign_dir is None and items:
        sign_dir = Path(items[0].path).parent
    raw = json.loads(Path(file).read_text())
    cases = []
    for q in raw["tasks"]:
        paths = []
        for image in q["images"]:
            if image == "sign" and sign_dir is not None:
                target = sign_dir / "sign.png"
                paths.append(str(target if target.exists() else render_sign(target)))
            elif image in by_id:
                paths.append(by_id[image].path)
        if len(paths) != len(q["images"]):
            continue
        constraints = [dict(c) for c in q.get("args", [])]
        constraints += [{"tool": t, "arg": "image", "op": "image"} for t in q.get("tools", []) if t in
                        ("detect", "read_text", "colour", "segment", "edit")]
        cases.append(Case(
            name=f"tools-q-{q['id']}", question=q["question"], images=paths,
            expected={"tools": q.get("tools", []), "optional_tools": q.get("optional_tools", []),
                      "constraints": constraints, "answer": q["answer"]},
            metadata={"split": q["split"], "category": q.get("category", ""), "image": ",".join(q["images"]),
                      "source": "photo", "difficulty": "real",
                      "provenance": "hand-written question over shipped photos (evals/data/tool_questions.json)"},
        ))  # fmt: skip
    return cases


def grade_trace(case: Case, trace: TurnTrace) -> str:
    if not trace.ok:
        return "wrong"
    return grade(trace.answer, case.expected["answer"])


def outcome_aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per split: n, share answered correctly or honestly declined, off-topic answers, intervals."""
    from lensmith.evals.stats import wilson

    out: dict[str, Any] = {}
    by_split: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        outcome = row["scores"].get("outcome")
        if outcome:
            by_split.setdefault(row["metadata"].get("split", "tune"), []).append(row)
    for split, group in sorted(by_split.items()):
        n = len(group)
        counts = {o: sum(1 for r in group if r["scores"]["outcome"] == o) for o in OUTCOMES}
        ok = wilson(counts["correct"] + counts["declined"], n)
        out[f"{split}/n"] = n
        out[f"{split}/correct_or_declined"] = ok.value
        out[f"{split}/correct_or_declined_ci95"] = [ok.low, ok.high]
        for outcome in OUTCOMES:
            share = wilson(counts[outcome], n)
            out[f"{split}/{outcome}"] = share.value
            out[f"{split}/{outcome}_ci95"] = [share.low, share.high]
        out[f"{split}/off_topic_count"] = counts["off_topic"]
        wrong_tools = sum(1 for r in group if not r["scores"].get("tool_selection"))
        out[f"{split}/wrong_tool_choice"] = wrong_tools / n
    return out
