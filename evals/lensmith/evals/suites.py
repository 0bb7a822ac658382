"""The three suites: POPE probing, CHAIR captioning, and tool use."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lensmith.agent.synonyms import COCO_CLASSES
from lensmith.agent.trace import TurnTrace
from lensmith.evals.dataset import Case, Dataset, FunctionEvaluator
from lensmith.evals.metrics import (
    answer_matches,
    chair_caption,
    chair_recall,
    chair_scores,
    check_constraint,
    grounded_share,
    mean,
    pope_parse,
    pope_scores,
    tool_f1,
    tool_selection_ok,
)
from lensmith.evals.sources import Item, load_pope_questions

POPE_SETTINGS = ("random", "popular", "adversarial")
DATA = Path(__file__).parent / "data"


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def pope_question(obj: str) -> str:
    return f"Is there {_article(obj)} {obj} in the image?"  # POPE's template


def _grounding_scores(trace: TurnTrace) -> dict[str, Any]:
    statuses = [v.status for v in trace.verdicts]
    return {
        "claims": len(statuses),
        "supported": statuses.count("supported"),
        "contradicted": statuses.count("contradicted"),
        "unverified": statuses.count("unverified"),
        "grounded_share": grounded_share(trace.verdicts),
        "revised": len(trace.drafts) > 1,
        "error": trace.error,
    }


# ---- POPE ---------------------------------------------------------------------
def pope_negatives(items: Sequence[Item], setting: str, k: int, rng: random.Random) -> dict[str, list[str]]:
    """Negative objects per image for one POPE sampling setting.

    random: uniform over the COCO classes absent from the image; popular: the classes
    present in the most images of the set; adversarial: the classes that co-occur most
    often with the image's own objects in the set (ties broken by popularity, then
    COCO order). Classes marked ``maybe`` are never used as negatives.
    """
    popularity = Counter(c for item in items for c in item.objects)
    cooc: dict[str, Counter] = {}
    for item in items:
        for a in item.objects:
            for b in item.objects:
                if a != b:
                    cooc.setdefault(a, Counter())[b] += 1
    order = {c: i for i, c in enumerate(COCO_CLASSES)}
    out: dict[str, list[str]] = {}
    for item in items:
        banned = set(item.objects) | set(item.maybe)
        pool = [c for c in COCO_CLASSES if c not in banned]
        if setting == "random":
            chosen = rng.sample(pool, min(k, len(pool)))
        elif setting == "popular":
            chosen = sorted(pool, key=lambda c: (-popularity[c], order[c]))[:k]
        elif setting == "adversarial":
            score: Counter[str] = Counter()
            for g in item.objects:
                score.update(cooc.get(g, Counter()))
            chosen = sorted(pool, key=lambda c: (-score[c], -popularity[c], order[c]))[:k]
        else:
            raise ValueError(f"unknown POPE setting {setting!r} (random, popular, adversarial)")
        out[item.id] = chosen
    return out


def pope_cases(items: Sequence[Item], *, per_image: int = 2, seed: int = 0, settings: Sequence[str] = POPE_SETTINGS) -> list[Case]:
    """Balanced yes/no probes: up to ``per_image`` present objects and as many absent ones
    per image and setting; images without a certain object are skipped (POPE probes
    images with ground-truth objects). Cases are interleaved across settings so that
    ``--limit`` keeps them balanced."""
    per_setting: dict[str, list[Case]] = {}
    usable = [i for i in items if i.objects]
    for setting in settings:
        rng = random.Random(f"pope:{seed}:{setting}")
        negatives = pope_negatives(usable, setting, per_image, rng)
        cases = []
        for item in usable:
            positives = rng.sample(sorted(item.objects), min(per_image, len(item.objects)))
            negs = negatives[item.id][: len(positives)]
            for obj, label in [(p, "yes") for p in positives] + [(n, "no") for n in negs]:
                cases.append(
                    Case(
                        name=f"pope-{setting}-{item.id}-{obj.replace(' ', '_')}",
                        question=pope_question(obj),
                        images=[item.path],
                        expected={"label": label, "object": obj},
                        metadata={"setting": setting, "image": item.id, "source": item.source,
                                  "difficulty": item.difficulty, "provenance": item.provenance},
                    )
                )  # fmt: skip
        per_setting[setting] = cases
    merged: list[Case] = []
    longest = max((len(v) for v in per_setting.values()), default=0)
    for i in range(longest):
        for cases in per_setting.values():
            if i < len(cases):
                merged.append(cases[i])
    return merged


def _pope_eval(case: Case, trace: TurnTrace) -> dict[str, Any]:
    pred = pope_parse(trace.answer) if trace.ok else "error"
    return {"prediction": pred, "label": case.expected["label"], "correct": pred == case.expected["label"]}


def _pope_aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    by_setting: dict[str, list[dict]] = {}
    for row in rows:
        by_setting.setdefault(row["metadata"].get("setting", "all"), []).append(row)
    for setting, group in sorted(by_setting.items()):
        # an errored turn counts as a wrong answer (the opposite of the label)
        preds = [
            r["scores"]["prediction"] if r["scores"]["prediction"] in ("yes", "no")
            else ("no" if r["scores"]["label"] == "yes" else "yes")
            for r in group
        ]  # fmt: skip
        scores = pope_scores(preds, [r["scores"]["label"] for r in group])
        for key, value in scores.as_dict().items():
            out[f"{setting}/{key}"] = value
    out.update(_grounding_aggregate(rows))
    return out


def pope_dataset(items: Sequence[Item], *, per_image: int = 2, seed: int = 0, settings: Sequence[str] = POPE_SETTINGS) -> Dataset:
    return Dataset(
        name="pope",
        cases=pope_cases(items, per_image=per_image, seed=seed, settings=settings),
        evaluators=[FunctionEvaluator("pope", _pope_eval), FunctionEvaluator("grounding", lambda c, t: _grounding_scores(t))],
        aggregate=_pope_aggregate,
        headline=[f"{s}/{k}" for s in settings for k in ("accuracy", "f1")],
        description="POPE object-existence probing (random / popular / adversarial negatives)",
    )


def pope_dataset_from_files(files: Sequence[str | Path], images_dir: str | Path | None) -> Dataset:
    cases = []
    for file in files:
        setting = next((s for s in POPE_SETTINGS if s in Path(file).name), Path(file).stem)
        for row in load_pope_questions(file, images_dir):
            cases.append(
                Case(name=f"pope-{setting}-{row['question_id']}", question=row["text"], images=[row["path"]],
                     expected={"label": row["label"]}, metadata={"setting": setting, "image": row["image"], "source": "coco"})
            )  # fmt: skip
    return Dataset(
        name="pope", cases=cases, aggregate=_pope_aggregate,
        evaluators=[FunctionEvaluator("pope", _pope_eval), FunctionEvaluator("grounding", lambda c, t: _grounding_scores(t))],
        headline=[f"{s}/{k}" for s in POPE_SETTINGS for k in ("accuracy", "f1")],
        description="POPE (published question files, COCO val2014)",
    )  # fmt: skip


# ---- CHAIR --------------------------------------------------------------------
CHAIR_PROMPT = "Describe this image."


def chair_cases(items: Sequence[Item], prompt: str = CHAIR_PROMPT) -> list[Case]:
    return [
        Case(
            name=f"chair-{item.id}", question=prompt, images=[item.path],
            expected={"truth": sorted(set(item.objects) | set(item.maybe))},
            metadata={"image": item.id, "source": item.source, "difficulty": item.difficulty, "provenance": item.provenance},
        )
        for item in items
    ]  # fmt: skip


def _chair_eval(case: Case, trace: TurnTrace) -> dict[str, Any]:
    cap = chair_caption(trace.answer if trace.ok else "", case.expected["truth"])
    return {"words": cap.words, "objects": cap.objects, "hallucinated": [list(h) for h in cap.hallucinated]}


def _chair_aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    from lensmith.evals.metrics import ChairCaption

    caps = [
        ChairCaption(r["scores"]["words"], r["scores"]["objects"], [tuple(h) for h in r["scores"]["hallucinated"]])
        for r in rows
    ]  # fmt: skip
    out: dict[str, Any] = dict(chair_scores(caps))
    out["recall"] = chair_recall(caps, [r["expected"]["truth"] for r in rows])
    out.update(_grounding_aggregate(rows))
    return out


def chair_dataset(items: Sequence[Item], prompt: str = CHAIR_PROMPT) -> Dataset:
    return Dataset(
        name="chair",
        cases=chair_cases(items, prompt),
        evaluators=[FunctionEvaluator("chair", _chair_eval), FunctionEvaluator("grounding", lambda c, t: _grounding_scores(t))],
        aggregate=_chair_aggregate,
        headline=["chair_i", "chair_s", "recall", "grounded_share"],
        description="CHAIR-i / CHAIR-s of image descriptions against ground-truth objects",
    )


# ---- tool use -----------------------------------------------------------------
def _plural(noun: str) -> str:
    irregular = {"person": "people", "bus": "buses", "knife": "knives", "skis": "skis", "sheep": "sheep", "mouse": "mice"}
    if noun in irregular:
        return irregular[noun]
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


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
                name=f"tools-{item.id}-count-{obj.replace(' ', '_')}", question=f"How many {_plural(obj)} are in this image?",
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


def _grounding_aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    claims = sum(r["scores"].get("claims", 0) for r in rows)
    supported = sum(r["scores"].get("supported", 0) for r in rows)
    return {
        "grounded_share": supported / claims if claims else None,  # over all claims of the run
        "contradicted_claims": sum(r["scores"].get("contradicted", 0) for r in rows),
        "unverified_claims": sum(r["scores"].get("unverified", 0) for r in rows),
        "revised_share": mean(1.0 if r["scores"].get("revised") else 0.0 for r in rows),
        "errors": sum(1 for r in rows if r["scores"].get("error")),
        "cases": len(rows),
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
