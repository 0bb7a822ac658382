"""Latency of lensmith's vision tools next to the bare library call on the same image,
in the same process: cold (model load included) and warm (median of repeats).

    .venv/bin/python benchmarks/tools.py [--repeats 20] [--no-sam]

Tools are called the way the agent loop calls them (a LangChain ToolCall → ToolMessage).
The SAM rows use segment-anything's ViT-B architecture with *random* weights (none exist
here): they measure the cost of an image embedding versus a later prompt, nothing else.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LENSMITH_OFFLINE", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import skimage.data  # noqa: E402

from lensmith.tools import ImageStore, use_store  # noqa: E402

CUP_BOX = [170.0, 18.0, 421.0, 318.0]
rows: list[tuple[str, str, str, str]] = []


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def warm(fn: Callable[[], object], repeats: int) -> float:
    return statistics.median(timed(fn) for _ in range(repeats))


def paired(bare: Callable[[], object], tool: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Medians of the two, called alternately so that load from elsewhere hits both alike."""
    a, b = [], []
    for _ in range(repeats):
        a.append(timed(bare))
        b.append(timed(tool))
    return statistics.median(a), statistics.median(b)


def call(tool, args: dict) -> Callable[[], object]:
    def run() -> object:
        message = tool.invoke({"type": "tool_call", "id": "bench", "name": tool.name, "args": args})
        assert message.status == "success", message.content
        return message

    return run


def row(what: str, cold: float | None, warm_ms: float, bare_warm: float | None = None) -> None:
    ratio = f"{warm_ms / bare_warm:.2f}×" if bare_warm else ""
    rows.append((what, f"{cold:,.0f}" if cold is not None else "", f"{warm_ms:,.1f}", ratio))


def bench_detect(store: ImageStore, repeats: int) -> None:
    from lensmith.tools.detect import DetectTool, import_ultralytics
    from lensmith.tools.models import PACKAGED_YOLO

    image = store.add(skimage.data.astronaut()).id  # 512×512 photo
    rows.append(("import ultralytics", f"{timed(import_ultralytics):,.0f}", "", ""))
    tool = DetectTool()
    cold = timed(call(tool, {"image": image}))
    ultralytics = import_ultralytics()
    bgr = np.ascontiguousarray(skimage.data.astronaut()[:, :, ::-1])
    holder: dict = {}

    def bare_cold() -> None:
        holder["m"] = ultralytics.YOLO(str(PACKAGED_YOLO), task="detect")
        holder["m"].predict(bgr, imgsz=640, conf=0.25, verbose=False)

    bare_cold_ms = timed(bare_cold)
    bare, tool_ms = paired(lambda: holder["m"].predict(bgr, imgsz=640, conf=0.25, verbose=False),
                           call(tool, {"image": image}), repeats)
    row("ultralytics YOLO11n int8 predict (bare), astronaut 512×512", bare_cold_ms, bare)
    row("detect tool (boxes + annotated image)", cold, tool_ms, bare)
    from lensmith.tools.annotate import draw_boxes

    counter = iter(range(10**9))
    found = call(tool, {"image": image})().artifact.detections

    def annotate_new() -> None:  # what a call with new detections adds: draw + register
        drawn = draw_boxes(store.pil(image), [d.box for d in found], [d.label for d in found])
        store.add_artifact(drawn, parent=image, label="bench", defer_write=True, key=f"bench:{next(counter)}")

    row("  of which: annotating new detections (draw + register; PNG written in background)", None, warm(annotate_new, repeats))


def bench_ocr(store: ImageStore, repeats: int) -> None:
    import easyocr
    import easyocr_en_models

    from lensmith.tools.ocr import ReadTextTool

    page = skimage.data.page()
    image = store.add(page).id
    tool = ReadTextTool()
    cold = timed(call(tool, {"image": image}))
    rgb = np.asarray(store.pil(image))
    holder: dict = {}

    def bare_cold() -> None:
        holder["r"] = easyocr.Reader(["en"], gpu=False, model_storage_directory=easyocr_en_models.model_dir(),
                                     download_enabled=False, verbose=False)
        holder["r"].readtext(rgb)

    bare_cold_ms = timed(bare_cold)
    bare, tool_ms = paired(lambda: holder["r"].readtext(rgb), call(tool, {"image": image}), repeats)
    row("EasyOCR readtext (bare), skimage page 384×191", bare_cold_ms, bare)
    row("read_text tool", cold, tool_ms, bare)


