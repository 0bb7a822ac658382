"""``lensmith ask IMAGE… "question"``."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer

from lensmith.cli import common
from lensmith.cli.common import fail
from lensmith.cli.options import (
    DeviceOpt,
    MaxStepsOpt,
    PlannerModelOpt,
    PlannerOpt,
    PlannerUrlOpt,
    build_settings,
)

if TYPE_CHECKING:
    from lensmith.agent.config import Settings
    from lensmith.agent.loop import Agent
    from lensmith.agent.sessions import Session
    from lensmith.agent.trace import TurnTrace

CANCEL_GRACE_S = 3.0


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
    warm: bool = typer.Option(False, "--warm", envvar="LENSMITH_WARM",
                              help="Answer through a background agent that keeps models loaded between asks "
                                   "(started on first use, stops after 10 idle minutes; see `lensmith warm`)."),
) -> None:
    """Ask a question about images. Prints the answer, then the evidence: each tool
    call with its arguments, its result and its timing, the grounding verdicts, and
    the paths of any images the tools produced.

    Examples:

      lensmith ask bus.jpg "how many people are there and is there a bus?"

      lensmith ask sign.png "what does the sign say?"

      lensmith ask --session latest "and how many cars?"

      lensmith ask --warm bus.jpg "how many people?"
    """
    from lensmith.cli.render import LiveProgress, render_trace

    if not args:
        fail('Give the question last: lensmith ask IMAGE "question"')
    *images, question = args
    turn: Callable[[Callable[[Any], None], threading.Event], TurnTrace]
    if warm:
        from lensmith.cli.warm import ask_warm, request_for

        request = request_for(question, images, session, planner=planner, planner_url=planner_url,
                              planner_model=planner_model, device=device, max_steps=max_steps, no_memory=no_memory)
        turn = functools.partial(ask_warm, request)
    else:
        turn = _in_process(question, images, session,
                           build_settings(planner, planner_url, planner_model, device, max_steps, no_memory))
    cancel = threading.Event()
    done: list[TurnTrace] = []
    # libraries that print (model loaders) must not mix with the answer or the JSON
    with contextlib.redirect_stdout(sys.stderr), LiveProgress(common.err_console) as progress:
        # the turn runs in a worker so that Ctrl-C lands here, not inside the event loop
        failed: list[BaseException] = []
        finished = threading.Event()

        def run() -> None:
            try:
                done.append(turn(progress, cancel))
            except BaseException as exc:  # noqa: BLE001 - raised again below, in the main thread
                failed.append(exc)
            finally:
                finished.set()

        threading.Thread(target=run, name="lensmith-turn", daemon=True).start()
        interrupted = _wait(finished, cancel)
    if interrupted:
        _interrupted(done)
    if failed:
        raise failed[0]
    trace = done[0]
    if json_out:
        common.console.print_json(trace.to_json())
    else:
        render_trace(trace, common.console)
    if trace.error:
        raise typer.Exit(1)


def _in_process(question: str, images: list[str], session: str | None,
                settings: Settings) -> Callable[[Callable[[Any], None], threading.Event], TurnTrace]:
    from lensmith.agent.loop import Agent
    from lensmith.agent.planners import PlannerUnavailable
    from lensmith.agent.sessions import SessionNotFound

    agent = Agent(settings)
    try:
        current = ready_session(agent, session)
    except (PlannerUnavailable, SessionNotFound) as exc:
        fail(str(exc))

    def turn(on_event: Callable[[Any], None], cancel: threading.Event) -> TurnTrace:
        return agent.ask(question, images, session=current, on_event=on_event, cancel=cancel)

    return turn


def ready_session(agent: Agent, session: str | None) -> Session | None:
    """Check, before any image or tool is loaded, that the planner can be had (raises
    PlannerUnavailable) and that ``session`` names one (raises SessionNotFound); return it,
    or None for a new session. Shared by ``ask`` and the warm agent."""
    _ = agent.planner
    return agent.sessions.open(session) if session else None


def _wait(finished: threading.Event, cancel: threading.Event) -> bool:
    """Wait for the turn; on Ctrl-C, cancel it and give it a moment to record itself.
    (An Event, not Thread.join: a join interrupted by Ctrl-C can report a running
    thread as finished.)"""
    try:
        while not finished.wait(0.2):
            pass
        return False
    except KeyboardInterrupt:
        cancel.set()
    try:
        finished.wait(CANCEL_GRACE_S)  # the loop checks every 0.1 s, then saves the turn as cancelled
    except KeyboardInterrupt:
        pass  # a second Ctrl-C: leave now
    return True


def _interrupted(done: list[TurnTrace]) -> None:
    saved = f" (turn saved as cancelled in session {done[0].session_id})" if done and done[0].cancelled else ""
    common.err_console.print(f"Interrupted{saved}.", highlight=False, soft_wrap=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # a tool still computing in a worker thread would hold a normal exit until it finished;
    # its result is discarded anyway, and the checkpoint database is crash-safe (SQLite)
    os._exit(130)


def register(app: typer.Typer) -> None:
    app.command(short_help="Ask a question about one or more images and see the evidence.")(ask)
