"""The registry a run uses, built from its settings: which tools, on which devices.

One place, so that the agent loop, ``lensmith index`` and ``lensmith search`` run the
same configured tools (and a nested use of tools never discovers its own)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from lensmith.agent.config import Settings
from lensmith.tools.registry import Registry

log = logging.getLogger(__name__)

LOOK_TOOLS = ("detect", "read_text")


def build_registry(settings: Settings) -> Registry:
    registry = Registry.discover(
        mcp_servers=settings.mcp_servers or None,
        only=settings.tools,
        device=None if settings.device == "auto" else settings.device,
    )
    for name, device in settings.tool_devices.items():
        if name not in registry:
            log.warning("config [tool_devices] names %r, which is not a registered tool", name)
            continue
        tool = registry.get(name)
        if "device" in type(tool).model_fields:
            tool.device = device  # type: ignore[attr-defined]
    return registry


def look_tools(settings: Settings, names: Sequence[str] = LOOK_TOOLS) -> list[Any]:
    """The tools that describe a photo for the index (those of ``names`` that are registered)."""
    registry = build_registry(settings)
    return [registry.get(name) for name in names if name in registry]
