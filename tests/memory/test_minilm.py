"""The MiniLM encoder memory and the planner share: the OpenVINO path against
sentence-transformers itself, and its converted-model cache."""

from __future__ import annotations

import numpy as np
import pytest

from lensmith.memory import minilm
from lensmith.runtime import openvino_ir
from lensmith.runtime.weights import resolve

TEXTS = [
    "how many people are there?",
    "a",
    "is there a bus in this photo, and what does the sign on it say about the route? " * 8,  # > 256 tokens
    "Café ÜBER größe — 42 mugs",
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    model = minilm.load_minilm("cpu")
    return np.asarray(model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True))


def test_openvino_encoder_matches_sentence_transformers(reference: np.ndarray) -> None:
    encoder = minilm.OpenVINOMiniLM(minilm.Path(resolve(minilm.MINILM).path))
    ours = encoder.encode(TEXTS)
    assert ours.shape == (len(TEXTS), minilm.TEXT_DIM)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * reference).sum(axis=1)
    assert cosines.min() > 0.9999, cosines
    # batches pad: one text alone gives the same vector as in a batch with longer ones
    alone = encoder.encode([TEXTS[1]])[0]
    assert float(alone @ ours[1]) > 0.99999


def test_embed_texts_uses_openvino_on_cpu(reference: np.ndarray) -> None:
    vectors = minilm.embed_texts(TEXTS, "cpu")
    assert (vectors * reference).sum(axis=1).min() > 0.9999
    assert minilm.encoder_fingerprint("cpu").endswith(minilm._openvino_encoder().fingerprint)  # type: ignore[union-attr]
    assert minilm.embed_texts([], "cpu").shape == (0, minilm.TEXT_DIM)


def test_a_cached_conversion_is_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    path = minilm.Path(resolve(minilm.MINILM).path)
    minilm.OpenVINOMiniLM(path)  # converts unless this run's cache has it already

    def must_not_convert(path):  # type: ignore[no-untyped-def]
        raise AssertionError("converted again although the IR is cached")

    monkeypatch.setattr(minilm, "_convert", must_not_convert)
    assert minilm.OpenVINOMiniLM(path).encode(["a cat"]).shape == (1, minilm.TEXT_DIM)


def test_a_different_key_converts_again(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import openvino as ov

    monkeypatch.setenv("LENSMITH_CACHE_DIR", str(tmp_path))
    made: list[str] = []

    def tiny() -> object:
        made.append("x")
        param = ov.opset13.parameter([1, 3], np.float32, name="x")
        return ov.Model([ov.opset13.relu(param)], [param], "tiny")

    a = openvino_ir.compile_cached("tiny", "k1", tiny)
    openvino_ir.compile_cached("tiny", "k1", tiny)
    openvino_ir.compile_cached("tiny", "k2", tiny)
    assert made == ["x", "x"]
    out = a(np.array([[-1.0, 0.5, 2.0]], dtype=np.float32))[0]
    np.testing.assert_allclose(out, [[0.0, 0.5, 2.0]])
    # nothing half-written is left beside the cached models
    assert not [p for p in (tmp_path / "openvino").iterdir() if p.name.startswith(".")]


def test_fingerprint_follows_the_weights(tmp_path) -> None:
    weights = tmp_path / "w"
    weights.mkdir()
    (weights / "model.bin").write_bytes(b"1234")
    before = openvino_ir.source_fingerprint(weights)
    (weights / "model.bin").write_bytes(b"12345")
    assert openvino_ir.source_fingerprint(weights) != before


def test_what_a_conversion_warns_stays_off_the_users_screen(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import warnings

    import openvino as ov

    monkeypatch.setenv("LENSMITH_CACHE_DIR", str(tmp_path))

    def noisy() -> object:
        warnings.warn("`torch.jit.trace` is deprecated", FutureWarning, stacklevel=1)
        param = ov.opset13.parameter([1, 2], np.float32, name="x")
        return ov.Model([ov.opset13.relu(param)], [param], "noisy")

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        openvino_ir.compile_cached("noisy", "k", noisy)
    assert not [w for w in seen if "torch.jit" in str(w.message)]
