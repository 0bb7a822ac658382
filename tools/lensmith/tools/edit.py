"""edit: "remove the X", "replace the X with Y", "make the X red".

The mask comes from ``segment`` (dilated so the edit covers the object's edges). A
diffusers Stable Diffusion inpainting pipeline does the edit when its weights are found,
seeded. Without one, removal falls back to OpenCV inpainting (labelled); other edits say
what is missing and how to fetch it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from PIL import Image
from pydantic import BaseModel, Field, PrivateAttr

from lensmith.runtime.artifacts import EditArtifact
from lensmith.runtime.base import LensmithTool, shared_model
from lensmith.runtime.device import pick_device, pick_dtype
from lensmith.runtime.errors import InvalidArguments, ToolUnavailable, WeightsNotFound
from lensmith.runtime.images import current_store
from lensmith.runtime.vocab import normalise
from lensmith.runtime.weights import Resolved, resolve, status
from lensmith.tools import models
from lensmith.tools.annotate import mask_image
from lensmith.tools.segment import SegmentTool

Operation = Literal["remove", "replace", "recolor", "inpaint"]
COLOURS = (
    "red", "orange", "yellow", "green", "blue", "purple", "violet", "pink", "brown", "black",
    "white", "grey", "gray", "gold", "silver", "cyan", "magenta", "beige", "turquoise",
)
_PATTERNS: tuple[tuple[Operation, re.Pattern[str]], ...] = (
    ("remove", re.compile(r"(?:remove|erase|delete|get rid of|take out|take away|clear)\s+(?P<target>.+)")),
    ("replace", re.compile(r"(?:replace|swap)\s+(?P<target>.+?)\s+(?:with|by|for)\s+(?P<prompt>.+)")),
    ("replace", re.compile(r"(?:turn|change|transform)\s+(?P<target>.+?)\s+into\s+(?P<prompt>.+)")),
    ("recolor", re.compile(
        r"(?:make|paint|colou?r|turn|change)\s+(?P<target>.+?)\s+(?:to\s+|into\s+)?(?:the\s+colou?r\s+)?"
        r"(?P<prompt>(?:(?:light|dark|bright|pale)\s+)?(?:" + "|".join(COLOURS) + r"))"
    )),
)


def parse_instruction(text: str) -> tuple[Operation, str, str | None]:
    """``(operation, target, prompt)`` from a request like "replace the dog with a cat"."""
    cleaned = re.sub(r"^(?:please\s+|can you\s+|could you\s+)+", "", text.strip().lower()).rstrip(".!? ")
    for operation, pattern in _PATTERNS:
        found = pattern.fullmatch(cleaned)
        if found:
            target = normalise(re.sub(r"\s+(?:from|in|out of)\s+(?:the\s+)?(?:image|photo|picture)$", "", found["target"]))
            prompt = found.groupdict().get("prompt")
            return operation, target, prompt.strip() if prompt else None
    raise InvalidArguments(
        f"Cannot tell what to edit from {text!r}. Say 'remove the X', 'replace the X with Y' or "
        "'make the X red', or pass operation/target/prompt."
    )


class EditArgs(BaseModel):
    image: str = Field(description="Image id (img:…) or a path/URL")
    instruction: str | None = Field(None, description="'remove the cat', 'replace the cup with a vase', 'make the bus red'")
    operation: Operation | None = Field(None, description="Overrides what the instruction implies")
    target: str | None = Field(None, description="What to edit (a class name); overrides the instruction")
    prompt: str | None = Field(None, description="What to paint instead (replace/recolor/inpaint)")
    seed: int = Field(0, description="Random seed of the diffusion model (same seed, same edit)")


class EditTool(LensmithTool):
    name: str = "edit"
    description: str = (
        "Edit an image: 'remove the X', 'replace the X with Y', 'make the X red'. Segments the "
        "object, then inpaints (Stable Diffusion when available; removal falls back to OpenCV). "
        "Returns the edited image as a new image id, the mask and the prompt used."
    )
    args_schema: type[BaseModel] = EditArgs
    steps: int = 30
    guidance: float = 7.5
    size: int = 512  # longest side the diffusion model works at
    # Hooks for tests and notebooks (a built pipeline, a segment tool); production resolves weights.
    pipeline: Any = Field(default=None, exclude=True)
    pipeline_name: str | None = Field(default=None, exclude=True)
    segmenter: Any = Field(default=None, exclude=True)

    _pipe: Any = PrivateAttr(default=None)
    _missing: WeightsNotFound | None = PrivateAttr(default=None)

    def setup(self) -> None:
        if self.segmenter is None:
            self.segmenter = SegmentTool(device=self.device)
        if self.pipeline is not None:
            self._pipe = self.pipeline
            return
        try:
            found = resolve(models.SD_INPAINT)
        except WeightsNotFound as exc:
            self._missing = exc
            return
        device = pick_device(self.device, "edit")
        self._pipe = shared_model(
            f"sd-inpaint:{found.path}:{device}", lambda: _load_pipeline(found.path, device), label="Stable Diffusion inpainting"
        )

    def backend(self) -> str:
        device = pick_device(self.device, "edit")
        if self.pipeline is not None:
            return f"diffusers inpainting ({self.pipeline_name or 'injected pipeline'}) on {device}"
        found = status(models.SD_INPAINT)
        if isinstance(found, Resolved):
            return f"diffusers Stable Diffusion inpainting {Path(found.path).name} (found via {found.detail}) on {device}"
        return (
            "OpenCV inpainting (Telea) for removals, fallback: no Stable Diffusion inpainting weights "
            f"found; replace/recolor unavailable until fetched ({models.SD_INPAINT.fetch})"
        )

    def run_tool(self, image: str, instruction: str | None = None, operation: Operation | None = None,
                 target: str | None = None, prompt: str | None = None, seed: int = 0) -> tuple[str, EditArtifact]:
        if instruction:
            op, parsed_target, parsed_prompt = parse_instruction(instruction)
        elif operation and target:
            op, parsed_target, parsed_prompt = operation, normalise(target), None
        else:
            raise InvalidArguments("Say what to edit: an `instruction` ('remove the cat') or `operation` and `target`.")
        op, target, prompt = operation or op, normalise(target) if target else parsed_target, prompt or parsed_prompt
        if op in ("replace", "recolor", "inpaint") and not prompt:
            raise InvalidArguments(f"A {op} edit needs a `prompt` (what to paint instead).")
        if op != "remove" and self._pipe is None:
            raise ToolUnavailable(
                f"'{op}' edits need a Stable Diffusion inpainting model and none was found; only removal "
                f"works without one (OpenCV inpainting).\n{self._missing}"
            )
        store = current_store()
        seg = self.segmenter.segment(image, label=target)
        meta = seg.image
        mask = np.logical_or.reduce(seg.masks)
        grow = max(5, round(max(mask.shape) * 0.015)) | 1
        mask = cv2.dilate(mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow))).astype(bool)
        rgb = store.array(meta.id)
        seg_note = f"mask by {seg.method}" + (" (fallback)" if seg.method_kind == "fallback" else f" {seg.model}")
        if self._pipe is not None:
            text = prompt if op != "remove" and prompt else "empty background, nothing there, seamless"
            if op == "recolor":
                text = f"a {prompt} {target}"
            edited = self._diffuse(rgb, mask, text, negative=target if op == "remove" else None, seed=seed)
            method, kind, model = "sd-inpaint", "model", self.pipeline_name or _pipe_name(self._pipe)
            note = seg_note
            used_prompt: str | None = text
        else:
            radius = max(3, round(max(mask.shape) * 0.01))
            bgr = cv2.inpaint(np.ascontiguousarray(rgb[:, :, ::-1]), mask.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
            edited = bgr[:, :, ::-1]
            method, kind, model, used_prompt = "opencv-telea", "fallback", None, None
            note = f"OpenCV inpainting fallback: no Stable Diffusion inpainting weights were found; {seg_note}"
        out = store.add_artifact(edited, parent=meta.id, label=f"edit: {op} {target}", defer_write=True)
        mask_id = store.add_artifact(mask_image(mask), parent=meta.id, label=f"edit mask: {target}", defer_write=True).id
        share = round(float(mask.mean()), 5)
        artifact = EditArtifact(
            tool=self.name, image=meta.id, method=method, method_kind=kind, model=model, note=note,  # type: ignore[arg-type]
            images=[out.id, mask_id], operation=op, target=target, prompt=used_prompt,
            seed=seed if self._pipe is not None else None, edited=out.id, mask=mask_id, mask_area_share=share,
        )
        how = "Stable Diffusion inpainting" if kind == "model" else "OpenCV inpainting (fallback, no diffusion weights)"
        return (f"{op} {target} ({len(seg.masks)} object(s), {seg_note}, mask {share:.1%} of the image) by {how}: "
                f"edited image {out.id}, mask {mask_id}"), artifact

    def _diffuse(self, rgb: np.ndarray, mask: np.ndarray, prompt: str, *, negative: str | None, seed: int) -> np.ndarray:
        import torch

        h, w = mask.shape
        scale = self.size / max(h, w)
        size = (max(64, round(w * scale / 64) * 64), max(64, round(h * scale / 64) * 64))
        image = Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS)
        mask_small = Image.fromarray(mask.astype(np.uint8) * 255).resize(size, Image.Resampling.NEAREST)
        result = self._pipe(
            prompt=prompt, negative_prompt=negative, image=image, mask_image=mask_small,
            height=size[1], width=size[0], num_inference_steps=self.steps, guidance_scale=self.guidance,
            generator=torch.Generator("cpu").manual_seed(seed),
        ).images[0]
        painted = np.asarray(result.convert("RGB").resize((w, h), Image.Resampling.LANCZOS), dtype=np.float32)
        # outside the mask the photo stays exactly as it was; inside, a feathered blend
        alpha = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 2.0) * mask
        blended = painted * alpha[..., None] + rgb.astype(np.float32) * (1 - alpha[..., None])
        return np.clip(blended, 0, 255).astype(np.uint8)


def _load_pipeline(path: str, device: str) -> Any:
    try:
        from diffusers import StableDiffusionInpaintPipeline
    except ImportError as exc:
        raise ToolUnavailable("diffusers is not installed: pip install 'lensmith[diffusion]'") from exc
    pipe = StableDiffusionInpaintPipeline.from_pretrained(
        path, torch_dtype=pick_dtype(device), safety_checker=None, requires_safety_checker=False
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)


def _pipe_name(pipe: Any) -> str:
    name = getattr(getattr(pipe, "config", None), "_name_or_path", None)
    return Path(str(name)).name if name else type(pipe).__name__
