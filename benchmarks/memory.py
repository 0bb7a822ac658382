"""Memory benchmarks (not a timed test): indexing rate with the tools on, and text-search
latency over 1k / 10k / 100k stored images.

    .venv/bin/python benchmarks/memory.py [--sizes 1000 10000 100000] [--queries 200]

Indexing uses real photos (skimage.data + ultralytics' assets) with detect + read_text.
Search uses synthetic unit vectors of MiniLM's real dimension (384) in a persistent
store, and measures both the vector query alone and the query including the MiniLM
embedding of the query text.
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

# Run as a script, this file's folder comes first on sys.path and would shadow the
# `memory` package with this module.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

os.environ.setdefault("LENSMITH_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def _photos(folder: Path, *, flipped: bool = False) -> int:
    import skimage.data
    import ultralytics
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    images = {n: Image.fromarray(getattr(skimage.data, n)()) for n in
              ("astronaut", "chelsea", "coffee", "text", "page", "rocket", "clock", "camera")}
    for name in ("bus.jpg", "zidane.jpg"):
        images[name] = Image.open(Path(ultralytics.__file__).parent / "assets" / name)
    for name, img in images.items():
        if flipped:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        img.save(folder / f"{Path(name).stem}.png")
    return len(images)


def bench_indexing(tmp: Path) -> dict:
    from lensmith.agent.config import Settings
    from lensmith.agent.toolset import look_tools
    from lensmith.memory import open_memory
    from lensmith.memory.indexer import Indexer

    store = open_memory(tmp / "mem-index")
    indexer = Indexer(store, tools=look_tools(Settings()), clip=None)
    n = _photos(tmp / "photos-a")
    cold = indexer.run([tmp / "photos-a"])
    _photos(tmp / "photos-b", flipped=True)  # new bytes: a second, warm run
    warm = indexer.run([tmp / "photos-b"])
    return {"images": n, "cold_rate": cold.rate, "cold_s": cold.seconds, "warm_rate": warm.rate, "warm_s": warm.seconds}


def _fill(store, size: int, rng: np.random.Generator) -> float:  # noqa: ANN001
    from lensmith.memory.store import IMAGE_TEXTS

    started = time.perf_counter()
    have = store.collection(IMAGE_TEXTS).count() if store.collection(IMAGE_TEXTS) else 0
    labels = ["person", "cat", "dog", "car", "cup", "bus", "tree", "book"]
    for start in range(have, size, 5000):
        stop = min(size, start + 5000)
        vecs = rng.standard_normal((stop - start, 384)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        metas = [{"key": f"file:{i}", "path": f"/photos/{i}.jpg", "aspect": "labels", "searchable": True,
                  "has_text": bool(i % 3 == 0), "labels": [labels[i % 8]], "label_counts": "{}"}
                 for i in range(start, stop)]
        with store.backend.writing() as client:
            store._collection(client, IMAGE_TEXTS).add(
                ids=[f"file:{i}#labels" for i in range(start, stop)], embeddings=vecs, metadatas=metas,
                documents=[f"synthetic {i}" for i in range(start, stop)])
    return time.perf_counter() - started


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q))


def bench_search(tmp: Path, sizes: list[int], queries: int) -> list[dict]:
    from lensmith.memory import open_memory
    from lensmith.memory.search import Searcher

    rng = np.random.default_rng(0)
    store = open_memory(tmp / "mem-search")
    searcher = Searcher(store, clip=None)
    texts = [f"a photo of {w}" for w in ("a cat on a sofa", "a cup of coffee", "people at a bus stop", "a red car")]
    store.text_ef.embed(["warm up"])
    out = []
    for size in sizes:
        fill_s = _fill(store, size, rng)
        searcher.text_ranking(texts[0], None, 10)  # first touch loads the index
        vector_only, with_embed, filtered = [], [], []
        qvecs = rng.standard_normal((queries, 384)).astype(np.float32)
        qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
        col = store.collection("image_texts")
        for i in range(queries):
            t = time.perf_counter()
            col.query(query_embeddings=qvecs[i:i + 1], n_results=40, include=["metadatas", "distances"])
            vector_only.append(time.perf_counter() - t)
            t = time.perf_counter()
            searcher.text_ranking(texts[i % len(texts)], None, 10)
            with_embed.append(time.perf_counter() - t)
            t = time.perf_counter()
            searcher.text_ranking(texts[i % len(texts)], {"labels": {"$contains": "cat"}}, 10)
            filtered.append(time.perf_counter() - t)
        row = {"size": size, "fill_s": fill_s,
               "vector_p50": _pct(vector_only, 50), "vector_p95": _pct(vector_only, 95),
               "embed_p50": _pct(with_embed, 50), "embed_p95": _pct(with_embed, 95),
               "filter_p50": _pct(filtered, 50), "filter_p95": _pct(filtered, 95)}
        print(f"{size:>7} images (filled in {fill_s:.0f} s): vector query p50 {row['vector_p50']:.1f} ms "
              f"p95 {row['vector_p95']:.1f} ms | with query embedding p50 {row['embed_p50']:.1f} ms "
              f"p95 {row['embed_p95']:.1f} ms | + label filter p50 {row['filter_p50']:.1f} ms "
              f"p95 {row['filter_p95']:.1f} ms", flush=True)
        out.append(row)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-indexing", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {os.cpu_count()} CPU cores, {platform.platform()}")
    tmp = Path(tempfile.mkdtemp(prefix="lensmith-bench-"))
    os.environ["LENSMITH_HOME"] = str(tmp / "home")
    try:
        if not args.skip_indexing:
            r = bench_indexing(tmp)
            print(f"indexing {r['images']} real photos, tools on, no CLIP: first run {r['cold_rate']:.2f} images/s "
                  f"({r['cold_s']:.1f} s, includes loading YOLO/EasyOCR/MiniLM); warm run "
                  f"{r['warm_rate']:.2f} images/s ({r['warm_s']:.1f} s)", flush=True)
        bench_search(tmp, sorted(args.sizes), args.queries)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
