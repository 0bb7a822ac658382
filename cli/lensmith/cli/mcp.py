"""``lensmith mcp serve``: lensmith's tools for any MCP client (stdio or streamable HTTP)."""

from __future__ import annotations

import typer

from lensmith.cli.common import err_console, fail


def serve(
    transport: str = typer.Option("stdio", "--transport", "-t", help="stdio, or http (streamable HTTP)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (http)."),
    port: int = typer.Option(8765, "--port", "-p", help="Port to listen on (http)."),
    tools: list[str] = typer.Option(None, "--tool", help="Serve only these tools (repeatable)."),
) -> None:
    """Serve lensmith's tools over MCP (stdio or streamable HTTP).

    Every registered tool is served except those that came from other MCP servers. Images
    go in as paths, URLs or base64; results come back as image content plus the typed
    artifact as structured content."""
    if transport not in ("stdio", "http", "streamable-http"):
        fail(f"unknown transport {transport!r}: use stdio or http")
    from lensmith.agent.config import load_settings
    from lensmith.runtime.paths import home
    from lensmith.tools.mcp_server import serve as run_server
    from lensmith.tools.registry import Registry

    settings = load_settings()
    settings.apply()
    registry = Registry.discover(device=None if settings.device == "auto" else settings.device, only=tools or None)
    if transport != "stdio":  # stdout belongs to the protocol under stdio
        err_console.print(f"lensmith MCP server: http://{host}:{port}/mcp ({', '.join(registry.names())})")
    run_server(
        "stdio" if transport == "stdio" else "http", host=host, port=port, registry=registry,
        store_folder=home() / "mcp" / "images",
    )


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Serve lensmith's tools over MCP.", no_args_is_help=True)
    group.command("serve")(serve)
    app.add_typer(group, name="mcp")
