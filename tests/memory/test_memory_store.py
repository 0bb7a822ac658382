"""The memory store against real Chroma (ephemeral and persistent) and real MiniLM embeddings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lensmith.memory import MemoryStore, Seen, open_memory
from lensmith.memory.search import Searcher, rrf
from lensmith.memory.store import FACTS, IMAGE_TEXTS, TURNS, ImageRecord, file_sha256
from lensmith.runtime.artifacts import DetectArtifact, Detection, OcrArtifact, TextSpan

pytestmark = pytest.mark.slow  # loads MiniLM


@pytest.fixture(autouse=True)
def no_default_embedding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chroma's default embedding function downloads a model: it must never be reached."""
    from chromadb.api import types
    from chromadb.utils.embedding_functions import onnx_mini_lm_l6_v2

    def boom(self, input):  # noqa: ANN001
        raise AssertionError("Chroma's default embedding function was called")

    monkeypatch.setattr(types.DefaultEmbeddingFunction, "__call__", boom)
    monkeypatch.setattr(onnx_mini_lm_l6_v2.ONNXMiniLM_L6_V2, "__call__", boom)


@pytest.fixture(params=["ephemeral", "persistent"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryStore:
    if request.param == "ephemeral":
        return open_memory(ephemeral=True)
    return open_memory(tmp_path / "mem")


def _photo(tmp_path: Path, name: str, colour: tuple[int, int, int]) -> Path:
    from PIL import Image

    path = tmp_path / name
    Image.new("RGB", (64, 48), colour).save(path)
    return path


def _record(path: Path) -> ImageRecord:
    stat = path.stat()
    return ImageRecord(path=str(path), size_bytes=stat.st_size, mtime_ns=stat.st_mtime_ns,
                       sha256=file_sha256(path), width=64, height=48, root=str(path.parent))


def test_turns_and_facts_are_recalled_from_other_sessions(store: MemoryStore) -> None:
    store.add_turn(session_id="s1", turn_id="t1", question="What is the total on this receipt?",
                   answer="The total is $42.10.", image_ids=["img:12345678"], image_paths=["/r.jpg"])
    store.add_turn(session_id="s1", turn_id="t2", question="How many buses are there?",
                   answer="One bus.", image_ids=[], image_paths=[])
    fid = store.add_fact("The user's cat is called Chelsea.", evidence=["img:9540e8d6"], session_id="s1")
    assert fid.startswith("fact:")

    recalled = store.recall("the receipt I showed you last week: what was the total?", session_id="s2")
    turns = [r for r in recalled if r["kind"] == "turn"]
    assert turns and turns[0]["source"] == "turn:s1/t1" and "$42.10" in turns[0]["text"]
    assert all(set(r) == {"kind", "text", "source", "score"} for r in recalled)

    # the asking session's own turns are already in its context: not recalled again
    assert not [r for r in store.recall("receipt total", session_id="s1") if r["kind"] == "turn"]

    facts = [r for r in store.recall("what is my cat's name?", k=1, session_id="s2") if r["kind"] == "fact"]
    assert facts and facts[0]["text"].startswith("The user's cat") and fid in facts[0]["source"]
    assert "img:9540e8d6" in facts[0]["source"]
    # bounded: at most k of each kind
    for i in range(5):
        store.add_fact(f"Fact number {i} about receipts.", evidence=[], session_id=None)
    got = store.recall("receipts", k=2, session_id="s9", min_score=-1.0)
    assert sum(r["kind"] == "fact" for r in got) == 2 and sum(r["kind"] == "turn" for r in got) <= 2


def test_captions_rank_the_right_image_first(store: MemoryStore, tmp_path: Path) -> None:
    captions = {
        "beach.png": "Two children building a sandcastle on a sunny beach",
        "receipt.png": "A supermarket receipt with a list of groceries and the total",
        "kitchen.png": "A cup of coffee on a wooden kitchen table next to a croissant",
        "street.png": "A red double-decker bus driving down a busy city street",
    }
    items = []
    for i, (name, caption) in enumerate(captions.items()):
        path = _photo(tmp_path, name, (40 * i, 10, 10))
        items.append((_record(path), Seen(caption=caption), None))
    store.put_images(items)
    searcher = Searcher(store, clip=None)
    for query, expected in [("a cup of coffee", "kitchen.png"), ("bus in the city", "street.png"),
                            ("shopping bill", "receipt.png"), ("kids at the seaside", "beach.png")]:
        result = searcher.by_text(query, limit=4)
        assert Path(result.hits[0].path).name == expected, (query, [(h.path, h.score) for h in result.hits])
        assert result.hits[0].why.startswith("caption:")
        assert result.method == "minilm-text" and "no CLIP" in result.note


def test_metadata_filters_work_without_a_vector_query(store: MemoryStore, tmp_path: Path) -> None:
    cat = _photo(tmp_path, "cat.png", (1, 2, 3))
    sign = _photo(tmp_path, "sign.png", (4, 5, 6))
    cat_seen = Seen.from_artifacts([
        DetectArtifact(tool="detect", method="yolo", detections=[Detection(label="cat", score=0.9, box=[0, 0, 5, 5])]),
        OcrArtifact(tool="read_text", method="easyocr", spans=[TextSpan(text="~", score=0.1, box=[0, 0, 1, 1])]),
    ])
    sign_seen = Seen.from_artifacts([
        DetectArtifact(tool="detect", method="yolo", detections=[Detection(label="person", score=0.8, box=[0, 0, 5, 5])] * 2),
        OcrArtifact(tool="read_text", method="easyocr", spans=[TextSpan(text="EXIT", score=0.97, box=[0, 0, 9, 9])]),
    ])
    assert cat_seen.analysed and not cat_seen.text  # a low-confidence squiggle is not text
    store.put_images([(_record(cat), cat_seen, None), (_record(sign), sign_seen, None)])
    searcher = Searcher(store, clip=None)
    assert [Path(h.path).name for h in searcher.by_filter(labels=["cat"]).hits] == ["cat.png"]
    assert [Path(h.path).name for h in searcher.by_filter(has_text=True).hits] == ["sign.png"]
    hits = searcher.by_filter(labels=["person"]).hits
    assert hits[0].why == "label person ×2"
    meta = hits[0].meta
    for key in ("path", "size_bytes", "sha256", "indexed_at", "labels", "has_text", "width", "height"):
        assert key in meta
    assert searcher.by_filter(labels=["dog"]).hits == []
    # text search combined with a filter
    res = searcher.by_text("an exit sign", has_text=True)
    assert [Path(h.path).name for h in res.hits] == ["sign.png"] and res.hits[0].why == 'text read from it (untrusted data): "EXIT"'


def test_forget_really_deletes_vectors_included(store: MemoryStore, tmp_path: Path) -> None:
    a, b = _photo(tmp_path, "a.png", (9, 9, 9)), _photo(tmp_path, "b.png", (8, 8, 8))
    store.put_images([(_record(a), Seen(caption="a lighthouse at dusk"), None),
                      (_record(b), Seen(caption="a bowl of ramen"), None)])
    store.add_turn(session_id="gone", turn_id="t1", question="q about a lighthouse", answer="a", image_ids=[], image_paths=[])
    store.add_turn(session_id="kept", turn_id="t1", question="q about ramen", answer="b", image_ids=[], image_paths=[])
    fid = store.add_fact("Lighthouses are tall.", evidence=[], session_id="gone")
    texts = store.collection(IMAGE_TEXTS)
    before = texts.count()
    probe = store.text_ef.embed(["a lighthouse at dusk"])

    assert store.forget_image(str(a)) == 1
    assert texts.count() == before - 2  # its caption and labels entries
    hit_ids = texts.query(query_embeddings=probe, n_results=texts.count(), include=[])["ids"][0]
    assert not [i for i in hit_ids if i.startswith(_record(a).key)]
    assert texts.get(ids=[f"{_record(a).key}#caption"])["ids"] == []

    assert store.forget_session("gone") == 2  # one turn + one fact
    assert store.collection(TURNS).get(ids=["gone/t1"])["ids"] == []
    assert store.collection(FACTS).get(ids=[fid])["ids"] == []
    assert [r["source"] for r in store.recall("lighthouse", session_id="x", min_score=-1)] == ["turn:kept/t1"]

    store.forget_all()
    assert store.counts() == {"turns": 0, "facts": 0, "image_texts": 0, "images": 0}


def test_persists_across_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "mem"
    store = open_memory(path)
    store.add_fact("The spare key is under the blue flower pot.", evidence=["turn:s1/t3"], session_id="s1")
    code = (
        "import sys; from lensmith.memory import open_memory; s = open_memory(sys.argv[1]); "
        "r = s.recall('where is the spare key?', session_id='s2'); print(r[0]['text'])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "blue flower pot" in out.stdout


def test_rrf_fuses_rankings() -> None:
    fused = rrf([["a", "b", "c"], ["c", "a"]], k=60)
    assert max(fused, key=fused.__getitem__) == "a"  # 1/61 + 1/62 beats c's 1/63 + 1/61
    assert fused["b"] == pytest.approx(1 / 62)
    assert rrf([]) == {}


def test_every_collection_has_an_explicit_embedding_function(store: MemoryStore, tmp_path: Path) -> None:
    store.add_turn(session_id="s", turn_id="t", question="q", answer="a", image_ids=[], image_paths=[])
    store.add_fact("f", evidence=[], session_id=None)
    store.put_images([(_record(_photo(tmp_path, "x.png", (0, 0, 0))), Seen(caption="x"), None)])
    for name in (TURNS, FACTS, IMAGE_TEXTS):
        col = store.collection(name)
        assert col.configuration_json["embedding_function"]["name"] == "lensmith-minilm"
        # adding by document alone goes through our function, never Chroma's default
        col.add(ids=["probe"], documents=["probe text"], metadatas=[{"session_id": "p"}])
        got = col.get(ids=["probe"], include=["embeddings"])["embeddings"][0]
        assert np.allclose(got, store.text_ef.embed(["probe text"])[0], atol=1e-5)
