"""``lensmith chat [IMAGE…]``: the terminal UI, in the terminal or (``--web``) served to a
browser by textual-serve, which runs this same command once per browser tab."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import typer

from lensmith.cli.common import fail, is_loopback
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
    web: bool = typer.Option(False, "--web", help="Serve the chat to a web browser instead of this terminal."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address --web listens on (loopback unless you say otherwise)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port --web listens on."),
) -> None:
    """Chat about images in the terminal: attach photos, ask, watch the tool calls
    arrive, open the annotated images. Sessions are saved; --session resumes one.

    Examples:

      lensmith chat bus.jpg

      lensmith chat --session latest

      lensmith chat --web bus.jpg     (then open http://127.0.0.1:8000)
    """
    settings = build_settings(planner, planner_url, planner_model, device, max_steps, no_memory)
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
    if web:
        forwarded = [str(p.expanduser().resolve()) for p in images or []]
        for flag, value in (("--session", session), ("--planner", planner), ("--planner-url", planner_url),
                            ("--planner-model", planner_model), ("--device", device),
                            ("--max-steps", None if max_steps is None else str(max_steps)),
                            ("--images", images_renderer or "halfcell")):  # the browser's terminal draws half-cells only
            if value:
                forwarded += [flag, str(value)]
        if no_memory:
            forwarded.append("--no-memory")
        serve_web(forwarded, host, port)
        return
    # textual-image asks the terminal what it can draw when first imported: before the app starts
    from lensmith.tui.app import LensmithApp

    LensmithApp(settings=settings, session_id=session, images=list(images or []), image_renderer=images_renderer).run()


def serve_web(chat_args: list[str], host: str, port: int) -> None:
    """Serve ``lensmith chat CHAT_ARGS`` to browsers with textual-serve."""
    try:
        from textual_serve.server import Server
    except ImportError:
        fail("--web needs textual-serve: pip install textual-serve")
        return
    if not is_loopback(host):
        from lensmith.cli import common

        common.err_console.print(f"[bold yellow]warning:[/] serving on {host}: anyone who reaches this port can chat as you, "
                          "attach your files and run the tools; use --host 127.0.0.1 unless that is what you want.",
                          highlight=False, soft_wrap=True)
    command = shlex.join([sys.executable, "-c", "from lensmith.cli import main; main()", "chat", *chat_args])
    shown = f"[{host}]" if ":" in host else host
    Server(command, host=host, port=port, title="lensmith chat", public_url=f"http://{shown}:{port}").serve()


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)
