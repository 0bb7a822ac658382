"""COCO run-length encoding of binary masks (the ``{"size": [h, w], "counts": str}`` form).

Uses pycocotools when it is installed; otherwise a small numpy port of its compressed
string format, so masks written here are readable by any COCO tool either way.
"""

from __future__ import annotations

import numpy as np

try:  # optional: C speed and the reference implementation
    from pycocotools import mask as _coco
except ImportError:  # pragma: no cover - exercised by forcing the numpy path in tests
    _coco = None


def encode(mask: np.ndarray, *, use_pycocotools: bool = True) -> dict:
    """A boolean/0-1 H×W mask → COCO compressed RLE (counts as an ASCII string)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"expected an H×W mask, got shape {mask.shape}")
    h, w = mask.shape
    if _coco is not None and use_pycocotools:
        rle = _coco.encode(np.asfortranarray(mask.astype(np.uint8)))
        return {"size": [h, w], "counts": rle["counts"].decode("ascii")}
    return {"size": [h, w], "counts": _counts_to_string(_runs(mask))}


def decode(rle: dict, *, use_pycocotools: bool = True) -> np.ndarray:
    """COCO RLE (compressed string or uncompressed list) → boolean H×W mask."""
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if _coco is not None and use_pycocotools:
        if isinstance(counts, list):
            counts = _coco.frPyObjects({"size": [h, w], "counts": counts}, h, w)["counts"]
        elif isinstance(counts, str):
            counts = counts.encode("ascii")
        return _coco.decode({"size": [h, w], "counts": counts}).astype(bool)
    runs = counts if isinstance(counts, list) else _string_to_counts(counts)
    flat = np.zeros(h * w, dtype=bool)
    position, value = 0, False
    for run in runs:
        if value:
            flat[position:position + run] = True
        position += run
        value = not value
    return flat.reshape((w, h)).T  # COCO runs go down columns (Fortran order)


def area(rle: dict) -> int:
    return int(decode(rle).sum())


def _runs(mask: np.ndarray) -> list[int]:
    flat = np.asarray(mask, dtype=bool).flatten(order="F")
    if flat.size == 0:
        return [0]
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return [0, *runs] if flat[0] else runs  # counts always start with a run of zeros


def _counts_to_string(counts: list[int]) -> str:
    # pycocotools' rleToString: delta against the run two back, 5-bit groups + continuation bit
    out = []
    for i, count in enumerate(counts):
        x = int(count) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)


def _string_to_counts(text: str) -> list[int]:
    counts: list[int] = []
    p = 0
    while p < len(text):
        x, k, more = 0, 0, True
        while more:
            c = ord(text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts
