"""`lensmith index` / `search` / `memory` end to end: real photos, real YOLO and EasyOCR.

The commands run in this process (typer's runner), so the models load once for the whole
scenario; one search runs as a separate process, to show the index survives a restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

LENSMITH = str(Path(sys.executable).parent / "lensmith")


class _Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def _lensmith(home: Path, *args: str, ok: bool = True) -> _Ran:
    from typer.testing import CliRunner

    from lensmith.cli import app

    result = CliRunner().invoke(app, list(args), env={"LENSMITH_HOME": str(home), "COLUMNS": "200"})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    out = _Ran(result.exit_code, result.stdout, result.stderr)
    if ok:
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def _lensmith_process(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LENSMITH_HOME": str(home), "COLUMNS": "200"}
    out = subprocess.run([LENSMITH, *args], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def _rows(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("│") and "/" in line]


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import skimage.data
    import ultralytics
    from PIL import Image

    folder = tmp_path_factory.mktemp("photos")
    for name in ("coffee", "chelsea", "astronaut", "page"):
        Image.fromarray(getattr(skimage.data, name)()).save(folder / f"{name}.png")
    shutil.copy(Path(ultralytics.__file__).parent / "assets" / "bus.jpg", folder / "bus.jpg")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    return folder


def test_index_search_incremental_forget(photos: Path, lensmith_home: Path, tmp_path: Path) -> None:
    home = lensmith_home
    missing = _lensmith(home, "search", "a cat", ok=False)
    assert missing.returncode != 0 and "No index yet" in missing.stderr

    first = _lensmith(home, "index", str(photos))
    text = " ".join(first.stdout.split())
    assert "6 new" in text and "added │ 5" in text
    assert "broken.jpg" in first.stdout and "skipped" in first.stdout  # bad files are listed, not fatal

    # a new process (a restart): text search; then label filter, has-text filter
    coffee = _lensmith_process(home, "search", "a cup of coffee")
    rows = _rows(coffee.stdout)
    assert "coffee.png" in rows[0] and "cup" in rows[0], coffee.stdout
    assert "no CLIP" in " ".join(coffee.stdout.split())
    cat = _rows(_lensmith(home, "search", "--label", "cat").stdout)
    assert len(cat) == 1 and "chelsea.png" in cat[0] and "cat ×1" in cat[0]
    with_text = " ".join(_rows(_lensmith(home, "search", "--has-text").stdout))
    assert "page.png" in with_text and "bus.jpg" in with_text and "chelsea.png" not in with_text
    similar = _lensmith(home, "search", "--image", str(photos / "bus.jpg"), "--limit", "2")
    assert "bus.jpg" in _rows(similar.stdout)[0] and "what the tools saw" in " ".join(similar.stdout.split())

    # incremental: nothing to do, then one added, one changed, one deleted
    again = " ".join(_lensmith(home, "index", str(photos)).stdout.split())
    assert "1 new, 0 changed, 5 unchanged" in again  # broken.jpg is retried (and listed) each run
    shutil.copy(photos / "bus.jpg", photos / "bus-copy.jpg")
    from PIL import Image

    Image.open(photos / "chelsea.png").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(photos / "astronaut.png")
    (photos / "page.png").unlink()
    third = " ".join(_lensmith(home, "index", str(photos)).stdout.split())
    assert "2 new, 1 changed, 3 unchanged, 1 deleted" in third  # new: bus-copy + broken (retried)
    cats = " ".join(_rows(_lensmith(home, "search", "--label", "cat").stdout))
    assert "astronaut.png" in cats and "chelsea.png" in cats  # the changed file was re-analysed
    assert "page.png" not in _lensmith(home, "search", "--has-text").stdout

    shown = _lensmith(home, "memory", "show").stdout
    assert str(photos) in shown and "image_texts" in shown
    gone = _lensmith(home, "memory", "forget", "--image", str(photos / "bus-copy.jpg"))
    assert "Forgot 1 image" in gone.stdout
    assert "bus-copy" not in _lensmith(home, "search", "a bus").stdout
    bad = _lensmith(home, "index", str(tmp_path / "nope"), ok=False)
    assert bad.returncode != 0 and "No such folder" in bad.stderr
    _lensmith(home, "memory", "forget", "--all", "--yes")
    assert "No index yet" in _lensmith(home, "search", "a bus", ok=False).stderr
