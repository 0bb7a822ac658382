"""The label index's filtered nearest-neighbour search against brute force, and its vector
file staying in step through replacing, forgetting, compaction, torn writes and rebuilds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lensmith.memory.labelindex as labelindex
import lensmith.memory.search as search
from lensmith.memory import open_memory
from lensmith.memory.labelindex import LabelIndex
from lensmith.memory.search import Searcher
from lensmith.memory.store import IMAGE_TEXTS

LABELS = ["person", "cat", "dog", "car", "cup", "bus", "tree", "book"]
N, K = 2400, 40
CLUSTERS = 60
SMALL = 120  # EXACT_MAX scaled to this store: larger filters take the post-filter plan


def _labels(i: int) -> list[str]:
    return [LABELS[i % 8]] + (["zebra"] if i % 200 == 3 else []) + (["sofa"] if i % 16 == 1 else [])


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    rng = np.random.default_rng(0)
    # clustered like sentence embeddings of what photos show (uniform random vectors in 384
    # dimensions are the worst case for HNSW: Chroma's own unfiltered recall there is ~0.1)
    centres = rng.standard_normal((CLUSTERS, 384)).astype(np.float32)
    vecs = centres[rng.integers(0, CLUSTERS, N)] + 0.8 * rng.standard_normal((N, 384)).astype(np.float32)
    # every "car" entry points away from AWAY: the unfiltered neighbours of AWAY hold almost no car
    away = rng.standard_normal(384).astype(np.float32)
    away /= np.linalg.norm(away)
    for i in range(3, N, 8):
        vecs[i] -= 2 * max(0.0, float(vecs[i] @ away)) * away
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    store = open_memory(tmp_path_factory.mktemp("labels") / "mem")
    metas = [{"key": f"file:{i}", "path": f"/p/{i}.jpg", "aspect": "labels", "searchable": True,
              "has_text": i % 3 == 0, "labels": _labels(i), "label_counts": "{}"} for i in range(N)]
    with store.backend.writing() as client:
        store.add_texts(client, [f"file:{i}#labels" for i in range(N)], [f"doc {i}" for i in range(N)], metas, vecs)
    return store, vecs, away


def _exact(vecs: np.ndarray, q: np.ndarray, labels: list[str], has_text: bool | None) -> tuple[list[str], np.ndarray]:
    allowed = np.array([i for i in range(N) if all(x in _labels(i) for x in labels)
                        and (has_text is None or (i % 3 == 0) == has_text)], dtype=np.int64)
    if not len(allowed):
        return [], np.zeros(0)
    sims = vecs[allowed] @ q
    order = np.argsort(-sims, kind="stable")[:K]
    return [f"file:{i}#labels" for i in allowed[order]], 1.0 - sims[order]


def _spy(index: LabelIndex, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Records each call of the index's exact ranking."""
    calls: list[tuple] = []
    real = index.nearest

    def nearest(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(index, "nearest", nearest)
    return calls


@pytest.mark.parametrize(("labels", "has_text", "path"), [
    (["cat"], None, "post-filter"),            # 12.5% (300): 640 unfiltered neighbours, ~80 pass
    ([], True, "post-filter"),                 # 33%
    (["zebra"], None, "exact"),                # 0.5%: 12 entries
    (["cat", "sofa"], None, "exact"),          # two labels, 6.25%: 150, but 10,240 neighbours needed
    (["dog"], True, "exact"),                  # label and text: 4.2%, 100
    (["dog"], False, "post-filter"),           # label and no text: 8.3%, 200
    (["unicorn"], None, "empty"),              # a label nobody carries
    (["cat", "dog"], None, "empty"),           # two labels never together
])
def test_filtered_ranking_matches_brute_force(filled, labels: list[str], has_text: bool | None, path: str,  # noqa: ANN001
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    store, vecs, _ = filled
    monkeypatch.setattr(search, "EXACT_MAX", SMALL)
    searcher = Searcher(store, clip=None)
    col = store.collection(IMAGE_TEXTS)
    index = store.synced_label_index()
    exact_calls = _spy(index, monkeypatch)
    rng = np.random.default_rng(5)
    recalls = []
    for _ in range(12):  # queries near the data, as a text query is near the photos it describes
        q = vecs[rng.integers(0, N)] + 0.5 * rng.standard_normal(384).astype(np.float32) / np.sqrt(384)
        q /= np.linalg.norm(q)
        metas, dists = searcher.nearest_texts(col, q[None, :], K, labels=labels, has_text=has_text)
        got = [m["key"] + "#labels" for m in metas]
        truth, truth_dists = _exact(vecs, q, labels, has_text)
        assert len(got) == len(truth) == len(set(got))
        assert all(all(x in m["labels"] for x in labels) for m in metas)
        assert has_text is None or all(m["has_text"] == has_text for m in metas)
        assert dists == sorted(dists)
        if path == "exact":
            assert got == truth and np.allclose(dists, truth_dists, atol=1e-5)
        recalls.append(len(set(got) & set(truth)) / len(truth) if truth else 1.0)
    assert np.mean(recalls) >= 0.97, recalls
    if path != "empty":
        assert bool(exact_calls) == (path == "exact")


def test_a_filter_the_query_points_away_from_falls_back_to_exact_ranking(filled, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    store, vecs, away = filled
    monkeypatch.setattr(search, "EXACT_MAX", SMALL)
    index = store.synced_label_index()
    exact_calls = _spy(index, monkeypatch)
    metas, dists = Searcher(store, clip=None).nearest_texts(store.collection(IMAGE_TEXTS), away[None, :], K, labels=["car"])
    truth, truth_dists = _exact(vecs, away, ["car"], None)
    assert exact_calls  # the 640 nearest held fewer than 40 cars
    assert [m["key"] + "#labels" for m in metas] == truth and np.allclose(dists, truth_dists, atol=1e-5)


def _rows(n: int, start: int, dim: int = 8) -> tuple[list[tuple[str, dict]], np.ndarray]:
    rng = np.random.default_rng(start)
    return ([(f"e{i}", {"labels": ["odd" if i % 2 else "even"], "has_text": i % 3 == 0}) for i in range(start, start + n)],
            rng.standard_normal((n, dim)).astype(np.float32))


def test_replacing_and_forgetting_keep_vectors_in_step_and_compaction_bounds_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(labelindex, "COMPACT_SLACK", 0)
    index = LabelIndex(tmp_path)
    metas, vecs = _rows(50, 0)
    index.add(metas, vecs)
    current = {m[0]: v / np.linalg.norm(v) for m, v in zip(metas, vecs, strict=True)}
    for round_ in range(4):  # rewrite the odd entries with new vectors: the old rows go stale
        _, odd_vecs = _rows(25, 100 + round_)
        odd_metas = [(f"e{i}", {"labels": ["odd"], "has_text": i % 3 == 0}) for i in range(1, 50, 2)]
        index.add(odd_metas, odd_vecs)
        current.update({i: v / np.linalg.norm(v) for (i, _), v in zip(odd_metas, odd_vecs, strict=True)})
    index.remove([f"e{i}" for i in range(0, 10)])
    for i in range(10):
        current.pop(f"e{i}")
    files = list(tmp_path.glob("labels.*.f32"))
    assert len(files) == 1 and files[0].stat().st_size <= 2 * 4 * 8 * len(current)  # compacted, old files gone
    assert index.in_step(len(current))
    q = np.random.default_rng(9).standard_normal(8).astype(np.float32)
    ids, dists = index.nearest(q, 7)
    want = sorted(current, key=lambda i: -float(current[i] @ q / np.linalg.norm(q)))[:7]
    assert ids == want
    assert np.allclose(dists, [1 - float(current[i] @ q / np.linalg.norm(q)) for i in want], atol=1e-6)
    assert index.ids(["odd"]) == sorted((i for i in current if int(i[1:]) % 2), key=lambda i: int(i[1:]))
    assert index.passing(list(current), ["even"], True) == {i for i in current if int(i[1:]) % 6 == 0}


def test_a_torn_vector_write_is_overwritten_and_a_lost_vector_file_is_noticed(tmp_path: Path) -> None:
    index = LabelIndex(tmp_path)
    metas, vecs = _rows(6, 0)
    index.add(metas, vecs)
    (vector_file,) = tmp_path.glob("labels.*.f32")
    with open(vector_file, "ab") as fh:  # a writer died half-way through a row, before its SQLite commit
        fh.write(b"\x00" * 13)
    more, more_vecs = _rows(2, 50)
    index.add(more, more_vecs)
    assert index.in_step(8)
    ids, _ = index.nearest(more_vecs[1], 1)
    assert ids == ["e51"]
    vector_file.unlink()
    assert not index.in_step(8)


def test_an_index_without_vectors_is_rebuilt_from_chroma(tmp_path: Path) -> None:
    import sqlite3

    store = open_memory(tmp_path / "mem")
    rng = np.random.default_rng(2)
    vecs = rng.standard_normal((30, 384)).astype(np.float32)
    metas = [{"key": f"file:{i}", "path": f"/p/{i}.jpg", "aspect": "labels", "searchable": True,
              "has_text": False, "labels": ["cat" if i % 2 else "dog"], "label_counts": "{}"} for i in range(30)]
    with store.backend.writing() as client:
        store.add_texts(client, [f"file:{i}#labels" for i in range(30)], ["d"] * 30, metas, vecs)
    index = store.synced_label_index()
    assert index is not None
    for f in (tmp_path / "mem").glob("labels.*"):
        f.unlink()
    with sqlite3.connect(index.path) as db:  # the layout of lensmith before vectors were kept
        db.executescript("CREATE TABLE entries (id TEXT PRIMARY KEY, key TEXT NOT NULL, has_text INTEGER NOT NULL);"
                         "INSERT INTO entries VALUES ('file:1#labels', 'file:1', 0);")
    assert store.synced_label_index() is index and index.in_step(30)
    q = vecs[5] + 0.05 * vecs[7]
    ids, _ = index.nearest(q, 3, ["cat"])
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    assert ids == [f"file:{i}#labels" for i in sorted(range(1, 30, 2), key=lambda i: -float(unit[i] @ q))[:3]]


def test_remembered_counts_and_positions_follow_every_write(tmp_path: Path) -> None:
    index, other = LabelIndex(tmp_path), LabelIndex(tmp_path)  # `other`: another process's view
    metas, vecs = _rows(20, 0)
    index.add(metas, vecs)
    q = vecs[4]
    assert index.nearest(q, 1, ["even"]) == (["e4"], [pytest.approx(0.0, abs=1e-6)])
    assert index.share(["even"]) == (20, 0.5)
    other.remove(["e4"])  # straight away, as put_images replaces an entry
    other.add([("e99", {"labels": ["even"], "has_text": False})], q[None, :])
    assert index.nearest(q, 1, ["even"])[0] == ["e99"]
    assert index.share(["even"]) == (20, 0.5)
    other.remove(["e99"])
    assert index.share(["even"]) == (19, 9 / 19)
    assert "e99" not in index.nearest(q, 20, ["even"])[0]
