"""Filtered search through the label index (real Chroma, synthetic vectors) and the text
check that decides where indexing runs OCR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lensmith.memory import open_memory
from lensmith.memory.search import build_where
from lensmith.memory.store import IMAGE_TEXTS
from lensmith.memory.textcheck import check_text

LABELS = ["person", "cat", "dog", "car"]


def _fill(store, n: int) -> np.ndarray:  # noqa: ANN001
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((n, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    metas = [{"key": f"file:{i}", "path": f"/p/{i}.jpg", "aspect": "labels", "searchable": True,
              "has_text": i % 3 == 0, "labels": [LABELS[i % 4]] + (["zebra"] if i % 50 == 0 else []),
              "label_counts": "{}"} for i in range(n)]
    with store.backend.writing() as client:
        store.add_texts(client, [f"file:{i}#labels" for i in range(n)], [f"doc {i}" for i in range(n)], metas, vecs)
    return vecs


def test_label_index_matches_chroma_filters_and_follows_forgetting(tmp_path: Path) -> None:
    store = open_memory(tmp_path / "mem")
    vecs = _fill(store, 400)
    col = store.collection(IMAGE_TEXTS)
    for labels, has_text in ((["cat"], None), (["zebra"], True), (["Cat "], False), ([], True)):
        ours = store.filter_ids(labels, has_text)
        theirs = col.get(where=build_where(labels, has_text), include=[])["ids"]
        assert ours is not None and sorted(ours) == sorted(theirs) and ours
    assert store.filter_ids([], None) is None  # no filter: Chroma's plain query

    # the exact ranking of a small allowed set is Chroma's ranking of the same set
    q = vecs[7:8] + 0.1 * vecs[8:9]
    index = store.synced_label_index()
    assert index is not None
    ranked, dists = index.nearest(q, 10, ["cat"])
    res = col.query(query_embeddings=q, n_results=10, where={"labels": {"$contains": "cat"}}, include=["distances"])
    assert ranked == res["ids"][0]
    assert np.allclose(dists, res["distances"][0], atol=1e-4)

    store.forget_images(["file:1", "file:5"])
    assert "file:1#labels" not in store.filter_ids(["cat"], None)
    # a label index out of step with Chroma (here: deleted) is rebuilt from Chroma's metadata
    (tmp_path / "mem" / "labels.sqlite3").unlink()
    assert sorted(store.filter_ids(["cat"], None)) == sorted(col.get(where={"labels": {"$contains": "cat"}}, include=[])["ids"])
    store.forget_all()
    assert store.filter_ids(["cat"], None) == []


def _canvas(words: str | None, size: int = 28) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(3)
    img = cv2.GaussianBlur(rng.integers(60, 200, (300, 480, 3)).astype(np.uint8), (0, 0), 6)
    if words:
        cv2.putText(img, words, (20, 150), cv2.FONT_HERSHEY_SIMPLEX, size / 30, (255, 255, 255), 2)
    return img


@pytest.mark.parametrize("size", [16, 24, 40])
def test_text_check_sees_printed_words(size: int) -> None:
    assert check_text(_canvas("OPEN 24 HOURS", size)).maybe
    assert check_text(_canvas("Platform 3 exit", size)[..., ::-1].copy()).maybe


def test_text_check_skips_smooth_pictures_and_reads_a_real_page() -> None:
    import skimage.data

    assert not check_text(_canvas(None)).maybe
    assert not check_text(np.zeros((64, 64, 3), np.uint8)).maybe
    assert check_text(np.stack([skimage.data.page()] * 3, axis=-1)).maybe
    assert "OCR skipped" in check_text(_canvas(None)).note
