"""``lensmith models fetch`` end to end: from a hub on 127.0.0.1 into the weights folder,
then ``lensmith models`` finds it with no config."""

from __future__ import annotations

import json
import socket

import pytest
from support.file_server import FileServer, sha256
from typer.testing import CliRunner

from lensmith.cli import app

runner = CliRunner(env={"COLUMNS": "200"})
REPO = "/laion/CLIP-ViT-B-32-laion2B-s34B-b79K/resolve/main"


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv("LENSMITH_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("LENSMITH_WEIGHTS", raising=False)


def test_fetch_from_a_local_hub_then_models_finds_it(online, monkeypatch, lensmith_home):
    weights_blob = b"\x01\x02" * 5000
    srv = FileServer(files={f"{REPO}/open_clip_config.json": b'{"model_cfg": {}}',
                            f"{REPO}/open_clip_model.safetensors": weights_blob},
                     hub_etag={f"{REPO}/open_clip_model.safetensors": sha256(weights_blob)})
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"{srv.url}/hub")
        result = runner.invoke(app, ["models", "fetch", "clip"])
        assert result.exit_code == 0, result.output
        folder = lensmith_home / "weights" / "CLIP-ViT-B-32-laion2B-s34B-b79K"
        assert "✓ clip" in result.output and str(folder) in result.output
        assert "sha256 (published by the hub" in result.output
        assert (folder / "open_clip_model.safetensors").read_bytes() == weights_blob

        listed = runner.invoke(app, ["models", "--json"])
        assert listed.exit_code == 0, listed.output
        clip = next(row for row in json.loads(listed.stdout) if row["name"] == "clip")
        assert clip["found"] and clip["path"] == str(folder)

        again = runner.invoke(app, ["models", "fetch", "clip", "--json"])
        assert json.loads(again.stdout)[0]["already"] is True
    finally:
        srv.close()


def test_fetch_with_no_network_is_one_line_naming_the_model_and_the_fix(online, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    result = runner.invoke(app, ["models", "fetch", "clip"])
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "Cannot download clip: 127.0.0.1 is unreachable" in errors[0]
    assert "lensmith models fetch clip" in errors[0]
    assert "Traceback" not in result.output


def test_fetch_names_unknown_models_and_lists_the_catalogue():
    result = runner.invoke(app, ["models", "fetch", "no-such-model"])
    assert result.exit_code == 1 and "No download known for no-such-model" in result.output
    listed = runner.invoke(app, ["models", "fetch", "--list", "--json"])
    names = {row["name"] for row in json.loads(listed.stdout)}
    assert {"sam-vit-b", "mobile-sam", "clip", "sd-inpainting"} <= names
