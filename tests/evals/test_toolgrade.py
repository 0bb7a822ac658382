"""Strict grading of tool-use answers, and the shape of the user-phrased question set."""

from __future__ import annotations

import json

import pytest

from lensmith.evals.tool_questions import QUESTIONS, outcome_aggregate
from lensmith.evals.toolgrade import count_of, grade, yes_no


@pytest.mark.parametrize(
    ("answer", "ref", "outcome"),
    [
        ("There are 4 people (detect: 0.90, 0.83).", {"count": 4, "object": "person"}, "correct"),
        ("There are 3 people (detect: 0.90).", {"count": 4, "object": "person"}, "wrong"),
        ("No dog was detected (detect).", {"count": 0, "object": "dog"}, "correct"),
        ("I see 1 cup, 1 dining table (detect).", {"decline": True}, "off_topic"),
        ("There is 1 bus (detect: 0.93).", {"words_any": ["blue"]}, "off_topic"),  # a count for a colour question
        ("I can't tell: no tool here measures the scene.", {"decline": True}, "correct"),
        ("I can't tell what you are asking.", {"yes_no": "yes"}, "declined"),
        ("Yes: there is 1 cat (detect: 0.85).", {"yes_no": "yes"}, "correct"),
        ("Probably yes, but the evidence is weak: there is 1 dog (detect: 0.3).", {"yes_no": "no"}, "wrong"),
        ("There are 2 people (detect).", {"yes_no": "yes"}, "off_topic"),  # no yes or no
        ('The text reads: "Printing 2nd floor" (read_text).', {"text": "2nd floor"}, "correct"),
        ('The text reads: "Printing 3rd floor" (read_text).', {"text": "2nd floor"}, "wrong"),  # digits exact
        ('The text reads: "BUSINESS CENTRE" (read_text).', {"text": "BUSINESS CENTER"}, "wrong"),  # words exact
        ("I found no readable text (read_text).", {"no_text": True}, "correct"),
        ("No bicycle was detected (detect).", {"side": "left"}, "wrong"),  # answers where: nowhere
        ("I see 1 person (detect).", {"side": "left"}, "off_topic"),
        ("I need an image to answer that.", {"needs_image": True}, "correct"),
        ('Probably: a sign reads "Printing 2nd floor" (read_text).', {"hedged": True, "words_all": ["print"]}, "correct"),
        ('A sign reads "Printing 2nd floor" (read_text).', {"hedged": True, "words_all": ["print"]}, "wrong"),
        ("Vehicles detected: 1 bus (detect).", {"contains": ["bus"], "absent": ["car"]}, "correct"),
        ("I see 1 bus, 2 cars (detect).", {"contains": ["bus"], "absent": ["car"]}, "wrong"),
        ("Photo 1 (bus.jpg): No: no cat was detected. Photo 2 (chelsea.png): Yes: there is 1 cat.",
         {"per_image": [{"yes_no": "no"}, {"yes_no": "yes"}]}, "correct"),
        ("Photo 1 (bus.jpg): Yes: there is 1 cat. Photo 2 (chelsea.png): Yes: there is 1 cat.",
         {"per_image": [{"yes_no": "no"}, {"yes_no": "yes"}]}, "wrong"),
        ("There is 1 cat (detect).", {"per_image": [{"yes_no": "no"}, {"yes_no": "yes"}]}, "off_topic"),
        ("There are 4 people. I can't tell: no tool measures the scene.",
         {"all": [{"count": 4, "object": "person"}, {"decline": True}]}, "correct"),
        ("There are 4 people.", {"all": [{"count": 4, "object": "person"}, {"words_any": ["blue"]}]}, "off_topic"),
    ],
)  # fmt: skip
def test_grade(answer, ref, outcome):
    assert grade(answer, ref) == outcome


def test_counts_and_yes_no_are_read_strictly():
    assert count_of("There are 4 people and one bus.", "bus") == 1
    assert count_of("There are 4 people.", "person") == 4
    assert count_of("I see no cats here.", "cat") == 0
    assert count_of("There is a bus.", "person") is None
    assert yes_no("No: no dog was detected.") == "no"
    assert yes_no("Yes — there is one.") == "yes"
    assert yes_no("There is one dog.") is None


def test_the_question_set_is_large_split_and_complete():
    tasks = json.loads(QUESTIONS.read_text())["tasks"]
    assert len(tasks) >= 150
    assert len({t["id"] for t in tasks}) == len(tasks)
    heldout = [t for t in tasks if t["split"] == "heldout"]
    assert len(tasks) / 4 <= len(heldout) <= len(tasks) / 2
    for task in tasks:
        assert task["question"].strip() and isinstance(task["images"], list)
        assert "answer" in task and "tools" in task and "optional_tools" in task
    declines = [t for t in tasks if t["answer"].get("decline")]
    assert len(declines) >= 20  # questions whose right answer is "I can't tell"


def test_the_report_gives_each_split_with_intervals():
    rows = [{"scores": {"outcome": o, "tool_selection": True}, "metadata": {"split": s}}
            for s, o in [("heldout", "correct"), ("heldout", "declined"), ("heldout", "off_topic"), ("tune", "wrong")]]
    out = outcome_aggregate(rows)
    assert out["heldout/n"] == 3 and out["heldout/correct_or_declined"] == pytest.approx(2 / 3)
    low, high = out["heldout/correct_or_declined_ci95"]
    assert 0 < low < 2 / 3 < high < 1
    assert out["heldout/off_topic_count"] == 1 and out["tune/wrong"] == 1.0
