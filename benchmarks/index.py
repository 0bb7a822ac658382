"""Indexing rate (what `lensmith index` runs) against a bare loop over the same models.

    .venv/bin/python benchmarks/index.py [--repeats 2] [--stages]

Photos: the 10 real photos of benchmarks/memory.py (skimage.data astronaut, chelsea, coffee,
text, page, rocket, clock, camera + ultralytics' bus.jpg and zidane.jpg). In one process:

- bare: for each photo, decode it, YOLO predict (the same int8 export) and EasyOCR readtext
  (EasyOCR as shipped: torch, default settings), one after the other (models loaded
  beforehand);
- lensmith, default: detect + read_text through the tools, OCR only where the text check
  finds text-like shapes, two photos at a time, MiniLM + Chroma writes included;
- lensmith, --ocr-all: the same with OCR on every photo.

Each lensmith run indexes fresh bytes (the photos flipped differently each time) into a new
store, after one untimed run that loads every model. Bare and lensmith runs alternate;
medians. Then the text check's misses on these photos: photos where OCR (the --ocr-all run)
found text but the check skipped OCR. ``--stages``: one more warm run with each stage timed
(decode, YOLO, text check, CRAFT, recognition, embedding + Chroma write).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

os.environ.setdefault("LENSMITH_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

NAMES = ("astronaut", "chelsea", "coffee", "text", "page", "rocket", "clock", "camera")


def photos(folder: Path, variant: int) -> list[Path]:
    """The 10 photos, made new bytes by ``variant`` (a flip and/or a one-level shift)."""
    import skimage.data
    import ultralytics
    from PIL import Image, ImageChops

    folder.mkdir(parents=True, exist_ok=True)
    images = {n: Image.fromarray(getattr(skimage.data, n)()).convert("RGB") for n in NAMES}
    for name in ("bus.jpg", "zidane.jpg"):
        images[Path(name).stem] = Image.open(Path(ultralytics.__file__).parent / "assets" / name).convert("RGB")
    out = []
    for name, img in images.items():
        if variant % 2:
            img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if variant // 2:
            img = ImageChops.add(img, Image.new("RGB", img.size, (variant // 2,) * 3))
        path = folder / f"{name}.png"
        img.save(path)
        out.append(path)
    return out


def bare_rate(files: list[Path], detector, reader) -> float:  # noqa: ANN001
    from PIL import Image

    started = time.perf_counter()
    for file in files:
        with Image.open(file) as im:
            rgb = np.asarray(im.convert("RGB"))
        detector.predict(rgb[..., ::-1], imgsz=640, conf=0.25, device="cpu", verbose=False)
        reader.readtext(rgb)
    return len(files) / (time.perf_counter() - started)


class Stages:
    """Where an indexed photo's time goes: wall seconds inside each stage, summed over the
    indexer's worker threads (two photos are looked at at once, so the sum can exceed the
    run's own time), and the process's CPU seconds for the whole run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started
                    self.calls[label] = self.calls.get(label, 0) + 1

        self._undo.append((owner, name, original))
        setattr(owner, name, timed)

    def undo(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)


