"""retrieve and remember as tools (the contract), and the CLIP path with a tiny random open_clip.

The tiny CLIP is randomly initialised: it exercises the loader, the embedding plumbing,
the images collection and fusion, never the quality of a ranking. Tests assert only what
holds for any weights (an image is its own nearest neighbour; scores sum to one).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from support.tool_contract import ToolContract, invoke

from lensmith.memory import Seen, open_memory, use_memory
from lensmith.memory.indexer import Indexer
from lensmith.memory.retrieve_tool import RememberTool, RetrieveTool
from lensmith.memory.search import Searcher
from lensmith.memory.store import IMAGES, ImageRecord, file_sha256
from lensmith.tools import ImageStore, use_store
from lensmith.tools.clip import ClipModel, load_clip, use_clip

pytestmark = pytest.mark.slow

TINY = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


@pytest.fixture(scope="module")
def tiny_clip() -> ClipModel:
    return ClipModel.from_config("lensmith-tiny-clip", TINY)


def _photos(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, colour in enumerate([(250, 10, 10), (10, 250, 10), (10, 10, 250), (200, 200, 30)]):
        img = Image.new("RGB", (48, 40), colour)
        img.paste((255 - colour[0], 0, 0), (i * 8, 5, i * 8 + 10, 20))
        path = folder / f"c{i}.png"
        img.save(path)
        out.append(path)
    return out


def _captioned_store(tmp_path: Path, clip: ClipModel | None = None):
    store = open_memory(tmp_path / "mem")
    store.set_clip(clip)
    paths = _photos(tmp_path / "photos")
    captions = ["a red fire truck", "a green meadow", "the blue sea", "a yellow taxi with the word TAXI on it"]
    items = []
    for path, caption in zip(paths, captions, strict=True):
        st = path.stat()
        rec = ImageRecord(path=str(path), size_bytes=st.st_size, mtime_ns=st.st_mtime_ns, sha256=file_sha256(path))
        vec = clip.embed_images([Image.open(path)])[0] if clip else None
        items.append((rec, Seen(caption=caption, label_counts={"car": 1} if "taxi" in caption else {}), vec))
    store.put_images(items, clip=clip)
    return store, paths


class TestRetrieveContract(ToolContract):
    @pytest.fixture
    def tool(self, tmp_path: Path):
        store, _ = _captioned_store(tmp_path)
        with use_memory(store):
            yield RetrieveTool()

    @pytest.fixture
    def good_call(self, tmp_path: Path):
        images = ImageStore(tmp_path / "session")
        return {"query": "a taxi"}, images


class TestRememberContract(ToolContract):
    @pytest.fixture
    def tool(self, tmp_path: Path):
        with use_memory(open_memory(tmp_path / "mem2"), session_id="s1"):
            yield RememberTool()

    @pytest.fixture
    def good_call(self, tmp_path: Path):
        return {"fact": "The receipt total was $12.30", "evidence": ["img:1234abcd"]}, ImageStore(tmp_path / "s")


def test_retrieve_text_search_without_clip_says_so(tmp_path: Path) -> None:
    store, paths = _captioned_store(tmp_path)
    with use_memory(store), use_store(ImageStore(tmp_path / "s")):
        msg = invoke(RetrieveTool(), {"query": "a taxi cab", "limit": 2})
        assert msg.status == "success", msg.content
        art = msg.artifact
        assert art.hits[0].path == str(paths[3]) and art.hits[0].why.startswith("caption:")
        assert art.method == "minilm-text" and "no CLIP" in (art.note or "")
        filtered = invoke(RetrieveTool(), {"label": "car"}).artifact
        assert [h.path for h in filtered.hits] == [str(paths[3])]


def test_zero_shot_without_clip_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENSMITH_WEIGHTS", str(tmp_path / "no-weights"))
    images = ImageStore(tmp_path / "s")
    image_id = images.add(_photos(tmp_path / "p")[0]).id
    with use_store(images), use_memory(open_memory(tmp_path / "m")):
        msg = invoke(RetrieveTool(), {"image": image_id, "labels": ["cat", "dog"]})
    assert msg.status == "error"
    assert "No CLIP model found" in msg.content and "huggingface-cli download" in msg.content


def test_remember_then_recall(tmp_path: Path) -> None:
    store = open_memory(tmp_path / "mem")
    with use_memory(store, session_id="s1"), use_store(ImageStore(tmp_path / "s")):
        msg = invoke(RememberTool(), {"fact": "My passport expires in March 2031", "evidence": ["img:abcd1234"]})
    assert msg.status == "success" and msg.artifact.fact.startswith("My passport")
    got = store.recall("when does my passport expire?", session_id="s2")
    assert got[0]["kind"] == "fact" and "img:abcd1234" in got[0]["source"]


def test_clip_loads_through_the_resolver_from_an_open_clip_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                   tiny_clip: ClipModel) -> None:
    from safetensors.torch import save_file

    folder = tmp_path / "weights" / "clip"
    folder.mkdir(parents=True)
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": TINY, "preprocess_cfg": {}}))
    save_file({k: v.contiguous() for k, v in tiny_clip.model.state_dict().items()}, str(folder / "open_clip_model.safetensors"))
    monkeypatch.setenv("LENSMITH_WEIGHTS", str(tmp_path / "weights"))
    loaded = load_clip("cpu")
    assert loaded.dim == 32 and not loaded.random_init  # loaded weights, not a fresh random init
    img = Image.open(_photos(tmp_path / "p")[0])
    assert abs(float(loaded.embed_images([img])[0] @ tiny_clip.embed_images([img])[0]) - 1.0) < 1e-4


def test_clip_index_image_search_fusion_and_zero_shot(tmp_path: Path, tiny_clip: ClipModel) -> None:
    with use_clip(tiny_clip):
        store = open_memory(tmp_path / "mem")
        paths = _photos(tmp_path / "photos")
        report = Indexer(store, clip=tiny_clip, batch_size=3).run([tmp_path / "photos"])
        assert report.added == 4 and report.clip == tiny_clip.name
        assert store.collection(IMAGES).count() == 4
        assert store.images_clip_model() == tiny_clip.name
        searcher = Searcher(store, clip=tiny_clip)
        result = searcher.by_image(str(paths[2]), limit=4)
        assert result.method == "clip" and result.hits[0].path == str(paths[2])
        assert result.hits[0].score == pytest.approx(1.0, abs=1e-3) and "random" in result.note
        # with captions too, text and CLIP rankings are fused and the note says so
        store2, _ = _captioned_store(tmp_path / "b", clip=tiny_clip)
        fused = Searcher(store2, clip=tiny_clip).by_text("the blue sea", limit=4)
        assert fused.method == "rrf(minilm-text+clip)" and "reciprocal rank fusion" in fused.note
        assert any("CLIP similarity" in h.why for h in fused.hits)
        # zero-shot through the tool: labelled as a random test model, never a measurement
        images = ImageStore(tmp_path / "s")
        image_id = images.add(paths[0]).id
        with use_store(images), use_memory(store):
            msg = invoke(RetrieveTool(), {"image": image_id, "labels": ["red", "green", "blue"]})
        assert msg.status == "success", msg.content
        assert sum(msg.artifact.label_scores.values()) == pytest.approx(1.0, abs=1e-3)
        assert "random" in msg.artifact.note
        # CLIP found after indexing: the next run only adds vectors
        store3 = open_memory(tmp_path / "c")
        Indexer(store3, clip=None).run([tmp_path / "photos"])
        again = Indexer(store3, clip=tiny_clip).run([tmp_path / "photos"])
        assert again.unchanged == 4 and again.clip_added == 4
