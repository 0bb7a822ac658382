"""A cheap test for "may this photo contain text?", run before OCR when indexing.

EasyOCR spends nearly all of its time in its text detector (CRAFT), photo or page alike, so
running OCR only where there may be text needs something much cheaper than CRAFT. This
looks for what printed text is made of: rows of three or more character-sized blobs of
similar height, side by side. The blobs are the connected components of the grayscale
image binarised against its local mean, in both polarities (dark on light and light on
dark), the classic first stage of document and scene-text detectors.

It is tuned to say "maybe" easily: a false "maybe" costs one OCR call, a false "no" loses
the photo's text from the index. Its misses are recorded in the index entry ("OCR skipped:
…"), and ``lensmith index --ocr-all`` turns it off. Measured recall and cost are in
benchmarks/README.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_SIDE = 1600  # larger photos are scanned downscaled: letters smaller than MIN_CHAR_PX there are missed
MIN_CHAR_PX = 5  # blob height range, in pixels of the scanned image
MAX_CHAR_FRACTION = 0.25  # of the image height
MIN_ROW = 3  # blobs in a row to count as a word or more
CONTRAST = 12  # grey levels between ink and its surroundings
METHOD = "character-row check (local-threshold blobs)"


@dataclass
class TextCheck:
    maybe: bool
    rows: int  # rows of character-like blobs found
    method: str = METHOD

    @property
    def note(self) -> str:
        if self.maybe:
            return f"{self.method}: {self.rows} row(s) of character-like shapes"
        return f"OCR skipped: no rows of character-like shapes ({self.method})"


def check_text(rgb: np.ndarray) -> TextCheck:
    """Whether ``rgb`` (H×W×3 or H×W, uint8) may hold text worth running OCR on."""
    import cv2

    gray = rgb if rgb.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY)
    height, width = gray.shape[:2]
    scale = min(1.0, MAX_SIDE / max(height, width))
    if scale < 1.0:
        gray = cv2.resize(gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
        height, width = gray.shape[:2]
    max_char = max(MIN_CHAR_PX + 1, int(height * MAX_CHAR_FRACTION))
    boxes = []
    block = 2 * max(MIN_CHAR_PX, min(height, width) // 16) + 1
    # ink is at least CONTRAST grey levels darker (dark on light) or lighter (light on dark)
    # than its neighbourhood's mean
    for polarity, offset in ((cv2.THRESH_BINARY_INV, CONTRAST), (cv2.THRESH_BINARY, -CONTRAST)):
        binary = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, polarity, block, offset)
        _n, _labels, stats, _centroids = cv2.connectedComponentsWithStats(binary, connectivity=8)
        for x, y, w, h, area in stats[1:].tolist():
            if w * h and area >= 0.12 * w * h:  # strokes fill part of their box, not all of it... or most
                boxes.append([x, y, w, h])
    chars = _character_like(boxes, max_char)
    rows = _rows(chars)
    return TextCheck(maybe=rows > 0, rows=rows)


def _character_like(boxes: list[list[int]], max_char: int) -> np.ndarray:
    if not boxes:
        return np.zeros((0, 4), dtype=np.int32)
    b = np.asarray(boxes, dtype=np.int32)
    w, h = b[:, 2], b[:, 3]
    # up to word-wide: small or bold print runs its letters together into one blob
    keep = (h >= MIN_CHAR_PX) & (h <= max_char) & (w >= 2) & (w <= 8.0 * h)
    b = b[keep]
    if not len(b):
        return b
    # MSER nests near-identical regions: keep one per (rounded) box
    _, unique = np.unique(b // 3, axis=0, return_index=True)
    return b[np.sort(unique)]


def _rows(chars: np.ndarray) -> int:
    """How many rows of >= MIN_ROW blobs of similar height, aligned and closely spaced."""
    if len(chars) < MIN_ROW:
        return 0
    order = np.argsort(chars[:, 0])
    x, y, w, h = (chars[order, i].astype(np.float32) for i in range(4))
    cy = y + h / 2
    right = x + w
    used = np.zeros(len(x), dtype=bool)
    rows = 0
    for i in range(len(x)):
        if used[i]:
            continue
        chain = [i]
        last = i
        for j in range(i + 1, len(x)):
            if x[j] - right[last] > 1.2 * h[last]:
                if x[j] > right[last] + 3 * h[i]:
                    break
                continue
            if used[j] or x[j] < x[last] + 0.3 * w[last]:  # a nested or overlapping blob
                continue
            if 0.7 <= h[j] / h[last] <= 1.45 and abs(cy[j] - cy[last]) <= 0.3 * h[last]:
                chain.append(j)
                last = j
        if len(chain) >= MIN_ROW:
            used[chain] = True
            rows += 1
    return rows


__all__ = ["TextCheck", "check_text", "METHOD"]
