"""A tiny MCP server for the client tests: two tools over stdio.

Run as ``python tests/support/mcp_tiny_server.py``; the registry starts it as a
subprocess, exactly as it would start a real server named in the config.
"""

from __future__ import annotations

import os

from mcp.server.fastmcp import FastMCP

# WARNING: keep the per-request INFO lines off the test output
server = FastMCP("tiny", log_level="WARNING")


@server.tool()
def word_count(text: str) -> int:
    """Count the words (whitespace-separated) in a piece of text."""
    return len(text.split())


@server.tool()
def always_fails(reason: str = "no reason given") -> str:
    """A tool that always raises, to test how errors reach the planner."""
    raise ValueError(f"tiny server refused: {reason}")


@server.tool()
def crash() -> str:
    """Exit the server process in the middle of a call (a server that dies)."""
    os._exit(3)


if __name__ == "__main__":
    server.run("stdio")
