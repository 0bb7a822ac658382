"""Filtered search (`lensmith search "…" --label X`) at 100k photos, against Chroma's own
filtered query on the same store in the same run.

    .venv/bin/python benchmarks/search.py [--size 100000] [--queries 100]

The store: ``size`` entries in an embedded (persistent) store with synthetic unit vectors of
MiniLM's dimension (384) and the index's metadata layout; labels cycle over 8 classes
(12.5% each) and 0.1% also carry a rare one. Timed, alternating, per query:

- bare: Chroma's ``query`` with ``where={"labels": {"$contains": X}}`` and a precomputed query
  vector (what search did before: Chroma filters by scanning its metadata);
- lensmith: ``Searcher.by_text(text, labels=[X])`` end to end, MiniLM embedding of the query
  text included (allowed ids from the label index, then Chroma's ``query(ids=…)``, or an
  exact ranking here for a small set);
- lensmith, same filter with the bare run's precomputed vector (label index lookup +
  Chroma ``query(ids=…)`` or the exact ranking): the like-for-like comparison with bare;
- reference: the unfiltered Chroma query, and the MiniLM embedding alone.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

os.environ.setdefault("LENSMITH_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

LABELS = ["person", "cat", "dog", "car", "cup", "bus", "tree", "book"]
RARE = "zebra"


def fill(store, size: int) -> float:  # noqa: ANN001
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    for start in range(0, size, 5000):
        stop = min(size, start + 5000)
        vecs = rng.standard_normal((stop - start, 384)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        metas = []
        for i in range(start, stop):
            labels = [LABELS[i % 8]] + ([RARE] if i % 1000 == 0 else [])
            metas.append({"key": f"file:{i}", "path": f"/photos/{i}.jpg", "aspect": "labels", "searchable": True,
                          "has_text": bool(i % 3 == 0), "labels": labels, "label_counts": "{}"})
        with store.backend.writing() as client:
            store.add_texts(client, [f"file:{i}#labels" for i in range(start, stop)],
                            [f"A photo containing {LABELS[i % 8]}." for i in range(start, stop)], metas, vecs)
    return time.perf_counter() - started


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}; "
          f"load average at start {os.getloadavg()[0]:.2f}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="lensmith-bench-search-"))
    os.environ["LENSMITH_HOME"] = str(tmp / "home")
    try:
        from lensmith.memory import open_memory
        from lensmith.memory.search import Searcher, _rank_among
        from lensmith.memory.store import IMAGE_TEXTS

        store = open_memory(tmp / "mem")
        print(f"filled {args.size:,} entries in {fill(store, args.size):.0f} s", flush=True)
        searcher = Searcher(store, clip=None)
        col = store.collection(IMAGE_TEXTS)
        texts = ["a cat on a sofa", "a cup of coffee", "people at a bus stop", "a red car"]
        store.text_ef.embed(["warm up"])
        for label in ("cat", RARE):  # first touch loads the index and the label lookup
            searcher.by_text(texts[0], labels=[label])
            col.query(query_embeddings=store.text_ef.embed(["x"]), n_results=10, where={"labels": {"$contains": label}})
        rng = np.random.default_rng(1)
        qvecs = rng.standard_normal((args.queries, 384)).astype(np.float32)
        qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
        times: dict[str, list[float]] = {}

        def timed(name: str, fn) -> None:  # noqa: ANN001
            t = time.perf_counter()
            fn()
            times.setdefault(name, []).append(time.perf_counter() - t)

        for i in range(args.queries):
            text, q = texts[i % len(texts)], qvecs[i:i + 1]
            for label, share in (("cat", "12.5%"), (RARE, "0.1%")):
                timed(f"bare: Chroma where $contains {label} ({share})",
                      lambda: col.query(query_embeddings=q, n_results=40, where={"labels": {"$contains": label}},  # noqa: B023
                                        include=["metadatas", "distances"]))
                timed(f"lensmith: by_text --label {label} ({share})",
                      lambda: searcher.by_text(text, labels=[label]))  # noqa: B023
                timed(f"lensmith: same, precomputed vector ({share})",
                      lambda: _rank_among(col, q, store.filter_ids([label], None), 40))  # noqa: B023
            timed("reference: Chroma query, no filter", lambda: col.query(query_embeddings=q, n_results=40,  # noqa: B023
                                                                          include=["metadatas", "distances"]))
            timed("reference: MiniLM embedding of the query", lambda: store.text_ef.embed([text]))  # noqa: B023
        print(f"\n{args.size:,} entries, {args.queries} queries (ms):")
        for name, values in times.items():
            print(f"  {name:<48} p50 {pct(values, 50):7.1f}  p95 {pct(values, 95):7.1f}")
        for label in ("cat", RARE):
            bare = times[f"bare: Chroma where $contains {label} ({'12.5%' if label == 'cat' else '0.1%'})"]
            ours = times[f"lensmith: by_text --label {label} ({'12.5%' if label == 'cat' else '0.1%'})"]
            same = times[f"lensmith: same, precomputed vector ({'12.5%' if label == 'cat' else '0.1%'})"]
            print(f"  --label {label}: p95 vs bare: end to end {pct(ours, 95) / pct(bare, 95):.2f}×, "
                  f"same precomputed vector {pct(same, 95) / pct(bare, 95):.2f}×")
        print(f"load average at end {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
