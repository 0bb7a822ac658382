"""Progress reporting from tools without knowing who listens.

Tools must not import the agent, so they report through a context-local callback that
the agent loop (or the MCP server, or a benchmark) installs for the duration of a call.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

log = logging.getLogger("lensmith.tools")


@dataclass(frozen=True)
class Progress:
    source: str  # a tool or model name
    message: str  # "loading YOLO11n (openvino)"
    fraction: float | None = None  # 0..1 when known


ProgressSink = Callable[[Progress], None]

_sink: contextvars.ContextVar[ProgressSink | None] = contextvars.ContextVar(
    "lensmith_progress_sink", default=None
)


def report(source: str, message: str, fraction: float | None = None) -> None:
    """Tell whoever listens how a long step is going; logs when nobody does."""
    sink = _sink.get()
    event = Progress(source, message, fraction)
    if sink is None:
        log.info("%s: %s", source, message)
    else:
        sink(event)


@contextlib.contextmanager
def progress_to(sink: ProgressSink | None) -> Iterator[None]:
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)
