"""The shipped real photos and their hand-made ground truth.

The pixels come from packages that are installed anyway (scikit-image's sample data,
scikit-learn's and matplotlib's sample photos, the two photos inside the ultralytics
wheel), so nothing is downloaded. The ground truth lives in
``evals/data/real_images.json`` (with each photo's source, licence and who labelled
it); the hand-drawn cut-out boxes used by the scene generator in
``evals/data/cutouts.json``. No label or box comes from a detector.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image
from pydantic import BaseModel, Field

DATA = Path(__file__).parent / "data"


Split = Literal["probe", "calibration"]
_WHERE = {
    "skimage": "scikit-image sample data",
    "ultralytics_asset": "ultralytics package assets",
    "sklearn_sample": "scikit-learn sample images",
    "matplotlib_sample": "matplotlib sample data",
}


class PhotoTruth(BaseModel):
    id: str
    source: dict[str, Any]
    licence: str
    size: tuple[int, int]
    split: Split  # probe: asked about; calibration: where the detector's confusions are measured
    genre: str = "photo"
    objects: dict[str, int] = Field(default_factory=dict)  # COCO class → count, certainly visible
    maybe: list[str] = Field(default_factory=list)  # arguable: never probed, accepted in captions
    text: list[str] = Field(default_factory=list)
    labelled_by: str  # who made the ground truth, and how (never a detector)
    notes: str = ""

    @property
    def provenance(self) -> str:
        where = _WHERE.get(self.source["kind"], self.source["kind"])
        return f"{where}: {self.source['name']} ({self.licence}); ground truth: {self.labelled_by}"


class Cutout(BaseModel):
    id: str
    label: str
    image: str
    box: tuple[int, int, int, int]
    method: Literal["hand"]  # boxes drawn by hand; a detector's box would make the scenes depend on it
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
    if source["kind"] in _PACKAGE_FILES:
        return np.asarray(Image.open(_package_file(source)).convert("RGB"))
    raise ValueError(f"unknown photo source {source!r}")


# files inside installed packages: (package, folder inside it)
_PACKAGE_FILES = {
    "ultralytics_asset": ("ultralytics", "assets"),
    "sklearn_sample": ("sklearn", "datasets/images"),
    "matplotlib_sample": ("matplotlib", "mpl-data/sample_data"),
}


def _package_file(source: dict[str, Any]) -> Path:
    """The file inside its package, found without importing the package (importing
    ultralytics or matplotlib is slow and changes global state)."""
    import importlib.util

    package, folder = _PACKAGE_FILES[source["kind"]]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package} is not installed (it ships {source['name']}): pip install {package}")
    return Path(next(iter(spec.submodule_search_locations))) / folder / source["name"]


def photo_path(photo: PhotoTruth, cache: Path) -> Path:
    """A PNG of the photo under ``cache`` (written once)."""
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / f"{photo.id}.png"
    if not out.exists():
        tmp = out.with_suffix(".tmp.png")
        Image.fromarray(photo_array(photo)).save(tmp, compress_level=1)  # a cache: speed over size
        tmp.replace(out)
    return out