def bench_segment(store: ImageStore, repeats: int, sam: bool) -> None:
    from lensmith.tools.segment import SegmentTool

    coffee = skimage.data.coffee()
    image = store.add(coffee).id
    bgr = np.ascontiguousarray(coffee[:, :, ::-1])

    def bare_grabcut() -> None:
        mask = np.zeros(bgr.shape[:2], np.uint8)
        x0, y0, x1, y1 = (int(v) for v in CUP_BOX)
        cv2.grabCut(bgr, mask, (x0, y0, x1 - x0, y1 - y0), np.zeros((1, 65)), np.zeros((1, 65)), 5, cv2.GC_INIT_WITH_RECT)

    tool = SegmentTool()
    first = timed(call(tool, {"image": image, "boxes": [CUP_BOX]}))
    bare, second = paired(bare_grabcut, call(tool, {"image": image, "boxes": [CUP_BOX]}), repeats)
    row("cv2.grabCut (bare), coffee 600×400, cup box, 5 iterations", None, bare)
    row("segment tool, GrabCut fallback: first prompt", None, first, bare)
    row("segment tool, GrabCut fallback: same prompt again (nothing to cache)", None, second, bare)
    if not sam:
        return
    from segment_anything import sam_model_registry

    model = sam_model_registry["vit_b"]()  # random weights: timing only
    sam_tool = SegmentTool(sam_model=model, sam_model_name="ViT-B, random weights (timing only)")
    sam_first = timed(call(sam_tool, {"image": image, "boxes": [CUP_BOX]}))
    sam_later = warm(call(sam_tool, {"image": image, "boxes": [CUP_BOX]}), repeats)
    row("segment tool, SAM ViT-B: first prompt (image embedding)", None, sam_first)
    row("segment tool, SAM ViT-B: later prompt, same image (cached embedding)", None, sam_later)


def bench_edit(store: ImageStore, repeats: int) -> None:
    from lensmith.tools.edit import EditTool

    image = store.add(skimage.data.coffee()).id
    tool = EditTool()
    cold = timed(call(tool, {"image": image, "instruction": "remove the cup"}))
    with use_store(store):
        message = call(tool, {"image": image, "instruction": "remove the cup"})()
    mask = (store.array(message.artifact.mask)[:, :, 0] > 127).astype(np.uint8) * 255
    bgr = np.ascontiguousarray(skimage.data.coffee()[:, :, ::-1])
    radius = max(3, round(max(mask.shape) * 0.01))
    seg, total = paired(lambda: tool.segmenter.segment(image, label="cup"),
                        call(tool, {"image": image, "instruction": "remove the cup"}), repeats)
    bare = warm(lambda: cv2.inpaint(bgr, mask, radius, cv2.INPAINT_TELEA), repeats)
    row("cv2.inpaint Telea (bare), the tool's cup mask", None, bare)
    row("edit tool 'remove the cup' (detect + GrabCut + inpaint)", cold, total)
    row("edit tool minus its segmentation step (same run)", None, total - seg, bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20, help="warm repeats for detect (others use a fifth)")
    parser.add_argument("--no-sam", action="store_true", help="skip the random-weight SAM ViT-B timing")
    args = parser.parse_args()
    store = ImageStore()
    slow = max(3, args.repeats // 5)
    with use_store(store):
        bench_detect(store, args.repeats)
        bench_ocr(store, slow)
        bench_segment(store, slow, not args.no_sam)
        bench_edit(store, slow)
    store.flush()
    out = ["| what | cold ms (load + first call) | warm ms (median) | warm vs bare |", "|---|---:|---:|---:|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
