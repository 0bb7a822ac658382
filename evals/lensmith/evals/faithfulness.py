"""Telling detector error from planner faithfulness.

A wrong answer has two possible sources: the tools reported something false (the
detector missed the cat, or saw a cake in the coins), or the planner said something the
tools did not report. Every POPE and CHAIR case records both, so reports can say
"what the tools got wrong" and "what the planner said that the tools did not"
separately. Only detector runs on the case's own images count as evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from lensmith.agent.trace import TurnTrace
from lensmith.evals.stats import wilson
from lensmith.runtime.artifacts import DetectArtifact

ToolSays = Literal["yes", "no"] | None


def _detects(trace: TurnTrace) -> list[DetectArtifact]:
    mine = set(trace.images)
    return [
        c.artifact for c in trace.calls
        if not c.error and isinstance(c.artifact, DetectArtifact) and (not mine or c.artifact.image in mine)
    ]  # fmt: skip


def tool_says(trace: TurnTrace, label: str) -> ToolSays:
    """'yes' when a detector run on the case's image reported ``label``, 'no' when one
    looked for it and found none, None when none looked."""
    arts = _detects(trace)
    if any(d.label == label for a in arts for d in a.detections):
        return "yes"
    if any(a.looked_for(label) for a in arts):
        return "no"
    return None


def reported_classes(trace: TurnTrace) -> set[str] | None:
    """Classes any detector run on the case's image reported (None when the detector did
    not run over all classes, so absences are unknown)."""
    arts = _detects(trace)
    if not arts:
        return None
    return {d.label for a in arts for d in a.detections}


def pope_faithfulness(truth: str, tools: ToolSays, answer: str) -> dict[str, Any]:
    """Per POPE case: did the tools get it wrong, did the planner depart from the tools?
    (``answer`` is 'yes', 'no' or 'error': a failed turn is neither faithful nor not.)"""
    return {
        "tool_says": tools,
        "tool_wrong": None if tools is None else tools != truth,
        "planner_unfaithful": None if tools is None or answer not in ("yes", "no") else answer != tools,
    }


def pope_summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Counts and rates: tools wrong, planner unfaithful, answers with no tool evidence, and
    the wrong answers split by where the error came from."""
    failed = [r["scores"] for r in rows if r["scores"].get("prediction") not in ("yes", "no")]
    scored = [r["scores"] for r in rows if r["scores"].get("prediction") in ("yes", "no")]
    with_evidence = [s for s in scored if s.get("tool_says") is not None]
    wrong = [s for s in scored if not s.get("correct")]
    tool_wrong = sum(1 for s in with_evidence if s["tool_wrong"])
    unfaithful = sum(1 for s in with_evidence if s["planner_unfaithful"])
    return {
        "tools_wrong": wilson(tool_wrong, len(with_evidence)).as_dict(),
        "planner_unfaithful": wilson(unfaithful, len(with_evidence)).as_dict(),
        "no_tool_evidence": sum(1 for s in scored if s.get("tool_says") is None),
        "wrong_answers": len(wrong),
        "wrong_because_tools_wrong": sum(1 for s in wrong if s.get("tool_wrong") and not s.get("planner_unfaithful")),
        "wrong_because_planner_departed": sum(1 for s in wrong if s.get("tool_wrong") is False and s.get("planner_unfaithful")),
        "wrong_without_tool_evidence": sum(1 for s in wrong if s.get("tool_says") is None),
        "failed_turns": len(failed),  # scored wrong, left out of the rates above
    }


def chair_faithfulness(objects: Sequence[str], hallucinated: Sequence[str], reported: set[str] | None,
                       truth: set[str]) -> dict[str, Any]:  # fmt: skip
    """Per caption: hallucinated mentions the tools reported (detector error) vs those they
    did not (the planner's own); mentions of any kind the tools did not report; and the
    detector's own false reports, mentioned or not."""
    if reported is None:
        return {"tools_ran": False, "halluc_from_tools": 0, "halluc_not_from_tools": len(hallucinated),
                "mentions_not_from_tools": len(objects), "tool_false_classes": []}  # fmt: skip
    return {
        "tools_ran": True,
        "halluc_from_tools": sum(1 for o in hallucinated if o in reported),
        "halluc_not_from_tools": sum(1 for o in hallucinated if o not in reported),
        "mentions_not_from_tools": sum(1 for o in objects if o not in reported),
        "tool_false_classes": sorted(reported - truth),
    }


# ---- the grounding checker's verdicts (what the checker thought of the answer) ------------
def grounding_scores(trace: TurnTrace) -> dict[str, Any]:
    from lensmith.evals.metrics import grounded_share

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


def grounding_aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    from lensmith.evals.metrics import mean

    claims = sum(r["scores"].get("claims", 0) for r in rows)
    supported = sum(r["scores"].get("supported", 0) for r in rows)
    revised = sum(1 for r in rows if r["scores"].get("revised"))
    return {
        "grounded_share": supported / claims if claims else None,  # over all claims of the run
        # the same with n and a 95% interval (claims of one answer are not independent: read it as rough)
        "grounded_claims": wilson(supported, claims).as_dict(),
        "revised_turns": wilson(revised, len(rows)).as_dict(),
        "contradicted_claims": sum(r["scores"].get("contradicted", 0) for r in rows),
        "unverified_claims": sum(r["scores"].get("unverified", 0) for r in rows),
        "revised_share": mean(1.0 if r["scores"].get("revised") else 0.0 for r in rows),
        "errors": sum(1 for r in rows if r["scores"].get("error")),
        "cases": len(rows),
    }
