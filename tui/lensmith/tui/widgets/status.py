"""The status line above the footer: planner, device, session and what is running."""

from __future__ import annotations

from textual.markup import escape
from textual.reactive import reactive
from textual.widgets import Static

from lensmith.tui.format import short


class StatusBar(Static):
    planner = reactive("starting…")
    heuristic = reactive(False)
    device = reactive("auto")
    session = reactive("")
    state = reactive("idle")

    def render(self) -> str:
        planner = escape(short(self.planner, 60))
        if self.heuristic:
            planner += " [$warning](rule-based)[/]"
        parts = [
            f"planner [b]{planner}[/b]",
            f"device [b]{escape(self.device)}[/b]",
            f"session [b]{escape(self.session or '—')}[/b]",
        ]
        state = escape(self.state)
        if self.state != "idle":
            state = f"[$accent]{state}[/] [dim](esc cancels)[/dim]"
        parts.append(state)
        return "  ·  ".join(parts)
