"""The rule-based planner reads recalled memory only for questions about the past, so the
loop recalls only for those: a question about a photo opens no memory database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lensmith.agent.config import Settings
from lensmith.agent.loop import Agent
from lensmith.agent.planners.heuristic import HeuristicPlanner
from lensmith.memory import open_memory
from lensmith.tools.registry import Registry


@pytest.mark.parametrize(("question", "wanted"), [
    ("what is my dog called?", True),
    ("do you remember the wifi password I gave you?", True),
    ("how many dogs are there?", False),
    ("what does the sign say?", False),
])
def test_uses_recall_only_for_questions_about_the_past(question: str, wanted: bool) -> None:
    assert HeuristicPlanner().uses_recall(question) is wanted


def test_loop_recalls_only_when_the_heuristic_planner_can_use_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_memory(tmp_path / "mem")
    store.add_fact("my dog is called Rex", evidence=[], session_id=None)
    asked: list[str] = []
    real = type(store).recall

    def spy(self: Any, question: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(question)
        return real(self, question, *args, **kwargs)

    monkeypatch.setattr(type(store), "recall", spy)
    agent = Agent(Settings(), planner="heuristic", registry=Registry([]), memory=store)

    about_photo = agent.ask("how many dogs are there?", session=agent.sessions.new())
    assert about_photo.error is None, about_photo.error
    assert asked == [] and about_photo.recalled == []

    about_past = agent.ask("what is my dog called?", session=agent.sessions.new())
    assert asked == ["what is my dog called?"]
    assert any("Rex" in r.text for r in about_past.recalled)
    assert "Rex" in about_past.answer
