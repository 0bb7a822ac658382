"""``lensmith samples DIR``: real photos to try lensmith on, offline.

They come from packages already installed (scikit-image's sample data, the images
ultralytics ships) plus a sign rendered with Pillow for OCR."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import typer

from lensmith.cli import common
from lensmith.cli.common import fail

_SKIMAGE = ("astronaut", "chelsea", "coffee", "motorcycle_left", "rocket", "page", "text")


def write_samples(folder: Path) -> list[Path]:
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        import skimage.data as data

        for name in _SKIMAGE:
            loader = getattr(data, name, None)
            if loader is None:
                continue
            array = np.asarray(loader())
            path = folder / f"{name.replace('_left', '')}.png"
            Image.fromarray(array).save(path)
            written.append(path)
    except ImportError:
        pass
    # found without importing ultralytics, which would patch Pillow process-wide
    spec = importlib.util.find_spec("ultralytics")
    if spec is not None and spec.submodule_search_locations:
        assets = Path(next(iter(spec.submodule_search_locations))) / "assets"
        for name in ("bus.jpg", "zidane.jpg"):
            if (assets / name).exists():
                shutil.copy(assets / name, folder / name)
                written.append(folder / name)
    from lensmith.evals.tool_questions import render_sign

    written.append(render_sign(folder / "sign.png"))  # the same sign the tool-use eval asks about
    return written


def _font(size: int):
    from lensmith.evals.tool_questions import sign_font

    return sign_font(size)


def samples(folder: Path = typer.Argument(Path("lensmith-samples"), help="Where to write the photos.")) -> None:
    """Write real sample photos (cat, coffee, astronaut, bus, people, a sign, a page of
    text) into FOLDER, to try lensmith on without any of your own."""
    try:
        written = write_samples(folder)
    except OSError as exc:
        fail(f"Cannot write samples to {folder}: {exc}")
    for path in written:
        common.console.print(str(path), highlight=False)


def register(app: typer.Typer) -> None:
    app.command(short_help="Write real sample photos into a folder, to try lensmith on.")(samples)
