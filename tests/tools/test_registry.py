"""Where tools come from: the ``lensmith.tools`` entry points, tested with a real plugin
distribution (tests/support/plugin_demo) built and installed by pip into a temporary folder."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from langchain_core.tools import BaseTool, tool
from PIL import Image
from pydantic import BaseModel
from skimage import data as skdata
from support.tool_contract import invoke

from lensmith.runtime.artifacts import GenericArtifact
from lensmith.runtime.base import LensmithTool
from lensmith.runtime.errors import UnknownTool
from lensmith.runtime.images import ImageStore, use_store
from lensmith.tools.registry import ENTRY_POINT_GROUP, Registry

PLUGIN_SOURCE = Path(__file__).resolve().parents[1] / "support" / "plugin_demo"
PLUGIN = "plugin:lensmith-plugin-demo"
LUMA = np.array([0.299, 0.587, 0.114])


# ---- the installed plugin -------------------------------------------------------------
@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip builds the demo plugin (setuptools, no isolation: offline) into a target folder."""
    assert importlib.util.find_spec("setuptools"), "building the demo plugin needs setuptools in the venv"
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(PLUGIN_SOURCE, work / "src")  # the build writes next to the sources
    site = work / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(site), str(source)],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert list(site.glob("lensmith_plugin_demo-*.dist-info"))
    return site


@pytest.fixture
def with_plugin(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(plugin_site))
    yield plugin_site
    sys.modules.pop("lensmith_plugin_demo", None)


@pytest.fixture(scope="module")
def cat_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[ImageStore, str, np.ndarray]:
    store = ImageStore(tmp_path_factory.mktemp("images"))
    cat = skdata.chelsea()
    return store, store.add(Image.fromarray(cat)).id, cat


def by_name(infos) -> dict[str, list]:
    out: dict[str, list] = {}
    for info in infos:
        out.setdefault(info["name"] if isinstance(info, dict) else info.name, []).append(info)
    return out


def test_the_plugin_is_installed_where_metadata_sees_it(with_plugin: Path) -> None:
    dist = metadata.distribution("lensmith-plugin-demo")
    names = {ep.name for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP}
    assert names == {"brightness", "broken", "demo_factory", "detect"}


def test_discover_finds_plugins_builtins_and_failures(with_plugin: Path) -> None:
    registry = Registry.discover()
    infos = by_name(registry.infos())

    brightness = infos["brightness"][0]
    assert (brightness.source, brightness.ok) == (PLUGIN, True)
    assert brightness.origin == "lensmith_plugin_demo:brightness"
    assert "brightness" in brightness.description.lower()
    assert brightness.args_schema and "image" in brightness.args_schema["properties"]

    # a factory entry point returning a list: every tool in it, each with the plugin's source
    for name in ("contrast", "pixel_count"):
        assert infos[name][0].source == PLUGIN and infos[name][0].ok
        assert infos[name][0].origin == "lensmith_plugin_demo:make_tools"
    assert infos["contrast"][0].backend.startswith("numpy")

    # built-ins come through the same entry points, with source "builtin", loaded or not
    builtin_names = {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.value.startswith(("lensmith.tools.", "lensmith.memory."))}
    assert {"detect", "read_text", "segment", "edit", "retrieve", "remember"} <= builtin_names
    for name in builtin_names:
        assert infos[name][0].source == "builtin", infos[name][0]
    assert type(registry.get("detect")).__name__ == "DetectTool"

    failures = {(f.name, f.source): f for f in registry.failures()}
    broken = failures[("broken", PLUGIN)]
    assert not broken.ok and broken.origin == "lensmith_plugin_demo:missing_attr"
    assert "AttributeError" in broken.error and "missing_attr" in broken.error
    assert "broken" not in registry

    # the plugin's "detect" loses to the built-in, whatever order the dists were found in
    clash = failures[("detect", PLUGIN)]
    assert "already registered by builtin" in clash.error


def test_plugin_tools_work_through_the_tool_contract(with_plugin: Path, cat_store) -> None:
    store, image_id, cat = cat_store
    registry = Registry.discover()
    expected_mean = float((cat.astype(np.float64) @ LUMA).mean())
    with use_store(store):
        message = invoke(registry.get("brightness"), {"image": image_id})
        contrast = invoke(registry.get("contrast"), {"image": image_id})
        count = invoke(registry.get("pixel_count"), {"image": image_id})
        missing = invoke(registry.get("brightness"), {"image": "img:00000000"})

    assert message.status == "success", message.content
    assert isinstance(message.artifact, GenericArtifact)
    assert (message.artifact.tool, message.artifact.image, message.artifact.method_kind) == (
        "brightness", image_id, "measurement"
    )
    assert message.artifact.data["mean"] == pytest.approx(expected_mean, abs=1e-3)
    assert f"{expected_mean:.1f}" in message.content

    assert contrast.status == "success"
    assert contrast.artifact.data["rms_contrast"] == pytest.approx(float((cat @ LUMA).std()), abs=1e-3)
    assert count.content == f"{image_id} has {451 * 300} pixels (451×300)"

    # a plain @tool raising ImageError reaches the planner as an error message, not a crash
    assert missing.status == "error"
    assert "img:00000000" in missing.content and image_id in missing.content


