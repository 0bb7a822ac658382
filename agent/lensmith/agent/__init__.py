"""lensmith's Python API.

    from lensmith.agent import Agent

    agent = Agent()                                   # planner and tools from config.toml
    trace = agent.ask("How many people?", ["bus.jpg"])
    print(trace.answer)

:class:`Agent` runs turns: ``ask`` (blocking, returns the :class:`TurnTrace`),
``await ask_async(...)`` and ``async for event in stream(...)`` in async code, and
``iter_events`` (events, blocking). One agent serves many turns and sessions.

Names are imported on first use, so ``import lensmith.agent`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Agent": "lensmith.agent.loop",
    "Settings": "lensmith.agent.config",
    "PlannerSettings": "lensmith.agent.config",
    "MemorySettings": "lensmith.agent.config",
    "load_settings": "lensmith.agent.config",
    "Session": "lensmith.agent.sessions",
    "TurnTrace": "lensmith.agent.trace",
    "ToolCallRecord": "lensmith.agent.trace",
    "Verdict": "lensmith.agent.trace",
    "Event": "lensmith.agent.events",
}

__all__ = [
    "Agent",
    "Event",
    "MemorySettings",
    "PlannerSettings",
    "Session",
    "Settings",
    "ToolCallRecord",
    "TurnTrace",
    "Verdict",
    "load_settings",
]

if TYPE_CHECKING:
    from lensmith.agent.config import MemorySettings, PlannerSettings, Settings, load_settings
    from lensmith.agent.events import Event
    from lensmith.agent.loop import Agent
    from lensmith.agent.sessions import Session
    from lensmith.agent.trace import ToolCallRecord, TurnTrace, Verdict


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lensmith.agent' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
