"""The one weights resolver: config path, $LENSMITH_WEIGHTS, package, hub — and a
clear error naming every place looked at and how to fetch."""

from __future__ import annotations

import time

import pytest

from lensmith.runtime import weights
from lensmith.tools import WeightsNotFound


@pytest.fixture
def spec(tmp_path):
    shipped = tmp_path / "shipped" / "tiny.bin"
    shipped.parent.mkdir()
    shipped.write_bytes(b"weights")
    made = weights.ModelSpec(
        name="tiny-test-model",
        task="detect",
        candidates=["tiny.bin", "tiny_dir"],
        hub_repo="example/tiny",
        fetch="lensmith-fetch tiny",
        packaged=lambda: shipped,
    )
    yield made
    weights.reset()


def test_the_order_is_config_then_env_then_package(spec, tmp_path, monkeypatch):
    assert weights.resolve(spec).source == "package"
    env_dir = tmp_path / "env"
    (env_dir / "tiny_dir").mkdir(parents=True)
    monkeypatch.setenv("LENSMITH_WEIGHTS", str(env_dir))
    found = weights.resolve(spec)
    assert found.source == "env" and found.path == str(env_dir / "tiny_dir")
    explicit = tmp_path / "mine.bin"
    explicit.write_bytes(b"x")
    weights.configure({"tiny-test-model": str(explicit)})
    assert weights.resolve(spec).source == "config"


def test_not_found_names_every_place_and_the_fetch_command(spec, tmp_path, monkeypatch):
    missing = spec.model_copy(update={"packaged": lambda: None})
    monkeypatch.setenv("LENSMITH_WEIGHTS", str(tmp_path / "empty"))
    weights.configure({"tiny-test-model": str(tmp_path / "gone.bin")})
    with pytest.raises(WeightsNotFound) as caught:
        weights.resolve(missing)
    message = str(caught.value)
    assert "tiny-test-model" in message
    assert "gone.bin (missing)" in message
    assert str(tmp_path / "empty") in message
    assert "installed packages" in message
    assert "example/tiny" in message and "offline" in message  # tests run with LENSMITH_OFFLINE=1
    assert "lensmith-fetch tiny" in message


def test_an_unreachable_hub_fails_over_in_seconds(spec, monkeypatch):
    missing = spec.model_copy(update={"packaged": lambda: None})
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    weights.hub_reachable.cache_clear()
    for switch in ("LENSMITH_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(switch, raising=False)
    weights.configure(allow_downloads=True)
    began = time.perf_counter()
    try:
        with pytest.raises(WeightsNotFound, match="unreachable"):
            weights.resolve(missing)
    finally:
        weights.hub_reachable.cache_clear()
    assert time.perf_counter() - began < 5


def test_status_never_downloads(spec, monkeypatch):
    missing = spec.model_copy(update={"packaged": lambda: None})
    monkeypatch.delenv("LENSMITH_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    weights.configure(allow_downloads=True)
    result = weights.status(missing)
    assert isinstance(result, WeightsNotFound)
    assert any("not checked" in place for place in result.looked)


def test_an_unknown_name_is_treated_as_a_hub_id():
    spec = weights.get_spec("llava-hf/llava-1.5-7b-hf")
    assert spec.hub_repo == "llava-hf/llava-1.5-7b-hf"
    assert "llava-1.5-7b-hf" in spec.candidates
    assert "huggingface-cli download" in spec.fetch


def test_allow_downloads_toggled_ends_as_last_set(monkeypatch):
    from lensmith.agent.config import Settings

    monkeypatch.delenv("LENSMITH_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    for allowed in (True, False, True):
        Settings(allow_downloads=allowed).apply()
    assert weights.hub_allowed() is True
    Settings(allow_downloads=False).apply()
    assert weights.hub_allowed() is False
    # the environment's offline switch is read at lookup time, never stored
    monkeypatch.setenv("LENSMITH_OFFLINE", "1")
    Settings(allow_downloads=True).apply()
    assert weights.hub_allowed() is False
    monkeypatch.delenv("LENSMITH_OFFLINE")
    assert weights.hub_allowed() is True


def test_configure_replaces_the_paths_whole(tmp_path):
    weights.configure({"a": str(tmp_path / "a")})
    weights.configure({"b": str(tmp_path / "b")})
    assert weights.configured_path("a") is None and weights.configured_path("b") == str(tmp_path / "b")
    weights.reset()
    assert weights.configured_path("b") is None