def test_cli_tools_json_shows_plugins_and_failures(with_plugin: Path) -> None:
    from typer.testing import CliRunner

    from lensmith.cli import app

    result = CliRunner().invoke(app, ["tools", "--json"], terminal_width=400)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    infos = by_name(rows)
    assert infos["brightness"][0]["source"] == PLUGIN and infos["brightness"][0]["ok"]
    broken = infos["broken"][0]
    assert broken["ok"] is False and "missing_attr" in broken["error"]
    assert infos["detect"][0]["source"] == "builtin"


# ---- the registry on its own ----------------------------------------------------------
class Args(BaseModel):
    text: str


class Shout(LensmithTool):
    name: str = "shout"
    description: str = "Upper-case a piece of text (a test tool)."
    args_schema: type[BaseModel] = Args

    def run_tool(self, text: str) -> tuple[str, GenericArtifact]:
        return text.upper(), GenericArtifact(tool=self.name, method="str.upper", method_kind="measurement")


@tool
def shout(text: str) -> str:
    """Also called shout: a second tool with a name already taken."""
    return text


@tool
def divide_by_zero(text: str) -> str:
    """A plugin tool with a bug: raises ZeroDivisionError."""
    return str(len(text) / 0)


@tool
async def async_divide_by_zero(text: str) -> str:
    """An async plugin tool with a bug: raises ZeroDivisionError."""
    return str(len(text) / 0)


def test_duplicate_names_keep_the_first() -> None:
    first = Shout()
    registry = Registry([first, shout], source="plugin:demo")
    assert registry.names() == ["shout"]
    assert registry.get("shout") is first
    (failure,) = registry.failures()
    assert failure.name == "shout" and not failure.ok
    assert "already registered by plugin:demo" in failure.error
    assert [i.name for i in registry.infos()] == ["shout", "shout"]  # the tool, then its failure


def test_unknown_tool_names_the_known_ones() -> None:
    registry = Registry([Shout(), divide_by_zero])
    with pytest.raises(UnknownTool) as info:
        registry.get("sing")
    assert "'sing'" in str(info.value) and "divide_by_zero" in str(info.value) and "shout" in str(info.value)
    with pytest.raises(UnknownTool, match="sing"):
        registry.keep(["shout", "sing"])
    registry.keep(["shout"])
    assert registry.names() == ["shout"]
    with pytest.raises(UnknownTool, match="none"):
        Registry().get("anything")


async def test_a_plugin_bug_is_an_error_message_not_a_crash() -> None:
    registry = Registry([divide_by_zero, async_divide_by_zero], source="plugin:buggy")
    message = invoke(registry.get("divide_by_zero"), {"text": "abc"})
    assert message.status == "error"
    assert "divide_by_zero failed" in message.content and "ZeroDivisionError" in message.content
    message = await registry.get("async_divide_by_zero").ainvoke(
        {"type": "tool_call", "id": "c1", "name": "async_divide_by_zero", "args": {"text": "abc"}}
    )
    assert message.status == "error" and "ZeroDivisionError" in message.content
    # the originals are untouched: the registry wraps copies
    with pytest.raises(ZeroDivisionError):
        divide_by_zero.invoke({"text": "abc"})


# entry points given straight to the registry (no distribution behind them)
class DeviceTool(Shout):
    name: str = "device_tool"


def make_two() -> list[BaseTool]:
    return [Shout(), divide_by_zero]


def make_junk() -> list:
    return [Shout(), "not a tool"]


NOT_A_TOOL = 42


def test_entry_point_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    module = __name__
    points = [
        metadata.EntryPoint("device_tool", f"{module}:DeviceTool", ENTRY_POINT_GROUP),
        metadata.EntryPoint("two", f"{module}:make_two", ENTRY_POINT_GROUP),
        metadata.EntryPoint("junk", f"{module}:make_junk", ENTRY_POINT_GROUP),
        metadata.EntryPoint("number", f"{module}:NOT_A_TOOL", ENTRY_POINT_GROUP),
        metadata.EntryPoint("gone", "no_such_module_for_lensmith:tool", ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr("lensmith.tools.registry.metadata.entry_points", lambda group: points if group == ENTRY_POINT_GROUP else [])
    registry = Registry.discover(device="cpu")

    assert registry.names() == ["device_tool", "divide_by_zero", "shout"]
    assert registry.get("device_tool").device == "cpu"  # a tool class gets the chosen device
    assert {i.source for i in registry.infos() if i.ok} == {"plugin:unknown"}
    errors = {f.name: f.error for f in registry.failures()}
    assert set(errors) == {"junk", "number", "gone"}
    assert "not a LangChain tool" in errors["junk"]
    assert "int" in errors["number"]
    assert "ModuleNotFoundError" in errors["gone"] and "no_such_module_for_lensmith" in errors["gone"]

    only = Registry.discover(only=["shout"])
    assert only.names() == ["shout"]
