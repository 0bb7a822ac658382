"""The tool contract: a LangChain tool with a pydantic schema, a lazy ``setup()``
and a ``(content, artifact)`` result.

``content`` is the short line the planner reads; ``artifact`` is the typed
:class:`~tools.artifacts.Artifact`. Any failure inside a tool surfaces as a
:class:`~tools.errors.ToolError` message that the planner sees, never a crash.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from langchain_core.tools import BaseTool
from pydantic import PrivateAttr

from lensmith.runtime.artifacts import Artifact
from lensmith.runtime.errors import LensmithError, ToolError
from lensmith.runtime.progress import report

log = logging.getLogger("lensmith.tools")

T = TypeVar("T")

_shared: dict[str, Any] = {}
_shared_locks: dict[str, threading.Lock] = {}
_shared_guard = threading.Lock()


def shared_model(key: str, loader: Callable[[], T], *, label: str | None = None) -> T:
    """Load a model once per process and hand the same instance to every tool.

    ``key`` should name the weights and device ("yolo:/path/yolo11n:cpu"); loading
    reports progress so the UI can show it.
    """
    with _shared_guard:
        if key in _shared:
            return _shared[key]
        lock = _shared_locks.setdefault(key, threading.Lock())
    with lock:
        if key not in _shared:
            report(label or key, f"loading {label or key}", 0.0)
            _shared[key] = loader()
            report(label or key, f"loaded {label or key}", 1.0)
    return _shared[key]


def release_models(prefix: str = "") -> list[str]:
    """Drop shared models whose key starts with ``prefix`` (all of them by default), so
    their memory can be freed; the next call to :func:`shared_model` loads afresh."""
    with _shared_guard:
        keys = [k for k in _shared if k.startswith(prefix)]
        for key in keys:
            del _shared[key]
    return keys


def loaded_models() -> list[str]:
    with _shared_guard:
        return sorted(_shared)


def explain_invalid_arguments(error: Exception) -> str:
    """Tell the planner which argument was wrong and why, not just that one was."""
    details = getattr(error, "errors", None)
    if callable(details):
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ())) or 'arguments'}: {e.get('msg', '')}" for e in details()]
        return "Invalid arguments: " + "; ".join(parts)
    return f"Invalid arguments: {error}"


class LensmithTool(BaseTool):
    """Base for lensmith's tools; subclasses set ``name``, ``description``,
    ``args_schema`` and implement :meth:`run_tool` (and :meth:`setup` when they load
    a model)."""

    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool | str | Callable[..., str] | None = True
    handle_validation_error: bool | str | Callable[..., str] | None = explain_invalid_arguments
    device: str | None = None  # None/"auto": CUDA when present, else CPU

    _ready: bool = PrivateAttr(default=False)
    _setup_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def setup(self) -> None:
        """Load expensive resources. Called once, on first use. Override as needed."""

    def backend(self) -> str:
        """One line for ``lensmith tools``: which model or method this tool will use, and why."""
        return "no model"

    def run_tool(self, *args: Any, **kwargs: Any) -> tuple[str, Artifact]:
        raise NotImplementedError

    def ensure_setup(self) -> None:
        if self._ready:
            return
        with self._setup_lock:
            if not self._ready:
                self.setup()
                self._ready = True

    def _run(self, *args: Any, run_manager: Any = None, **kwargs: Any) -> tuple[str, Artifact]:
        try:
            self.ensure_setup()
            content, artifact = self.run_tool(**kwargs)
        except LensmithError:
            raise
        except Exception as exc:  # a library failing must not end the conversation
            log.exception("tool %s failed", self.name)
            raise ToolError(f"{self.name} failed: {type(exc).__name__}: {exc}") from exc
        return content, artifact
