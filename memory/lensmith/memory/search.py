"""Searching the image index: text → images, image → images, filters, and fusing rankings.

Two rankings can exist for a query: MiniLM over what the tools saw (``image_texts``, always)
and CLIP over the pixels (``images``, when a CLIP is found). When both rank something they
are fused by reciprocal rank fusion (Cormack et al., 2009): each image scores
``Σ 1 / (k + rank)`` over the rankings it appears in, which needs no score calibration
between two unrelated similarity scales.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lensmith.memory.indexer import ToolRunner
from lensmith.memory.labelindex import LabelIndex
from lensmith.memory.store import (
    IMAGE_TEXTS,
    IMAGES,
    MemoryStore,
    Seen,
    file_sha256,
    filter_labels,
    image_key,
)
from lensmith.tools.clip import ClipModel

log = logging.getLogger("lensmith.memory")

RRF_K = 60
# How a filtered search is answered (see filtered_nearest). Measured at 100k on the loaded
# 2-core machine (load ~6): exact ranking of a 12.5% label's 12,500 vectors ~15-18 ms, of a
# third of the entries ~50-65 ms; Chroma's unfiltered query for 240 neighbours ~6-12 ms,
# for 640 ~14-22 ms.
EXACT_MAX = 16_000  # filters passing at most this many entries are ranked exactly
POST_FILTER_MAX = 1000  # else, when k / share × margin neighbours fit in this, post-filtered
POST_FILTER_MARGIN = 2.0


@dataclass
class Hit:
    key: str
    path: str
    score: float
    why: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def image_id(self) -> str | None:
        return self.meta.get("image_id")


@dataclass
class SearchResult:
    hits: list[Hit]
    method: str  # "minilm-text", "clip", "rrf(minilm-text+clip)", "filter"
    note: str = ""  # said to the user: fusion, fallbacks, why CLIP was not used
    method_kind: str = "model"  # "fallback" when image→image ran on the tools' words


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion of ranked id lists (best first) → fused score per id."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return scores


def build_where(labels: Sequence[str] | None = None, has_text: bool | None = None) -> dict | None:
    clauses: list[dict] = [{"labels": {"$contains": label}} for label in filter_labels(labels)]
    if has_text is not None:
        clauses.append({"has_text": has_text})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _why_aspect(aspect: str, meta: dict) -> str:
    if aspect == "labels":
        counts = json.loads(meta.get("label_counts") or "{}")
        return "labels: " + ", ".join(f"{k} ×{v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    if aspect == "text":
        text = meta.get("text", "")
        return f"text read from it (untrusted data): {json.dumps(text[:60] + ('…' if len(text) > 60 else ''))}"
    caption = meta.get("caption", "")
    return f"caption: '{caption[:60]}{'…' if len(caption) > 60 else ''}'"


def _filter_why(meta: dict, labels: Sequence[str] | None, has_text: bool | None) -> str:
    parts = []
    counts = json.loads(meta.get("label_counts") or "{}")
    for label in labels or []:
        parts.append(f"label {label} ×{counts.get(label.strip().lower(), 0)}")
    if has_text:
        text = meta.get("text", "")
        parts.append(f"text read from it (untrusted data): {json.dumps(text[:50] + ('…' if len(text) > 50 else ''))}")
    return "; ".join(parts) or "indexed image"


class Searcher:
    def __init__(self, store: MemoryStore, clip: ClipModel | None | bool = True) -> None:
        """``clip``: a model, None/False for no CLIP, True to use the store's (if found)."""
        self.store = store
        self._clip_arg = clip

    def clip(self) -> ClipModel | None:
        if self._clip_arg is True:
            return self.store.clip()
        return self._clip_arg or None

    # ---- the two rankings ------------------------------------------------------------
    def text_ranking(self, query: str, where: dict | None, n: int, *, labels: Sequence[str] | None = None,
                     has_text: bool | None = None) -> list[Hit]:
        """The best ``n`` images for ``query`` among the entries passing ``labels``/``has_text``
        (through the label index where the store keeps one), else Chroma's ``where``."""
        col = self.store.collection(IMAGE_TEXTS)
        if col is None:
            return []
        metas, dists = self.nearest_texts(col, self.store.text_ef.embed([query]), n * 3 + 10,
                                          labels=labels, has_text=has_text, where=where)
        best: dict[str, Hit] = {}
        for meta, dist in zip(metas, dists, strict=True):
            # Unsearchable placeholders ("Not analysed.") are dropped here rather than by a `where`:
            # a where clause makes Chroma pre-filter through SQLite, ~10x slower at 100k entries.
            if not meta.get("searchable", True):
                continue
            score = 1.0 - float(dist)
            key = meta["key"]
            if key not in best or score > best[key].score:
                best[key] = Hit(key=key, path=meta["path"], score=score, why=_why_aspect(meta["aspect"], meta), meta=meta)
        return sorted(best.values(), key=lambda h: -h.score)[:n]

    def nearest_texts(self, col: Any, qvec: np.ndarray, k: int, *, labels: Sequence[str] | None = None,
                      has_text: bool | None = None, where: dict | None = None) -> tuple[list[dict], list[float]]:
        """The ``k`` ``image_texts`` entries nearest the query vector ``qvec`` (1, dim) that pass
        the filter: (metadatas, cosine distances), best first."""
        wanted = filter_labels(labels)
        filtered = bool(wanted) or has_text is not None
        index = self.store.synced_label_index() if filtered else None
        if index is None:
            total = col.count()
            if not total:
                return [], []
            res = col.query(query_embeddings=qvec, n_results=min(total, k),
                            where=build_where(wanted, has_text) if filtered else where, include=["metadatas", "distances"])
            return res["metadatas"][0], res["distances"][0]
        ids, dists = filtered_nearest(col, index, qvec, k, wanted, has_text)
        if not ids:
            return [], []
        got = col.get(ids=ids, include=["metadatas"])
        by_id = dict(zip(got["ids"], got["metadatas"], strict=True))
        kept = [(by_id[i], d) for i, d in zip(ids, dists, strict=True) if i in by_id]
        return [m for m, _ in kept], [d for _, d in kept]

    def clip_ranking(self, vector: np.ndarray, where: dict | None, n: int) -> list[Hit]:
        col = self.store.collection(IMAGES)
        if col is None:
            return []
        total = col.count()
        if not total:
            return []
        res = col.query(query_embeddings=np.asarray(vector, dtype=np.float32)[None, :], n_results=min(total, n),
                        where=where, include=["metadatas", "distances"])
        return [Hit(key=i, path=m["path"], score=1.0 - float(d), why="CLIP similarity", meta=m)
                for i, m, d in zip(res["ids"][0], res["metadatas"][0], res["distances"][0], strict=True)]

    def _usable_clip(self) -> tuple[ClipModel | None, str]:
        clip = self.clip()
        if clip is None:
            return None, "no CLIP model found, so ranked by what the tools saw (labels, text, captions)"
        indexed_with = self.store.images_clip_model()
        if indexed_with is None:
            return None, "no CLIP image embeddings in the index yet (run `lensmith index` with a CLIP installed)"
        if indexed_with != clip.name:
            return None, f"the index holds CLIP embeddings from {indexed_with}, not {clip.name}: re-run `lensmith index`"
        return clip, ""

    @staticmethod
    def _fuse(text_hits: list[Hit], clip_hits: list[Hit], limit: int) -> list[Hit]:
        fused = rrf([[h.key for h in text_hits], [h.key for h in clip_hits]])
        by_key: dict[str, Hit] = {}
        for h in clip_hits:
            by_key[h.key] = Hit(h.key, h.path, 0.0, h.why, h.meta)
        for h in text_hits:
            if h.key in by_key:
                by_key[h.key].why = f"{h.why} + CLIP similarity"
            else:
                by_key[h.key] = Hit(h.key, h.path, 0.0, h.why, h.meta)
        for key, hit in by_key.items():
            hit.score = round(fused[key], 5)
        return sorted(by_key.values(), key=lambda h: -h.score)[:limit]

    # ---- queries ---------------------------------------------------------------------
    def by_text(self, query: str, *, labels: Sequence[str] | None = None, has_text: bool | None = None,
                limit: int = 10) -> SearchResult:
        where = build_where(labels, has_text)
        text_hits = self.text_ranking(query, None, limit, labels=labels, has_text=has_text)
        clip, why_not = self._usable_clip()
        clip_hits = self.clip_ranking(clip.embed_texts([query])[0], where, limit) if clip is not None else []
        if text_hits and clip_hits:
            note = "fused the text-match and CLIP rankings by reciprocal rank fusion"
            if clip is not None and clip.random_init:
                note += " (CLIP is randomly initialised: a test model, not a measurement)"
            return SearchResult(self._fuse(text_hits, clip_hits, limit), "rrf(minilm-text+clip)", note)
        if clip_hits:
            return SearchResult(clip_hits[:limit], "clip", "CLIP similarity only (no tool text indexed)")
        return SearchResult(text_hits, "minilm-text", why_not)

    def by_image(self, image_path: str, *, labels: Sequence[str] | None = None, has_text: bool | None = None,
                 limit: int = 10, look: ToolRunner | None = None) -> SearchResult:
        """Photos like ``image_path``: by CLIP when there is one; otherwise by what the
        look-tools see in it (``look``, handed in by the caller so that the calls are its
        own), or by what the index already saw in that same file."""
        from PIL import Image

        where = build_where(labels, has_text)
        clip, why_not = self._usable_clip()
        if clip is not None:
            with Image.open(image_path) as im:
                vector = clip.embed_images([im.convert("RGB")])[0]
            note = "CLIP image similarity" + (" (randomly initialised test CLIP)" if clip.random_init else "")
            return SearchResult(self.clip_ranking(vector, where, limit), "clip", note)
        # No CLIP: describe the query image with the tools, then search by those words.
        if look is not None:
            seen = look.look([image_path])[0]
        else:
            seen = self._indexed_seen(image_path)
            if seen is None:
                return SearchResult([], "minilm-text", f"{why_not}; {image_path} is not in the index and no "
                                    "look-tools were given to describe it (run detect/read_text first, "
                                    "then search by the words they found)", method_kind="fallback")
        query = " ".join(seen.documents().values()) if seen is not None else ""
        if seen is None or not (seen.label_counts or seen.text):
            return SearchResult([], "minilm-text", f"{why_not}; the tools saw nothing in {image_path} to search by",
                                method_kind="fallback")
        hits = self.text_ranking(query, None, limit, labels=labels, has_text=has_text)
        note = f"{why_not}; searched by what the tools saw in the query image ({seen.labels_line() or 'text'})"
        return SearchResult(hits, "minilm-text(tools)", note, method_kind="fallback")

    def _indexed_seen(self, image_path: str) -> Seen | None:
        """What the index saw in this very file (same path and content), if it was analysed."""
        entries = self.store.image_entries([image_key(image_path)])
        meta = entries[0] if entries else None
        if not meta or not meta.get("analysed"):
            return None
        if meta.get("sha256") != file_sha256(image_path):
            return None
        return Seen(label_counts=json.loads(meta.get("label_counts") or "{}"), text=meta.get("text", ""),
                    analysed=True)

    def by_filter(self, *, labels: Sequence[str] | None = None, has_text: bool | None = None,
                  limit: int = 10) -> SearchResult:
        ids = self.store.filter_ids(labels, has_text, aspect="labels")
        if ids is not None:
            metas = self.store.image_entries([i.split("#")[0] for i in ids[:limit]])
        else:
            metas = self.store.image_entries(where=build_where(labels, has_text), limit=limit)
        hits = [Hit(key=m["key"], path=m["path"], score=1.0, why=_filter_why(m, labels, has_text), meta=m) for m in metas]
        return SearchResult(hits, "filter", "metadata filter, no vector query")


