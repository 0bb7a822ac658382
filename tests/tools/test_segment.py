"""segment: GrabCut (the fallback here: no SAM weights exist) on real photos, and the SAM
path through the tool with a tiny randomly initialised SAM built from segment-anything's
own modules (injected explicitly: its masks are plumbing checks, never results)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from support.tool_contract import ToolContract, invoke

from lensmith.runtime import rle
from lensmith.tools import ImageStore, SegmentArtifact, use_store
from lensmith.tools import segment as segment_mod
from lensmith.tools.segment import SegmentTool

CAT_BOX = [0.0, 0.0, 405.0, 300.0]  # chelsea: the cat fills the left of the 451×300 photo
CUP_BOX = [170.0, 18.0, 421.0, 318.0]  # coffee: the cup and saucer's cup


def tiny_sam(img_size: int = 128, dim: int = 32):
    """A randomly initialised SAM, wired as ``segment_anything.build_sam._build_sam`` does,
    with tiny dimensions so it runs in milliseconds on a CPU."""
    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    torch.manual_seed(0)
    patch = 16
    sam = Sam(
        image_encoder=ImageEncoderViT(
            depth=2, embed_dim=dim, img_size=img_size, mlp_ratio=2, num_heads=2, patch_size=patch,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), qkv_bias=True, use_rel_pos=True,
            global_attn_indexes=(1,), window_size=4, out_chans=dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=dim, image_embedding_size=(img_size // patch, img_size // patch),
            input_image_size=(img_size, img_size), mask_in_chans=4,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(depth=1, embedding_dim=dim, mlp_dim=64, num_heads=2),
            transformer_dim=dim, iou_head_depth=1, iou_head_hidden_dim=16,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    sam.mask_threshold = -1e9  # random weights: keep every pixel so the plumbing has a mask to carry
    encoder_calls = {"n": 0}
    forward = sam.image_encoder.forward

    def counted(x):
        encoder_calls["n"] += 1
        return forward(x)

    sam.image_encoder.forward = counted
    return sam.eval(), encoder_calls


def segment(tool: SegmentTool, store: ImageStore, **args) -> tuple[str, SegmentArtifact]:
    with use_store(store):
        message = invoke(tool, args)
    assert message.status == "success", message.content
    return message.content, message.artifact


def errors(tool: SegmentTool, store: ImageStore, **args) -> str:
    with use_store(store):
        message = invoke(tool, args)
    assert message.status == "error", message.content
    return message.content


@pytest.fixture(scope="module")
def grabcut_tool() -> SegmentTool:
    return SegmentTool()


class TestSegmentTool(ToolContract):
    @pytest.fixture
    def tool(self, grabcut_tool: SegmentTool) -> SegmentTool:
        return grabcut_tool

    @pytest.fixture
    def good_call(self) -> tuple[dict, ImageStore]:
        store = ImageStore()
        return {"image": store.add(skimage.data.coffee()).id, "boxes": [CUP_BOX]}, store

    @pytest.mark.slow
    def test_grabcut_from_a_box_on_a_real_photo(self, tool: SegmentTool) -> None:
        store = ImageStore()
        image = store.add(skimage.data.coffee()).id
        content, art = segment(tool, store, image=image, boxes=[CUP_BOX])
        assert art.method == "grabcut" and art.method_kind == "fallback" and art.model is None
        assert "no SAM weights were found" in art.note and "Looked in" in art.note and "$LENSMITH_WEIGHTS" in art.note
        mask = rle.decode(art.masks[0].rle)
        assert mask.shape == (400, 600)
        x0, y0, x1, y1 = (int(v) for v in CUP_BOX)
        inside = mask[y0:y1, x0:x1].sum()
        assert mask.sum() == inside  # nothing outside the box
        assert 0.3 < inside / ((x1 - x0) * (y1 - y0)) < 0.95  # the cup, not the whole box, not a speck
        assert art.masks[0].area_px == mask.sum()
        assert art.masks[0].area_share == pytest.approx(mask.sum() / (400 * 600), abs=1e-4)
        cup = mask[100:140, 240:350]  # the coffee inside the cup
        assert cup.mean() > 0.8
        assert art.overlay == art.images[0] and "grabcut fallback" in content

    @pytest.mark.slow
    def test_a_class_name_detects_then_segments(self, tool: SegmentTool) -> None:
        store = ImageStore()
        _, art = segment(tool, store, image=store.add(skimage.data.chelsea()).id, label="kitten")
        assert [m.label for m in art.masks] == ["cat"]
        box = art.masks[0].box
        mask = rle.decode(art.masks[0].rle)
        assert mask[int(box[1]):int(box[3]) + 1, int(box[0]):int(box[2]) + 1].sum() == mask.sum()
        assert 0.25 < art.masks[0].area_share < 0.9
        assert mask[120:200, 150:300].mean() > 0.8  # the cat's face

    @pytest.mark.slow
    def test_masks_are_in_displayed_pixels_for_exif_rotated_downscaled_photos(self, tool: SegmentTool, tmp_path: Path) -> None:
        stored = Image.fromarray(skimage.data.coffee()).rotate(90, expand=True)
        exif = Image.Exif()
        exif[0x0112] = 6
        stored.save(tmp_path / "coffee.jpg", quality=95, exif=exif)
        store = ImageStore(max_side=300)
        meta = store.add(tmp_path / "coffee.jpg")
        assert (meta.original_width, meta.original_height) == (600, 400) and meta.scale == 2.0
        _, art = segment(tool, store, image=meta.id, boxes=[CUP_BOX])
        mask = rle.decode(art.masks[0].rle)
        assert mask.shape == (400, 600)
        ys, xs = np.nonzero(mask)
        assert xs.min() >= CUP_BOX[0] - 2 and xs.max() <= CUP_BOX[2] + 2 and ys.max() <= CUP_BOX[3] + 2
        assert mask[100:140, 240:350].mean() > 0.8

    @pytest.mark.parametrize(
        ("args", "fragment"),
        [
            ({"boxes": [[1000, 1000, 1100, 1100]]}, "outside the image"),
            ({"boxes": [[300, 100, 200, 50]]}, "empty or reversed"),
            ({"boxes": [[1, 2, 3]]}, "[x0, y0, x1, y1]"),
            ({}, "Nothing to segment"),
            ({"label": "cup", "boxes": [CUP_BOX]}, "either"),
            ({"points": [[100, 100]]}, "Point prompts need SAM"),
            ({"label": "printer"}, "not detectable"),
        ],
    )
    def test_bad_prompts_are_errors(self, tool: SegmentTool, args: dict, fragment: str) -> None:
        store = ImageStore()
        assert fragment in errors(tool, store, image=store.add(skimage.data.coffee()).id, **args)

    @pytest.mark.slow
    def test_a_prompt_that_finds_no_object(self, tool: SegmentTool) -> None:
        store = ImageStore()
        message = errors(tool, store, image=store.add(skimage.data.chelsea()).id, label="bus")
        assert "No bus found" in message

    def test_an_image_the_model_cannot_take(self, tool: SegmentTool) -> None:
        store = ImageStore()
        message = errors(tool, store, image=store.add(np.zeros((5, 40, 3), np.uint8)).id, boxes=[[0, 0, 4, 4]])
        assert "40×5 pixels" in message

    def test_backend_says_grabcut_and_where_it_looked(self, tool: SegmentTool) -> None:
        line = tool.backend()
        assert line.startswith("GrabCut") and "no SAM weights were found" in line and "sam_vit_b_01ec64.pth" in line


class TestTinySam:
    """The SAM path end to end with an injected tiny random model."""

    @pytest.fixture
    def sam(self):
        return tiny_sam()

    def test_embedding_is_computed_once_per_image(self, sam) -> None:
        model, calls = sam
        tool = SegmentTool(sam_model=model, sam_model_name="tiny random SAM (test)")
        store = ImageStore()
        coffee = store.add(skimage.data.coffee()).id
        _, first = segment(tool, store, image=coffee, boxes=[CUP_BOX])
        assert calls["n"] == 1
        _, second = segment(tool, store, image=coffee, points=[[300, 120]], point_labels=[1])
        assert calls["n"] == 1  # same image: the cached embedding, no second encoder pass
        assert tool.sam.encoded == 1
        segment(tool, store, image=store.add(skimage.data.chelsea()).id, boxes=[CAT_BOX])
        assert calls["n"] == 2
        segment(tool, store, image=coffee, boxes=[CUP_BOX, [10, 10, 100, 100]])
        assert calls["n"] == 2  # back to the first image: still cached
        for art in (first, second):
            assert art.method == "sam" and art.method_kind == "model"
            assert art.model == "tiny random SAM (test)" and art.note is None
            assert rle.decode(art.masks[0].rle).shape == (400, 600)
        assert tool.backend().startswith("SAM (tiny random SAM (test))")

    def test_sam_masks_map_back_to_displayed_pixels(self, sam) -> None:
        model, _ = sam
        tool = SegmentTool(sam_model=model, sam_model_name="tiny random SAM (test)")
        store = ImageStore(max_side=300)
        meta = store.add(skimage.data.coffee())
        assert meta.scale == 2.0
        _, art = segment(tool, store, image=meta.id, boxes=[CUP_BOX])
        assert rle.decode(art.masks[0].rle).shape == (400, 600)
        assert art.masks[0].area_px == 400 * 600  # threshold -1e9 keeps every pixel

    def test_production_runs_sam_only_from_resolved_weights(self, sam, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        model, calls = sam
        (tmp_path / "sam_vit_b_01ec64.pth").write_bytes(b"stand-in")
        monkeypatch.setenv("LENSMITH_WEIGHTS", str(tmp_path))
        loaded = []

        def load(path: str, kind: str, device: str):
            loaded.append((Path(path).name, kind, device))
            return segment_mod.SamBackend(model, Path(path).name, device)

        monkeypatch.setattr(segment_mod, "_load_sam", load)
        tool = SegmentTool(device="cpu")
        assert tool.backend().startswith("SAM sam_vit_b_01ec64.pth (found via $LENSMITH_WEIGHTS)")
        store = ImageStore()
        _, art = segment(tool, store, image=store.add(skimage.data.coffee()).id, boxes=[CUP_BOX])
        assert loaded == [("sam_vit_b_01ec64.pth", "vit_b", "cpu")]
        assert art.method == "sam" and art.model == "sam_vit_b_01ec64.pth" and calls["n"] == 1

    @pytest.mark.gpu
    def test_tiny_sam_on_cuda(self, sam) -> None:
        model, calls = sam
        tool = SegmentTool(sam_model=model, sam_model_name="tiny random SAM (test)", device="cuda")
        store = ImageStore()
        image = store.add(skimage.data.coffee()).id
        segment(tool, store, image=image, boxes=[CUP_BOX])
        _, art = segment(tool, store, image=image, boxes=[CUP_BOX])
        assert calls["n"] == 1 and art.method == "sam"
        assert next(model.parameters()).device.type == "cuda"


@pytest.mark.parametrize("shape", [(1, 1), (7, 5), (300, 451), (64, 64)])
@pytest.mark.parametrize("fill", [0.0, 0.02, 0.5, 1.0])
def test_rle_numpy_matches_pycocotools(shape: tuple[int, int], fill: float) -> None:
    pytest.importorskip("pycocotools")
    mask = np.random.default_rng(1).random(shape) < fill
    ours = rle.encode(mask, use_pycocotools=False)
    assert ours == rle.encode(mask)
    assert np.array_equal(rle.decode(ours, use_pycocotools=False), mask)
    assert np.array_equal(rle.decode(ours), mask)


def test_rle_reads_uncompressed_counts() -> None:
    mask = np.zeros((3, 4), bool)
    mask[1, 1:3] = True  # column-major runs: 4 zeros, 1 one, 2 zeros, 1 one, 4 zeros
    counts = {"size": [3, 4], "counts": [4, 1, 2, 1, 4]}
    for use in (True, False):
        assert np.array_equal(rle.decode(counts, use_pycocotools=use), mask)
    assert rle.area(rle.encode(mask)) == 2


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _check_cutout(path: str, mask: np.ndarray, photo: np.ndarray, box: list[float]) -> None:
    """An RGBA PNG cropped to the object (inside its box), opaque exactly on the mask, with
    the photo's own pixels there."""
    with Image.open(path) as opened:
        assert opened.format == "PNG" and opened.mode == "RGBA"
        rgba = np.asarray(opened)
    x0, y0, x1, y1 = _bbox(mask)
    assert rgba.shape == (y1 - y0, x1 - x0, 4)
    assert box[0] <= x0 and box[1] <= y0 and x1 <= box[2] + 1 and y1 <= box[3] + 1
    crop = mask[y0:y1, x0:x1]
    alpha = rgba[..., 3]
    assert (alpha[~crop] == 0).all() and (alpha[crop] == 255).all()
    assert (~crop).any()  # a real cut-out: some of the crop is transparent
    assert np.array_equal(rgba[..., :3][crop], photo[y0:y1, x0:x1][crop])


