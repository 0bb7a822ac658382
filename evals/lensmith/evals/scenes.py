"""A seeded generator of composite scenes with exact ground truth.

Real objects cut out of the shipped photos (boxes drawn by hand, in ``evals/data/cutouts.json``)
are pasted at known places and scales onto varied backgrounds, with signs of
rendered text and non-object distractor shapes. The same seed always gives the
same scenes, pixel for pixel. Three difficulty levels vary the object size, the
number of objects, the background and the clutter.

Ground truth is exact by construction for the pasted objects and the sign text.
A cut-out's box can hold parts of other objects (the bus crop shows passers-by);
those classes are recorded as ``maybe`` for the scene, never as absent.
"""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from pydantic import BaseModel, Field

from lensmith.evals.photos import Cutout, cutouts, photo_array, photos

Difficulty = Literal["easy", "medium", "hard"]
CANVAS = (640, 480)
SIGN_WORDS = ("EXIT", "OPEN", "CAFE", "HOTEL", "PARKING", "BAKERY", "PHARMACY", "TAXI", "MUSEUM", "LIBRARY", "GARDEN", "TICKETS")  # fmt: skip
_LEVELS = {
    # objects (min, max), object height as a share of the canvas, distractors, sign font size
    "easy": ((1, 2), (0.45, 0.6), (0, 0), 46),
    "medium": ((2, 3), (0.32, 0.45), (1, 2), 36),
    "hard": ((3, 4), (0.22, 0.32), (3, 5), 28),
}


class PlacedObject(BaseModel):
    label: str
    cutout: str
    box: list[float]  # xyxy in the scene
    column: Literal["left", "center", "right"]


class Scene(BaseModel):
    id: str
    seed: int
    difficulty: Difficulty
    size: tuple[int, int] = CANVAS
    background: str
    objects: list[PlacedObject] = Field(default_factory=list)
    maybe: list[str] = Field(default_factory=list)
    inexact: list[str] = Field(default_factory=list)  # pasted classes also partly inside other cut-outs
    text: list[str] = Field(default_factory=list)
    sign_box: list[float] | None = None
    distractors: int = 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for obj in self.objects:
            out[obj.label] = out.get(obj.label, 0) + 1
        return out

    @property
    def provenance(self) -> str:
        used = sorted({o.cutout for o in self.objects})
        return (
            f"lensmith composite scene (evals.scenes, seed {self.seed}, {self.difficulty}); "
            f"hand-boxed cut-outs {', '.join(used) or 'none'} from evals/data/cutouts.json; background {self.background}"
        )


@lru_cache(maxsize=16)
def _crop(cutout_id: str) -> Image.Image:
    cut = next(c for c in cutouts() if c.id == cutout_id)
    array = photo_array(photos()[cut.image])
    x0, y0, x1, y1 = cut.box
    return Image.fromarray(array[y0:y1, x0:x1])


def _background(rng: random.Random, level: Difficulty) -> tuple[Image.Image, str]:
    w, h = CANVAS
    choices = ["solid", "gradient"] if level == "easy" else ["gradient", "texture", "noise"]
    kind = rng.choice(choices)
    colour = np.array([rng.randint(40, 220) for _ in range(3)], dtype=np.float32)
    if kind == "solid":
        return Image.new("RGB", CANVAS, tuple(int(c) for c in colour)), f"solid {tuple(int(c) for c in colour)}"
    if kind == "gradient":
        other = np.array([rng.randint(40, 220) for _ in range(3)], dtype=np.float32)
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        array = (colour * (1 - t) + other * t) * np.ones((h, w, 3), dtype=np.float32)
        return Image.fromarray(array.astype(np.uint8)), "vertical gradient"
    if kind == "texture":
        import skimage.data

        name = rng.choice(["brick", "grass", "gravel"])
        tex = np.asarray(getattr(skimage.data, name)(), dtype=np.float32) / 255.0
        tex = np.tile(tex, (2, 2))[:h, :w]
        array = tex[..., None] * colour[None, None, :] * 1.3
        return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)), f"skimage {name} texture, tinted"
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 25, (h, w, 3))
    return Image.fromarray(np.clip(colour + noise, 0, 255).astype(np.uint8)), "coloured noise"


def _overlaps(box: list[float], boxes: list[list[float]], margin: float = 6) -> bool:
    x0, y0, x1, y1 = box
    return any(not (x1 + margin <= b[0] or b[2] + margin <= x0 or y1 + margin <= b[1] or b[3] + margin <= y0) for b in boxes)


