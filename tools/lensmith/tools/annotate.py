"""Drawing tool results onto images: boxes with labels, mask overlays, mask images.

Drawing happens on the working copy the tools saw, in its coordinates; kept cheap (a
few milliseconds) because it runs on every detect/segment call.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

PALETTE = (
    (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128),
)


def colour(key: str) -> tuple[int, int, int]:
    return PALETTE[sum(key.encode()) % len(PALETTE)]


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType
        return ImageFont.load_default()


def draw_boxes(
    image: Image.Image, boxes: Sequence[Sequence[float]], labels: Sequence[str]
) -> Image.Image:
    """A copy of ``image`` with each box outlined and labelled (working-copy pixels)."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    width = max(2, round(max(out.size) / 300))
    font = _font(max(11, round(max(out.size) / 45)))
    for box, label in zip(boxes, labels, strict=True):
        rgb = colour(label.split(" ")[0])
        x0, y0, x1, y1 = (float(v) for v in box)
        draw.rectangle((x0, y0, x1, y1), outline=rgb, width=width)
        left, top, right, bottom = draw.textbbox((x0, y0), label, font=font)
        lift = bottom - top + 2 * width
        ty = y0 - lift if y0 - lift >= 0 else y0
        draw.rectangle((x0, ty, x0 + right - left + 2 * width, ty + lift), fill=rgb)
        draw.text((x0 + width, ty + width - (top - y0)), label, fill=(255, 255, 255), font=font)
    return out


def overlay_masks(
    image: Image.Image, masks: Sequence[np.ndarray], labels: Sequence[str | None], alpha: float = 0.45
) -> Image.Image:
    """Masks (working-copy size, boolean) tinted over the image, each with its outline."""
    canvas = np.asarray(image).copy()
    for i, (mask, label) in enumerate(zip(masks, labels, strict=True)):
        rgb = np.array(colour(label or str(i)), dtype=np.float32)
        m = mask.astype(bool)
        canvas[m] = (canvas[m] * (1 - alpha) + rgb * alpha).astype(np.uint8)
        contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(canvas, contours, -1, tuple(int(c) for c in rgb), max(1, round(max(m.shape) / 400)))
    return Image.fromarray(canvas)


def mask_image(mask: np.ndarray) -> Image.Image:
    """A black-and-white picture of a mask (white = selected)."""
    return Image.fromarray(mask.astype(np.uint8) * 255, "L")
