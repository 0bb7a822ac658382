"""``lensmith ask IMAGE… "question"``."""

from __future__ import annotations

import contextlib
import sys
import threading

import typer

from lensmith.cli.common import console, err_console, fail
from lensmith.cli.options import (
    DeviceOpt,
    MaxStepsOpt,
    PlannerModelOpt,
    PlannerOpt,
    PlannerUrlOpt,
    build_settings,
)


def ask(
    args: list[str] = typer.Argument(..., metavar='[IMAGE…] "QUESTION"',
                                     help="Zero or more image paths or URLs, then the question (last)."),
    json_out: bool = typer.Option(False, "--json", help="Print the whole trace as JSON (nothing else on stdout)."),
    planner: PlannerOpt = None,
    planner_url: PlannerUrlOpt = None,
    planner_model: PlannerModelOpt = None,
    device: DeviceOpt = None,
    max_steps: MaxStepsOpt = None,
    session: str | None = typer.Option(None, "--session", "-s", help="Continue a session (id, id prefix or 'latest')."),
    no_memory: bool = typer.Option(False, "--no-memory", help="Do not recall from or write to memory."),
) -> None:
    """Ask a question about images. Prints the answer, then the evidence: each tool
    call with its arguments, its result and its timing, the grounding verdicts, and
    the paths of any images the tools produced.

    Examples:

      lensmith ask bus.jpg "how many people are there and is there a bus?"

      lensmith ask sign.png "what does the sign say?"

      lensmith ask --session latest "and how many cars?"
    """
    from lensmith.agent.loop import Agent
    from lensmith.agent.planners import PlannerUnavailable
    from lensmith.agent.sessions import SessionNotFound
    from lensmith.cli.render import LiveProgress, render_trace

    if not args:
        fail('Give the question last: lensmith ask IMAGE "question"')
    *images, question = args
    settings = build_settings(planner, planner_url, planner_model, device, max_steps)
    if no_memory:
        settings.memory.enabled = False
    agent = Agent(settings)
    try:
        _ = agent.planner  # fail early, before loading images and tools
    except PlannerUnavailable as exc:
        fail(str(exc))
    try:
        current = agent.sessions.open(session) if session else None
    except SessionNotFound as exc:
        fail(str(exc))
    cancel = threading.Event()
    try:
        # libraries that print (model loaders) must not mix with the answer or the JSON
        with contextlib.redirect_stdout(sys.stderr), LiveProgress(err_console) as progress:
            trace = agent.ask(question, images, session=current, on_event=progress, cancel=cancel)
    except KeyboardInterrupt:
        cancel.set()
        fail("Interrupted.", code=130)
    if json_out:
        console.print_json(trace.to_json())
    else:
        render_trace(trace, console)
    if trace.error:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command(short_help="Ask a question about one or more images and see the evidence.")(ask)
