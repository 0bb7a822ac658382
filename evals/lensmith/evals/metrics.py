"""POPE's and the tool-use eval's per-case metrics (CHAIR's are in :mod:`lensmith.evals.chair`).

- POPE (Li et al., 2023, "Evaluating Object Hallucination in Large Vision-Language
  Models"; reference code RUCAIBox/POPE ``evaluate.py``): a free answer becomes
  "no" when its first sentence, commas removed and split on spaces, contains the
  word ``No``, ``not`` or ``no``; otherwise "yes". "yes" is the positive class;
  accuracy, precision, recall, F1 and the yes-ratio follow.
  (Checked against evaluate.py on the same answers: identical to the last digit.)
- Tool use (the quantities GTA and m&m's report): tool-selection accuracy, tool F1,
  argument accuracy, answer accuracy, and the share of answer claims the grounding
  checker marks supported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


def normalise_label(term: str) -> str:
    """COCO class when the term names one ("cats" → cat), else its singular lower-case phrase."""
    from lensmith.runtime.vocab import normalise, singular, to_class

    return to_class(term) or singular(normalise(term))


# ---- POPE ---------------------------------------------------------------------
def pope_parse(answer: str) -> str:
    """'yes' or 'no', as RUCAIBox/POPE's evaluate.py reads a free answer."""
    text = answer
    if text.find(".") != -1:
        text = text.split(".")[0]
    text = text.replace(",", "")
    words = text.split(" ")
    if "No" in words or "not" in words or "no" in words:
        return "no"
    return "yes"


@dataclass
class PopeScores:
    accuracy: float
    precision: float
    recall: float
    f1: float
    yes_ratio: float
    tp: int
    fp: int
    tn: int
    fn: int
    n: int

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def pope_scores(predictions: Sequence[str], labels: Sequence[str]) -> PopeScores:
    """Scores of parsed predictions ('yes'/'no') against labels ('yes'/'no')."""
    if len(predictions) != len(labels):
        raise ValueError("predictions and labels differ in length")
    pred = [0 if p == "no" else 1 for p in predictions]
    gold = [0 if g == "no" else 1 for g in labels]
    tp = sum(1 for p, g in zip(pred, gold, strict=True) if p == 1 and g == 1)
    fp = sum(1 for p, g in zip(pred, gold, strict=True) if p == 1 and g == 0)
    tn = sum(1 for p, g in zip(pred, gold, strict=True) if p == 0 and g == 0)
    fn = sum(1 for p, g in zip(pred, gold, strict=True) if p == 0 and g == 1)
    n = len(pred)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    accuracy = (tp + tn) / n if n else 0.0
    yes_ratio = pred.count(1) / n if n else 0.0
    return PopeScores(accuracy, precision, recall, f1, yes_ratio, tp, fp, tn, fn, n)


# ---- tool use -----------------------------------------------------------------
def tool_f1(expected: Iterable[str], called: Iterable[str], optional: Iterable[str] = ()) -> float:
    """F1 of the set of tools called against the set expected (m&m's tool F1); calls of
    ``optional`` tools (a detect before an edit) count neither way."""
    want, got = set(expected), set(called) - (set(optional) - set(expected))
    if not want and not got:
        return 1.0
    hit = len(want & got)
    if not hit:
        return 0.0
    precision, recall = hit / len(got), hit / len(want)
    return 2 * precision * recall / (precision + recall)


