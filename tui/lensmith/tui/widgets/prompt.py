"""The prompt: slash commands and image paths complete as you type; a pasted or
dropped image path becomes an attachment; attachments wait in a bar above it."""

from __future__ import annotations

import os
from pathlib import Path

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.markup import escape
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Static

from lensmith.tui.format import IMAGE_SUFFIXES, pasted_image_paths, short

SLASH_COMMANDS = (
    "/image ",
    "/search ",
    "/sessions",
    "/new",
    "/settings",
    "/help",
    "/clear",
    "/quit",
)


def complete_path(partial: str) -> str | None:
    """Complete the last path component of ``partial`` (folders and image files only).

    The text returned always starts with ``partial``, since Input shows only the rest.
    """
    expanded = os.path.expanduser(partial) if partial else "./"
    folder, prefix = os.path.split(expanded)
    try:
        entries = sorted(os.scandir(folder or "."), key=lambda e: e.name)
    except OSError:
        return None
    names = []
    for entry in entries:
        if not entry.name.startswith(prefix) or (entry.name.startswith(".") and not prefix.startswith(".")):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir:
            names.append(entry.name + "/")
        elif Path(entry.name).suffix.lower() in IMAGE_SUFFIXES:
            names.append(entry.name)
    if not names:
        return None
    common = os.path.commonprefix(names)
    rest = (common if len(common) > len(prefix) else names[0])[len(prefix):]
    return partial + rest if rest else None


class PromptSuggester(Suggester):
    """Suggests slash commands, and paths after ``/image``."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        if value.startswith("/image "):
            completed = complete_path(value[len("/image ") :])
            return "/image " + completed if completed else None
        if value.startswith("/") and " " not in value:
            for command in SLASH_COMMANDS:
                if command.startswith(value) and command != value:
                    return command
        return None


class PromptInput(Input):
    """An Input that turns a pasted (or dropped) image path into an attachment."""

    class ImagesPasted(Message):
        def __init__(self, paths: list[Path]) -> None:
            super().__init__()
            self.paths = paths

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            placeholder="Ask about your images · /image PATH attaches · / for commands",
            suggester=PromptSuggester(),
            **kwargs,  # type: ignore[arg-type]
        )

    def _on_paste(self, event: events.Paste) -> None:
        paths = pasted_image_paths(event.text) if not self.value.startswith("/") else []
        if paths:  # else Input's own handler (called after this one) inserts the text
            event.stop()
            event.prevent_default()
            self.post_message(self.ImagesPasted(paths))


class AttachmentBar(Horizontal):
    """Images waiting for the next question; click one to drop it."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.paths: list[Path] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="attachments-label")

    def set_paths(self, paths: list[Path]) -> None:
        self.paths = list(paths)
        self.display = bool(paths)
        chips = " ".join(
            f"[@click=app.detach({i})]📎 {escape(short(p.name, 30))} ✕[/]" for i, p in enumerate(paths)
        )
        self.query_one("#attachments-label", Static).update(
            f"[dim]attached ({len(paths)}):[/dim] {chips}" if paths else ""
        )
