"""Downloads for ``lensmith models fetch`` against a real HTTP server on 127.0.0.1:
verified, resumable, atomic, and found by the resolver with no config."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest
from support.file_server import FileServer, sha256

from lensmith.runtime import weights
from lensmith.runtime.fetch import Download, FetchError, RemoteFile, fetch

BLOB = bytes(range(256)) * 40  # 10 240 bytes
SPEC = weights.ModelSpec(name="tiny", task="segment", candidates=["tiny.pth", "tiny-folder"])


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv("LENSMITH_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("LENSMITH_WEIGHTS", raising=False)


@pytest.fixture
def server():
    srv = FileServer(files={"/tiny.pth": BLOB})
    yield srv
    srv.close()


def one_file(server: FileServer, **kwargs) -> Download:
    return Download(model="tiny", target="tiny.pth", files=(RemoteFile(url=f"{server.url}/tiny.pth", **kwargs),),
                    checksum="test")


def test_a_verified_download_lands_where_the_resolver_looks_with_no_config(online, server, lensmith_home):
    got = fetch(one_file(server, sha256=sha256(BLOB), size=len(BLOB)))
    assert got.path == lensmith_home / "weights" / "tiny.pth"
    assert got.path.read_bytes() == BLOB
    assert got.files[0].verified == "sha256 (catalogue)"
    assert not list((lensmith_home / "weights" / ".partial").iterdir())  # nothing half-done left behind
    found = weights.resolve(SPEC, hub=False)
    assert found.path == str(got.path) and found.source == "env"
    # a second run downloads nothing
    before = len(server.requests)
    assert fetch(one_file(server, sha256=sha256(BLOB))).already
    assert len(server.requests) == before


def test_lensmith_weights_wins_over_the_default_folder(online, server, monkeypatch, tmp_path):
    monkeypatch.setenv("LENSMITH_WEIGHTS", str(tmp_path / "w"))
    got = fetch(one_file(server, sha256=sha256(BLOB)))
    assert got.path == tmp_path / "w" / "tiny.pth"
    assert weights.resolve(SPEC, hub=False).detail == "$LENSMITH_WEIGHTS"


def test_a_checksum_mismatch_keeps_nothing_and_says_what_to_do(online, server, lensmith_home):
    wrong = sha256(b"something else")
    with pytest.raises(FetchError) as err:
        fetch(one_file(server, sha256=wrong))
    message = str(err.value)
    assert "\n" not in message
    assert "tiny" in message and "failed its checksum" in message and "lensmith models fetch tiny" in message
    assert not (lensmith_home / "weights" / "tiny.pth").exists()
    assert not any((lensmith_home / "weights").rglob("*.part"))
    assert isinstance(weights.status(SPEC), weights.WeightsNotFound)


def test_an_interrupted_download_resumes_with_a_range_request(online, server, lensmith_home):
    server.cut_after["/tiny.pth"] = 3000
    download = one_file(server, sha256=sha256(BLOB), size=len(BLOB))
    with pytest.raises(FetchError, match=r"stopped after 3000 bytes .*run `lensmith models fetch tiny` again to resume"):
        fetch(download)
    assert not (lensmith_home / "weights" / "tiny.pth").exists()  # the resolver sees no half file
    part = lensmith_home / "weights" / ".partial" / "tiny.pth.part"
    assert part.stat().st_size == 3000

    got = fetch(download)
    assert server.requests[-1] == ("/tiny.pth", "bytes=3000-")
    assert got.files[0].resumed_from == 3000
    assert got.path.read_bytes() == BLOB
    assert not part.exists()


def test_a_server_that_ignores_ranges_is_downloaded_again_from_the_start(online, server):
    server.cut_after["/tiny.pth"] = 1000
    download = one_file(server, sha256=sha256(BLOB))
    with pytest.raises(FetchError):
        fetch(download)
    server.ignore_range = True
    got = fetch(download)
    assert got.files[0].resumed_from == 0
    assert got.path.read_bytes() == BLOB


def test_no_network_is_one_clear_line_naming_the_model_and_the_fix(online, lensmith_home):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    download = Download(model="tiny", target="tiny.pth",
                        files=(RemoteFile(url=f"http://127.0.0.1:{port}/tiny.pth", sha256=sha256(BLOB)),), checksum="test")
    with pytest.raises(FetchError) as err:
        fetch(download, timeout=3)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("Cannot download tiny: 127.0.0.1 is unreachable")
    assert "lensmith models fetch tiny" in message


def test_offline_mode_refuses_before_any_request(server, monkeypatch):
    monkeypatch.setenv("LENSMITH_OFFLINE", "1")
    with pytest.raises(FetchError, match="offline mode is on"):
        fetch(one_file(server, sha256=sha256(BLOB)))
    assert server.requests == []


def test_hub_files_are_checked_against_the_sha256_the_hub_publishes(online, server, lensmith_home):
    config = b'{"model_cfg": {}}'
    server.files.update({"/repo/config.json": config, "/repo/model.bin": BLOB})
    server.hub_etag["/repo/model.bin"] = sha256(BLOB)
    download = Download(model="tiny", target="tiny-folder", checksum="test", files=(
        RemoteFile(url=f"{server.url}/hub/repo/config.json", name="config.json"),
        RemoteFile(url=f"{server.url}/hub/repo/model.bin", name="weights/model.bin"),
    ))
    got = fetch(download)
    verified = {f.name: f.verified for f in got.files}
    assert verified["weights/model.bin"] == "sha256 (published by the hub, X-Linked-Etag)"
    assert verified["config.json"].startswith("size only")
    assert (got.path / "weights" / "model.bin").read_bytes() == BLOB
    assert weights.resolve(SPEC, hub=False).path == str(got.path)


def test_a_wrong_hub_checksum_is_caught_and_the_folder_never_appears(online, server, lensmith_home):
    server.files["/repo/model.bin"] = BLOB
    server.hub_etag["/repo/model.bin"] = sha256(b"not these bytes")
    download = Download(model="tiny", target="tiny-folder", checksum="test",
                        files=(RemoteFile(url=f"{server.url}/hub/repo/model.bin", name="model.bin"),))
    with pytest.raises(FetchError, match="failed its checksum"):
        fetch(download)
    assert not (lensmith_home / "weights" / "tiny-folder").exists()


def test_more_bytes_than_the_catalogue_says_are_refused(online, server, lensmith_home):
    with pytest.raises(FetchError, match="Refusing tiny"):
        fetch(one_file(server, size=len(BLOB) - 1))
    assert not any((lensmith_home / "weights").rglob("tiny.pth*"))


def test_a_missing_file_on_the_server_is_a_clear_error(online, server):
    download = Download(model="tiny", target="tiny.pth", checksum="test",
                        files=(RemoteFile(url=f"{server.url}/gone.pth"),))
    with pytest.raises(FetchError, match=r"answered HTTP 404 .*lensmith models fetch tiny"):
        fetch(download)


def test_the_catalogue_covers_each_kind_and_lands_on_a_resolver_candidate():
    from lensmith.tools.downloads import catalogue

    entries = catalogue()
    tasks = {weights.get_spec(name).task for name in entries}
    assert {"segment", "embed", "detect", "edit"} <= tasks
    assert {"sam-vit-b", "mobile-sam"} <= set(entries)
    for name, entry in entries.items():
        spec = weights.get_spec(name)
        assert entry.target in spec.candidates, name
        assert entry.checksum
        for remote in entry.files:
            assert remote.url.startswith("https://")
            assert remote.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", remote.sha256)
            if not entry.single:
                assert remote.name and not os.path.isabs(remote.name) and ".." not in Path(remote.name).parts
        if not any(f.sha256 for f in entry.files):  # unpinned entries say how they are checked instead
            assert "hub" in entry.checksum or "size" in entry.checksum


def test_force_downloads_again_from_scratch(online, server, lensmith_home):
    server.cut_after["/tiny.pth"] = 2000
    download = one_file(server, sha256=sha256(BLOB))
    with pytest.raises(FetchError):
        fetch(download)
    got = fetch(download, force=True)
    assert server.requests[-1] == ("/tiny.pth", None)  # no Range: the partial file was dropped
    assert got.files[0].resumed_from == 0 and got.path.read_bytes() == BLOB
    server.files["/tiny.pth"] = BLOB[::-1]
    again = fetch(Download(model="tiny", target="tiny.pth", checksum="test",
                           files=(RemoteFile(url=f"{server.url}/tiny.pth", sha256=sha256(BLOB[::-1])),)), force=True)
    assert not again.already and again.path.read_bytes() == BLOB[::-1]
