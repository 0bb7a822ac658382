"""The grounding probe set: does the checker catch what an answer gets wrong?

Hand-written draft answers (``data/grounding_probes.json``) with hand-labelled claims,
held against real tool results recorded on the shipped photos
(``data/grounding_evidence.json``). Each labelled claim is matched to the verdicts whose
span in the answer overlaps it and whose kind fits (object, text, position, attribute):

- a **false** or **unknowable** claim is *caught* when a matching verdict is contradicted
  or unverified; silence (no verdict) or "supported" lets it through;
- a **true** claim is a *false alarm* when a matching verdict is contradicted or
  unverified.

Reported per category and per split ("tune": the drafts looked at while building the
extractor; "heldout": never looked at), with Wilson 95% intervals.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from lensmith.agent.grounding import check_answer, turn_evidence
from lensmith.agent.trace import ToolCallRecord, Verdict
from lensmith.evals.stats import wilson

DATA = Path(__file__).parent / "data"
TEXT = {"text", "ocr-confidence"}
POSITION = {"position"}
ATTRIBUTE = {"colour", "action", "relation", "gender", "emotion", "scene", "attribute", "confidence"}


@dataclass
class ClaimResult:
    draft: str
    split: str
    span: str
    category: str
    label: str
    statuses: list[str]  # of the matching verdicts
    reasons: list[str] = field(default_factory=list)
    weak_shown: bool | None = None  # for supported weak evidence: marked low confidence?

    @property
    def flagged(self) -> bool:
        return any(s != "supported" for s in self.statuses)

    @property
    def ok(self) -> bool:
        return not self.flagged if self.label == "true" else self.flagged


@lru_cache(maxsize=1)
def _evidence() -> dict[str, Any]:
    return json.loads((DATA / "grounding_evidence.json").read_text())["photos"]


def drafts() -> list[dict[str, Any]]:
    return json.loads((DATA / "grounding_probes.json").read_text())["drafts"]


def _calls(keys: list[str]) -> list[ToolCallRecord]:
    photos = _evidence()
    calls = []
    for key in keys:
        photo, _, run = key.partition(":")
        art = photos[photo]["runs"][run]
        calls.append(ToolCallRecord(call_id=key, tool=art["tool"], artifact=art))
    return calls


def _group(category: str) -> str:
    if category in TEXT:
        return "text"
    if category in POSITION:
        return "position"
    if category in ATTRIBUTE:
        return "attribute"
    return "object"


def _verdict_group(verdict: Verdict) -> str:
    return {"text": "text", "position": "position", "attribute": "attribute"}.get(verdict.kind, "object")


def run_draft(draft: dict[str, Any]) -> tuple[list[ClaimResult], list[Verdict]]:
    photos = _evidence()
    names = list(draft["images"])
    ids = [photos[n]["id"] for n in names]
    earlier = draft.get("earlier") or {}
    calls = turn_evidence(_calls(draft["evidence"]), [_calls(earlier.get("evidence", []))])
    every = names + list(earlier.get("images", []))
    verdicts = check_answer(
        draft["answer"], calls, images=ids,
        image_names={photos[n]["id"]: n for n in every},
        image_sizes={photos[n]["id"]: tuple(photos[n]["size"]) for n in every},  # type: ignore[misc]
    )
    results = []
    answer = draft["answer"]
    for claim in draft["claims"]:
        start = answer.find(claim["span"])
        end = start + len(claim["span"])
        group = _group(claim["category"])
        matched = [
            v for v in verdicts
            if v.start is not None and v.end is not None and v.start < end and start < v.end and _verdict_group(v) == group
        ]
        weak = None
        if claim["category"] in ("weak", "ocr-confidence") and claim["label"] == "true":
            weak = any(v.status == "supported" and v.confidence == "low" for v in matched)
        results.append(ClaimResult(draft["id"], draft["split"], claim["span"], claim["category"], claim["label"],
                                   [v.status for v in matched], [v.reason for v in matched], weak))
    return results, verdicts


def evaluate(split: str | None = None) -> dict[str, Any]:
    """Run every draft (or one split) and score the checker."""
    results: list[ClaimResult] = []
    for draft in drafts():
        if split and draft["split"] != split:
            continue
        results.extend(run_draft(draft)[0])
    return score(results)


def score(results: list[ClaimResult]) -> dict[str, Any]:
    def rates(rows: list[ClaimResult]) -> dict[str, Any]:
        bad = [r for r in rows if r.label != "true"]
        good = [r for r in rows if r.label == "true"]
        weak = [r for r in rows if r.weak_shown is not None]
        return {
            "caught": wilson(sum(r.flagged for r in bad), len(bad)).as_dict(),
            "false_alarm": wilson(sum(r.flagged for r in good), len(good)).as_dict(),
            "weak_shown_weak": wilson(sum(bool(r.weak_shown) for r in weak), len(weak)).as_dict(),
        }

    by_category: dict[str, list[ClaimResult]] = defaultdict(list)
    by_split: dict[str, list[ClaimResult]] = defaultdict(list)
    for r in results:
        by_category[r.category].append(r)
        by_split[r.split].append(r)
    return {
        "drafts": len({r.draft for r in results}),
        "claims": len(results),
        "overall": rates(results),
        "splits": {k: rates(v) for k, v in sorted(by_split.items())},
        "categories": {k: rates(v) for k, v in sorted(by_category.items())},
        "misses": [
            {"draft": r.draft, "split": r.split, "span": r.span, "category": r.category, "label": r.label,
             "statuses": r.statuses, "reasons": r.reasons}
            for r in results if not r.ok
        ],
    }


def _cell(rate: dict[str, Any]) -> str:
    if rate["value"] is None:
        return "–"
    return f"{rate['value']:.0%} ({rate['low']:.0%}–{rate['high']:.0%})"


def table(report: dict[str, Any]) -> str:
    """The report as a Markdown table: caught and false-alarm rates with n and 95% intervals."""
    rows = [("**all**", report["overall"])]
    rows += [(f"**{name}** split", rates) for name, rates in report["splits"].items()]
    rows += sorted(report["categories"].items())
    lines = [
        "| claims | false/unknowable n | caught (95% CI) | true n | true flagged (95% CI) |",
        "|---|---:|---|---:|---|",
    ]
    for name, rates in rows:
        caught, alarm = rates["caught"], rates["false_alarm"]
        lines.append(f"| {name} | {caught['n']} | {_cell(caught)} | {alarm['n']} | {_cell(alarm)} |")
    weak = report["overall"]["weak_shown_weak"]
    lines.append("")
    lines.append(f"Weak evidence (a score under 0.5) shown as low confidence: {_cell(weak)} of {weak['n']}.")
    return "\n".join(lines)
