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
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)

# ask/tools/models/samples: the spine; mcp: tool server; memory: index/search/memory;
# chat: the terminal UI; evals: lensmith eval ...
_COMMAND_MODULES = ("ask", "catalog", "samples", "mcp", "memory", "chat", "evals")


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
            raise SystemExit(done.exit_code) from None
