"""Rich rendering of a turn for the terminal: live progress while it runs, then the
answer, the evidence, the grounding verdicts and the artifact paths."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from lensmith.agent.events import (
    Event,
    GroundingChecked,
    MemoryRecalled,
    ModelLoading,
    ToolCalled,
    ToolFinished,
    TurnStarted,
)
from lensmith.agent.trace import PLANNER_LABELS, TurnTrace

# ✓ consistent with a tool's measurement (not "true"), ? nothing measured it, ✗ a tool disagrees
_MARK = {"supported": "[green]✓ consistent[/]", "weak": "[yellow]✓ weak evidence[/]",
         "contradicted": "[bold red]✗ contradicted[/]", "unverified": "[yellow]? unverified[/]"}


def short_args(args: dict[str, Any], limit: int = 80) -> str:
    text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LiveProgress:
    """Shows what the turn is doing right now (on stderr), one line per step."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.status = Spinner("dots", text="starting…")
        self.live = Live(self.status, console=console, transient=True, refresh_per_second=8)

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(*exc)  # type: ignore[arg-type]

    def __call__(self, event: Event) -> None:
        if isinstance(event, TurnStarted):
            self.console.print(f"[dim]planner: {event.planner} — {event.planner_note}[/]", highlight=False)
            self.status.update(text="planning…")
        elif isinstance(event, ModelLoading):
            self.status.update(text=event.message)
            if event.fraction == 0.0:
                self.console.print(f"[dim]… {event.message}[/]", highlight=False)
        elif isinstance(event, MemoryRecalled):
            self.console.print(f"[dim]recalled {len(event.items)} item(s) from memory[/]")
        elif isinstance(event, ToolCalled):
            self.status.update(text=f"{event.tool}({short_args(event.args, 60)})")
        elif isinstance(event, ToolFinished):
            rec = event.record
            state = "[red]error[/]" if rec.error else "[green]done[/]"
            self.console.print(f"[dim]→ {rec.tool} {state} in {rec.duration_s:.2f}s[/]", highlight=False)
            self.status.update(text="planning…")
        elif isinstance(event, GroundingChecked):
            self.status.update(text="checking the answer against the evidence…")


def render_trace(trace: TurnTrace, console: Console) -> None:
    if trace.error:
        console.print(Panel(Text(trace.error), title="[red]error[/]", border_style="red"))
    elif trace.cancelled:
        console.print(Panel("The turn was cancelled.", border_style="yellow"))
    else:
        title = f"answer · {PLANNER_LABELS[trace.planner]}" if trace.planner in PLANNER_LABELS else "answer"
        console.print(Panel(Text(trace.answer or "(no answer)"), title=title, border_style="cyan"))
    planner = trace.planner or "none"
    console.print(f"[dim]planner:[/] {planner}  [dim]({trace.planner_note})[/]", highlight=False)
    if trace.calls:
        table = Table(title="evidence", show_lines=False, expand=True)
        table.add_column("#", justify="right", style="dim")
        table.add_column("tool", style="bold")
        table.add_column("arguments", overflow="fold")
        table.add_column("result", overflow="fold")
        table.add_column("time", justify="right")
        for i, call in enumerate(trace.calls, 1):
            result = Text(call.error, style="red") if call.error else Text(call.summary)
            method = ""
            if call.artifact is not None:
                model = f" · {call.artifact.model}" if call.artifact.model else ""
                method = f"\n[{call.artifact.method_kind}: {call.artifact.method}{model}]"
            table.add_row(str(i), call.tool, short_args(call.args, 200), Group(result, Text(method, style="dim")),
                          f"{call.duration_s:.2f}s")
        console.print(table)
    if trace.verdicts:
        from lensmith.agent.grounding import explain

        table = Table(title="grounding (✓ consistent with a tool · ? nothing measured it · ✗ contradicted)", expand=True)
        table.add_column("claim", overflow="fold")
        table.add_column("verdict")
        table.add_column("evidence", overflow="fold")
        for v in trace.verdicts:
            mark = "weak" if v.status == "supported" and v.confidence == "low" else v.status
            table.add_row(Text(v.claim), _MARK.get(mark, v.status), Text(explain(v, status=v.status == "supported")))
        console.print(table)
    if trace.recalled:
        console.print("[dim]recalled from memory:[/]")
        for item in trace.recalled:
            console.print(f"  [dim]- ({item.kind}, {item.source})[/] {item.text}", highlight=False)
    for path in trace.artifacts:
        console.print(f"[dim]artifact:[/] {path}", highlight=False, soft_wrap=True)  # a path stays one line
    console.print(f"[dim]session {trace.session_id} · {trace.duration_s:.1f}s[/]", highlight=False)
