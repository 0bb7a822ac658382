"""Filtered search (`lensmith search "…" --label X`, `--has-text`) at 100k stored entries,
against Chroma's own filtered query on the same store in the same run.

    .venv/bin/python benchmarks/search.py [--size 100000] [--queries 100] [--store-dir DIR]

The store: ``size`` entries in an embedded (persistent) store with synthetic unit vectors of
MiniLM's dimension (384) and the index's metadata layout; labels cycle over 8 classes
(12.5% each), 1% also carry ``umbrella`` and 0.1% ``zebra``; a third have text. It is
filled once in bulk and kept in ``--store-dir`` (default: a folder per size in the temp
directory) for the next run. Timed, interleaved, per filter and query:

- bare: Chroma's ``query`` with its ``where`` (``labels $contains X``, ``has_text``) and a
  precomputed query vector, top 40 with metadata (what search did before the label index);
- lensmith, vector query: ``Searcher.nearest_texts`` with the same precomputed vector and
  filter (label index: post-filtered HNSW query or exact ranking), top 40 with metadata —
  the like-for-like comparison with bare;
- lensmith, end to end: ``Searcher.by_text(text, labels=…, has_text=…)``, the MiniLM
  embedding of the query text included;
- reference: the unfiltered Chroma query, and the MiniLM embedding alone.

Recall@40 of both filtered rankings against brute-force exact filtered ranking over the
same vectors is printed too (the data are regenerated from the fill's seed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

os.environ.setdefault("LENSMITH_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

LABELS = ["person", "cat", "dog", "car", "cup", "bus", "tree", "book"]
K = 40  # what by_text asks of the vector query for --limit 10 (n * 3 + 10)
SEED = 0
# (name, share of entries, labels, has_text)
FILTERS = [
    ("--label cat", "12.5%", ["cat"], None),
    ("--has-text", "33%", [], True),
    ("--label cat --has-text", "4.2%", ["cat"], True),
    ("--label umbrella", "1%", ["umbrella"], None),
    ("--label zebra", "0.1%", ["zebra"], None),
]


def labels_of(i: int) -> list[str]:
    return [LABELS[i % 8]] + (["umbrella"] if i % 100 == 7 else []) + (["zebra"] if i % 1000 == 0 else [])


def batches(size: int, batch: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """The synthetic vectors, batch by batch, the same on every call."""
    rng = np.random.default_rng(SEED)
    for start in range(0, size, batch):
        stop = min(size, start + batch)
        vecs = rng.standard_normal((stop - start, 384)).astype(np.float32)
        yield start, stop, vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def fill(store, size: int) -> float:  # noqa: ANN001
    started = time.perf_counter()
    with store.backend.writing() as client:
        batch = int(client.get_max_batch_size())
    for start, stop, vecs in batches(size, batch):
        metas = [{"key": f"file:{i}", "path": f"/photos/{i}.jpg", "aspect": "labels", "searchable": True,
                  "has_text": i % 3 == 0, "labels": labels_of(i), "label_counts": "{}"} for i in range(start, stop)]
        with store.backend.writing() as client:
            store.add_texts(client, [f"file:{i}#labels" for i in range(start, stop)],
                            [f"A photo containing {', '.join(labels_of(i))}." for i in range(start, stop)], metas, vecs)
    return time.perf_counter() - started


def passing(size: int, labels: list[str], has_text: bool | None) -> np.ndarray:
    """Positions of the entries passing the filter, from the fill's own rules."""
    ok = np.ones(size, dtype=bool)
    for label in labels:
        ok &= np.array([label in labels_of(i) for i in range(size)])
    if has_text is not None:
        ok &= (np.arange(size) % 3 == 0) == has_text
    return np.flatnonzero(ok)