def filtered_nearest(col: Any, index: LabelIndex, qvec: np.ndarray, k: int, labels: Sequence[str],
                     has_text: bool | None) -> tuple[list[str], list[float]]:
    """The ``k`` entries nearest ``qvec`` among those the label index passes: (ids, cosine
    distances), best first.

    A filter passing up to ``EXACT_MAX`` entries is ranked exactly over their vectors in the
    label index. A more common one post-filters Chroma's unfiltered HNSW query: asked for
    ``k / share × 2`` neighbours, ``2 k`` are expected to pass, and if at least ``k`` do they
    are the filtered top ``k`` of what HNSW found (every entry not returned is further away
    than all that were); if fewer do (query and filter pointing different ways) it is ranked
    exactly after all. Chroma's own ways are slower at 100k entries: a ``where`` scans its
    metadata (~150-600 ms), and ``query(ids=…)`` runs a filtered HNSW walk that is slowest
    for small sets."""
    total, share = index.share(labels, has_text)
    if not total or share <= 0.0:
        return [], []
    want = math.ceil(k / share * POST_FILTER_MARGIN)
    if total * share > EXACT_MAX and want <= POST_FILTER_MAX:
        res = col.query(query_embeddings=qvec, n_results=min(want, total), include=["distances"])
        ids, dists = res["ids"][0], res["distances"][0]
        passed = index.passing(ids, labels, has_text)
        kept = [(i, float(d)) for i, d in zip(ids, dists, strict=True) if i in passed]
        if len(kept) >= k or len(ids) >= total:
            return [i for i, _ in kept[:k]], [d for _, d in kept[:k]]
    return index.nearest(qvec, k, labels, has_text)
