"""edit: OpenCV removal on a real photo (the fallback here: no diffusion weights exist), and
the diffusion path end to end with a tiny randomly initialised Stable Diffusion inpainting
pipeline built from configs (injected explicitly: its pixels are noise, never results)."""

from __future__ import annotations

import string

import numpy as np
import pytest
import skimage.data
import torch
from support.tool_contract import ToolContract, invoke

from lensmith.tools import EditArtifact, ImageStore, use_store
from lensmith.tools.edit import EditTool, parse_instruction
from lensmith.tools.segment import SegmentTool

pytestmark = pytest.mark.slow


def tiny_inpaint_pipeline():
    """StableDiffusionInpaintPipeline with tiny UNet/VAE/CLIP built from configs and a
    CLIP BPE tokenizer over single characters (no hub access needed)."""
    from diffusers import (
        AutoencoderKL,
        PNDMScheduler,
        StableDiffusionInpaintPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=32, in_channels=9, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8,
    )
    vae = AutoencoderKL(
        block_out_channels=[32, 64], in_channels=3, out_channels=3, latent_channels=4,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"],
    )
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for char in string.ascii_lowercase + string.digits + string.punctuation:
        vocab.setdefault(char, len(vocab))
        vocab.setdefault(char + "</w>", len(vocab))
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32, intermediate_size=37,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=len(vocab), projection_dim=32,
    ))
    pipe = StableDiffusionInpaintPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
        scheduler=PNDMScheduler(skip_prk_steps=True), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def segmenter() -> SegmentTool:
    return SegmentTool()


@pytest.fixture(scope="module")
def opencv_editor(segmenter: SegmentTool) -> EditTool:
    return EditTool(segmenter=segmenter)


def edit(tool: EditTool, store: ImageStore, **args) -> tuple[str, EditArtifact]:
    with use_store(store):
        message = invoke(tool, args)
    assert message.status == "success", message.content
    return message.content, message.artifact


def check_only_the_mask_changed(store: ImageStore, art: EditArtifact) -> np.ndarray:
    before = store.array(art.image).astype(int)
    after = store.array(art.edited).astype(int)
    mask = store.array(art.mask)[:, :, 0] > 127
    assert before.shape == after.shape and mask.shape == before.shape[:2]
    assert np.array_equal(before[~mask], after[~mask])  # outside the mask: untouched
    assert np.abs(before[mask] - after[mask]).mean() > 5  # inside: really edited
    assert mask.mean() == pytest.approx(art.mask_area_share, abs=1e-4)
    return mask


