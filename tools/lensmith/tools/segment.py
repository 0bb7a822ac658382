"""segment: masks from boxes, points or a class name (detect, then segment each box).

Segment Anything (ViT-B/L/H via ``segment-anything``; MobileSAM / SAM 2 via ultralytics)
when the resolver finds weights, with the image embedding computed once per image and
reused for later prompts. With no SAM weights, GrabCut from each box is the labelled
fallback. Masks are COCO RLE in the displayed image's pixels.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image
from pydantic import BaseModel, Field, PrivateAttr

from lensmith.runtime import rle
from lensmith.runtime.artifacts import Mask, SegmentArtifact
from lensmith.runtime.base import LensmithTool, shared_model
from lensmith.runtime.device import pick_device, pick_dtype
from lensmith.runtime.errors import InvalidArguments, ToolError, ToolUnavailable, WeightsNotFound
from lensmith.runtime.images import ImageStore, StoredImage, current_store
from lensmith.runtime.vocab import to_class
from lensmith.runtime.weights import Resolved, hub_allowed, resolve, status
from lensmith.tools import models
from lensmith.tools.annotate import overlay_masks
from lensmith.tools.detect import DetectTool, bgr_array, check_size

log = logging.getLogger("lensmith.tools.segment")

EMBEDDING_CACHE = 8  # images whose SAM embedding is kept
GRABCUT_SIDE = 512  # longest side GrabCut works at


class SamBackend:
    """A segment-anything ``Sam`` with an embedding cache keyed by image id."""

    method = "sam"

    def __init__(self, sam: Any, name: str, device: str) -> None:
        from segment_anything import SamPredictor

        self.device = device
        self.name = name
        self.predictor = SamPredictor(sam.to(device).eval())
        self.cache: OrderedDict[str, tuple[Any, tuple[int, int], tuple[int, int]]] = OrderedDict()
        self.lock = threading.Lock()
        self.encoded = 0  # image embeddings computed (for benchmarks and tests)

    def _autocast(self) -> Any:
        if self.device.startswith("cuda"):
            import torch

            return torch.autocast("cuda", dtype=pick_dtype(self.device))
        return contextlib.nullcontext()

    def _select(self, image_id: str, rgb: np.ndarray) -> None:
        p = self.predictor
        if image_id in self.cache:
            self.cache.move_to_end(image_id)
            p.features, p.original_size, p.input_size = self.cache[image_id]
            p.is_image_set = True
            return
        p.set_image(rgb)
        self.encoded += 1
        self.cache[image_id] = (p.features, p.original_size, p.input_size)
        while len(self.cache) > EMBEDDING_CACHE:
            self.cache.popitem(last=False)

    def segment(self, image_id: str, rgb: np.ndarray, boxes: list[list[float]],
                points: list[list[float]], point_labels: list[int]) -> list[tuple[np.ndarray, float]]:
        out = []
        with self.lock, self._autocast():
            self._select(image_id, rgb)
            prompts: list[tuple[Any, Any, Any]] = [(np.array(b, dtype=np.float32), None, None) for b in boxes]
            if points:
                prompts.append((None, np.array(points, dtype=np.float32), np.array(point_labels)))
            for box, coords, labels in prompts:
                masks, scores, _ = self.predictor.predict(
                    point_coords=coords, point_labels=labels, box=box, multimask_output=box is None
                )
                best = int(np.argmax(scores))
                out.append((masks[best].astype(bool), float(scores[best])))
        return out


class UltralyticsSamBackend(SamBackend):
    """MobileSAM / SAM 2 through ultralytics' SAM predictors (one image set at a time,
    so the features of recent images are kept here)."""

    def __init__(self, path: str, device: str) -> None:  # noqa: D107 - not calling super on purpose
        from lensmith.tools.detect import import_ultralytics

        import_ultralytics()
        from ultralytics.models.sam import Predictor, SAM2Predictor

        cls = SAM2Predictor if "sam2" in Path(path).name else Predictor
        self.predictor = cls(overrides=dict(model=path, task="segment", mode="predict", imgsz=1024,
                                            device=device, verbose=False, half=device.startswith("cuda")))
        self.device, self.name = device, Path(path).name
        self.cache: OrderedDict[str, Any] = OrderedDict()
        self.lock = threading.Lock()
        self.encoded = 0

    def segment(self, image_id: str, rgb: np.ndarray, boxes: list[list[float]],
                points: list[list[float]], point_labels: list[int]) -> list[tuple[np.ndarray, float]]:
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        out = []
        with self.lock:
            if image_id in self.cache:
                self.predictor.setup_source(bgr)
                self.predictor.features = self.cache[image_id]
            else:
                self.predictor.set_image(bgr)
                self.encoded += 1
                self.cache[image_id] = self.predictor.features
                while len(self.cache) > EMBEDDING_CACHE:
                    self.cache.popitem(last=False)
            calls: list[dict[str, Any]] = [{"bboxes": [b]} for b in boxes]
            if points:
                calls.append({"points": [points], "labels": [point_labels]})
            for prompt in calls:
                result = self.predictor(**prompt)[0]
                data = result.masks.data.cpu().numpy().astype(bool)
                score = float(result.boxes.conf[0]) if result.boxes is not None and len(result.boxes) else None
                out.append((data[0], score if score is not None else float("nan")))
        return out


def grabcut(bgr: np.ndarray, box: list[float], iterations: int = 5) -> np.ndarray:
    """GrabCut initialised from a box, run on a crop around it (outside the box is
    background by definition, so the crop gives the same answer for less work)."""
    h, w = bgr.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    if x1 - x0 < 4 or y1 - y0 < 4:
        raise InvalidArguments(f"Box {box} is too small for GrabCut (needs at least 4×4 pixels)")
    mx, my = max(8, (x1 - x0) // 10), max(8, (y1 - y0) // 10)
    cx0, cy0, cx1, cy1 = max(0, x0 - mx), max(0, y0 - my), min(w, x1 + mx), min(h, y1 + my)
    crop = bgr[cy0:cy1, cx0:cx1]
    # GrabCut's cost grows with pixels (seconds at 0.3 MP on 2 cores); its colour models give
    # coarse boundaries anyway, so large crops run at GRABCUT_SIDE and the mask is scaled back
    shrink = min(1.0, GRABCUT_SIDE / max(crop.shape[:2]))
    small = cv2.resize(crop, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA) if shrink < 1 else crop
    small = np.ascontiguousarray(small)
    sh, sw = small.shape[:2]
    rx0, ry0 = int((x0 - cx0) * shrink), int((y0 - cy0) * shrink)
    rect = (rx0, ry0, max(2, min(sw - rx0, int((min(x1, w) - x0) * shrink))), max(2, min(sh - ry0, int((min(y1, h) - y0) * shrink))))
    mask = np.zeros((sh, sw), np.uint8)
    cv2.setRNGSeed(0)
    cv2.grabCut(small, mask, rect, np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64),
                iterations, cv2.GC_INIT_WITH_RECT)
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    if shrink < 1:
        fg = cv2.resize(fg, (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_NEAREST)
    full = np.zeros((h, w), bool)
    full[cy0:cy1, cx0:cx1] = fg.astype(bool)
    return full


@dataclass
class Segmentation:
    image: StoredImage
    masks: list[np.ndarray]  # working-copy size
    labels: list[str | None]
    boxes: list[list[float] | None]  # displayed pixels
    scores: list[float | None]
    method: str
    method_kind: str
    model: str | None
    note: str | None = None
    extra: dict = field(default_factory=dict)


class SegmentArgs(BaseModel):
    image: str = Field(description="Image id (img:…) or a path/URL")
    boxes: list[list[float]] | None = Field(
        None, description="Boxes [x0, y0, x1, y1] in image pixels (e.g. from detect), one mask each"
    )
    points: list[list[float]] | None = Field(None, description="Points [x, y] on the object (needs SAM)")
    point_labels: list[int] | None = Field(None, description="1 = on the object, 0 = background; default all 1")
    label: str | None = Field(None, description="A class name ('cat', 'people'): detect it, then segment each one")
    min_score: float = Field(0.25, ge=0.0, le=1.0, description="Detector confidence for `label`")


class SegmentTool(LensmithTool):
    name: str = "segment"
    description: str = (
        "Cut out objects: masks from boxes (e.g. from detect), points, or a class name (detects "
        "it, then segments each one). Returns each mask (COCO RLE), its area in pixels and share "
        "of the image, the method used and an overlay image."
    )
    args_schema: type[BaseModel] = SegmentArgs
    # A hook for tests and notebooks: an already-built segment_anything ``Sam`` and its name.
    # Production never sets it: SAM then runs only from weights the resolver found.
    sam_model: Any = Field(default=None, exclude=True)
    sam_model_name: str | None = Field(default=None, exclude=True)

    _backend: SamBackend | None = PrivateAttr(default=None)
    _fallback_note: str | None = PrivateAttr(default=None)
    _detect: DetectTool | None = PrivateAttr(default=None)

    def setup(self) -> None:
        device = pick_device(self.device, "segment")
        if self.sam_model is not None:
            self._backend = SamBackend(self.sam_model, self.sam_model_name or "injected SAM", device)
            return
        found, missing = _find_sam()
        if found is None:
            self._fallback_note = missing
            return
        kind = models.sam_kind(found.path)
        self._backend = shared_model(
            f"sam:{found.path}:{device}", lambda: _load_sam(found.path, kind, device), label=f"SAM {Path(found.path).name}"
        )

    def backend(self) -> str:
        device = pick_device(self.device, "segment")
        if self.sam_model is not None:
            return f"SAM ({self.sam_model_name or 'injected model'}) on {device}"
        found, _ = _find_sam(download=False)
        if found is None:
            names = ", ".join(spec.candidates[0] for spec in models.SAM_CHOICES)
            return (
                f"GrabCut from boxes (OpenCV, fallback): no SAM weights were found ({names}) in the "
                "config, $LENSMITH_WEIGHTS or installed packages; `lensmith models` says how to fetch them"
            )
        return f"SAM {Path(found.path).name} (found via {found.detail}) on {device}, embedding cached per image"

    @property
    def sam(self) -> SamBackend | None:
        self.ensure_setup()
        return self._backend

    def segment(self, image: str, boxes: list[list[float]] | None = None, points: list[list[float]] | None = None,
                point_labels: list[int] | None = None, label: str | None = None, min_score: float = 0.25) -> Segmentation:
        """The masks without the artifact (``edit`` uses this)."""
        self.ensure_setup()
        store = current_store()
        meta = store.get(image)
        check_size(meta, self.name)
        if label is not None and (boxes or points):
            raise InvalidArguments("Give either `label` or `boxes`/`points`, not both.")
        labels: list[str | None]
        det_scores: list[float | None]
        prompt_boxes: list[list[float] | None]
        if label is not None:
            boxes, labels, det_scores = self._detect_boxes(store, meta, label, min_score)
        elif boxes or points:
            boxes, labels, det_scores = list(boxes or []), [None] * len(boxes or []), [None] * len(boxes or [])
        else:
            raise InvalidArguments("Nothing to segment: give `boxes`, `points` or a class `label`.")
        boxes = [_check_box(b, meta) for b in boxes]
        work_boxes = [meta.to_working(b) for b in boxes]
        prompt_boxes = list(boxes)
        work_points, point_labels = _check_points(points or [], point_labels, meta)
        if self._backend is None:
            if points:
                raise ToolUnavailable(
                    f"Point prompts need SAM, and {self._fallback_note} Give a box or a class `label` "
                    "for the GrabCut fallback."
                )
            bgr = bgr_array(store, meta.id)
            results: list[tuple[np.ndarray, float | None]] = [(grabcut(bgr, b), None) for b in work_boxes]
            method, kind, model, note = "grabcut", "fallback", None, f"GrabCut fallback: {self._fallback_note}"
        else:
            results = list(self._backend.segment(meta.id, store.array(meta.id), work_boxes, work_points, point_labels))
            method, kind, model, note = "sam", "model", self._backend.name, None
            if points:
                labels = [*labels, label]
                prompt_boxes.append(None)
                det_scores = [*det_scores, None]
        empty = [i for i, (m, _) in enumerate(results) if not m.any()]
        if len(empty) == len(results):
            raise ToolError(f"{method} found no object for the prompt(s) on {meta.id}; try a tighter box or points.")
        seg = Segmentation(meta, [m for m, _ in results], labels, prompt_boxes, [s for _, s in results], method, kind, model, note)
        seg.extra["detector_scores"] = det_scores
        return seg

    def _detect_boxes(self, store: ImageStore, meta: StoredImage, label: str, min_score: float):
        if self._detect is None:
            self._detect = DetectTool(device=self.device)
        detector = self._detect.detector()
        target = to_class(label, detector.names)
        if target is None:
            raise InvalidArguments(
                f"{label!r} is not detectable by {Path(detector.path).name} (COCO's 80 classes), so it "
                "cannot be found by name; give a box or points instead."
            )
        found = detector.predict(bgr_array(store, meta.id), conf=min_score, classes=[detector.names.index(target)])
        if not found:
            raise ToolError(f"No {target} found in {meta.id} (detector min score {min_score:g}); nothing to segment.")
        return [meta.to_original(b) for b, _, _ in found], [lab for _, lab, _ in found], [s for _, _, s in found]

    def run_tool(self, image: str, **kwargs: Any) -> tuple[str, SegmentArtifact]:
        seg = self.segment(image, **kwargs)
        store, meta = current_store(), seg.image
        total = meta.original_width * meta.original_height
        masks = []
        rgb = store.array(meta.id)
        for mask, label, box, score in zip(seg.masks, seg.labels, seg.boxes, seg.scores, strict=True):
            shown = to_displayed(mask, meta)
            area = int(shown.sum())
            masks.append(Mask(label=label, box=box, rle=rle.encode(shown), area_px=area,
                              area_share=round(area / total, 5), score=None if score is None else round(score, 3),
                              cutout=_save_cutout(store, meta, rgb, mask)))
        overlay = overlay_masks(store.pil(meta.id), seg.masks, seg.labels)
        overlay_id = store.add_artifact(overlay, parent=meta.id, label=f"segment: {seg.method} overlay", defer_write=True).id
        cutouts = [m.cutout for m in masks if m.cutout]
        artifact = SegmentArtifact(
            tool=self.name, image=meta.id, method=seg.method, method_kind=seg.method_kind,  # type: ignore[arg-type]
            model=seg.model, note=seg.note, masks=masks, overlay=overlay_id, images=[overlay_id], files=cutouts,
        )
        parts = [f"{m.label or 'mask'} {m.area_share:.1%} of the image ({m.area_px} px)" for m in masks]
        how = f"{seg.method}" + (" fallback, no SAM weights" if seg.method_kind == "fallback" else f" {seg.model}")
        saved = f"; {len(cutouts)} transparent cut-out PNG(s) saved" if cutouts else ""
        return f"{len(masks)} mask(s) by {how}: {'; '.join(parts)}; overlay {overlay_id}{saved}", artifact


def cutout(rgb: np.ndarray, mask: np.ndarray) -> Image.Image | None:
    """The object as RGBA, cropped to the mask's bounding box, alpha 0 outside the mask
    (None for an empty mask)."""
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return None
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    alpha = mask[y0:y1, x0:x1].astype(np.uint8) * 255
    return Image.fromarray(np.dstack([rgb[y0:y1, x0:x1], alpha]), "RGBA")


def _save_cutout(store: ImageStore, meta: StoredImage, rgb: np.ndarray, mask: np.ndarray) -> str | None:
    """Write the cut-out beside the overlay. The store keeps RGB images only, so the cut-out
    is a file, not an image id; it has the working copy's pixels (the image as the tools saw it)."""
    picture = cutout(rgb, mask)
    if picture is None:
        return None
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    digest = hashlib.blake2b(np.packbits(mask).tobytes(), digest_size=8).hexdigest()
    try:
        return str(store.write_artifact_file(f"cutout-{meta.id[4:]}-{digest}.png", buffer.getvalue()))
    except ToolError as exc:  # the session's disk cap: the masks still stand without the file
        log.warning("cut-out not saved: %s", exc)
        return None