def _place(rng: random.Random, size: tuple[int, int], taken: list[list[float]]) -> list[float] | None:
    w, h = CANVAS
    for _ in range(200):
        x0 = rng.randint(0, max(0, w - size[0]))
        y0 = rng.randint(0, max(0, h - size[1]))
        box = [float(x0), float(y0), float(x0 + size[0]), float(y0 + size[1])]
        if not _overlaps(box, taken):
            return box
    return None


def _column(box: list[float]) -> Literal["left", "center", "right"]:
    cx = (box[0] + box[2]) / 2 / CANVAS[0]
    return "left" if cx < 1 / 3 else "right" if cx > 2 / 3 else "center"


def make_scene(seed: int, difficulty: Difficulty, *, index: int = 0) -> tuple[Scene, Image.Image]:
    """One scene and its pixels; the same (seed, difficulty, index) gives the same scene."""
    rng = random.Random(f"{seed}:{difficulty}:{index}")
    (n_lo, n_hi), (s_lo, s_hi), (d_lo, d_hi), font_size = _LEVELS[difficulty]
    canvas, background = _background(rng, difficulty)
    draw = ImageDraw.Draw(canvas)
    taken: list[list[float]] = []
    placed: list[PlacedObject] = []
    maybe: set[str] = set()
    pool = cutouts()
    for _ in range(rng.randint(n_lo, n_hi)):
        cut: Cutout = rng.choice(pool)
        crop = _crop(cut.id)
        height = int(CANVAS[1] * rng.uniform(s_lo, s_hi))
        width = max(8, int(crop.width * height / crop.height))
        if width > CANVAS[0] * 0.6:
            width = int(CANVAS[0] * 0.6)
            height = max(8, int(crop.height * width / crop.width))
        box = _place(rng, (width, height), taken)
        if box is None:
            continue
        canvas.paste(crop.resize((width, height), Image.Resampling.LANCZOS), (int(box[0]), int(box[1])))
        taken.append(box)
        placed.append(PlacedObject(label=cut.label, cutout=cut.id, box=box, column=_column(box)))
        maybe.update(cut.also)
    text: list[str] = []
    sign_box = None
    if difficulty != "easy" or rng.random() < 0.5:
        word = rng.choice(SIGN_WORDS)
        font = ImageFont.load_default(size=font_size)
        left, top, right, bottom = font.getbbox(word)
        pad = font_size // 3
        size = (int(right - left) + 2 * pad, int(bottom - top) + 2 * pad)
        box = _place(rng, size, taken)
        if box is not None:
            fill = rng.choice([(250, 250, 245), (255, 220, 60), (235, 245, 255)])
            draw.rectangle(box, fill=fill, outline=(30, 30, 30), width=2)
            draw.text((box[0] + pad - left, box[1] + pad - top), word, fill=(15, 15, 15), font=font)
            taken.append(box)
            text.append(word)
            sign_box = box
    n_distractors = rng.randint(d_lo, d_hi)
    for _ in range(n_distractors):
        r = rng.randint(12, 40)
        box = _place(rng, (2 * r, 2 * r), taken)
        if box is None:
            continue
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.polygon([(box[0], box[3]), ((box[0] + box[2]) / 2, box[1]), (box[2], box[3])], fill=colour)
        taken.append(box)
    labels = {p.label for p in placed}
    scene = Scene(
        id=f"scene-{difficulty}-{seed}-{index:03d}",
        seed=seed,
        difficulty=difficulty,
        background=background,
        objects=placed,
        maybe=sorted(maybe - labels),
        inexact=sorted(maybe & labels),
        text=text,
        sign_box=sign_box,
        distractors=n_distractors,
    )
    return scene, canvas


def scene_set(
    n: int, *, seed: int = 0, difficulties: tuple[Difficulty, ...] = ("easy", "medium", "hard")
) -> list[tuple[Scene, Image.Image]]:
    """``n`` scenes spread over the difficulty levels, in a fixed order."""
    return [make_scene(seed, difficulties[i % len(difficulties)], index=i) for i in range(n)]


def write_scenes(n: int, folder: Path, *, seed: int = 0) -> list[tuple[Scene, Path]]:
    """Generate (or reuse) ``n`` scenes as PNGs in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for scene, image in scene_set(n, seed=seed):
        path = folder / f"{scene.id}.png"
        if not path.exists():
            tmp = path.with_suffix(".tmp.png")
            image.save(tmp)
            tmp.replace(path)
        out.append((scene, path))
    return out