class TestEditTool(ToolContract):
    @pytest.fixture
    def tool(self, opencv_editor: EditTool) -> EditTool:
        return opencv_editor

    @pytest.fixture
    def good_call(self) -> tuple[dict, ImageStore]:
        store = ImageStore()
        return {"image": store.add(skimage.data.coffee()).id, "instruction": "remove the cup"}, store

    def test_opencv_removal_changes_only_the_masked_pixels(self, tool: EditTool) -> None:
        store = ImageStore()
        content, art = edit(tool, store, image=store.add(skimage.data.coffee()).id, instruction="Please remove the cup.")
        assert art.method == "opencv-telea" and art.method_kind == "fallback"
        assert "no Stable Diffusion inpainting weights" in art.note and "grabcut" in art.note
        assert art.operation == "remove" and art.target == "cup" and art.prompt is None and art.seed is None
        assert art.images == [art.edited, art.mask]
        mask = check_only_the_mask_changed(store, art)
        assert mask[100:140, 240:350].mean() > 0.9  # the coffee in the cup is inside the (dilated) mask
        assert 0.05 < art.mask_area_share < 0.5
        assert "OpenCV inpainting (fallback" in content and art.edited in content

    def test_other_edits_need_diffusion_weights(self, tool: EditTool) -> None:
        store = ImageStore()
        with use_store(store):
            message = invoke(tool, {"image": store.add(skimage.data.coffee()).id, "instruction": "make the cup red"})
        assert message.status == "error"
        assert "Stable Diffusion inpainting" in message.content and "huggingface-cli download" in message.content

    @pytest.mark.parametrize(
        ("args", "fragment"),
        [
            ({"instruction": "dance a little"}, "Cannot tell what to edit"),
            ({"instruction": "remove the printer"}, "not detectable"),
            ({"instruction": "remove the dog"}, "No dog found"),
            ({}, "Say what to edit"),
            ({"operation": "replace", "target": "cup"}, "needs a `prompt`"),
        ],
    )
    def test_bad_requests_are_errors(self, tool: EditTool, args: dict, fragment: str) -> None:
        store = ImageStore()
        with use_store(store):
            message = invoke(tool, {"image": store.add(skimage.data.coffee()).id, **args})
        assert message.status == "error" and fragment in message.content

    def test_backend_says_opencv_fallback_and_how_to_fetch(self, tool: EditTool) -> None:
        line = tool.backend()
        assert line.startswith("OpenCV inpainting") and "stable-diffusion-inpainting" in line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("remove the cat", ("remove", "cat", None)),
        ("Please erase the people from the photo.", ("remove", "people", None)),
        ("get rid of the cups", ("remove", "cups", None)),
        ("replace the cup with a vase of flowers", ("replace", "cup", "a vase of flowers")),
        ("swap the dog for a wolf", ("replace", "dog", "a wolf")),
        ("turn the bus into a tram", ("replace", "bus", "a tram")),
        ("make the bus red", ("recolor", "bus", "red")),
        ("paint the car dark blue", ("recolor", "car", "dark blue")),
        ("change the sofa to green", ("recolor", "sofa", "green")),
    ],
)
def test_parse_instruction(text: str, expected: tuple) -> None:
    assert parse_instruction(text) == expected


class TestTinyDiffusion:
    @pytest.fixture(scope="class")
    def pipe(self):
        return tiny_inpaint_pipeline()

    def tool(self, pipe, segmenter: SegmentTool, device: str | None = None) -> EditTool:
        return EditTool(pipeline=pipe, pipeline_name="tiny random SD inpainting (test)", segmenter=segmenter,
                        steps=2, size=64, device=device)

    def test_recolor_runs_the_diffusion_path_end_to_end(self, pipe, segmenter: SegmentTool) -> None:
        tool = self.tool(pipe, segmenter)
        store = ImageStore()
        image = store.add(skimage.data.coffee()).id
        content, art = edit(tool, store, image=image, instruction="make the cup red", seed=7)
        assert art.method == "sd-inpaint" and art.method_kind == "model"
        assert art.model == "tiny random SD inpainting (test)"
        assert art.operation == "recolor" and art.prompt == "a red cup" and art.seed == 7
        check_only_the_mask_changed(store, art)
        _, again = edit(tool, store, image=image, instruction="make the cup red", seed=7)
        assert again.edited == art.edited  # same seed, same pixels, same content-hash id
        _, other = edit(tool, store, image=image, instruction="make the cup red", seed=8)
        assert other.edited != art.edited
        assert "Stable Diffusion inpainting" in content
        assert tool.backend().startswith("diffusers inpainting (tiny random SD inpainting (test))")

    def test_remove_and_replace_prompts(self, pipe, segmenter: SegmentTool) -> None:
        tool = self.tool(pipe, segmenter)
        store = ImageStore()
        image = store.add(skimage.data.coffee()).id
        _, removed = edit(tool, store, image=image, instruction="remove the cup")
        assert removed.method == "sd-inpaint" and "background" in removed.prompt
        _, replaced = edit(tool, store, image=image, instruction="replace the cup with a vase")
        assert replaced.operation == "replace" and replaced.prompt == "a vase"
        check_only_the_mask_changed(store, replaced)

    @pytest.mark.gpu
    def test_diffusion_on_cuda_half_precision(self, segmenter: SegmentTool) -> None:
        pipe = tiny_inpaint_pipeline().to("cuda", torch.float16)
        tool = self.tool(pipe, segmenter, device="cuda")
        store = ImageStore()
        _, art = edit(tool, store, image=store.add(skimage.data.coffee()).id, instruction="make the cup blue")
        assert art.method == "sd-inpaint" and art.prompt == "a blue cup"
        check_only_the_mask_changed(store, art)
