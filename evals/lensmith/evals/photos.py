"""The shipped real photos and their hand-written ground truth.

The pixels come from packages that are installed anyway (scikit-image's sample
data, the two photos inside the ultralytics wheel), so nothing is downloaded. The
ground truth lives in ``evals/data/real_images.json``; the cut-out boxes used by the
scene generator in ``evals/data/cutouts.json``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

DATA = Path(__file__).parent / "data"


class PhotoTruth(BaseModel):
    id: str
    source: dict[str, Any]
    size: tuple[int, int]
    objects: dict[str, int] = Field(default_factory=dict)  # COCO class → count, certainly visible
    maybe: list[str] = Field(default_factory=list)  # arguable: never probed, accepted in captions
    text: list[str] = Field(default_factory=list)
    notes: str = ""

    @property
    def provenance(self) -> str:
        kind, name = self.source["kind"], self.source["name"]
        where = "scikit-image sample data" if kind == "skimage" else "ultralytics package assets"
        return f"{where}: {name}; ground truth hand-written in evals/data/real_images.json"


class Cutout(BaseModel):
    id: str
    label: str
    image: str
    box: tuple[int, int, int, int]
    method: str
    score: float | None = None
    also: list[str] = Field(default_factory=list)


@lru_cache(maxsize=1)
def photos() -> dict[str, PhotoTruth]:
    raw = json.loads((DATA / "real_images.json").read_text())
    return {item["id"]: PhotoTruth.model_validate(item) for item in raw["images"]}


@lru_cache(maxsize=1)
def cutouts() -> list[Cutout]:
    raw = json.loads((DATA / "cutouts.json").read_text())
    return [Cutout.model_validate(item) for item in raw["cutouts"]]


def photo_array(photo: PhotoTruth) -> np.ndarray:
    """RGB uint8 pixels of a shipped photo."""
    source = photo.source
    if source["kind"] == "skimage":
        import skimage.data

        data = getattr(skimage.data, source["name"])()
        if isinstance(data, tuple):
            data = data[source.get("index", 0)]
        array = np.asarray(data)
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        return np.ascontiguousarray(array[..., :3].astype(np.uint8))
    if source["kind"] == "ultralytics_asset":
        import ultralytics

        path = Path(ultralytics.__file__).parent / "assets" / source["name"]
        return np.asarray(Image.open(path).convert("RGB"))
    raise ValueError(f"unknown photo source {source!r}")


def photo_path(photo: PhotoTruth, cache: Path) -> Path:
    """A PNG of the photo under ``cache`` (written once)."""
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / f"{photo.id}.png"
    if not out.exists():
        tmp = out.with_suffix(".tmp.png")
        Image.fromarray(photo_array(photo)).save(tmp)
        tmp.replace(out)
    return out
