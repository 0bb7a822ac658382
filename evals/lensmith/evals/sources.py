"""Where the images of a suite come from: the shipped photos and generated scenes
(offline, with ground truth), or the public sets (POPE question files, COCO val2014)
for users who have them on disk."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from lensmith.evals.photos import photo_path, photos
from lensmith.evals.scenes import write_scenes


class DataMissing(FileNotFoundError):
    """A public data set the user asked for is not on disk; the message says what to fetch."""


@dataclass
class Item:
    """One image with its ground truth, whatever its source."""

    id: str
    path: str
    objects: dict[str, int]  # COCO class → count ({} when only presence is known: counts of 1)
    maybe: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    provenance: str = ""
    source: str = "photo"  # photo | scene | coco
    difficulty: str = "real"
    inexact: list[str] = field(default_factory=list)  # classes whose count is not exact
    columns: dict[str, list[str]] = field(default_factory=dict)  # class → columns of its instances
    labelled_by: str = ""  # who made the ground truth, and how
    split: str = "probe"  # probe | calibration (photos where the detector's confusions are measured)
    genre: str = "photo"


SCENE_LABELS = (
    "construction: each pasted object is a hand-boxed cut-out (evals/data/cutouts.json, method hand) "
    "of a hand-labelled photo; other classes inside a cut-out's box become maybe"
)


def shipped_items(cache: Path, *, n_scenes: int = 12, seed: int = 0, photos_too: bool = True) -> list[Item]:
    items: list[Item] = []
    if photos_too:
        for photo in photos().values():
            items.append(
                Item(
                    id=photo.id, path=str(photo_path(photo, cache / "photos")), objects=dict(photo.objects),
                    maybe=list(photo.maybe), text=list(photo.text), provenance=photo.provenance,
                    labelled_by=photo.labelled_by, split=photo.split, genre=photo.genre,
                )
            )  # fmt: skip
    for scene, path in write_scenes(n_scenes, cache / f"scenes-{seed}", seed=seed):
        columns: dict[str, list[str]] = {}
        for obj in scene.objects:
            columns.setdefault(obj.label, []).append(obj.column)
        items.append(
            Item(
                id=scene.id, path=str(path), objects=scene.counts(), maybe=list(scene.maybe), text=list(scene.text),
                provenance=scene.provenance, source="scene", difficulty=scene.difficulty, labelled_by=SCENE_LABELS,
                inexact=list(scene.inexact), columns=columns,
            )
        )  # fmt: skip
    return items


# ---- public sets ----------------------------------------------------------------
def coco_images_dir(explicit: str | Path | None = None) -> Path:
    value = explicit or os.environ.get("LENSMITH_COCO_IMAGES")
    if not value:
        raise DataMissing(
            "COCO val2014 images not given: pass --coco-images DIR or set LENSMITH_COCO_IMAGES "
            "(the folder of COCO_val2014_*.jpg from http://images.cocodataset.org/zips/val2014.zip)."
        )
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DataMissing(f"COCO images folder not found: {path}")
    return path


def load_pope_questions(question_file: str | Path, images_dir: str | Path | None = None) -> list[dict]:
    """Rows of a published POPE question file (``coco_pope_{random,popular,adversarial}.json``,
    one JSON object per line: question_id, image, text, label) with image paths resolved."""
    path = Path(question_file).expanduser()
    if not path.exists():
        raise DataMissing(
            f"POPE question file not found: {path}. The files are in RUCAIBox/POPE "
            "(output/coco/coco_pope_random.json, ..._popular.json, ..._adversarial.json)."
        )
    folder = coco_images_dir(images_dir)
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        image = folder / row["image"]
        if not image.exists():
            raise DataMissing(f"POPE refers to {row['image']}, which is not in {folder}")
        row["path"] = str(image)
        rows.append(row)
    return rows


def load_coco_truth(
    annotations_dir: str | Path | None, images_dir: str | Path | None, *, limit: int | None = None,
    seed: int = 0, words: str = "lensmith",
) -> list[Item]:  # fmt: skip
    """COCO val2014 images with CHAIR's ground truth: the classes of the instance
    annotations plus the COCO objects named in the five reference captions (read with
    the chosen CHAIR word handling). ``limit`` images are a seeded random sample of the
    images present on disk (not the first ones by id, which would be a biased slice)."""
    import random

    from lensmith.evals.chair_words import caption_objects, inverse_synonyms

    value = annotations_dir or os.environ.get("LENSMITH_COCO_ANNOTATIONS")
    if not value:
        raise DataMissing(
            "COCO annotations not given: pass --coco-annotations DIR or set LENSMITH_COCO_ANNOTATIONS "
            "(the folder holding instances_val2014.json and captions_val2014.json from "
            "http://images.cocodataset.org/annotations/annotations_trainval2014.zip)."
        )
    folder = Path(value).expanduser()
    instances, captions = folder / "instances_val2014.json", folder / "captions_val2014.json"
    for needed in (instances, captions):
        if not needed.exists():
            raise DataMissing(f"{needed.name} not found in {folder}")
    images = coco_images_dir(images_dir)
    inst = json.loads(instances.read_text())
    names = {c["id"]: c["name"] for c in inst["categories"]}
    inverse = inverse_synonyms()
    objects: dict[int, dict[str, int]] = {}
    for ann in inst["annotations"]:
        label = inverse.get(names[ann["category_id"]], names[ann["category_id"]])
        per = objects.setdefault(ann["image_id"], {})
        per[label] = per.get(label, 0) + 1
    mentioned: dict[int, set[str]] = {}
    for ann in json.loads(captions.read_text())["annotations"]:
        mentioned.setdefault(ann["image_id"], set()).update(caption_objects(ann["caption"], words)[1])  # type: ignore[arg-type]
    present = [i for i in sorted(inst["images"], key=lambda i: i["id"]) if (images / i["file_name"]).exists()]
    if limit is not None and limit < len(present):
        present = sorted(random.Random(f"coco:{seed}").sample(present, limit), key=lambda i: i["id"])
    items = []
    for image in present:
        path = images / image["file_name"]
        found = objects.get(image["id"], {})
        extra = sorted(mentioned.get(image["id"], set()) - set(found))
        items.append(
            Item(id=f"coco-{image['id']}", path=str(path), objects=found, maybe=extra,
                 provenance=f"COCO val2014 {image['file_name']}", source="coco", difficulty="coco",
                 labelled_by="COCO annotators: instance annotations plus objects named in the five reference captions")
        )  # fmt: skip
    return items
