"""``lensmith mcp serve`` tested with the official ``mcp`` client library: over stdio and
over streamable HTTP on loopback, each server a subprocess started and stopped here."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
import skimage.data
from langchain_core.tools import tool as lc_tool
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client
from PIL import Image
from support.servers import free_port, stopped_at_exit, wait_for_port

from lensmith.tools import ImageStore
from lensmith.tools.detect import DetectTool
from lensmith.tools.mcp_server import call_tool, serveable_tools, to_image_id
from lensmith.tools.registry import Registry

pytestmark = pytest.mark.slow

BUS = Path(__import__("ultralytics").__file__).parent / "assets" / "bus.jpg"
LENSMITH = Path(sys.executable).parent / "lensmith"
EXPECTED = {"detect", "read_text", "segment", "edit"}


TOKEN = "test-token-" + "x" * 24


def server_env() -> dict[str, str]:
    return {**os.environ, "LENSMITH_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "LENSMITH_MCP_TOKEN": TOKEN}


async def exercise(session: ClientSession, image_arg: str) -> None:
    """What both transports must do: list the tools, detect on a real photo, fail cleanly."""
    await session.initialize()
    listed = await session.list_tools()
    names = {t.name for t in listed.tools}
    assert EXPECTED <= names, names
    detect = next(t for t in listed.tools if t.name == "detect")
    assert "base64" in detect.inputSchema["properties"]["image"]["description"]

    result = await session.call_tool("detect", {"image": image_arg, "classes": ["people", "bus"]})
    assert not result.isError, result.content
    kinds = [block.type for block in result.content]
    assert kinds[0] == "text" and "image" in kinds
    assert result.content[0].text.startswith("1 × bus")
    artifact = result.structuredContent
    assert artifact["kind"] == "detect" and artifact["method"] == "yolo"
    labels = [d["label"] for d in artifact["detections"]]
    assert labels.count("bus") == 1 and labels.count("person") >= 3
    png = base64.b64decode(next(b for b in result.content if b.type == "image").data)
    assert png.startswith(b"\x89PNG")

    bad = await session.call_tool("detect", {"image": "img:00000000"})
    assert bad.isError and "img:00000000" in bad.content[0].text
    missing = await session.call_tool("detect", {"image": "/no/such/photo.jpg"})
    assert missing.isError and "Image not available" in missing.content[0].text


async def test_stdio_server_lists_and_calls_tools() -> None:
    params = StdioServerParameters(command=str(LENSMITH), args=["mcp", "serve", "--allow-dir", str(BUS.parent)],
                                   env=server_env())
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await exercise(session, str(BUS))


async def test_http_server_lists_and_calls_tools() -> None:
    port = free_port()
    process = subprocess.Popen(
        [str(LENSMITH), "mcp", "serve", "--transport", "http", "--host", "127.0.0.1", "--port", str(port)],
        env=server_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    with stopped_at_exit(process):
        wait_for_port(port, process)
        encoded = base64.b64encode(BUS.read_bytes()).decode()  # base64 in, over the wire
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with streamablehttp_client(f"http://127.0.0.1:{port}/mcp", headers=headers) as (read, write, _), \
                ClientSession(read, write) as session:
            await exercise(session, encoded)


def test_image_arguments_paths_urls_base64_and_data_urls(tmp_path: Path) -> None:
    store = ImageStore()
    path = tmp_path / "cat.png"
    Image.fromarray(skimage.data.chelsea()).save(path)
    by_path = to_image_id(store, str(path))
    raw = base64.b64encode(path.read_bytes()).decode()
    assert to_image_id(store, raw) == by_path
    assert to_image_id(store, "data:image/png;base64," + raw) == by_path
    assert to_image_id(store, by_path) == by_path


def test_tools_from_mcp_servers_are_not_served_back() -> None:
    @lc_tool
    def remote_echo(text: str) -> str:
        """Echo text (stands in for a tool loaded from another MCP server)."""
        return text

    registry = Registry([DetectTool()])
    registry.add(remote_echo, source="mcp:other", origin="http://elsewhere/mcp")
    assert [t.name for t in serveable_tools(registry)] == ["detect"]


def test_bad_calls_become_error_results() -> None:
    store = ImageStore()
    result = call_tool(DetectTool(), store, {"image": "A" * 300 + "!"})  # neither path nor base64
    assert result.isError and "path" in result.content[0].text.lower()
    result = call_tool(DetectTool(), store, {"image": "data:image/png;base64,@@@"})
    assert result.isError and "base64" in result.content[0].text
