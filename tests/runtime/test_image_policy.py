"""Image references from untrusted callers (planner tool calls, MCP clients) and the
bounds every image read keeps: regular files only, byte caps, deadlines on URLs, no
private URL targets, a bounded pixel cache and a disk cap. Servers here listen on
127.0.0.1 only; every wait is bounded."""

from __future__ import annotations

import http.server
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lensmith.runtime import urls
from lensmith.runtime.access import ImagePolicy
from lensmith.runtime.errors import ImageError
from lensmith.runtime.images import ImageStore, PixelCache


def png(path: Path, size: tuple[int, int] = (32, 24), colour: tuple[int, int, int] = (200, 30, 30)) -> Path:
    Image.new("RGB", size, colour).save(path)
    return path


def message(store: ImageStore, ref: str) -> str:
    with pytest.raises(ImageError) as info:
        store.get(ref)
    return str(info.value)


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir()
    png(folder / "ok.png")
    return folder


@pytest.fixture
def private(tmp_path: Path) -> Path:
    folder = tmp_path / "private"
    folder.mkdir()
    png(folder / "secret.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def restricted(tmp_path: Path, shared: Path, **kwargs) -> ImageStore:
    return ImageStore(tmp_path / "store", policy=ImagePolicy.shared([shared], **kwargs))


def test_untrusted_callers_read_only_shared_folders(tmp_path: Path, shared: Path, private: Path) -> None:
    store = restricted(tmp_path, shared)
    assert store.get(str(shared / "ok.png")).width == 32
    for ref in (private / "secret.png", private / "notes.txt", private / "missing.png", private, "/etc/passwd"):
        text = message(store, str(ref))
        # one message whatever the reason: the same words with the reference swapped out
        assert text.replace(str(ref), "REF") == message(store, "/nowhere/x.png").replace("/nowhere/x.png", "REF")
        assert text.startswith("Image not available")
    assert str(Path.home()) not in message(store, "~/secret.png")


def test_relative_and_dotdot_paths_cannot_leave_the_shared_folder(tmp_path: Path, shared: Path, private: Path) -> None:
    store = restricted(tmp_path, shared)
    sneaky = f"{shared}/../private/secret.png"
    assert message(store, sneaky).startswith("Image not available")
    (shared / "link.png").symlink_to(private / "secret.png")  # a link inside pointing outside
    assert message(store, str(shared / "link.png")).startswith("Image not available")


def test_local_user_keeps_full_access_and_clear_errors(tmp_path: Path, private: Path) -> None:
    store = ImageStore(tmp_path / "store")  # the default: the local user's own request
    assert store.get(str(private / "secret.png")).height == 24
    assert "Image not found" in message(store, str(private / "missing.png"))
    # a store restricted for its tools still lets the user's own request through
    locked = ImageStore(tmp_path / "locked", policy=ImagePolicy.shared([]))
    assert locked.get(str(private / "secret.png"), policy=ImagePolicy.local_user()).width == 32


@pytest.mark.timeout(30)
def test_device_files_are_refused_before_any_read(tmp_path: Path, shared: Path) -> None:
    (shared / "zero.png").symlink_to("/dev/zero")
    started = time.monotonic()
    assert "Not a regular file" in message(ImageStore(tmp_path / "a"), str(shared / "zero.png"))
    assert message(restricted(tmp_path, shared), str(shared / "zero.png")).startswith("Image not available")
    assert time.monotonic() - started < 5


@pytest.mark.timeout(30)
def test_a_fifo_never_blocks(tmp_path: Path, shared: Path) -> None:
    fifo = shared / "pipe.png"
    os.mkfifo(fifo)  # nobody ever writes: opening it for reading would block forever
    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(message(ImageStore(tmp_path / "a"), str(fifo))), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "reading a FIFO blocked"
    assert "Not a regular file" in result[0]


def test_file_byte_cap_is_checked_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    with huge.open("wb") as fh:  # sparse: 600 MB on paper, nothing on disk
        fh.truncate(600 * 2**20)
    started = time.monotonic()
    assert "too large" in message(ImageStore(tmp_path / "a"), str(huge))  # the local user's cap: 512 MiB
    with huge.open("wb") as fh:
        fh.truncate(100 * 2**20)
    shared = ImageStore(tmp_path / "b", policy=ImagePolicy.shared([tmp_path]))
    assert "too large" in message(shared, str(huge))  # untrusted callers: 64 MiB
    assert time.monotonic() - started < 2


def test_unknown_ids_list_nothing_for_untrusted_callers(tmp_path: Path, shared: Path) -> None:
    store = restricted(tmp_path, shared)
    known = store.add(np.zeros((8, 8, 3), np.uint8)).id
    text = message(store, "img:00000000")
    assert "img:00000000" in text and known not in text


def test_pixel_cache_is_bounded_and_evicted_images_decode_again(tmp_path: Path) -> None:
    cache = PixelCache(max_bytes=3 * 64 * 64 * 3)
    store = ImageStore(tmp_path / "s", pixels=cache)
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(10)]
    ids = [store.add(a).id for a in arrays]
    assert cache.nbytes <= cache.max_bytes
    for image_id, array in zip(ids, arrays, strict=True):  # the first ones were evicted
        assert np.array_equal(store.array(image_id), array)
        assert cache.nbytes <= cache.max_bytes


