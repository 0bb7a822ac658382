"""CHAIR (Rohrbach et al., EMNLP 2018): how many objects named in a description are not there.

CHAIR-i = hallucinated object mentions / all object mentions; CHAIR-s = captions with at
least one hallucinated mention / all captions; a mention is hallucinated when its class
is not in the image's ground truth. The published ``utils/chair.py`` computes exactly
these two (micro-averaged CHAIR-i, one mention per occurrence). lensmith also reports
the recall of ground-truth objects (share of an image's objects its caption names, as
later forks of the script do), intervals, and which hallucinations came from the tools.

How lensmith differs from the published script:

- word handling: by default lensmith's (``words="lensmith"``); ``words="published"``
  reproduces the script's (see :mod:`lensmith.evals.chair_words` for both);
- ground truth on the shipped set: hand labels, with ``maybe`` classes accepted as
  present; on COCO: instance annotations plus objects the five reference captions name,
  as the script builds it (with the chosen word handling applied to those captions);
- COCO images: a seeded random sample (``--coco-limit``, ``--seed``) instead of a
  caption file's own image list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lensmith.agent.trace import TurnTrace
from lensmith.evals.chair_words import WordMode, caption_objects
from lensmith.evals.dataset import Case, Dataset, FunctionEvaluator
from lensmith.evals.faithfulness import (
    chair_faithfulness,
    grounding_aggregate,
    grounding_scores,
    reported_classes,
)
from lensmith.evals.sources import Item
from lensmith.evals.stats import bootstrap, wilson

CHAIR_PROMPT = "Describe this image."


@dataclass
class ChairCaption:
    words: list[str]  # CHAIR words as they appear (singularised)
    objects: list[str]  # their classes
    hallucinated: list[tuple[str, str]]  # (word, class) not in the ground truth


def chair_caption(caption: str, truth: Iterable[str], words: WordMode = "lensmith") -> ChairCaption:
    found, nodes = caption_objects(caption, words)
    gold = set(truth)
    bad = [(w, n) for w, n in zip(found, nodes, strict=True) if n not in gold]
    return ChairCaption(found, nodes, bad)


def chair_scores(captions: Sequence[ChairCaption]) -> dict[str, float]:
    """CHAIR-i and CHAIR-s over captions, as the published script computes them."""
    mentions = sum(len(c.words) for c in captions)
    wrong = sum(len(c.hallucinated) for c in captions)
    bad_caps = sum(1 for c in captions if c.hallucinated)
    return {
        "chair_i": wrong / mentions if mentions else 0.0,
        "chair_s": bad_caps / len(captions) if captions else 0.0,
        "mentions": float(mentions),
        "hallucinated_mentions": float(wrong),
        "captions": float(len(captions)),
    }


def chair_recall(captions: Sequence[ChairCaption], truths: Sequence[Iterable[str]]) -> float:
    """Share of ground-truth objects a caption mentions (pooled over captions)."""
    found = total = 0
    for caption, truth in zip(captions, truths, strict=True):
        gold = set(truth)
        total += len(gold)
        found += len(gold & set(caption.objects))
    return found / total if total else 0.0


# ---- the suite ---------------------------------------------------------------------------
def chair_cases(items: Sequence[Item], prompt: str = CHAIR_PROMPT) -> list[Case]:
    return [
        Case(
            name=f"chair-{item.id}", question=prompt, images=[item.path],
            expected={"truth": sorted(set(item.objects) | set(item.maybe)), "objects": sorted(item.objects)},
            metadata={"image": item.id, "source": item.source, "difficulty": item.difficulty, "provenance": item.provenance},
        )
        for item in items
    ]  # fmt: skip


def _evaluator(words: WordMode):
    def evaluate(case: Case, trace: TurnTrace) -> dict[str, Any]:
        cap = chair_caption(trace.answer if trace.ok else "", case.expected["truth"], words)
        faith = chair_faithfulness(cap.objects, [h[1] for h in cap.hallucinated], reported_classes(trace), set(case.expected["truth"]))
        return {"words": cap.words, "objects": cap.objects, "hallucinated": [list(h) for h in cap.hallucinated],
                "clean": not cap.hallucinated, "word_mode": words, **faith}  # fmt: skip

    return evaluate


def _caption(row: dict[str, Any]) -> ChairCaption:
    s = row["scores"]
    return ChairCaption(s["words"], s["objects"], [tuple(h) for h in s["hallucinated"]])  # type: ignore[misc]


def _chair_i(rows: Sequence[dict[str, Any]]) -> float | None:
    mentions = sum(len(r["scores"]["words"]) for r in rows)
    return sum(len(r["scores"]["hallucinated"]) for r in rows) / mentions if mentions else None


def _recall(rows: Sequence[dict[str, Any]]) -> float | None:
    objects = [r["expected"].get("objects", r["expected"]["truth"]) for r in rows]
    if not any(objects):
        return None
    return chair_recall([_caption(r) for r in rows], objects)


def group_metrics(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """CHAIR-i (cluster bootstrap over captions), CHAIR-s (Wilson), recall of the certain
    objects (bootstrap), and the split of hallucinations by where they came from."""
    caps = [_caption(r) for r in rows]
    base = chair_scores(caps)
    bad = sum(1 for c in caps if c.hallucinated)
    scores = [r["scores"] for r in rows]
    return {
        "chair_i": bootstrap(rows, _chair_i, n=int(base["mentions"])).as_dict(),
        "chair_s": wilson(bad, len(rows)).as_dict(),
        "recall": bootstrap(rows, _recall, n=sum(len(r["expected"].get("objects", [])) for r in rows)).as_dict(),
        "mentions": int(base["mentions"]),
        "hallucinated_mentions": int(base["hallucinated_mentions"]),
        "captions": len(rows),
        "hallucinated_from_tools": sum(s.get("halluc_from_tools", 0) for s in scores),
        "hallucinated_not_from_tools": sum(s.get("halluc_not_from_tools", 0) for s in scores),
        "mentions_not_from_tools": sum(s.get("mentions_not_from_tools", 0) for s in scores),
        "tool_false_classes": sum(len(s.get("tool_false_classes", [])) for s in scores),
        "captions_without_tools": sum(1 for s in scores if s.get("tools_ran") is False),
    }


def _chair_aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for source in sorted({r["metadata"].get("source", "photo") for r in rows}):
        mine = [r for r in rows if r["metadata"].get("source", "photo") == source]
        for key, value in group_metrics(mine).items():
            out[f"{source}/{key}"] = value
    modes = sorted({r["scores"].get("word_mode", "lensmith") for r in rows})
    out["word_mode"] = ",".join(modes)
    out.update(grounding_aggregate(rows))
    return out


def chair_dataset(items: Sequence[Item], prompt: str = CHAIR_PROMPT, *, words: WordMode = "lensmith") -> Dataset:
    sources = list(dict.fromkeys(i.source for i in items)) or ["photo"]
    return Dataset(
        name="chair",
        cases=chair_cases(items, prompt),
        evaluators=[FunctionEvaluator("chair", _evaluator(words)), FunctionEvaluator("grounding", lambda c, t: grounding_scores(t))],
        aggregate=_chair_aggregate,
        headline=[f"{s}/{k}" for s in sources for k in ("chair_i", "chair_s", "recall")],
        description=f"CHAIR-i / CHAIR-s of image descriptions against ground-truth objects ({words} word handling)",
    )
