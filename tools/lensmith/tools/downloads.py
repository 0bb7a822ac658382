"""What ``lensmith models fetch`` can download: each model's real public files.

A checksum is given only where one is published (cited beside it); never made up. Files
on the Hugging Face hub are checked against the sha256 the hub itself publishes for them
(``X-Linked-Etag``) at download time; files with no published checksum are checked by
size only, and their entry says so. Each target is one of the model's resolver
candidates, so the resolver finds the result in the weights folder with no config.
"""

from __future__ import annotations

import os

from lensmith.runtime.fetch import Download, RemoteFile
from lensmith.tools import models
from lensmith.tools.clip import CLIP

_CLIP_REPO = "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"
_SD_REPO = "stable-diffusion-v1-5/stable-diffusion-inpainting"
# the diffusers layout StableDiffusionInpaintPipeline.from_pretrained reads, without the
# safety checker's 1.2 GB (lensmith loads the pipeline with safety_checker=None)
_SD_FILES = (
    "model_index.json", "scheduler/scheduler_config.json",
    "text_encoder/config.json", "text_encoder/model.safetensors",
    "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json", "tokenizer/vocab.json",
    "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
    "vae/config.json", "vae/diffusion_pytorch_model.safetensors",
    "feature_extractor/preprocessor_config.json",
)
_HUB_CHECK = (
    "large files: sha256 published by the Hugging Face hub (X-Linked-Etag), checked on download; "
    "small config files carry no sha256 on the hub and are checked by size"
)


def _hub(repo: str, name: str) -> RemoteFile:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    return RemoteFile(url=f"{endpoint}/{repo}/resolve/main/{name}", name=name)


def catalogue() -> dict[str, Download]:
    """Every fetchable model by resolver name (built on call, so ``HF_ENDPOINT`` applies)."""
    entries = [
        Download(
            model=models.SAM_VIT_B.name, target="sam_vit_b_01ec64.pth",
            files=(RemoteFile(
                url="https://dl.fbaipublicfiles.com/segment_anything/sam_vit_b_01ec64.pth",
                # sha256 and size as published by several independent projects that pin this
                # checkpoint; the filename's 01ec64 is the start of Meta's md5
                sha256="ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912", size=375_042_383,
            ),),
            checksum="sha256 pinned in the catalogue",
            note="Segment Anything ViT-B (Meta), 375 MB",
        ),
        Download(
            model=models.MOBILE_SAM.name, target="mobile_sam.pt",
            files=(RemoteFile(
                url="https://raw.githubusercontent.com/ChaoningZhang/MobileSAM/master/weights/mobile_sam.pt",
                sha256="6dbb90523a35330fedd7f1d3dfc66f995213d81b29a5ca8108dbcdd4e37d6c2f", size=40_728_226,
            ),),
            checksum="sha256 pinned in the catalogue",
            note="MobileSAM (TinyViT encoder), 41 MB, runs through ultralytics",
        ),
        Download(
            model=CLIP.name, target="CLIP-ViT-B-32-laion2B-s34B-b79K",
            files=(_hub(_CLIP_REPO, "open_clip_config.json"), _hub(_CLIP_REPO, "open_clip_model.safetensors")),
            checksum=_HUB_CHECK,
            note="open_clip ViT-B-32 (LAION-2B), 605 MB",
        ),
        Download(
            model=models.YOLOE.name, target="yoloe-11s-seg.pt",
            files=(RemoteFile(url="https://github.com/ultralytics/assets/releases/download/v8.3.0/yoloe-11s-seg.pt"),),
            checksum="no published sha256 found for this file; checked by size (the server's Content-Length) only",
            note="YOLOE-11S open-vocabulary detector; ultralytics still fetches its text encoder "
            "(mobileclip_blt.ts) and needs the `clip` package on first use",
        ),
        Download(
            model=models.SD_INPAINT.name, target="stable-diffusion-inpainting",
            files=tuple(_hub(_SD_REPO, name) for name in _SD_FILES),
            checksum=_HUB_CHECK,
            note="Stable Diffusion 1.5 inpainting (diffusers layout), about 4.3 GB; needs `pip install 'lensmith[diffusion]'`",
        ),
    ]
    return {entry.model: entry for entry in entries}