def to_displayed(mask: np.ndarray, meta: StoredImage) -> np.ndarray:
    """A working-copy mask at the displayed image's size."""
    if (meta.original_width, meta.original_height) == (meta.width, meta.height):
        return mask
    resized = cv2.resize(mask.astype(np.uint8), (meta.original_width, meta.original_height),
                         interpolation=cv2.INTER_NEAREST)
    return resized.astype(bool)


def _check_box(box: list[float], meta: StoredImage) -> list[float]:
    if len(box) != 4:
        raise InvalidArguments(f"A box is [x0, y0, x1, y1]; got {box}")
    x0, y0, x1, y1 = (float(v) for v in box)
    w, h = meta.original_width, meta.original_height
    if x1 <= x0 or y1 <= y0:
        raise InvalidArguments(f"Box {box} is empty or reversed (need x0 < x1 and y0 < y1)")
    if x1 <= 0 or y1 <= 0 or x0 >= w or y0 >= h:
        raise InvalidArguments(f"Box {box} lies outside the image ({w}×{h} pixels)")
    return [max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)]


def _check_points(points: list[list[float]], labels: list[int] | None, meta: StoredImage):
    for p in points:
        if len(p) != 2 or not (0 <= p[0] < meta.original_width and 0 <= p[1] < meta.original_height):
            raise InvalidArguments(f"Point {p} is not [x, y] inside the image ({meta.original_width}×{meta.original_height})")
    labels = list(labels) if labels is not None else [1] * len(points)
    if len(labels) != len(points):
        raise InvalidArguments(f"{len(points)} points but {len(labels)} point labels")
    return [meta.to_working(p) for p in points], labels


