"""The typed event stream of a turn, consumed by the CLI, the TUI and the eval runner.

Events arrive in order: ``TurnStarted``, then any ``MemoryRecalled``/``ModelLoading``,
a ``ToolCalled``/``ToolFinished`` pair per call, an ``AnswerDrafted`` per draft, one
``GroundingChecked``, and exactly one of ``TurnFinished``, ``TurnFailed`` or
``TurnCancelled``. ``TurnFinished`` carries the whole :class:`TurnTrace`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from lensmith.agent.trace import Recalled, ToolCallRecord, TurnTrace, Verdict


class Event(BaseModel):
    type: str
    session_id: str = ""
    turn_id: str = ""


class TurnStarted(Event):
    type: Literal["turn_started"] = "turn_started"
    question: str
    images: list[str] = Field(default_factory=list)
    planner: str = ""
    planner_note: str = ""


class ModelLoading(Event):
    type: Literal["model_loading"] = "model_loading"
    source: str
    message: str
    fraction: float | None = None


class MemoryRecalled(Event):
    type: Literal["memory_recalled"] = "memory_recalled"
    items: list[Recalled]


class ToolCalled(Event):
    type: Literal["tool_called"] = "tool_called"
    call_id: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    step: int = 0


class ToolFinished(Event):
    type: Literal["tool_finished"] = "tool_finished"
    record: ToolCallRecord


class AnswerDrafted(Event):
    type: Literal["answer_drafted"] = "answer_drafted"
    text: str
    revision: int = 0


class GroundingChecked(Event):
    type: Literal["grounding_checked"] = "grounding_checked"
    verdicts: list[Verdict]
    revised: bool = False


class TurnFinished(Event):
    type: Literal["turn_finished"] = "turn_finished"
    trace: TurnTrace


class TurnFailed(Event):
    """The turn could not finish (planner server down, timeout, ...); the conversation is kept."""

    type: Literal["turn_failed"] = "turn_failed"
    error: str
    trace: TurnTrace


class TurnCancelled(Event):
    type: Literal["turn_cancelled"] = "turn_cancelled"
    trace: TurnTrace


AnyEvent = (
    TurnStarted | ModelLoading | MemoryRecalled | ToolCalled | ToolFinished | AnswerDrafted
    | GroundingChecked | TurnFinished | TurnFailed | TurnCancelled
)
