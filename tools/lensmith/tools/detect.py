"""detect: Ultralytics YOLO object detection, boxes in the displayed image's pixels.

The default detector (YOLO11n int8, OpenVINO) ships with lensmith; a ``.pt`` or other
export found by the resolver is preferred. The user's words are mapped onto the
detector's vocabulary; a class it cannot see is reported as not detectable, never as
absent. Open-vocabulary models (YOLOE, YOLO-World) handle such classes when their
weights are found.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field, PrivateAttr

from lensmith.runtime.artifacts import DetectArtifact, Detection
from lensmith.runtime.base import LensmithTool, shared_model
from lensmith.runtime.device import pick_device
from lensmith.runtime.errors import ImageError, InvalidArguments, WeightsNotFound
from lensmith.runtime.images import ImageStore, StoredImage, current_store
from lensmith.runtime.vocab import map_classes
from lensmith.runtime.weights import Resolved, resolve, status
from lensmith.tools import models
from lensmith.tools.annotate import draw_boxes

log = logging.getLogger("lensmith.tools.detect")

IMGSZ = 640  # the packaged int8 export has a fixed 640×640 input
MIN_SIDE = 8


def import_ultralytics() -> Any:
    """ultralytics, told never to download or pip-install anything at run time."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    import ultralytics
    from PIL import Image
    from ultralytics.utils import LOGGER, patches

    # its loader lines ("Loading … for OpenVINO inference...") go to stdout whatever
    # YOLO_VERBOSE says once set; only lensmith's --verbose (INFO logging) lets them through,
    # and then on stderr, where they cannot corrupt --json output
    verbose = logging.getLogger("lensmith").isEnabledFor(logging.INFO)
    LOGGER.setLevel(logging.INFO if verbose else logging.ERROR)
    for handler in LOGGER.handlers:
        handler.setLevel(logging.NOTSET)
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
            try:
                handler.setStream(sys.stderr)
            except ValueError:
                # setStream flushes the stream it replaces, which may be closed by now (the
                # captured stderr of a finished test or TUI run): nothing left to flush
                handler.stream = sys.stderr

    # ultralytics replaces PIL.Image.open process-wide with a version that tries to
    # pip-install pi-heif on any file Pillow cannot identify; lensmith decodes images
    # itself and needs Pillow's plain "not an image" error back
    if getattr(patches, "_image_open", None) is not None and Image.open is getattr(patches, "image_open", None):
        Image.open = patches._image_open
    return ultralytics


def check_size(meta: StoredImage, tool: str) -> None:
    if min(meta.width, meta.height) < MIN_SIDE:
        raise ImageError(
            f"{meta.id} is {meta.width}×{meta.height} pixels; {tool} needs at least "
            f"{MIN_SIDE} pixels on each side"
        )


_bgr_cache: OrderedDict[tuple[int, str], Any] = OrderedDict()
_bgr_lock = threading.Lock()


def bgr_array(store: ImageStore, image_id: str) -> Any:
    """The working copy as a BGR array, kept for the last few images: converting a photo
    costs a fifth of a small detector's inference."""
    key = (id(store), image_id)
    with _bgr_lock:
        if key in _bgr_cache:
            _bgr_cache.move_to_end(key)
            return _bgr_cache[key]
    array = store.array(image_id, bgr=True)
    array.setflags(write=False)
    with _bgr_lock:
        _bgr_cache[key] = array
        while len(_bgr_cache) > 4:
            _bgr_cache.popitem(last=False)
    return array



def _half_precision() -> dict[str, Any]:
    """fp16 inference, asked for the way the installed ultralytics understands
    (8.4 replaced ``half=True`` with ``quantize=16``)."""
    from ultralytics.cfg import DEFAULT_CFG_DICT

    return {"quantize": 16} if "quantize" in DEFAULT_CFG_DICT else {"half": True}


def _export_predictor() -> type:
    """ultralytics' detection predictor, minus the warm-up of an exported model on the CPU.

    For such a model (our OpenVINO int8 export) the warm-up runs no forward pass: all it
    does is import torchvision, so that NMS uses torchvision's kernel instead of
    ultralytics' own ``TorchNMS``. That import costs 1.5-1.9 s of a cold ``ask`` here (most
    of it ``torch._dynamo``, pulled in by ``torchvision.ops``); both NMS give the same boxes
    (``tests/tools/test_detect.py``). Where torchvision is already imported, NMS still uses it.
    """
    from ultralytics.models.yolo.detect import DetectionPredictor

    class ExportPredictor(DetectionPredictor):  # type: ignore[misc]
        def setup_model(self, model: Any, verbose: bool = True) -> None:
            super().setup_model(model, verbose)
            self.done_warmup = True

    return ExportPredictor


