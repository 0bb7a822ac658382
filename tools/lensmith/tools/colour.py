"""colour: the dominant colours of an image or of a box in it, named from a fixed table.

A measurement, not a model: every pixel of the region (the central part of a box, so
that the background around an object weighs less) is named by a fixed table over
hue, saturation and value, and the names covering the most pixels are reported with
their shares. It says which colours cover the region, not what an object "is
coloured" in a person's sense: a blue bus with people in front of it is mostly blue
with some black.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from lensmith.runtime.artifacts import GenericArtifact
from lensmith.runtime.base import LensmithTool
from lensmith.runtime.errors import InvalidArguments
from lensmith.runtime.images import current_store

METHOD = "hsv-colour-table"
SAMPLE_SIDE = 96  # pixels per side the region is resampled to: shares, not detail
MIN_SHARE = 0.08  # colours covering less of the region are not reported
INSET = 0.15  # of a box's width/height trimmed off each side: the object, less background

# (name, hue from, hue to) in degrees, for saturated, not-dark pixels
HUES: tuple[tuple[str, float, float], ...] = (
    ("red", 345, 360), ("red", 0, 12), ("orange", 12, 40), ("yellow", 40, 70), ("green", 70, 165),
    ("blue", 165, 255), ("purple", 255, 290), ("pink", 290, 345),
)  # fmt: skip
NAMES = ("black", "white", "grey", "brown", "red", "orange", "yellow", "green", "blue", "purple", "pink")


def name_pixels(rgb: np.ndarray) -> np.ndarray:
    """The table's colour name index (into :data:`NAMES`) of each pixel of an H×W×3 uint8 array."""
    x = rgb.reshape(-1, 3).astype(np.float32) / 255.0
    v = x.max(axis=1)
    c = v - x.min(axis=1)
    s = np.where(v > 0, c / np.maximum(v, 1e-6), 0.0)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    safe = np.maximum(c, 1e-6)
    h = np.select(
        [v == r, v == g],
        [((g - b) / safe) % 6, (b - r) / safe + 2],
        (r - g) / safe + 4,
    ) * 60.0
    out = np.full(len(x), NAMES.index("grey"), dtype=np.int64)
    for name, lo, hi in HUES:
        out[(h >= lo) & (h < hi)] = NAMES.index(name)
    # dark, dull oranges and reds read as brown
    brownish = (h >= 0) & (h < 45) & ((v < 0.6) | (s < 0.45)) & (s >= 0.2)
    out[brownish] = NAMES.index("brown")
    dull = s < 0.2
    out[dull] = NAMES.index("grey")
    out[dull & (v > 0.85)] = NAMES.index("white")
    out[v < 0.2] = NAMES.index("black")
    return out.reshape(rgb.shape[:2])


def dominant_colours(rgb: np.ndarray) -> list[tuple[str, float]]:
    """(name, share of the region) for the colours covering at least :data:`MIN_SHARE`, most first."""
    names = name_pixels(rgb)
    counts = np.bincount(names.ravel(), minlength=len(NAMES))
    shares = counts / max(1, names.size)
    order = np.argsort(-shares)
    return [(NAMES[i], round(float(shares[i]), 3)) for i in order if shares[i] >= MIN_SHARE]


class ColourArgs(BaseModel):
    image: str = Field(description="Image id (img:…) or a path/URL")
    box: list[float] | None = Field(
        None, description="Optional region [x0, y0, x1, y1] in pixels (e.g. a box from detect); omit for the whole image"
    )
    label: str | None = Field(None, description="What the box holds ('bus'), echoed in the result")


class ColourTool(LensmithTool):
    name: str = "colour"
    description: str = (
        "Dominant colours of an image or of a box in it (e.g. a box from detect), named from a fixed "
        "table (black, white, grey, brown, red, orange, yellow, green, blue, purple, pink) with the share "
        "of the region each covers. A pixel measurement, not a model."
    )
    args_schema: type[BaseModel] = ColourArgs

    def backend(self) -> str:
        return f"{METHOD}: pixels named by hue/saturation/value thresholds (a measurement, no model)"

    def run_tool(self, image: str, box: list[float] | None = None, label: str | None = None) -> tuple[str, GenericArtifact]:
        from PIL import Image

        store = current_store()
        meta = store.get(image)
        pixels = store.array(meta.id)
        region = "whole image"
        if box is not None:
            if len(box) != 4 or not all(np.isfinite(box)):
                raise InvalidArguments("box must be four numbers [x0, y0, x1, y1] in pixels")
            x0, y0, x1, y1 = meta.to_working(box)
            x0, x1 = (min(max(0.0, v), float(meta.width)) for v in sorted((x0, x1)))
            y0, y1 = (min(max(0.0, v), float(meta.height)) for v in sorted((y0, y1)))
            if x1 - x0 < 2 or y1 - y0 < 2:
                raise InvalidArguments(f"box {box} holds no pixels of {meta.id} ({meta.original_width}×{meta.original_height})")
            dx, dy = (x1 - x0) * INSET, (y1 - y0) * INSET
            pixels = pixels[int(y0 + dy) : max(int(y0 + dy) + 1, int(y1 - dy)), int(x0 + dx) : max(int(x0 + dx) + 1, int(x1 - dx))]
            region = "centre of the box"
        small = np.asarray(Image.fromarray(np.ascontiguousarray(pixels)).resize((SAMPLE_SIDE, SAMPLE_SIDE), Image.Resampling.BOX))
        colours = dominant_colours(small)
        what = f"the {label}" if label else ("the box" if box is not None else "the image")
        listed = ", ".join(f"{n} {s:.0%}" for n, s in colours) or "no single colour covers 8% of it"
        content = f"Dominant colours of {what} ({region}): {listed}"
        artifact = GenericArtifact(
            tool=self.name, image=meta.id, method=METHOD, method_kind="measurement",
            data={"box": box, "label": label, "region": region,
                  "colours": [{"name": n, "share": s} for n, s in colours]},
        )  # fmt: skip
        return content, artifact
