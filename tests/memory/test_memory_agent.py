"""A second session recalls a fact the first one stored, through a scripted planner."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import AIMessage

from lensmith.agent.config import Settings
from lensmith.agent.loop import Agent
from lensmith.agent.planners.scripted import ScriptedChatModel, call
from lensmith.memory import open_memory
from lensmith.memory.retrieve_tool import RememberTool, RetrieveTool
from lensmith.tools.registry import Registry

pytestmark = pytest.mark.slow


def test_second_session_recalls_a_fact_from_the_first(tmp_path: Path) -> None:
    store = open_memory(tmp_path / "mem")
    registry = Registry([RememberTool(), RetrieveTool()])
    first_planner = ScriptedChatModel(replies=[
        call("remember", {"fact": "The hotel receipt from Lisbon totals 318.40 EUR", "evidence": ["img:5e1f0c2a"]}),
        AIMessage(content="Noted: the Lisbon hotel receipt totals 318.40 EUR."),
    ])
    agent = Agent(Settings(), planner=first_planner, registry=registry, memory=store)
    first = agent.ask("Remember the total of this hotel receipt: 318.40 EUR", session=agent.sessions.new())
    assert first.error is None, first.error
    assert first.calls and first.calls[0].tool == "remember" and first.calls[0].error is None

    def planner(messages, tools):  # noqa: ANN001 - the scripted model's signature
        context = "\n".join(str(m.content) for m in messages)
        if "318.40" in context:
            return AIMessage(content="The Lisbon hotel receipt totalled 318.40 EUR (from memory).")
        return AIMessage(content="I do not know.")

    second_agent = Agent(Settings(), planner=ScriptedChatModel(function=planner), registry=registry, memory=store)
    second = second_agent.ask("What was the total of the hotel receipt I showed you?", session=second_agent.sessions.new())
    assert second.error is None, second.error
    assert "318.40" in second.answer
    facts = [r for r in second.recalled if r.kind == "fact"]
    assert facts and "318.40" in facts[0].text and facts[0].source.startswith("fact:")
    assert "img:5e1f0c2a" in facts[0].source  # the evidence travels with it into the trace
    # the first session's turn was stored too, and is recalled from the other session
    assert any(r.kind == "turn" and r.source.startswith(f"turn:{first.session_id}/") for r in second.recalled)
