"""Explicit Chroma embedding functions: Chroma's default would download an ONNX model.

- :class:`MiniLMEmbedding`: sentence-transformers all-MiniLM-L6-v2 (384-d, see
  :mod:`lensmith.memory.minilm`), for turns, facts and what the tools saw in each image.
- :class:`ClipEmbedding`: the shared open_clip model from :mod:`tools.clip`, for the
  ``images`` collection (text queries and images into one space).

Both are registered with Chroma, so a collection's stored configuration names them and a
client that reopens the store rebuilds the same function.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from chromadb.api.types import Documents, Embeddable, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from lensmith.memory.minilm import MINILM, TEXT_DIM, embed_texts, load_minilm
from lensmith.tools.clip import ClipModel, load_clip

log = logging.getLogger("lensmith.memory")


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2, L2-normalised (cosine space)."""

    def __init__(self, device: str | None = None) -> None:
        self.device = device

    def embed(self, texts: list[str]) -> np.ndarray:
        return embed_texts(list(texts), self.device)

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
