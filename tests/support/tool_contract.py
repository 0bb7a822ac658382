"""The contract every tool's test class inherits.

A tool test module subclasses :class:`ToolContract` and provides two fixtures:
``tool`` (a ready instance) and ``good_call`` (``(args, store)`` for a call that must
succeed, with any images already in ``store``).
"""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool

from lensmith.tools import Artifact, ImageStore, parse_artifact, use_store


def invoke(tool: BaseTool, args: dict, call_id: str = "call-1") -> ToolMessage:
    """Call a tool the way the agent loop does: with a ToolCall, getting a ToolMessage."""
    message = tool.invoke({"type": "tool_call", "id": call_id, "name": tool.name, "args": args})
    assert isinstance(message, ToolMessage)
    return message


class ToolContract:
    @pytest.fixture
    def tool(self) -> BaseTool:  # pragma: no cover - overridden
        raise NotImplementedError

    @pytest.fixture
    def good_call(self) -> tuple[dict, ImageStore]:  # pragma: no cover - overridden
        raise NotImplementedError

    def test_describes_itself(self, tool: BaseTool) -> None:
        assert tool.name.isidentifier()
        assert len(tool.description) > 20
        schema = tool.tool_call_schema.model_json_schema()
        assert schema["properties"], "a tool takes named, typed arguments"
        json.dumps(schema)

    def test_returns_content_and_typed_artifact(self, tool: BaseTool, good_call) -> None:
        args, store = good_call
        with use_store(store):
            message = invoke(tool, args)
        assert message.status == "success", message.content
        assert isinstance(message.content, str) and message.content.strip()
        assert isinstance(message.artifact, Artifact)
        assert message.artifact.tool == tool.name
        assert message.artifact.method
        again = parse_artifact(json.loads(message.artifact.model_dump_json()))
        assert type(again) is type(message.artifact)
        for image_id in message.artifact.images:
            assert image_id in store

    def test_unknown_image_is_an_error_the_planner_sees(self, tool: BaseTool, good_call) -> None:
        args, store = good_call
        if "image" not in args:
            pytest.skip("tool takes no image")
        with use_store(store):
            message = invoke(tool, {**args, "image": "img:00000000"})
        assert message.status == "error"
        assert "img:00000000" in message.content

    def test_bad_arguments_are_an_error_the_planner_sees(self, tool: BaseTool, good_call) -> None:
        args, store = good_call
        with use_store(store):
            message = invoke(tool, {"no_such_argument": object.__name__})
        assert message.status == "error"
