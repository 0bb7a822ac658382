"""The grounding probe set as a regression test: hand-labelled claims over real tool
evidence; the checker must catch false and unknowable claims and leave true ones alone,
on the part tuned on and on the held-out part."""

from __future__ import annotations

from collections import Counter

import pytest

from lensmith.evals.grounding import drafts, evaluate, run_draft


def test_the_probe_set_is_big_enough_and_labelled() -> None:
    items = drafts()
    claims = [c for d in items for c in d["claims"]]
    assert len(items) >= 60 and len(claims) >= 200
    assert {c["label"] for c in claims} == {"true", "false", "unknowable"}
    assert Counter(d["split"] for d in items)["heldout"] >= 30
    for d in items:
        for c in d["claims"]:
            assert c["span"] in d["answer"], (d["id"], c["span"])
    categories = {c["category"] for c in claims}
    for needed in ("quantifier", "negation", "text", "colour", "action", "relation", "emotion", "scene",
                   "gender", "multi-image", "cross-turn", "undetectable", "weak", "ocr-confidence"):
        assert needed in categories


@pytest.mark.parametrize("split", ["tune", "heldout"])
def test_checker_catches_wrong_claims_and_spares_true_ones(split: str) -> None:
    report = evaluate(split)
    caught, alarms = report["overall"]["caught"], report["overall"]["false_alarm"]
    assert caught["value"] >= 0.90, report["misses"]
    assert alarms["value"] <= 0.05, report["misses"]
    assert report["overall"]["weak_shown_weak"]["value"] == 1.0, report["misses"]


def test_a_draft_is_scored_claim_by_claim() -> None:
    swapped = next(d for d in drafts() if d["answer"].startswith("The first photo shows two people"))
    results, verdicts = run_draft(swapped)
    assert [(r.label, r.statuses) for r in results] == [("false", ["contradicted"]), ("false", ["contradicted"])]
    assert all(v.start is not None for v in verdicts)


def test_the_cli_prints_the_table_and_json() -> None:
    import json

    from typer.testing import CliRunner

    from lensmith.cli import app

    shown = CliRunner().invoke(app, ["eval", "grounding", "--split", "heldout", "--misses"])
    assert shown.exit_code == 0, shown.output
    assert "| **heldout** split |" in shown.output and "true flagged" in shown.output
    as_json = CliRunner().invoke(app, ["eval", "grounding", "--json"])
    assert as_json.exit_code == 0 and json.loads(as_json.output)["claims"] >= 200
    wrong = CliRunner().invoke(app, ["eval", "grounding", "--split", "nope"])
    assert wrong.exit_code != 0 and "--split" in wrong.output
