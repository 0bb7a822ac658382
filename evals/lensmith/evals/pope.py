"""POPE: "Is there a <object> in the image?" with balanced yes/no probes.

Sampling follows the paper (Li et al., 2023, "Evaluating Object Hallucination in Large
Vision-Language Models", https://github.com/RUCAIBox/POPE): each image is asked about up
to ``per_image`` of its ground-truth objects (the positives) and as many absent ones (the
negatives), drawn from the objects that occur in the set:

- ``random``: uniformly at random among the set's objects absent from the image;
- ``popular``: the set's most frequent objects (by images holding them) absent from it;
- ``adversarial``: for each positive in turn, the object that co-occurs with it most
  often in the set and is absent from the image.

lensmith adds ``detector-confusion``: absent classes the shipped detector is known to
report falsely, measured on *other* photos (:mod:`lensmith.evals.confusions`), first
those it reported beside each positive's class, then the most frequent. A tool-using
agent that trusts its detector pays for those false reports in precision here.

Classes marked ``maybe`` in the ground truth are never asked either way. The settings
share their positives (as in the paper), so they are not independent samples.
Photos and composite scenes are sampled and reported apart.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lensmith.agent.trace import TurnTrace
from lensmith.evals.confusions import confused_negatives
from lensmith.evals.dataset import Case, Dataset, FunctionEvaluator
from lensmith.evals.faithfulness import (
    grounding_aggregate,
    grounding_scores,
    pope_faithfulness,
    pope_summary,
    tool_says,
)
from lensmith.evals.metrics import pope_parse, pope_scores
from lensmith.evals.sources import Item, load_pope_questions
from lensmith.evals.stats import bootstrap, wilson
from lensmith.runtime.vocab import COCO_CLASSES

POPE_SETTINGS = ("random", "popular", "adversarial")
CONFUSION = "detector-confusion"
ALL_SETTINGS = (*POPE_SETTINGS, CONFUSION)
_ORDER = {c: i for i, c in enumerate(COCO_CLASSES)}


def _article(noun: str) -> str:
    return "an" if noun[0] in "aeiou" else "a"


def pope_question(obj: str) -> str:
    return f"Is there {_article(obj)} {obj} in the image?"  # POPE's template


def _banned(item: Item) -> set[str]:
    return set(item.objects) | set(item.maybe)


def pope_negatives(items: Sequence[Item], setting: str, positives: dict[str, list[str]], rng: random.Random,
                   confusions: dict[str, list[list[Any]]] | None = None) -> dict[str, list[str]]:  # fmt: skip
    """Negative objects per image: as many as it has positives (fewer when the set runs out)."""
    frequency = Counter(c for item in items for c in item.objects)
    pool = sorted(frequency, key=lambda c: _ORDER.get(c, len(_ORDER)))
    cooc: dict[str, Counter] = {}
    for item in items:
        for a in item.objects:
            cooc.setdefault(a, Counter()).update(b for b in item.objects if b != a)
    out: dict[str, list[str]] = {}
    for item in items:
        banned, k = _banned(item), len(positives[item.id])
        free = [c for c in pool if c not in banned]
        if setting == "random":
            chosen = rng.sample(free, min(k, len(free)))
        elif setting == "popular":
            chosen = sorted(free, key=lambda c: (-frequency[c], _ORDER.get(c, 0)))[:k]
        elif setting == "adversarial":
            chosen = []
            for positive in positives[item.id]:
                ranked = sorted(cooc.get(positive, Counter()).items(), key=lambda kv: (-kv[1], _ORDER.get(kv[0], 0)))
                pick = next((c for c, _ in ranked if c not in banned and c not in chosen), None)
                if pick is not None:
                    chosen.append(pick)
        elif setting == CONFUSION:
            chosen = confused_negatives(item.id, positives[item.id], banned, k, confusions)
        else:
            raise ValueError(f"unknown POPE setting {setting!r} ({', '.join(ALL_SETTINGS)})")
        out[item.id] = chosen
    return out


def pope_cases(items: Sequence[Item], *, per_image: int = 3, seed: int = 0, settings: Sequence[str] = ALL_SETTINGS,
               confusions: dict[str, list[list[Any]]] | None = None) -> list[Case]:  # fmt: skip
    """Balanced probes per image and setting (positives trimmed to the negatives found).
    Photos and scenes are sampled apart, each from its own objects; images without a
    certain object are skipped (POPE probes images with ground-truth objects). Cases are
    interleaved across sources and settings so that ``--limit`` keeps them balanced."""
    groups: list[list[Case]] = []
    for source in dict.fromkeys(i.source for i in items):
        # calibration photos only measure the detector's confusions; they are never asked about
        usable = [i for i in items if i.source == source and i.objects and i.split == "probe"]
        rng = random.Random(f"pope:{seed}:{source}")
        positives = {i.id: rng.sample(sorted(i.objects), min(per_image, len(i.objects))) for i in usable}
        for setting in settings:
            negatives = pope_negatives(usable, setting, positives, random.Random(f"pope:{seed}:{source}:{setting}"), confusions)
            cases: list[Case] = []
            groups.append(cases)
            for item in usable:
                negs = negatives[item.id]
                pos = positives[item.id][: len(negs)]
                for obj, label in [(p, "yes") for p in pos] + [(n, "no") for n in negs]:
                    cases.append(
                        Case(
                            name=f"pope-{setting}-{item.id}-{obj.replace(' ', '_')}",
                            question=pope_question(obj), images=[item.path],
                            expected={"label": label, "object": obj},
                            metadata={"setting": setting, "image": item.id, "source": item.source,
                                      "difficulty": item.difficulty, "provenance": item.provenance},
                        )
                    )  # fmt: skip
    merged: list[Case] = []
    for i in range(max((len(g) for g in groups), default=0)):
        merged.extend(g[i] for g in groups if i < len(g))
    return merged


def _pope_eval(case: Case, trace: TurnTrace) -> dict[str, Any]:
    label = case.expected["label"]
    pred = pope_parse(trace.answer) if trace.ok else "error"
    obj = case.expected.get("object")
    tools = tool_says(trace, obj) if obj else None
    return {"prediction": pred, "label": label, "correct": pred == label, **pope_faithfulness(label, tools, pred)}


def _prediction(row: dict[str, Any]) -> str:
    # an errored turn counts as a wrong answer (the opposite of the label)
    pred = row["scores"]["prediction"]
    return pred if pred in ("yes", "no") else ("no" if row["scores"]["label"] == "yes" else "yes")


def _f1(rows: Sequence[dict[str, Any]]) -> float | None:
    s = pope_scores([_prediction(r) for r in rows], [r["scores"]["label"] for r in rows])
    return s.f1 if s.tp + s.fp + s.fn else None


def setting_metrics(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """POPE's metrics for one group of cases, each with n and a 95% interval."""
    s = pope_scores([_prediction(r) for r in rows], [r["scores"]["label"] for r in rows])
    images = [r["metadata"].get("image", r["name"]) for r in rows]
    return {
        "accuracy": wilson(s.tp + s.tn, s.n).as_dict(),
        "precision": wilson(s.tp, s.tp + s.fp).as_dict(),
        "recall": wilson(s.tp, s.tp + s.fn).as_dict(),
        "f1": bootstrap(rows, _f1, clusters=images).as_dict(),
        "yes_ratio": wilson(s.tp + s.fp, s.n).as_dict(),
        "tp": s.tp, "fp": s.fp, "tn": s.tn, "fn": s.fn, "n": s.n, "images": len(set(images)),
    }  # fmt: skip


