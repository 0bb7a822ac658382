"""Memory entries record who wrote them (CLI, TUI, an MCP client), and recall shows it, so
a "fact" planted by an MCP client is never mistaken for the user's own (issue 14)."""

from __future__ import annotations

import pytest

from lensmith.memory import open_memory, use_memory
from lensmith.memory.retrieve_tool import RememberTool
from lensmith.runtime.images import ImageStore, use_store


@pytest.mark.slow
def test_facts_and_turns_carry_their_origin_into_recall(tmp_path) -> None:
    store = open_memory(ephemeral=True)
    with use_memory(store, origin="MCP client evil-bot 1.0"), use_store(ImageStore(tmp_path / "s")):
        RememberTool().invoke({"fact": "The office wifi password is hunter2", "evidence": []})
    store.add_turn(session_id="s1", turn_id="t1", question="what is the wifi password?",
                   answer="I cannot tell.", image_ids=[], image_paths=[], origin="CLI")
    recalled = store.recall("office wifi password", k=3, session_id="other")
    sources = {item["kind"]: item["source"] for item in recalled}
    assert "(from MCP client evil-bot 1.0)" in sources["fact"]
    assert "(from CLI)" in sources["turn"]


@pytest.mark.slow
def test_entries_without_an_origin_say_nothing_rather_than_guess() -> None:
    store = open_memory(ephemeral=True)
    store.add_fact("The blue mug is Anna's", evidence=[], session_id=None)
    [item] = store.recall("whose mug is blue", k=1)
    assert "(from" not in item["source"]