def stage_profile(folder: Path, store, tools) -> None:  # noqa: ANN001
    from lensmith.memory import indexer
    from lensmith.memory import store as memory_store
    from lensmith.runtime.images import ImageStore
    from lensmith.tools import detect
    from lensmith.tools.ocr import load_reader

    easy = load_reader(["en"], "cpu").reader
    stages = Stages()
    stages.wrap(ImageStore, "add", "decode (ImageStore.add)")
    stages.wrap(detect.Detector, "predict", "YOLO predict")
    stages.wrap(indexer, "check_text", "text check")
    stages.wrap(easy, "detect", "OCR: CRAFT text detection")
    stages.wrap(easy, "recognize", "OCR: recognition")
    stages.wrap(memory_store.MemoryStore, "put_images", "MiniLM embedding + Chroma write")
    cpu = time.process_time()
    try:
        report = indexer.Indexer(store, tools=tools, clip=None).run([folder])
    finally:
        stages.undo()
    print(f"\nwhere the time goes (one warm `lensmith index` run: {report.seconds:.1f} s wall, "
          f"{time.process_time() - cpu:.1f} s process CPU for {report.processed} photos; load average "
          f"{os.getloadavg()[0]:.2f}):")
    for label, seconds in sorted(stages.seconds.items(), key=lambda kv: -kv[1]):
        print(f"  {label:<36} {seconds:6.2f} s in {stages.calls[label]} calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--stages", action="store_true", help="also time each stage of one more warm run")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}; "
          f"load average at start {os.getloadavg()[0]:.2f}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="lensmith-bench-index-"))
    os.environ["LENSMITH_HOME"] = str(tmp / "home")
    try:
        import easyocr
        import ultralytics

        from lensmith.agent.config import Settings
        from lensmith.agent.toolset import look_tools
        from lensmith.memory import open_memory
        from lensmith.memory.indexer import Indexer
        from lensmith.runtime.weights import resolve
        from lensmith.tools import models
        from lensmith.tools.ocr import load_reader

        tools = look_tools(Settings())
        started = time.perf_counter()
        photos(tmp / "v0", 0)
        first = Indexer(open_memory(tmp / "mem-cold"), tools=tools, clip=None).run([tmp / "v0"])
        print(f"first run (loads YOLO, EasyOCR, MiniLM, Chroma): {first.rate:.2f} images/s "
              f"({time.perf_counter() - started:.1f} s for {first.processed})", flush=True)
        detector = ultralytics.YOLO(resolve(models.YOLO).path, task="detect")
        # EasyOCR as shipped (torch, its defaults), not lensmith's OpenVINO-backed reader
        reader = easyocr.Reader(["en"], gpu=False, model_storage_directory=load_reader(["en"], "cpu").folder,
                                download_enabled=False, verbose=False)
        files0 = photos(tmp / "bare", 0)
        bare_rate(files0[:2], detector, reader)  # warm the bare models
        rates: dict[str, list[float]] = {"bare (YOLO + EasyOCR, one after the other)": [], "lensmith index": [],
                                         "lensmith index --ocr-all": []}
        variant = 1
        entries: dict[str, dict[str, dict]] = {}
        for _ in range(args.repeats):
            rates["bare (YOLO + EasyOCR, one after the other)"].append(bare_rate(files0, detector, reader))
            for label, ocr_all in (("lensmith index", False), ("lensmith index --ocr-all", True)):
                folder = tmp / f"v{variant}"
                photos(folder, variant)
                store = open_memory(tmp / f"mem-{variant}")
                report = Indexer(store, tools=tools, clip=None, ocr_all=ocr_all).run([folder])
                rates[label].append(report.rate)
                entries[label] = {Path(m["path"]).stem: m for m in store.image_entries()}
                variant += 1
        base = statistics.median(rates["bare (YOLO + EasyOCR, one after the other)"])
        print(f"\n10 photos, warm, {args.repeats} repeats (images/s, higher is better):")
        for label, values in rates.items():
            med = statistics.median(values)
            print(f"  {label:<44} median {med:5.2f} images/s  {med / base:4.2f}× bare  "
                  f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
        checked, full = entries["lensmith index"], entries["lensmith index --ocr-all"]
        skipped = sorted(n for n, m in checked.items() if m.get("ocr"))
        missed = sorted(n for n in skipped if full.get(n, {}).get("has_text"))
        print(f"\ntext check: OCR skipped on {len(skipped)}/{len(checked)} photos ({', '.join(skipped) or 'none'}); "
              f"photos with text (per OCR on all) whose OCR was skipped: {', '.join(missed) or 'none'}")
        if args.stages:
            photos(tmp / f"v{variant}", variant)
            stage_profile(tmp / f"v{variant}", open_memory(tmp / f"mem-{variant}"), tools)
        print(f"load average at end {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