class Detector:
    """One loaded YOLO model; predictions are serialised because ultralytics'
    predictor keeps per-call state."""

    def __init__(self, resolved: Resolved, device: str, *, open_vocab: bool = False) -> None:
        ultralytics = import_ultralytics()
        self.resolved = resolved
        self.path = resolved.path
        self.is_torch = Path(self.path).suffix == ".pt"
        # exports run on their own runtime (OpenVINO/LiteRT on the CPU); .pt follows the device
        self.device = device if self.is_torch else "cpu"
        if open_vocab:
            cls = ultralytics.YOLOE if "yoloe" in Path(self.path).name.lower() else ultralytics.YOLOWorld
            self.model = cls(self.path)
        else:
            self.model = ultralytics.YOLO(self.path, task="detect")
        self.lock = threading.Lock()
        self.classes: list[str] | None = None
        # a .pt model (on any device) and the open-vocabulary ones keep ultralytics' warm-up
        self.predictor = None if self.is_torch or open_vocab else _export_predictor()
        if self.predictor is not None:
            # an export has no names until a predictor has loaded it, and until predict() has
            # made one, ultralytics' ``names`` loads (compiles: ~1 s) a throwaway copy; a first
            # prediction on a blank frame makes the one predictor every call then reuses
            self._predict(np.zeros((IMGSZ, IMGSZ, 3), np.uint8), conf=0.99, classes=None)

    @property
    def names(self) -> list[str]:
        names = self.model.names
        return [names[i] for i in sorted(names)] if isinstance(names, dict) else list(names)

    def _predict(self, bgr: Any, *, conf: float, classes: list[int] | None) -> Any:
        return self.model.predict(
            bgr, imgsz=IMGSZ, conf=conf, classes=classes, device=self.device, verbose=False,
            predictor=self.predictor,
            **(_half_precision() if self.is_torch and self.device.startswith("cuda") else {}),
        )[0]

    def predict(self, bgr: Any, *, conf: float, classes: list[int] | None = None) -> list[tuple[list[float], str, float]]:
        with self.lock:
            result = self._predict(bgr, conf=conf, classes=classes)
            names = self.names
            boxes = result.boxes
            return [
                (xyxy, names[int(c)], float(s))
                for xyxy, c, s in zip(boxes.xyxy.tolist(), boxes.cls.tolist(), boxes.conf.tolist(), strict=True)
            ]

    def set_vocabulary(self, words: list[str]) -> None:
        with self.lock:
            if self.classes != words:
                self.model.set_classes(words)
                self.classes = list(words)


class DetectArgs(BaseModel):
    image: str = Field(description="Image id (img:…) or a path/URL")
    classes: list[str] | None = Field(
        None,
        description="What to look for, in plain words ('people', 'sofa', 'bus'); omit to report "
        "every class the detector knows",
    )
    min_score: float = Field(0.25, ge=0.0, le=1.0, description="Minimum confidence (0-1)")


class DetectTool(LensmithTool):
    name: str = "detect"
    description: str = (
        "Find and count objects in an image (YOLO, COCO's 80 classes: people, vehicles, animals, "
        "furniture, food, household items). Returns boxes, labels and scores and an annotated "
        "image. Classes the detector cannot see are reported as not detectable."
    )
    args_schema: type[BaseModel] = DetectArgs

    _detector: Detector | None = PrivateAttr(default=None)

    def resolved(self) -> Resolved:
        return resolve(models.YOLO)

    def setup(self) -> None:
        device = pick_device(self.device, "detect")
        found = self.resolved()
        self._detector = shared_model(
            f"yolo:{found.path}:{device}", lambda: Detector(found, device), label=f"YOLO {Path(found.path).name}"
        )

    def detector(self) -> Detector:
        self.ensure_setup()
        assert self._detector is not None
        return self._detector

    def backend(self) -> str:
        found = status(models.YOLO)
        if isinstance(found, WeightsNotFound):
            return f"unavailable: {str(found).splitlines()[0]}"
        kind = "int8 OpenVINO export" if found.source == "package" else Path(found.path).name
        why = (
            "shipped with lensmith; no yolo11n.pt in the config or $LENSMITH_WEIGHTS"
            if found.source == "package" else f"found via {found.detail}"
        )
        ov = _open_vocab_status()
        extra = (
            f"; open-vocabulary: {Path(ov.path).name} for classes outside COCO"
            if isinstance(ov, Resolved)
            else "; open-vocabulary: none (no YOLOE/YOLO-World weights found), so classes outside "
            "COCO's 80 are reported as not detectable"
        )
        device = pick_device(self.device, "detect")
        device = device if found.path.endswith(".pt") else "cpu"
        return f"ultralytics YOLO {kind} ({why}) on {device}{extra}"

    def run_tool(self, image: str, classes: list[str] | None = None, min_score: float = 0.25) -> tuple[str, DetectArtifact]:
        store = current_store()
        meta = store.get(image)
        check_size(meta, self.name)
        if classes is not None and not [c for c in classes if c.strip()]:
            raise InvalidArguments("Empty class list: name at least one class, or omit `classes` to detect everything.")
        detector = self.detector()
        vocab = detector.names
        mapped, missing = map_classes(classes, vocab) if classes else ({}, [])
        wanted = sorted({vocab.index(c) for c in mapped.values()})
        raw: list[tuple[list[float], str, float]] = []
        if classes is None or wanted:
            raw = detector.predict(bgr_array(store, meta.id), conf=min_score, classes=wanted or None)
        note = None
        searched = set(mapped.values())
        if missing:
            asked = missing
            extra, missing, note = _open_vocab_detect(self, bgr_array(store, meta.id), missing, min_score)
            raw += extra
            searched |= {w for w in asked if w not in missing}  # the open-vocabulary detector looked for these
        raw.sort(key=lambda d: -d[2])
        detections = [Detection(label=lab, score=round(s, 3), box=meta.to_original(b)) for b, lab, s in raw]
        model_name = Path(detector.path).name
        artifact = DetectArtifact(
            tool=self.name, image=meta.id, method="yolo", model=model_name, note=note,
            detections=detections, all_classes=classes is None, queried=sorted(searched),
            not_detectable=missing,
            min_score=min_score, vocabulary_size=len(vocab),
        )
        if raw:
            artifact.images = [_annotate(store, meta.id, raw)]
        return _content(artifact, model_name), artifact


