"""``lensmith mcp serve``: lensmith's tools for any MCP client (stdio or streamable HTTP)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from lensmith.cli import common
from lensmith.cli.common import fail, is_loopback, new_secret_file

TOKEN_ENV = "LENSMITH_MCP_TOKEN"


def serve(
    transport: str = typer.Option("stdio", "--transport", "-t", help="stdio, or http (streamable HTTP)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (http). Anything but "
                             "loopback needs a token from LENSMITH_MCP_TOKEN or [mcp] token."),
    port: int = typer.Option(8765, "--port", "-p", help="Port to listen on (http)."),
    tools: list[str] = typer.Option(None, "--tool", help="Serve only these tools (repeatable)."),
    allow_dirs: list[Path] = typer.Option(None, "--allow-dir", help="A folder whose images clients may name by "
                                          "path (repeatable; adds to [access] allow_dirs). Default: none."),
    allow_urls: bool = typer.Option(False, "--allow-urls", help="Let clients pass public http(s) URLs as images "
                                    "(never loopback/private addresses)."),
    memory: bool = typer.Option(False, "--memory", help="Also serve remember/retrieve (clients then write "
                                "facts later turns recall, and search your photo index)."),
) -> None:
    """Serve lensmith's tools over MCP (stdio or streamable HTTP).

    Every client is untrusted: it gets its own image store (dropped when it disconnects or
    idles) and passes images as base64, as ids from its own earlier calls, or as paths under
    an --allow-dir folder. Over HTTP every request needs the bearer token; it is taken from
    LENSMITH_MCP_TOKEN, else [mcp] token in config.toml, else generated on first start
    (saved in $LENSMITH_HOME/mcp/token and printed). See SECURITY.md."""
    if transport not in ("stdio", "http", "streamable-http"):
        fail(f"unknown transport {transport!r}: use stdio or http")
    from lensmith.agent.config import load_settings
    from lensmith.tools.mcp_server import ServeOptions
    from lensmith.tools.mcp_server import serve as run_server
    from lensmith.tools.registry import Registry

    settings = load_settings()
    settings.apply()
    http = transport != "stdio"
    token = None
    if http:
        token, origin = _token(settings.mcp.token)
        if not is_loopback(host) and origin in ("generated", "file"):
            fail(f"--host {host} is reachable from other machines: set a token first ({TOKEN_ENV}=… or "
                 "[mcp] token = \"…\" in config.toml, 16+ characters), or listen on 127.0.0.1")
    dirs: list[str | Path] = [*settings.access.allow_dirs, *(allow_dirs or [])]
    for folder in dirs:
        if not Path(folder).expanduser().is_dir():
            fail(f"--allow-dir {folder}: not a folder")
    options = ServeOptions(
        allow_dirs=tuple(Path(d) for d in dirs),
        allow_urls=allow_urls or settings.access.allow_urls,
        memory=memory or settings.mcp.memory,
        idle_s=settings.mcp.idle_s,
    )
    if options.memory:
        options.call_context = _memory_context(settings)
    registry = Registry.discover(device=None if settings.device == "auto" else settings.device, only=tools or None)
    if http:  # stdout belongs to the protocol under stdio
        common.err_console.print(f"lensmith MCP server: http://{host}:{port}/mcp ({', '.join(registry.names())})",
                          highlight=False, soft_wrap=True)
        if origin == "generated":  # shown once; later starts name the file
            common.err_console.print(f"new bearer token (saved in {_token_file()}): {token}", highlight=False, soft_wrap=True)
        elif origin == "file":
            common.err_console.print(f"bearer token: in {_token_file()}", highlight=False, soft_wrap=True)
    run_server("stdio" if not http else "http", host=host, port=port, token=token, registry=registry,
               options=options)



def _token_file() -> Path:
    from lensmith.runtime.paths import home

    return home() / "mcp" / "token"


def _token(configured: str | None) -> tuple[str, str]:
    """The bearer token and where it came from: env, config, or the token file (generated
    on first start, readable by the user only)."""
    if os.environ.get(TOKEN_ENV):
        if len(os.environ[TOKEN_ENV]) < 16:
            fail(f"{TOKEN_ENV} is too short: use 16 or more random characters")
        return os.environ[TOKEN_ENV], "env"
    if configured:
        return configured, "config"
    path = _token_file()
    try:
        if path.is_file():
            saved = path.read_text().strip()
            if len(saved) >= 16:
                return saved, "file"
        token = new_secret_file(path)
    except OSError as exc:
        fail(f"cannot keep the MCP token in {path} ({exc.strerror or exc}); set {TOKEN_ENV} instead")
    return token, "generated"


def _memory_context(settings: Any) -> Any:
    """Each call runs with memory open, writes marked as coming from that MCP client."""
    from lensmith.memory import open_memory, use_memory
    from lensmith.runtime.paths import memory_dir

    store = open_memory(memory_dir(), url=settings.memory.chroma_url)

    @contextlib.contextmanager
    def context(client: str) -> Iterator[None]:
        with use_memory(store, origin=f"MCP client {client}"):
            yield

    return context


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Serve lensmith's tools over MCP.", no_args_is_help=True, rich_markup_mode=None)
    group.command("serve")(serve)
    app.add_typer(group, name="mcp")
