"""Small helpers shared by the CLI modules."""

from __future__ import annotations

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def version_callback(value: bool) -> None:
    if value:
        from importlib import metadata

        try:
            version = metadata.version("lensmith")
        except metadata.PackageNotFoundError:
            version = "unknown"
        console.print(f"lensmith {version}")
        raise typer.Exit()


def fail(message: str, code: int = 1) -> None:
    """Print a clear error (no traceback) and exit."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)  # one line, for grep
    raise typer.Exit(code)


def is_loopback(host: str) -> bool:
    """Whether a --host to listen on is this machine only (localhost or a loopback address)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