def _annotate(store: ImageStore, image_id: str, raw: list[tuple[list[float], str, float]]) -> str:
    """The annotated image's id; drawn once per (image, detections), PNG written in the background."""
    labels = [f"{lab} {s:.2f}" for _, lab, s in raw]
    key = f"detect:{image_id}:" + ";".join(f"{lab}@{[round(v, 1) for v in b]}" for (b, _, _), lab in zip(raw, labels, strict=True))
    known = store.keyed_id(key)
    if known in store:
        return known
    drawn = draw_boxes(store.pil(image_id), [b for b, _, _ in raw], labels)
    return store.add_artifact(drawn, parent=image_id, label="detect: boxes", defer_write=True, key=key).id


def _content(art: DetectArtifact, model_name: str) -> str:
    parts = []
    counts = art.counts()
    for label, n in counts.items():
        scores = ", ".join(f"{d.score:.2f}" for d in art.detections if d.label == label)
        parts.append(f"{n} × {label} ({scores})")
    for label in art.queried:
        if label not in counts:
            parts.append(f"0 × {label} (none found at min score {art.min_score:g})")
    if not parts and (art.all_classes or art.queried):
        parts.append(f"nothing detected at min score {art.min_score:g}")
    text = ", ".join(parts)
    if art.images:
        text += f"; annotated image {art.images[0]}"
    if art.not_detectable:
        names = ", ".join(repr(n) for n in art.not_detectable)
        line = (
            f"NOT DETECTABLE: {names} — not in {model_name}'s vocabulary (COCO's {art.vocabulary_size} "
            "classes) and no open-vocabulary detector is available; whether it is present is unknown."
        )
        if not art.all_classes and not art.queried:
            line += " The detector did not run: nothing else was searched for."
        text = f"{text}\n{line}" if text else line
    return text


def _open_vocab_status() -> Resolved | WeightsNotFound:
    last: Resolved | WeightsNotFound | None = None
    for spec in models.OPEN_VOCAB_CHOICES:
        last = status(spec)
        if isinstance(last, Resolved):
            return last
    assert last is not None
    return last


def _open_vocab_detect(
    tool: DetectTool, bgr: Any, words: list[str], conf: float
) -> tuple[list[tuple[list[float], str, float]], list[str], str | None]:
    """Detections for words outside the closed vocabulary, the words still undetectable, a note."""
    found = _open_vocab_status()
    if not isinstance(found, Resolved):
        return [], words, None
    device = pick_device(tool.device, "detect")
    try:
        model = shared_model(
            f"open-vocab:{found.path}:{device}",
            lambda: Detector(found, device, open_vocab=True),
            label=f"open-vocabulary {Path(found.path).name}",
        )
        model.set_vocabulary(words)
        raw = model.predict(bgr, conf=conf)
    except Exception as exc:  # noqa: BLE001 - e.g. its text encoder cannot be fetched offline
        log.warning("open-vocabulary detector failed: %s", exc)
        return [], words, f"open-vocabulary detector {Path(found.path).name} failed: {type(exc).__name__}: {exc}"
    return raw, [], f"{', '.join(words)}: open-vocabulary detector {Path(found.path).name}"