def test_deferred_artifacts_stay_pinned_until_written(tmp_path: Path) -> None:
    cache = PixelCache(max_bytes=1)  # everything evictable goes at once
    store = ImageStore(tmp_path / "s", pixels=cache)
    meta = store.add_artifact(np.full((16, 16, 3), 7, np.uint8), parent=None, label="drawn", defer_write=True)
    store.flush()
    assert store.file(meta.id).exists()
    assert int(store.array(meta.id).mean()) == 7


def test_disk_cap_on_stored_uploads(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "s", max_disk_bytes=40_000)
    rng = np.random.default_rng(1)
    with pytest.raises(ImageError, match="storage is full"):
        for _ in range(20):
            store.add(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8))
    total = sum(f.stat().st_size for f in (tmp_path / "s").rglob("*.png"))
    assert total <= 40_000


# ---- URLs --------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes, float]] = {}

    def do_GET(self) -> None:  # noqa: N802
        status, headers, body, drip = self.routes.get(self.path, (404, {}, b"", 0.0))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        try:
            if drip:
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(drip)
            else:
                self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, dict]]:
    routes: dict = {}
    handler = type("H", (_Handler,), {"routes": routes})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_urls_are_off_for_untrusted_callers(tmp_path: Path, shared: Path, server: tuple[str, dict]) -> None:
    base, routes = server
    routes["/a.png"] = (200, {}, (shared / "ok.png").read_bytes(), 0.0)
    assert "not fetched" in message(restricted(tmp_path, shared), f"{base}/a.png")
    # enabled: still never to loopback/private targets, and the error does not say what is there
    text = message(restricted(tmp_path, shared, urls=True), f"{base}/a.png")
    assert "only public internet addresses" in text
    closed = message(restricted(tmp_path, shared, urls=True), "http://127.0.0.1:9/x.png")
    assert closed.replace("http://127.0.0.1:9/x.png", "U") == text.replace(f"{base}/a.png", "U")
    # the local user may fetch from their own machine
    assert ImageStore(tmp_path / "local").get(f"{base}/a.png").width == 32


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "::1",
                                     "fe80::1", "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1", "100.64.0.1"])
def test_private_addresses_are_not_public(address: str) -> None:
    assert not urls.is_public(address)


def test_public_addresses_are_public() -> None:
    assert urls.is_public("93.184.216.34") and urls.is_public("2606:4700::1111")


def test_every_redirect_is_checked(server: tuple[str, dict], monkeypatch: pytest.MonkeyPatch) -> None:
    base, routes = server
    port = base.rsplit(":", 1)[1]
    # pretend 127.0.0.1 is public so the first hop passes; 127.0.0.2 stays private
    monkeypatch.setattr(urls, "is_public", lambda address: address == "127.0.0.1")
    routes["/go"] = (302, {"Location": f"http://127.0.0.2:{port}/inside"}, b"", 0.0)
    routes["/inside"] = (200, {}, b"secret", 0.0)
    with pytest.raises(ImageError, match="only public internet addresses"):
        urls.download(f"{base}/go", allow_private=False, deadline_s=5)
    assert urls.download(f"{base}/inside", allow_private=False, deadline_s=5) == b"secret"


@pytest.mark.timeout(30)
def test_a_dripping_server_is_cut_at_the_total_deadline(server: tuple[str, dict]) -> None:
    base, routes = server
    routes["/drip"] = (200, {"Content-Length": "1000"}, b"x" * 1000, 0.2)
    started = time.monotonic()
    with pytest.raises(ImageError, match="deadline"):
        urls.download(f"{base}/drip", allow_private=True, deadline_s=1.5)
    assert time.monotonic() - started < 4


@pytest.mark.timeout(30)
def test_dripping_headers_are_cut_too() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        stop = threading.Event()

        def drip() -> None:
            conn, _ = listener.accept()
            with conn:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                    if stop.is_set():
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        return
                    time.sleep(0.1)

        thread = threading.Thread(target=drip, daemon=True)
        thread.start()
        started = time.monotonic()
        with pytest.raises(ImageError):
            urls.download(f"http://127.0.0.1:{port}/", allow_private=True, deadline_s=1.5)
        assert time.monotonic() - started < 4
        stop.set()


def test_download_size_cap(server: tuple[str, dict]) -> None:
    base, routes = server
    routes["/big"] = (200, {}, b"x" * (3 * 2**20), 0.0)  # no Content-Length: counted while read
    with pytest.raises(ImageError, match="too large"):
        urls.download(f"{base}/big", allow_private=True, max_bytes=2**20)
    routes["/declared"] = (200, {"Content-Length": str(3 * 2**20)}, b"x" * (3 * 2**20), 0.0)
    with pytest.raises(ImageError, match="too large"):
        urls.download(f"{base}/declared", allow_private=True, max_bytes=2**20)


def test_only_http_urls_and_redirect_loops_end(server: tuple[str, dict]) -> None:
    with pytest.raises(ImageError, match="only http"):
        urls.download("file:///etc/passwd", allow_private=True)
    base, routes = server
    routes["/loop"] = (302, {"Location": "/loop"}, b"", 0.0)
    with pytest.raises(ImageError, match="redirects"):
        urls.download(f"{base}/loop", allow_private=True, deadline_s=5)
