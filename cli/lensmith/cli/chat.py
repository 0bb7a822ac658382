"""``lensmith chat [IMAGE…]``: the terminal UI."""

from __future__ import annotations

from pathlib import Path

import typer

from lensmith.cli.common import fail
from lensmith.cli.options import (
    DeviceOpt,
    MaxStepsOpt,
    PlannerModelOpt,
    PlannerOpt,
    PlannerUrlOpt,
    build_settings,
)


def chat(
    images: list[Path] = typer.Argument(None, metavar="[IMAGE…]", help="Images to attach to the first question."),
    session: str | None = typer.Option(None, "--session", "-s", help="Resume a session (id, id prefix or 'latest')."),
    planner: PlannerOpt = None,
    planner_url: PlannerUrlOpt = None,
    planner_model: PlannerModelOpt = None,
    device: DeviceOpt = None,
    max_steps: MaxStepsOpt = None,
    no_memory: bool = typer.Option(False, "--no-memory", help="Do not recall from or write to memory."),
    images_renderer: str | None = typer.Option(
        None, "--images", help="How to draw images: auto (default), tgp, sixel, halfcell or unicode."
    ),
) -> None:
    """Chat about images in the terminal: attach photos, ask, watch the tool calls
    arrive, open the annotated images. Sessions are saved; --session resumes one.

    Examples:

      lensmith chat bus.jpg

      lensmith chat --session latest
    """
    settings = build_settings(planner, planner_url, planner_model, device, max_steps)
    if no_memory:
        settings.memory.enabled = False
    if images_renderer is not None:
        from lensmith.tui.widgets.images import RENDERERS

        if images_renderer not in RENDERERS:
            fail(f"unknown --images {images_renderer!r}; choose one of {', '.join(RENDERERS)}")
    if session:
        from lensmith.agent.sessions import SessionManager, SessionNotFound

        try:
            session = SessionManager().open(session).id
        except SessionNotFound as exc:
            fail(str(exc))
    # textual-image asks the terminal what it can draw when first imported: before the app starts
    from lensmith.tui.app import LensmithApp

    LensmithApp(settings=settings, session_id=session, images=list(images or []), image_renderer=images_renderer).run()


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)
