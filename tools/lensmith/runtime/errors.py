"""One error hierarchy for everything a tool can get wrong.

Every error derives from LangChain's ``ToolException`` so that a tool built with
``handle_tool_error=True`` turns it into an error message the planner reads, instead
of crashing the run.
"""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.tools import ToolException


class LensmithError(ToolException):
    """Base class: a failure with a message meant for people and planners alike."""


class SetupError(Exception):
    """lensmith's own files are unusable (config, home folder, a database). The message is
    one line naming the file and the fix; the CLI prints it without a traceback."""


class ToolError(LensmithError):
    """A tool could not do what it was asked (bad arguments, no object found, ...)."""


class ImageError(ToolError):
    """An image could not be loaded or used: missing, corrupt, too large, unknown id."""


class InvalidArguments(ToolError):
    """The arguments are well-formed but make no sense (empty class list, box outside)."""


class ToolUnavailable(ToolError):
    """A tool's backing model or runtime is not installed or not usable here."""


class UnknownTool(LensmithError):
    """The planner or user named a tool that is not registered."""


class WeightsNotFound(ToolUnavailable):
    """No weights for a model were found; the message says where we looked and how to fetch."""

    def __init__(self, model: str, looked: Sequence[str], fetch: str) -> None:
        self.model = model
        self.looked = list(looked)
        self.fetch = fetch
        where = "\n".join(f"  - {place}" for place in self.looked) or "  (nowhere)"
        super().__init__(
            f"No weights found for model '{model}'. Looked in:\n{where}\nTo fetch them: {fetch}"
        )
