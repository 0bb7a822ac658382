"""`lensmith search --json` and `lensmith memory show --json`, piped as a script reads
them: whole paths, no table wrapping, even on a narrow terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

LENSMITH = str(Path(sys.executable).parent / "lensmith")


def _lensmith(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LENSMITH_HOME": str(home), "COLUMNS": "40"}  # narrow: tables would wrap
    out = subprocess.run([LENSMITH, *args], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def _in_process(home: Path, *args: str) -> str:
    # indexing loads the detector and OCR: done once, in this process, before the piped runs
    from typer.testing import CliRunner

    from lensmith.cli import app

    result = CliRunner().invoke(app, list(args), env={"LENSMITH_HOME": str(home), "COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_search_and_memory_show_print_parseable_json_with_whole_paths(tmp_path: Path, lensmith_home: Path) -> None:
    import skimage.data
    from PIL import Image

    folder = tmp_path / ("a-folder-name-long-enough-to-wrap-any-table-column-" * 2).rstrip("-")
    folder.mkdir()
    Image.fromarray(skimage.data.chelsea()).save(folder / "chelsea.png")
    Image.fromarray(skimage.data.coffee()).save(folder / "coffee.png")
    _in_process(lensmith_home, "index", str(folder))

    found = json.loads(_lensmith(lensmith_home, "search", "--label", "cat", "--json").stdout)
    assert found["labels"] == ["cat"] and found["method"]
    assert [hit["path"] for hit in found["hits"]] == [str(folder / "chelsea.png")]
    assert found["hits"][0]["rank"] == 1 and "cat" in found["hits"][0]["why"]

    text = json.loads(_lensmith(lensmith_home, "search", "a cup of coffee", "--json", "-n", "1").stdout)
    assert text["query"] == "a cup of coffee" and len(text["hits"]) == 1
    assert Path(text["hits"][0]["path"]).parent == folder

    shown = json.loads(_lensmith(lensmith_home, "memory", "show", "--json").stdout)
    assert shown["indexed_folders"] == [{"folder": str(folder), "images": 2}]
    assert shown["store"]["location"] and shown["counts"]
    assert isinstance(shown["sessions"], list) and isinstance(shown["facts"], list)
