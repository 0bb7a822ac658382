"""Which classes the shipped detector reports where they are not: the negatives of POPE's
``detector-confusion`` setting.

``measure`` runs the detector (at a low score, to see near misses too) over the shipped
photos and stores every detection in ``evals/data/detector_confusions.json``. Ground
truth never comes from it: it only decides *which absent classes to ask about*. A
detection is a confusion when its class is neither among the photo's hand-labelled
objects nor its ``maybe`` classes.

The classes asked about on a photo are always measured on *other* photos: the
calibration photos plus the probe photos of the other fold (two folds, alternating in
id order). So a probe photo is never asked about a class because the detector got
that very photo wrong.

Re-measure after changing the detector: ``python -m lensmith.evals.confusions``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from lensmith.evals.photos import DATA, PhotoTruth, photo_array, photos

CONFUSIONS_FILE = DATA / "detector_confusions.json"
MEASURE_SCORE = 0.1


def measure(min_score: float = MEASURE_SCORE, out: Path = CONFUSIONS_FILE) -> dict[str, Any]:
    """Run the shipped detector over every shipped photo and store what it reported."""
    import platform

    from lensmith.tools.detect import DetectTool

    tool = DetectTool()
    tool.ensure_setup()
    detector = tool.detector()
    detections: dict[str, list[list[Any]]] = {}
    started = time.perf_counter()
    for photo in photos().values():
        bgr = photo_array(photo)[..., ::-1].copy()
        raw = detector.predict(bgr, conf=min_score, classes=None)
        detections[photo.id] = sorted(([label, round(float(score), 3)] for _, label, score in raw), key=lambda d: -d[1])
    doc = {
        "about": "Detections of the shipped detector on the shipped photos, used only to choose the negatives of "
        "POPE's detector-confusion setting (never as ground truth). Written by `python -m lensmith.evals.confusions`.",
        "detector": Path(detector.path).name,
        "min_score": min_score,
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "measured": time.strftime("%Y-%m-%d"),
        "seconds": round(time.perf_counter() - started, 1),
        "detections": detections,
    }
    out.write_text(json.dumps(doc, indent=1) + "\n")
    _load.cache_clear()
    return doc


@lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    if not CONFUSIONS_FILE.exists():
        return {"detections": {}}
    return json.loads(CONFUSIONS_FILE.read_text())


def folds(probe_ids: Iterable[str]) -> dict[str, int]:
    """Probe photo → fold 0 or 1, alternating in id order."""
    return {pid: i % 2 for i, pid in enumerate(sorted(probe_ids))}


def false_positives(photo: PhotoTruth, reported: Iterable[str]) -> set[str]:
    allowed = set(photo.objects) | set(photo.maybe)
    return {label for label in reported if label not in allowed}


def confusions_for(image_id: str, measured: dict[str, list[list[Any]]] | None = None) -> tuple[dict[str, Counter], Counter]:
    """(per true class: the classes the detector reported falsely beside it; all false
    reports), counted once per photo over the photos disjoint from ``image_id``'s fold."""
    truth = photos()
    detections = _load()["detections"] if measured is None else measured
    fold = folds([p.id for p in truth.values() if p.split == "probe"])
    mine = fold.get(image_id)
    by_class: dict[str, Counter] = {}
    overall: Counter = Counter()
    for pid, reported in detections.items():
        photo = truth.get(pid)
        if photo is None or pid == image_id or (mine is not None and fold.get(pid) == mine):
            continue
        wrong = false_positives(photo, (d[0] for d in reported))
        overall.update(wrong)
        for present in photo.objects:
            by_class.setdefault(present, Counter()).update(wrong)
    return by_class, overall


def confused_negatives(image_id: str, positives: Iterable[str], banned: set[str], k: int,
                       measured: dict[str, list[list[Any]]] | None = None) -> list[str]:  # fmt: skip
    """Up to ``k`` absent classes the detector falsely reported elsewhere: first those it
    reported beside each of the photo's own classes in turn, then the most frequent."""
    by_class, overall = confusions_for(image_id, measured)
    chosen: list[str] = []
    ranked = {p: [c for c, _ in sorted(by_class.get(p, Counter()).items(), key=lambda kv: (-kv[1], kv[0]))] for p in positives}
    while len(chosen) < k and any(ranked.values()):
        for p in list(ranked):
            while ranked[p]:
                c = ranked[p].pop(0)
                if c not in banned and c not in chosen:
                    chosen.append(c)
                    break
            if len(chosen) >= k:
                break
    for c, _ in sorted(overall.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(chosen) >= k:
            break
        if c not in banned and c not in chosen:
            chosen.append(c)
    return chosen


if __name__ == "__main__":
    result = measure()
    print(json.dumps({k: v for k, v in result.items() if k != "detections"}))  # noqa: T201 - a script's output
