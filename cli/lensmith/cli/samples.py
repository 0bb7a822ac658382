"""``lensmith samples DIR``: real photos to try lensmith on, offline.

They come from packages already installed (scikit-image's sample data, the images
ultralytics ships) plus a sign rendered with Pillow for OCR."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import typer

from lensmith.cli.common import console, fail

_SKIMAGE = ("astronaut", "chelsea", "coffee", "motorcycle_left", "rocket", "page", "text")


def write_samples(folder: Path) -> list[Path]:
    import numpy as np
    from PIL import Image, ImageDraw

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
    sign = Image.new("RGB", (800, 360), (20, 90, 40))
    draw = ImageDraw.Draw(sign)
    draw.rectangle((20, 20, 780, 340), outline=(255, 255, 255), width=6)
    draw.text((400, 140), "BUSINESS CENTER", fill=(255, 255, 255), font=_font(64), anchor="mm")
    draw.text((400, 250), "Printing  2nd floor", fill=(255, 255, 255), font=_font(40), anchor="mm")
    path = folder / "sign.png"
    sign.save(path)
    written.append(path)
    return written


def _font(size: int):
    from PIL import ImageFont

    try:
        import matplotlib

        return ImageFont.truetype(str(Path(matplotlib.get_data_path()) / "fonts/ttf/DejaVuSans-Bold.ttf"), size)
    except (ImportError, OSError):
        return ImageFont.load_default(size=size)


def samples(folder: Path = typer.Argument(Path("lensmith-samples"), help="Where to write the photos.")) -> None:
    """Write real sample photos (cat, coffee, astronaut, bus, people, a sign, a page of
    text) into FOLDER, to try lensmith on without any of your own."""
    try:
        written = write_samples(folder)
    except OSError as exc:
        fail(f"Cannot write samples to {folder}: {exc}")
    for path in written:
        console.print(str(path), highlight=False)


def register(app: typer.Typer) -> None:
    app.command(short_help="Write real sample photos into a folder, to try lensmith on.")(samples)