@pytest.mark.slow
def test_cut_out_the_cat_writes_a_transparent_png_listed_in_the_answer(tmp_path: Path) -> None:
    from lensmith.agent.config import Settings
    from lensmith.agent.loop import Agent
    from lensmith.tools.registry import Registry

    photo = skimage.data.chelsea()
    Image.fromarray(photo).save(tmp_path / "chelsea.png")
    settings = Settings()
    settings.planner.backend = "heuristic"
    agent = Agent(settings, registry=Registry.discover(only=("detect", "segment")), memory=False)
    trace = agent.ask("cut out the cat", [tmp_path / "chelsea.png"])
    assert trace.error is None, trace.error
    art = trace.calls[-1].artifact
    assert [c.tool for c in trace.calls] == ["detect", "segment"] and "cat" in trace.calls[0].artifact.counts()
    assert isinstance(art, SegmentArtifact) and len(art.masks) == 1
    cut = art.masks[0].cutout
    assert cut and art.files == [cut] and cut in trace.artifacts
    assert Path(cut).parent == Path(trace.artifacts[0]).parent  # beside the overlay
    _check_cutout(cut, rle.decode(art.masks[0].rle), photo, art.masks[0].box)


def test_each_mask_gets_its_own_cutout_from_boxes(grabcut_tool: SegmentTool) -> None:
    store = ImageStore()
    photo = skimage.data.coffee()
    content, art = segment(grabcut_tool, store, image=store.add(photo).id, boxes=[CUP_BOX, [120.0, 0.0, 480.0, 400.0]])
    assert len(art.files) == 2 and [m.cutout for m in art.masks] == art.files
    assert "2 transparent cut-out PNG(s) saved" in content
    for mask_info in art.masks:
        _check_cutout(mask_info.cutout, rle.decode(mask_info.rle), photo, mask_info.box)


def test_an_empty_mask_has_no_cutout() -> None:
    assert segment_mod.cutout(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), bool)) is None
    picture = segment_mod.cutout(np.full((4, 4, 3), 7, np.uint8), np.eye(4, dtype=bool)[:, ::-1])
    assert picture is not None and picture.size == (4, 4) and np.asarray(picture)[0, 0, 3] == 0