def exact_top(vectors: np.ndarray, allowed: np.ndarray, q: np.ndarray) -> list[str]:
    sims = vectors[allowed] @ q
    return [f"file:{i}#labels" for i in allowed[np.argsort(-sims, kind="stable")[:K]]]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--store-dir", type=Path, default=None,
                        help="where the filled store is kept between runs (default: a folder in the temp directory)")
    args = parser.parse_args()
    root = args.store_dir or Path(tempfile.gettempdir()) / f"lensmith-bench-search-{args.size}"
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}; "
          f"load average at start {os.getloadavg()[0]:.2f}", flush=True)
    os.environ["LENSMITH_HOME"] = str(root / "home")
    from lensmith.memory import open_memory
    from lensmith.memory.search import Searcher, build_where
    from lensmith.memory.store import IMAGE_TEXTS

    marker = root / "filled.json"
    wanted = {"size": args.size, "seed": SEED, "layout": 2}
    if not marker.exists() or json.loads(marker.read_text()) != wanted:
        if (root / "mem").exists():
            sys.exit(f"{root} holds another fill: remove it or pass another --store-dir")
        store = open_memory(root / "mem")
        print(f"filled {args.size:,} entries in {fill(store, args.size):.0f} s into {root}", flush=True)
        marker.write_text(json.dumps(wanted))
    else:
        store = open_memory(root / "mem")
        print(f"reusing the {args.size:,}-entry store in {root}", flush=True)
    searcher = Searcher(store, clip=None)
    col = store.collection(IMAGE_TEXTS)
    assert col is not None
    started = time.perf_counter()
    store.synced_label_index()  # a label index from an older layout is rebuilt here, once
    print(f"label index in step after {time.perf_counter() - started:.1f} s", flush=True)
    texts = ["a cat on a sofa", "a cup of coffee", "people at a bus stop", "a red car"]
    store.text_ef.embed(["warm up"])
    rng = np.random.default_rng(1)
    qvecs = rng.standard_normal((args.queries, 384)).astype(np.float32)
    qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
    for _, _, labels, has_text in FILTERS:  # first touch loads the HNSW index and the label files
        searcher.by_text(texts[0], labels=labels, has_text=has_text)

    times: dict[str, list[float]] = {}
    found: dict[str, list[list[str]]] = {}

    def timed(name: str, fn: Callable[[], object]) -> object:
        t = time.perf_counter()
        out = fn()
        times.setdefault(name, []).append(time.perf_counter() - t)
        return out

    for i in range(args.queries):
        text, q = texts[i % len(texts)], qvecs[i:i + 1]
        for name, _, labels, has_text in FILTERS:
            where = build_where(labels, has_text)
            res = timed(f"bare {name}", lambda: col.query(query_embeddings=q, n_results=K, where=where,  # noqa: B023
                                                          include=["metadatas", "distances"]))
            found.setdefault(f"bare {name}", []).append(res["ids"][0])  # type: ignore[index]
            ranked = timed(f"vector {name}", lambda: searcher.nearest_texts(
                col, q, K, labels=labels, has_text=has_text))  # noqa: B023
            found.setdefault(f"vector {name}", []).append([m["key"] + "#labels" for m in ranked[0]])  # type: ignore[index]
            timed(f"end to end {name}", lambda: searcher.by_text(text, labels=labels, has_text=has_text))  # noqa: B023
        res = timed("reference: Chroma query, no filter",
                    lambda: col.query(query_embeddings=q, n_results=K, include=["metadatas", "distances"]))  # noqa: B023
        found.setdefault("unfiltered", []).append(res["ids"][0])  # type: ignore[index]
        timed("reference: MiniLM embedding of the query", lambda: store.text_ef.embed([text]))  # noqa: B023
    load_end = os.getloadavg()[0]

    print("checking recall against exact filtered ranking ...", flush=True)
    vectors = np.concatenate([v for _, _, v in batches(args.size, 5000)])
    recall: dict[str, float] = {}
    for name, _, labels, has_text in FILTERS:
        allowed = passing(args.size, labels, has_text)
        truth = [exact_top(vectors, allowed, qvecs[i]) for i in range(args.queries)]
        for who in ("bare", "vector"):
            got = found[f"{who} {name}"]
            recall[f"{who} {name}"] = float(np.mean([len(set(g) & set(t)) / max(1, len(t)) for g, t in zip(got, truth, strict=True)]))

    everything = np.arange(args.size)
    recall["unfiltered"] = float(np.mean([len(set(g) & set(exact_top(vectors, everything, qvecs[i]))) / K
                                          for i, g in enumerate(found["unfiltered"])]))
    print(f"\n{args.size:,} entries, {args.queries} queries, top {K} (ms):")
    print(f"  {'filter':<26} {'share':>6}  {'bare p50/p95':>15}  {'vector p50/p95':>15}  {'e2e p50/p95':>15}  "
          f"{'vec/bare p95':>12}  recall@{K} bare/vector")
    for name, share, _, _ in FILTERS:
        b, v, e = times[f"bare {name}"], times[f"vector {name}"], times[f"end to end {name}"]
        print(f"  {name:<26} {share:>6}  {pct(b, 50):6.1f} /{pct(b, 95):7.1f}  {pct(v, 50):6.1f} /{pct(v, 95):7.1f}  "
              f"{pct(e, 50):6.1f} /{pct(e, 95):7.1f}  {pct(v, 95) / pct(b, 95):11.2f}×  "
              f"{recall[f'bare {name}']:.3f} / {recall[f'vector {name}']:.3f}")
    for name in ("reference: Chroma query, no filter", "reference: MiniLM embedding of the query"):
        print(f"  {name:<44} p50 {pct(times[name], 50):6.1f}  p95 {pct(times[name], 95):6.1f}")
    print(f"  recall@{K} of Chroma's unfiltered HNSW query on these vectors: {recall['unfiltered']:.3f}")
    print(f"load average at end of the timed loop {load_end:.2f}")


if __name__ == "__main__":
    main()