def _find_sam(download: bool = True) -> tuple[Resolved | None, str]:
    """The first SAM whose weights exist (never downloads unless ``download`` and the hub is
    allowed), or None and a sentence saying where we looked."""
    looked: list[str] = []
    for spec in models.SAM_CHOICES:
        found = status(spec)
        if isinstance(found, Resolved):
            return found, ""
        looked += [p for p in found.looked if p not in looked and "(not checked)" not in p]
    if download and hub_allowed():
        try:
            return resolve(models.SAM_VIT_B), ""
        except WeightsNotFound as exc:
            looked += [p for p in exc.looked if p not in looked]
    if not download or not hub_allowed():
        looked.append("model hub (not tried: offline or downloads disabled)")
    configs = [p for p in looked if p.startswith("config ")]
    if all("(not set)" in p for p in configs):
        configs = ["config [models] (no SAM path set)"]
    places = configs + [p for p in looked if not p.startswith("config ")]
    return None, f"no SAM weights were found. Looked in: {'; '.join(places)}. To fetch: {models.SAM_VIT_B.fetch}"


def _load_sam(path: str, kind: str, device: str) -> SamBackend:
    if kind == "ultralytics":
        return UltralyticsSamBackend(path, device)
    from segment_anything import sam_model_registry

    return SamBackend(sam_model_registry[kind](checkpoint=path), Path(path).name, device)
