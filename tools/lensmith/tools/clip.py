"""The one CLIP in the process: open_clip, any architecture or checkpoint the resolver finds.

Weights come from :func:`tools.weights.resolve` like every other model. What it may find:

- a folder in open_clip's own layout (``open_clip_config.json`` + ``open_clip_model.safetensors``
  or ``open_clip_pytorch_model.bin``) — what ``huggingface-cli download laion/CLIP-...`` gives;
- a single checkpoint file named after its architecture, ``ViT-B-32.pt`` or
  ``ViT-B-32__laion2b_s34b_b79k.safetensors`` (the part before ``__`` must be one of
  ``open_clip.list_models()``).

Retrieval, zero-shot labelling and the memory index share one loaded model through
:func:`tools.base.shared_model`. Tests inject a model explicitly with :func:`use_clip`
(for example a tiny randomly initialised one from :meth:`ClipModel.from_config`); the
resolver never hands out a random model.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lensmith.runtime.base import shared_model
from lensmith.runtime.device import pick_device
from lensmith.runtime.errors import ToolUnavailable, WeightsNotFound
from lensmith.runtime.weights import ModelSpec, register_model, resolve

log = logging.getLogger("lensmith.tools.clip")

CLIP = register_model(ModelSpec(
    name="clip", task="embed",
    description="open_clip CLIP (any architecture; default laion ViT-B-32) for image search and zero-shot labels",
    candidates=["clip", "open_clip", "CLIP-ViT-B-32-laion2B-s34B-b79K", "clip-vit-b-32"],
    hub_repo="laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
    fetch="lensmith models fetch clip  # or: huggingface-cli download laion/CLIP-ViT-B-32-laion2B-s34B-b79K "
    "--local-dir $LENSMITH_WEIGHTS/clip",
))

_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors")


class ClipModel:
    """An open_clip model with its preprocessing and tokenizer; embeddings are L2-normalised."""

    def __init__(
        self, model: Any, preprocess: Any, tokenizer: Any, *, name: str, device: str = "cpu",
        random_init: bool = False,
    ) -> None:
        self.model = model.eval()
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        # True only for models built from a config without weights (tests); callers label
        # such output and must never present it as a measurement.
        self.random_init = random_init
        self.dim = int(self._probe_dim())

    @classmethod
    def from_config(cls, name: str, config: dict, *, device: str = "cpu") -> ClipModel:
        """A randomly initialised model from an open_clip model config (for tests only)."""
        import open_clip
        from open_clip import factory

        factory._MODEL_CONFIGS[name] = config
        model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=None, device=device)
        return cls(model, preprocess, open_clip.get_tokenizer(name), name=f"{name} (random init)",
                   device=device, random_init=True)

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu") -> ClipModel:
        """Load weights from an open_clip folder or a checkpoint file named by architecture."""
        import open_clip

        path = Path(path)
        if path.is_dir():
            if not (path / "open_clip_config.json").exists():
                raise ToolUnavailable(
                    f"{path} holds no open_clip_config.json; a CLIP folder must be in open_clip's "
                    "layout (as `huggingface-cli download laion/CLIP-ViT-B-32-laion2B-s34B-b79K` gives)"
                )
            spec = f"local-dir:{path}"
            model, _, preprocess = open_clip.create_model_and_transforms(spec, device=device)
            tokenizer = open_clip.get_tokenizer(spec)
            arch = json.loads((path / "open_clip_config.json").read_text()).get("model_name") or path.name
            return cls(model, preprocess, tokenizer, name=f"{arch} ({path})", device=device)
        if path.suffix not in _CHECKPOINT_SUFFIXES:
            raise ToolUnavailable(f"Not a CLIP checkpoint: {path}")
        arch = path.stem.split("__")[0]
        if arch not in open_clip.list_models():
            raise ToolUnavailable(
                f"Cannot tell the CLIP architecture of {path.name}: name the file after one of "
                f"open_clip.list_models() (e.g. ViT-B-32__openai.pt) or use an open_clip folder"
            )
        model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=str(path), device=device)
        return cls(model, preprocess, open_clip.get_tokenizer(arch), name=f"{arch} ({path})", device=device)

    def _probe_dim(self) -> int:
        proj = getattr(self.model, "text_projection", None)
        if proj is not None and hasattr(proj, "shape"):
            return int(proj.shape[-1])
        return int(self.embed_texts(["a"]).shape[1])

    def embed_images(self, images: Sequence[Image.Image], *, batch_size: int = 16) -> np.ndarray:
        import torch

        out = []
        for start in range(0, len(images), batch_size):
            batch = torch.stack([self.preprocess(im.convert("RGB")) for im in images[start:start + batch_size]])
            with torch.inference_mode():
                feats = self.model.encode_image(batch.to(self.device))
            out.append(torch.nn.functional.normalize(feats.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), dtype=np.float32)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        tokens = self.tokenizer(list(texts)).to(self.device)
        with torch.inference_mode():
            feats = self.model.encode_text(tokens)
        return torch.nn.functional.normalize(feats.float(), dim=-1).cpu().numpy()

    def zero_shot(self, image: Image.Image, labels: Sequence[str]) -> dict[str, float]:
        """Softmax over 'a photo of a {label}' prompts, the way CLIP was evaluated."""
        img = self.embed_images([image])[0]
        txt = self.embed_texts([f"a photo of a {label}" for label in labels])
        logit_scale = getattr(self.model, "logit_scale", None)
        scale = float(logit_scale.detach().exp()) if logit_scale is not None else 100.0
        logits = scale * txt @ img
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        return {label: round(float(p), 4) for label, p in zip(labels, probs, strict=True)}


_override: contextvars.ContextVar[ClipModel | None] = contextvars.ContextVar("lensmith_clip", default=None)
_global_override: ClipModel | None = None


@contextlib.contextmanager
def use_clip(model: ClipModel | None) -> Iterator[ClipModel | None]:
    """Make ``model`` the CLIP for this context (tests, or a caller holding its own model)."""
    global _global_override
    token = _override.set(model)
    previous, _global_override = _global_override, model
    try:
        yield model
    finally:
        _override.reset(token)
        _global_override = previous


def load_clip(device: str | None = None) -> ClipModel:
    """The process's CLIP, loading it on first use; raises ToolUnavailable when none is found."""
    injected = _override.get() or _global_override
    if injected is not None:
        return injected
    try:
        import open_clip  # noqa: F401
    except ImportError as exc:
        raise ToolUnavailable("CLIP needs open_clip: pip install 'lensmith[clip]'") from exc
    try:
        found = resolve(CLIP)
    except WeightsNotFound as exc:
        raise ToolUnavailable(f"No CLIP model found, so image embeddings and zero-shot labels are off. {exc}") from exc
    dev = pick_device(device, "clip")
    return shared_model(f"clip:{found.path}:{dev}", lambda: ClipModel.load(found.path, device=dev), label="CLIP")


def find_clip(device: str | None = None) -> ClipModel | None:
    """Like :func:`load_clip` but returns None when no CLIP is available."""
    try:
        return load_clip(device)
    except ToolUnavailable as exc:
        log.info("no CLIP: %s", str(exc).splitlines()[0])
        return None


def clip_status() -> str:
    """One line for ``lensmith tools``/``models``: which CLIP would load, without loading it."""
    injected = _override.get() or _global_override
    if injected is not None:
        return f"CLIP {injected.name} (injected)"
    from lensmith.runtime.weights import status

    found = status(CLIP)
    if isinstance(found, WeightsNotFound):
        return "no CLIP weights found"
    return f"CLIP from {found.path} ({found.detail})"