def check_constraint(constraint: dict[str, Any], calls: Sequence[dict[str, Any]]) -> bool:
    """Does some call of ``constraint['tool']`` satisfy it?

    ``op``: ``equals`` (the argument equals ``value``), ``contains`` (a list argument
    holds ``value``, by class name up to synonyms and plural), ``absent_or_contains``
    (no restriction, or a list holding ``value``), ``at_least``/``at_most`` (numbers),
    ``mentions`` (a text argument names the class: "remove the cups" mentions cup),
    ``image`` (the call looked at the case's image: the value is ignored; the runner
    passes image ids in ``constraint['image_ids']``).
    """
    tool, arg, op, value = constraint["tool"], constraint.get("arg"), constraint["op"], constraint.get("value")
    if isinstance(arg, list):  # any of several arguments may carry it
        return any(check_constraint({**constraint, "arg": a}, calls) for a in arg)
    for call in calls:
        if call.get("tool") != tool:
            continue
        args = call.get("args") or {}
        got = args.get(arg) if arg else None
        if op == "mentions" and isinstance(got, str):
            if normalise_label(str(value)) in {normalise_label(w) for w in re.findall(r"[a-z]+", got.lower())} | {
                normalise_label(got)
            }:
                return True
        if op == "equals" and got == value:
            return True
        if op in ("contains", "absent_or_contains"):
            if got is None or got == []:
                if op == "absent_or_contains":
                    return True
                continue
            items = got if isinstance(got, list) else [got]
            if any(normalise_label(str(i)) == normalise_label(str(value)) for i in items):
                return True
        if op == "at_least" and isinstance(got, int | float) and value is not None and got >= value:
            return True
        if op == "at_most" and isinstance(got, int | float) and value is not None and got <= value:
            return True
        if op == "image":
            ids = set(constraint.get("image_ids") or [])
            if got in ids or (isinstance(got, str) and any(got.endswith(i) for i in ids)):
                return True
    return False


_NUMBER = re.compile(r"\b(\d+)\b")


def answer_matches(answer: str, reference: dict[str, Any]) -> bool:
    """Is the answer right? ``reference`` is {"yes_no": "yes"}, {"count": 3, "object": "person"},
    {"text": "EXIT"} or {"contains": ["cat"]} / {"absent": ["dog"]} (class names)."""
    from lensmith.agent.claims import extract_claims
    from lensmith.agent.grounding import fuzzy_contains
    from lensmith.runtime.vocab import number_value

    if "yes_no" in reference:
        return pope_parse(answer) == reference["yes_no"]
    if "count" in reference:
        target, obj = int(reference["count"]), reference.get("object")
        if obj:
            counts = [c.expected for c in extract_claims(answer) if c.subject == obj and c.kind in ("count", "absence", "presence")]
            values = [0 if v is False else 1 if v is True else v for v in counts]
            if values:
                return values[0] == target
        numbers = [int(n) for n in _NUMBER.findall(answer)]
        spelled = (0 if w == "no" else number_value(w) for w in re.findall(r"[a-z]+(?:-[a-z]+)?", answer.lower()))
        words = [v for v in spelled if v is not None]
        found = numbers or words
        return bool(found) and found[0] == target
    if "text" in reference:
        return fuzzy_contains(str(reference["text"]), answer)[0]
    ok = True
    if "contains" in reference or "absent" in reference:
        claims = extract_claims(answer)
        said = {c.subject for c in claims if c.kind in ("presence", "count") and c.expected not in (0, False)}
        denied = {c.subject for c in claims if c.kind == "absence"}
        ok = all(o in said for o in reference.get("contains", [])) and all(
            o in denied or o not in said for o in reference.get("absent", [])
        )
    return ok


def tool_selection_ok(expected: Iterable[str], called: Iterable[str], optional: Iterable[str] = ()) -> bool:
    """Every expected tool called, and nothing called beyond the expected and optional ones."""
    want, got = set(expected), set(called)
    return want <= got <= want | set(optional)


def grounded_share(verdicts: Sequence[Any]) -> float | None:
    """Supported claims / all checkable claims (None when the answer made none)."""
    if not verdicts:
        return None
    statuses = [v["status"] if isinstance(v, dict) else v.status for v in verdicts]
    return statuses.count("supported") / len(statuses)


def mean(values: Iterable[float | None]) -> float | None:
    kept = [float(v) for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None
