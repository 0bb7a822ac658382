"""MCP servers named in the config: real stdio round trips with tests/support/mcp_tiny_server.py,
started as a subprocess by langchain-mcp-adapters, exactly as a user's server would be."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage
from support.tool_contract import invoke

from lensmith.runtime.artifacts import GenericArtifact
from lensmith.tools.registry import Registry

SERVER = str(Path(__file__).resolve().parents[1] / "support" / "mcp_tiny_server.py")
TINY = {"tiny": {"command": sys.executable, "args": [SERVER], "transport": "stdio"}}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.discover(entry_points=False, mcp_servers=TINY)


def text_of(message: ToolMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(block["text"] for block in content if block.get("type") == "text")


def call(name: str, args: dict, call_id: str = "call-1") -> dict:
    return {"type": "tool_call", "id": call_id, "name": name, "args": args}


def test_server_tools_are_listed(registry: Registry) -> None:
    assert registry.names() == ["always_fails", "crash", "word_count"]
    assert registry.failures() == []
    info = {i.name: i for i in registry.infos()}["word_count"]
    assert info.source == "mcp:tiny" and info.ok
    assert info.origin == f"{sys.executable} {SERVER}"
    assert "count the words" in info.description.lower()
    assert info.args_schema["properties"]["text"]["type"] == "string"
    assert info.args_schema["required"] == ["text"]


async def test_round_trip(registry: Registry) -> None:
    message = await registry.get("word_count").ainvoke(call("word_count", {"text": "the quick brown fox jumps"}))
    assert isinstance(message, ToolMessage) and message.status == "success"
    assert text_of(message) == "5"
    assert isinstance(message.artifact, GenericArtifact)
    assert message.artifact.tool == "word_count" and message.artifact.method == "mcp:tiny/word_count"
    assert message.artifact.data == {"result": 5}


def test_sync_callers_get_a_round_trip_too(registry: Registry) -> None:
    # the adapter's tools are async-only; the registry gives them a sync path
    message = invoke(registry.get("word_count"), {"text": "one two three"})
    assert message.status == "success" and text_of(message) == "3"


async def test_a_raising_tool_is_an_error_message(registry: Registry) -> None:
    message = await registry.get("always_fails").ainvoke(call("always_fails", {"reason": "out of ink"}))
    assert message.status == "error"
    assert "tiny server refused: out of ink" in text_of(message)


async def test_a_server_dying_mid_call_is_an_error_message(registry: Registry) -> None:
    message = await registry.get("crash").ainvoke(call("crash", {}))
    assert message.status == "error"
    assert "MCP server 'tiny' failed while running crash" in text_of(message)
    # and the next call starts a fresh server process
    again = await registry.get("word_count").ainvoke(call("word_count", {"text": "still here"}, "call-2"))
    assert text_of(again) == "2"


def test_a_missing_server_is_a_listed_failure() -> None:
    registry = Registry.discover(
        entry_points=False,
        mcp_servers={
            "ghost": {"command": "/nonexistent/lensmith-mcp-server", "args": ["--stdio"], "transport": "stdio"},
            **TINY,
        },
    )
    assert registry.names() == ["always_fails", "crash", "word_count"]  # the good server still loads
    (failure,) = registry.failures()
    assert (failure.name, failure.source, failure.ok) == ("ghost/*", "mcp:ghost", False)
    assert failure.origin == "/nonexistent/lensmith-mcp-server --stdio"
    assert "FileNotFoundError" in failure.error and "/nonexistent/lensmith-mcp-server" in failure.error


def test_a_whole_agent_turn_calls_the_mcp_tool() -> None:
    from lensmith.agent.config import Settings
    from lensmith.agent.events import ToolCalled, ToolFinished
    from lensmith.agent.loop import Agent
    from lensmith.agent.planners.scripted import ScriptedChatModel
    from lensmith.agent.planners.scripted import call as tool_call

    settings = Settings(device="cpu", mcp_servers=TINY, tools=["word_count", "always_fails"])
    planner = ScriptedChatModel(
        replies=[
            tool_call("word_count", {"text": "a rose is a rose"}, call_id="call_wc"),
            tool_call("always_fails", {"reason": "testing"}, call_id="call_fail"),
            "The sentence has 5 words.",
        ]
    )
    agent = Agent(settings, planner=planner, memory=False)  # registry from settings.mcp_servers
    assert agent.registry.names() == ["always_fails", "word_count"]
    events: list = []
    trace = agent.ask("How many words are in 'a rose is a rose'?", on_event=events.append)

    assert trace.error is None, trace.error
    assert trace.answer == "The sentence has 5 words."
    counted, failed = trace.calls
    assert (counted.tool, counted.args, counted.summary, counted.error) == (
        "word_count", {"text": "a rose is a rose"}, "5", None
    )
    assert isinstance(counted.artifact, GenericArtifact) and counted.artifact.data == {"result": 5}
    assert failed.tool == "always_fails" and "tiny server refused: testing" in failed.error
    assert [e.call_id for e in events if isinstance(e, ToolCalled)] == ["call_wc", "call_fail"]
    assert [e.record.tool for e in events if isinstance(e, ToolFinished)] == ["word_count", "always_fails"]
    # the planner saw the server's answer as the tool result
    tool_results = [m for m in planner.seen[-1] if isinstance(m, ToolMessage)]
    assert [text_of(m) for m in tool_results][0] == "5"
