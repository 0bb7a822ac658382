"""``lensmith mcp serve`` treats every client as hostile. Each finding of issue 14 is a
check here, made with the official ``mcp`` client against the real command over
streamable HTTP and stdio, servers on 127.0.0.1 only, every wait bounded. The servers
serve only the model-free ``colour`` tool (and the memory tools where asked), so they
start in seconds."""

from __future__ import annotations

import base64
import contextlib
import gc
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client
from PIL import Image
from support.servers import free_port, stopped_at_exit, wait_for_port

from lensmith.runtime.images import ImageStore
from lensmith.tools.mcp_server import (
    ClientStores,
    ServeOptions,
    call_tool,
    serveable_tools,
    server_version,
)
from lensmith.tools.registry import Registry

LENSMITH = Path(sys.executable).parent / "lensmith"
TOKEN = "sekrit-" + "t" * 30
# registered, so that leaving remember/retrieve out is the server's choice, not the registry's
MEMORY_TOOLS = ("--tool", "colour", "--tool", "remember", "--tool", "retrieve")


def png_bytes(colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()



@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    shared, private, tmp = tmp_path / "shared", tmp_path / "private", tmp_path / "tmp"
    for folder in (shared, private, tmp):
        folder.mkdir()
    (shared / "red.png").write_bytes(png_bytes((220, 20, 20)))
    (private / "secret.png").write_bytes(png_bytes((20, 220, 20)))
    (private / "notes.txt").write_text("not an image")
    return {"shared": shared, "private": private, "tmp": tmp}


def env(tmp: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "LENSMITH_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp), **extra}


@contextlib.contextmanager
def http_server(folders: dict[str, Path], *args: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [str(LENSMITH), "mcp", "serve", "-t", "http", "--host", "127.0.0.1", "--port", str(port), *MEMORY_TOOLS,
         "--allow-dir", str(folders["shared"]), *args],
        env=env(folders["tmp"], LENSMITH_MCP_TOKEN=TOKEN), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    with stopped_at_exit(process):
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}/mcp"


@contextlib.asynccontextmanager
async def client(url: str, name: str):
    from mcp.types import Implementation

    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with streamablehttp_client(url, headers=headers, timeout=30) as (read, write, _), ClientSession(
        read, write, client_info=Implementation(name=name, version="1")
    ) as session:
        info = await session.initialize()
        yield session, info


def error_text(result) -> str:
    assert result.isError, result.content
    return result.content[0].text


def client_folders(tmp: Path) -> set[str]:
    return {p.name for root in tmp.glob("lensmith-mcp-*") for p in root.iterdir()}


@pytest.mark.slow
async def test_http_server_is_authenticated_isolated_and_leaks_nothing(folders: dict[str, Path]) -> None:
    with http_server(folders) as url:
        # no token, a wrong token: refused before anything runs
        async with httpx.AsyncClient(timeout=10) as raw:
            hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
                response = await raw.post(url, json=hello, headers={**headers, "Accept": "application/json"})
                assert response.status_code == 401, (headers, response.status_code)

        data = base64.b64encode(png_bytes((10, 10, 240))).decode()
        async with client(url, "client-a") as (a, info):
            assert (info.serverInfo.name, info.serverInfo.version) == ("lensmith", server_version())
            names = {t.name for t in (await a.list_tools()).tools}
            assert names == {"colour"}  # remember/retrieve only with --memory
            first = await a.call_tool("colour", {"image": data})
            assert not first.isError, first.content
            a_id = first.structuredContent["image"]
            again = await a.call_tool("colour", {"image": a_id})  # a client's own ids work
            assert not again.isError
            shared_ok = await a.call_tool("colour", {"image": str(folders["shared"] / "red.png")})
            assert not shared_ok.isError

            # private files: one message whether the file exists, is not an image, or is missing
            texts = [error_text(await a.call_tool("colour", {"image": str(folders["private"] / name)}))
                     for name in ("secret.png", "notes.txt", "missing.png")]
            shapes = {t.replace(str(folders["private"]), "P").replace("secret.png", "N")
                      .replace("notes.txt", "N").replace("missing.png", "N") for t in texts}
            assert len(shapes) == 1 and texts[0].startswith("Image not available"), texts
            assert str(Path.home()) not in error_text(await a.call_tool("colour", {"image": "~/x.png"}))
            assert "not fetched" in error_text(await a.call_tool("colour", {"image": "http://127.0.0.1:9/x.png"}))
            a_folders = client_folders(folders["tmp"])
            assert len(a_folders) == 1

            async with client(url, "client-b") as (b, _):
                stolen = error_text(await b.call_tool("colour", {"image": a_id}))
                assert a_id in stolen and "Images in this session" not in stolen
                unknown = error_text(await b.call_tool("colour", {"image": "img:00000000"}))
                assert a_id not in unknown
                assert len(client_folders(folders["tmp"])) == 2

        # both clients disconnected: their images go with them
        deadline = time.monotonic() + 20
        while client_folders(folders["tmp"]) and time.monotonic() < deadline:
            await _sleep(0.3)
        assert not client_folders(folders["tmp"]), "client image stores outlived their sessions"
    assert not list(folders["tmp"].glob("lensmith-mcp-*")), "the server left client stores behind"


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_stdio_server_refuses_devices_and_fifos_fast(folders: dict[str, Path]) -> None:
    (folders["shared"] / "zero.png").symlink_to("/dev/zero")
    os.mkfifo(folders["shared"] / "pipe.png")
    params = StdioServerParameters(
        command=str(LENSMITH), args=["mcp", "serve", *MEMORY_TOOLS, "--allow-dir", str(folders["shared"]),
                                     "--memory"],
        env=env(folders["tmp"]),
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"remember", "retrieve"} <= names  # served because --memory asked for them
        started = time.monotonic()
        for name in ("zero.png", "pipe.png"):
            text = error_text(await session.call_tool("colour", {"image": str(folders["shared"] / name)}))
            assert text.startswith("Image not available")
        assert time.monotonic() - started < 10
        ok = await session.call_tool("colour", {"image": str(folders["shared"] / "red.png")})
        assert not ok.isError
    deadline = time.monotonic() + 15  # the client closed stdin: the server cleans up and exits
    while list(folders["tmp"].glob("lensmith-mcp-*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not list(folders["tmp"].glob("lensmith-mcp-*")), "the server left client stores behind"


def test_non_loopback_host_needs_a_configured_token(tmp_path: Path) -> None:
    environment = env(tmp_path)
    environment.pop("LENSMITH_MCP_TOKEN", None)
    done = subprocess.run([str(LENSMITH), "mcp", "serve", "-t", "http", "--host", "0.0.0.0", "--port", "1"],
                          env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "LENSMITH_MCP_TOKEN" in done.stderr and "Traceback" not in done.stderr


def test_generated_token_is_kept_private_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lensmith.cli.mcp import _token

    monkeypatch.delenv("LENSMITH_MCP_TOKEN", raising=False)
    first, origin = _token(None)
    assert origin == "generated" and len(first) >= 32
    path = Path(os.environ["LENSMITH_HOME"]) / "mcp" / "token"
    assert path.stat().st_mode & 0o077 == 0
    assert _token(None) == (first, "file")  # reused, and not printed again
    assert _token("configured-token-123456")[1] == "config"


# ---- in-process units ----------------------------------------------------------------
class _Session:  # stands in for an MCP ServerSession: only its identity matters
    pass


def test_client_stores_are_separate_and_removed_when_the_session_goes(tmp_path: Path) -> None:
    clients = ClientStores(ServeOptions(root=tmp_path))
    one, two = _Session(), _Session()
    a, b = clients.for_session(one, "a"), clients.for_session(two, "b")
    assert a.store is not b.store and clients.for_session(one).store is a.store
    image_id = a.store.add(np.zeros((4, 4, 3), np.uint8)).id
    assert image_id in a.store and image_id not in b.store
    folder_a = a.store.folder
    del one, a
    gc.collect()
    assert not folder_a.exists() and clients.active() == 1 and b.store.folder.exists()
    clients.close()
    assert not clients.root.exists()


def test_idle_clients_are_removed_without_any_call(tmp_path: Path) -> None:
    clients = ClientStores(ServeOptions(idle_s=0.3, root=tmp_path))
    session = _Session()
    folder = clients.for_session(session, "idle").store.folder
    assert folder.exists()
    deadline = time.monotonic() + 5
    while clients.active() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert clients.active() == 0 and not folder.exists()
    clients.close()


def test_client_limit_drops_the_least_recently_used(tmp_path: Path) -> None:
    clients = ClientStores(ServeOptions(max_clients=2, root=tmp_path))
    sessions = [_Session() for _ in range(3)]
    first = clients.for_session(sessions[0])
    clients.for_session(sessions[1])
    clients.for_session(sessions[2])
    assert clients.active() == 2 and not first.store.folder.exists()
    clients.close()


def test_memory_tools_are_served_only_when_enabled() -> None:
    from lensmith.memory.retrieve_tool import RememberTool, RetrieveTool
    from lensmith.tools.colour import ColourTool

    registry = Registry([ColourTool(), RememberTool(), RetrieveTool()])
    assert [t.name for t in serveable_tools(registry)] == ["colour"]
    assert {t.name for t in serveable_tools(registry, memory=True)} == {"colour", "remember", "retrieve"}


def test_base64_is_capped_before_decoding(tmp_path: Path) -> None:
    from lensmith.runtime.access import ImagePolicy
    from lensmith.tools.colour import ColourTool

    store = ImageStore(tmp_path / "s", policy=ImagePolicy.shared([], max_file_bytes=1000))
    result = call_tool(ColourTool(), store, {"image": "A" * 5000})
    assert result.isError and "too large" in result.content[0].text


def test_a_client_is_never_dropped_in_the_middle_of_a_call(tmp_path: Path) -> None:
    clients = ClientStores(ServeOptions(idle_s=0.05, root=tmp_path))
    session = _Session()
    with clients.calling(session, "slow") as running:
        time.sleep(0.2)
        clients.sweep()
        assert running.store.folder.exists() and clients.active() == 1
    time.sleep(0.2)
    clients.sweep()
    assert clients.active() == 0 and not running.store.folder.exists()
    clients.close()


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_ctrl_c_on_a_stdio_server_removes_the_client_stores(tmp_path: Path, stop: int) -> None:
    process = subprocess.Popen([str(LENSMITH), "mcp", "serve", "--tool", "colour"], env=env(tmp_path),
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               # a shell's background job ignores SIGINT, and a child inherits that
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 90
        while not list(tmp_path.glob("lensmith-mcp-*")):  # the server is up
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(0.5)
        process.send_signal(stop)
        assert process.wait(timeout=20) == 0
        assert "Traceback" not in process.stderr.read().decode()  # type: ignore[union-attr]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert not list(tmp_path.glob("lensmith-mcp-*"))


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_first_start_generates_and_prints_a_token_that_works(tmp_path: Path) -> None:
    port = free_port()
    environment = env(tmp_path)
    environment.pop("LENSMITH_MCP_TOKEN", None)
    process = subprocess.Popen([str(LENSMITH), "mcp", "serve", "-t", "http", "--port", str(port), "--tool", "colour"],
                               env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    with stopped_at_exit(process):
        token = None
        deadline = time.monotonic() + 90
        while token is None:
            line = process.stderr.readline()  # type: ignore[union-attr]
            assert line and time.monotonic() < deadline, "no token printed"
            if "new bearer token" in line:
                token = line.rsplit(": ", 1)[1].strip()
        wait_for_port(port, deadline=deadline)
        url = f"http://127.0.0.1:{port}/mcp"
        async with streamablehttp_client(url, headers={"Authorization": f"Bearer {token}"}) as (read, write, _), \
                ClientSession(read, write) as session:
            await session.initialize()
            assert [t.name for t in (await session.list_tools()).tools] == ["colour"]
        async with httpx.AsyncClient(timeout=10) as raw:
            refused = await raw.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}})
            assert refused.status_code == 401
