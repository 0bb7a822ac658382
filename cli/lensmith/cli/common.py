"""Small helpers shared by the CLI modules."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    console: Console
    err_console: Console


def __getattr__(name: str) -> Any:
    # the consoles are made on first use: `lensmith --help` prints through click, and
    # importing rich's console would be a fifth of its time
    if name in ("console", "err_console"):
        from rich.console import Console

        globals().setdefault("console", Console())
        globals().setdefault("err_console", Console(stderr=True))
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def version_callback(value: bool) -> None:
    if value:
        from importlib import metadata

        try:
            version = metadata.version("lensmith")
        except metadata.PackageNotFoundError:
            version = "unknown"
        __getattr__("console").print(f"lensmith {version}")
        raise typer.Exit()


def fail(message: str, code: int = 1) -> None:
    """Print a clear error (no traceback) and exit."""
    __getattr__("err_console").print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)  # one line, for grep
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


def new_secret_file(path: Path) -> str:
    """Write a fresh random secret to ``path``, readable by this user only, and return it
    (the MCP bearer token, the warm agent's key). Raises OSError."""
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply to a file that already existed
    return secret
