"""The memory store against a real Chroma server (`chroma run`) on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lensmith.memory import MemoryUnavailable, Seen, open_memory
from lensmith.memory.search import Searcher
from lensmith.memory.store import ImageRecord

pytestmark = pytest.mark.slow

CHROMA = str(Path(sys.executable).parent / "chroma")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen([CHROMA, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_store_on_a_chroma_server(server: str, tmp_path: Path) -> None:
    store = open_memory(url=server)
    assert store.kind == "server"
    store.add_turn(session_id="s1", turn_id="t1", question="What does the sign say?", answer="It says EXIT.",
                   image_ids=[], image_paths=[])
    fid = store.add_fact("The office wifi password is on the fridge.", evidence=["turn:s1/t1"], session_id="s1")
    photo = tmp_path / "p.png"
    photo.write_bytes(b"not really a png")  # metadata only: nothing decodes it here
    rec = ImageRecord(path=str(photo), size_bytes=16, mtime_ns=1, sha256="ab" * 32)
    store.put_images([(rec, Seen(caption="a green exit sign above a door"), None)])

    again = open_memory(url=server)  # a second client sees what the first wrote
    recalled = again.recall("where is the wifi password?", session_id="s2")
    assert recalled[0]["kind"] == "fact" and fid in recalled[0]["source"]
    hits = Searcher(again, clip=None).by_text("exit sign").hits
    assert hits and hits[0].path == str(photo)
    assert again.forget_fact(fid) == 1
    assert again.counts()["facts"] == 0
    again.forget_all()


def test_unreachable_server_is_a_clear_error() -> None:
    port = _free_port()
    with pytest.raises(MemoryUnavailable, match=f"Chroma server unreachable at http://127.0.0.1:{port}"):
        open_memory(url=f"http://127.0.0.1:{port}")
