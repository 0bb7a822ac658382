"""The ``lensmith`` command. Each command group lives in its own module and adds
itself through ``register(app)``; heavy imports stay inside the commands so that
``lensmith --help`` answers at once."""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from lensmith.cli.common import version_callback

app = typer.Typer(
    name="lensmith",
    help="Ask questions about images; a planner calls vision tools and answers only what their evidence supports.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
)

# ask/tools/models/samples: the spine; mcp: tool server; memory: index/search/memory;
# chat: the terminal UI; evals: lensmith eval ...; warm: the agent behind ask --warm
_COMMAND_MODULES = ("ask", "catalog", "samples", "mcp", "memory", "chat", "evals", "warm")


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=version_callback, is_eager=True, help="Show the version and exit."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what the tools and models do."),
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


for _name in _COMMAND_MODULES:
    try:
        importlib.import_module(f"{__name__}.{_name}").register(app)
    except ModuleNotFoundError as _exc:
        if _exc.name != f"{__name__}.{_name}":
            raise


def main() -> None:
    try:
        app()
    except SystemExit as done:
        _exit_now(done.code)
    except Exception as exc:
        # a config, home or database problem: one line, no traceback. The class is looked up,
        # not imported: lensmith.runtime.errors pulls in langchain, which `--help` must not pay
        # for, and a SetupError can only have been raised once its module was imported.
        errors = sys.modules.get("lensmith.runtime.errors")
        if errors is None or not isinstance(exc, errors.SetupError):
            raise
        from lensmith.cli.common import fail

        try:
            fail(str(exc), code=2)
        except typer.Exit as done:
            _exit_now(done.exit_code)


def _exit_now(code: object) -> None:
    """Finish what a normal exit finishes, then leave without the interpreter's teardown.

    Freeing torch, OpenVINO and ultralytics at exit took 2.4-3.8 s on the 2-core machine
    here (about as long as loading the detector), after the answer was already printed.
    Everything with a side effect still runs: non-daemon threads are joined and thread
    pools drained (``threading._shutdown``: deferred artifact writes), then the ``atexit``
    handlers (logging, closing the memory store's Chroma client), then stdout and stderr
    are flushed. Only the freeing of memory the OS reclaims anyway is skipped.
    """
    import atexit
    import os
    import threading

    if isinstance(code, str):  # SystemExit("message"): Python prints it and exits 1
        print(code, file=sys.stderr)
        code = 1
    status = code if isinstance(code, int) else (0 if code is None else 1)
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None:  # not CPython: exit the ordinary way
        raise SystemExit(status)
    shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(status)