def per_class(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per object class, over distinct (image, class) questions: recall on the images that
    have it, and how often "yes" was answered on the images that do not."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        seen.setdefault((r["metadata"].get("image", ""), r["expected"].get("object", "")), r)
    out: dict[str, Any] = {}
    for (_, obj), r in sorted(seen.items(), key=lambda kv: kv[0][1]):
        entry = out.setdefault(obj, {"yes_right": 0, "yes_n": 0, "false_yes": 0, "no_n": 0})
        said_yes = _prediction(r) == "yes"
        if r["scores"]["label"] == "yes":
            entry["yes_n"] += 1
            entry["yes_right"] += said_yes
        else:
            entry["no_n"] += 1
            entry["false_yes"] += said_yes
    for entry in out.values():
        entry["recall"] = wilson(entry["yes_right"], entry["yes_n"]).as_dict()
        entry["false_yes_rate"] = wilson(entry["false_yes"], entry["no_n"]).as_dict()
    return out


def _pope_aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        meta = row["metadata"]
        groups.setdefault((meta.get("source", "photo"), meta.get("setting", "all")), []).append(row)
    for (source, setting), group in sorted(groups.items()):
        for key, value in setting_metrics(group).items():
            out[f"{source}/{setting}/{key}"] = value
    for source in sorted({s for s, _ in groups}):
        mine = [r for r in rows if r["metadata"].get("source", "photo") == source]
        out[f"{source}/per_class"] = per_class(mine)
        out[f"{source}/faithfulness"] = pope_summary(mine)
    out.update(grounding_aggregate(rows))
    return out


def _headline(sources: Sequence[str], settings: Sequence[str]) -> list[str]:
    return [f"{src}/{s}/{k}" for src in sources for s in settings for k in ("accuracy", "precision", "f1")]


def pope_dataset(items: Sequence[Item], *, per_image: int = 3, seed: int = 0, settings: Sequence[str] = ALL_SETTINGS,
                 confusions: dict[str, list[list[Any]]] | None = None) -> Dataset:  # fmt: skip
    sources = list(dict.fromkeys(i.source for i in items)) or ["photo"]
    return Dataset(
        name="pope",
        cases=pope_cases(items, per_image=per_image, seed=seed, settings=settings, confusions=confusions),
        evaluators=[FunctionEvaluator("pope", _pope_eval), FunctionEvaluator("grounding", lambda c, t: grounding_scores(t))],
        aggregate=_pope_aggregate,
        headline=_headline(sources, settings),
        description="POPE object-existence probing (random / popular / adversarial negatives, plus detector-confusion)",
    )


def pope_dataset_from_files(files: Sequence[str | Path], images_dir: str | Path | None) -> Dataset:
    """The published POPE question files (the real benchmark) on COCO val2014."""
    cases = []
    for file in files:
        setting = next((s for s in POPE_SETTINGS if s in Path(file).name), Path(file).stem)
        for row in load_pope_questions(file, images_dir):
            obj = _object_of(row["text"])
            cases.append(
                Case(name=f"pope-{setting}-{row['question_id']}", question=row["text"], images=[row["path"]],
                     expected={"label": row["label"], **({"object": obj} if obj else {})},
                     metadata={"setting": setting, "image": row["image"], "source": "coco"})
            )  # fmt: skip
    return Dataset(
        name="pope", cases=cases, aggregate=_pope_aggregate,
        evaluators=[FunctionEvaluator("pope", _pope_eval), FunctionEvaluator("grounding", lambda c, t: grounding_scores(t))],
        headline=_headline(["coco"], POPE_SETTINGS),
        description="POPE (published question files, COCO val2014)",
    )  # fmt: skip


def _object_of(question: str) -> str | None:
    """The COCO class of "Is there a <object> in the image?" (None for other phrasings)."""
    import re

    match = re.match(r"is there an? (.+?) in the im(?:age|g)\??$", question.strip().lower())
    if match and match.group(1) in _ORDER:
        return match.group(1)
    return None
