"""The ``lensmith`` command as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lensmith.cli import app

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Path:
    from lensmith.cli.samples import write_samples

    folder = tmp_path_factory.mktemp("cli-samples")
    write_samples(folder)
    return folder


@pytest.mark.slow
def test_ask_prints_the_answer_then_the_evidence(samples):
    result = runner.invoke(
        app, ["ask", "--planner", "heuristic", "--no-memory", str(samples / "bus.jpg"),
              "how many people are there and is there a bus?"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "there is 1 bus" in out
    assert "evidence" in out and "detect" in out
    assert "planner: heuristic" in out
    assert "artifact:" in out


@pytest.mark.slow
def test_ask_json_is_the_whole_trace(samples):
    result = runner.invoke(
        app, ["ask", "--json", "--planner", "heuristic", "--no-memory", str(samples / "bus.jpg"), "is there a bus?"]
    )
    assert result.exit_code == 0, result.output
    trace = json.loads(result.stdout)
    assert trace["planner"] == "heuristic"
    assert trace["calls"][0]["tool"] == "detect"
    assert trace["calls"][0]["artifact"]["kind"] == "detect"
    assert trace["calls"][0]["duration_s"] > 0
    assert trace["answer"].startswith("Yes: there is 1 bus")


def test_ask_a_missing_image_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["ask", "--planner", "heuristic", str(tmp_path / "nope.jpg"), "what is this?"])
    assert result.exit_code == 1
    assert "Image not found" in result.output
    assert "Traceback" not in result.output


def test_ask_a_corrupt_image_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    result = runner.invoke(app, ["ask", "--planner", "heuristic", str(bad), "what is this?"])
    assert result.exit_code == 1
    assert "bad.jpg" in result.output and "Traceback" not in result.output


def test_ask_continues_the_latest_session(samples):
    first = runner.invoke(app, ["ask", "--json", "--planner", "heuristic", "--no-memory", "hello?"])
    second = runner.invoke(app, ["ask", "--json", "--planner", "heuristic", "--no-memory", "--session", "latest", "again?"])
    assert json.loads(first.stdout)["session_id"] == json.loads(second.stdout)["session_id"]


def test_an_unknown_session_is_a_clear_error():
    result = runner.invoke(app, ["ask", "--planner", "heuristic", "--session", "nosuch", "hi"])
    assert result.exit_code == 1 and "No session 'nosuch'" in result.output


def test_the_openai_planner_without_a_url_says_what_to_do():
    result = runner.invoke(app, ["ask", "--planner", "openai", "hi"])
    assert result.exit_code == 1 and "--planner-url" in result.output


def test_an_unknown_planner_is_rejected():
    result = runner.invoke(app, ["ask", "--planner", "oracle", "hi"])
    assert result.exit_code != 0 and "oracle" in result.output


def test_tools_lists_each_tool_with_source_and_method():
    result = runner.invoke(app, ["tools", "--json"])
    assert result.exit_code == 0, result.output
    infos = {i["name"]: i for i in json.loads(result.stdout)}
    for name in ("detect", "read_text", "segment"):
        assert infos[name]["source"] == "builtin" and infos[name]["ok"]
        assert infos[name]["backend"]
    assert "YOLO" in infos["detect"]["backend"] or "yolo" in infos["detect"]["backend"]


def test_models_says_where_weights_are_or_how_to_fetch_them():
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    found = [r for r in rows.values() if r["found"]]
    missing = [r for r in rows.values() if not r["found"]]
    assert any(r["source"] == "package" for r in found)  # the shipped detector
    assert missing and all(r["fetch"] and r["looked"] for r in missing)


def test_version_and_help():
    assert runner.invoke(app, ["--version"]).output.startswith("lensmith ")
    help_text = runner.invoke(app, ["--help"]).output
    for command in ("ask", "tools", "models", "samples"):
        assert command in help_text
