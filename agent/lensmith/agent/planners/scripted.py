"""A scripted chat model for tests and demos, in the style of pydantic-ai's
``FunctionModel``: either a function that sees the messages and the bound tools and
returns the next message, or a list of messages played in order."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

Reply = AIMessage | str
ScriptFunction = Callable[[list[BaseMessage], list[dict[str, Any]]], Reply]


class _Tape:
    """Shared by every copy ``bind_tools`` makes, so the script advances once per call."""

    def __init__(self, replies: Sequence[Reply]) -> None:
        self.replies = list(replies)
        self.position = 0
        self.seen: list[list[BaseMessage]] = []
        self.lock = threading.Lock()


class ScriptedChatModel(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    function: ScriptFunction | None = None
    replies: list[Any] = Field(default_factory=list)  # AIMessage or str; Any keeps pydantic from coercing
    bound_tools: list[dict[str, Any]] = Field(default_factory=list)
    tape: _Tape | None = None

    def model_post_init(self, context: Any) -> None:
        if self.tape is None:
            self.tape = _Tape(self.replies)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def seen(self) -> list[list[BaseMessage]]:
        """The message lists the model was called with, in order."""
        assert self.tape is not None
        return self.tape.seen

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        schemas = [convert_to_openai_tool(t) for t in tools]
        return self.model_copy(update={"bound_tools": schemas})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tape = self.tape
        assert tape is not None
        with tape.lock:
            tape.seen.append(list(messages))
            if self.function is not None:
                reply = self.function(list(messages), self.bound_tools)
            elif tape.position < len(tape.replies):
                reply = tape.replies[tape.position]
                tape.position += 1
            else:
                raise RuntimeError("ScriptedChatModel ran out of scripted replies")
        message = AIMessage(content=reply) if isinstance(reply, str) else reply
        return ChatResult(generations=[ChatGeneration(message=message)])


def call(name: str, args: dict[str, Any], call_id: str | None = None, text: str = "") -> AIMessage:
    """An AIMessage asking for one tool call (a shorthand for scripts)."""
    import uuid

    return AIMessage(
        content=text,
        tool_calls=[{"name": name, "args": args, "id": call_id or f"call_{uuid.uuid4().hex[:8]}", "type": "tool_call"}],
    )
