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


@pytest.mark.slow
def test_a_fetched_clip_folder_loads_in_open_clip_through_the_resolver(online, monkeypatch, tmp_path):
    """The catalogue's layout is what the real loader reads: a tiny random open_clip model
    served as the hub would, fetched by the command, loaded with no config."""
    import io

    pytest.importorskip("open_clip")
    from PIL import Image
    from safetensors.torch import save

    from lensmith.tools.clip import ClipModel, load_clip

    tiny = {"embed_dim": 32,
            "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
            "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}
    source = ClipModel.from_config("lensmith-fetch-tiny-clip", tiny)
    weights_blob = save({k: v.contiguous() for k, v in source.model.state_dict().items()})
    srv = FileServer(files={f"{REPO}/open_clip_config.json": json.dumps({"model_cfg": tiny, "preprocess_cfg": {}}).encode(),
                            f"{REPO}/open_clip_model.safetensors": weights_blob},
                     hub_etag={f"{REPO}/open_clip_model.safetensors": sha256(weights_blob)})
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"{srv.url}/hub")
        result = runner.invoke(app, ["models", "fetch", "clip"])
        assert result.exit_code == 0, result.output
    finally:
        srv.close()
    loaded = load_clip("cpu")
    assert loaded.dim == 32 and not loaded.random_init
    picture = Image.open(io.BytesIO(_png()))
    assert abs(float(loaded.embed_images([picture])[0] @ source.embed_images([picture])[0]) - 1.0) < 1e-4


def _png() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray((np.arange(48 * 48 * 3) % 251).astype("uint8").reshape(48, 48, 3)).save(buffer, format="PNG")
    return buffer.getvalue()
