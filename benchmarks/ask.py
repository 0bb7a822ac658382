"""Cold `lensmith ask` against a bare script that loads and runs the same model.

    .venv/bin/python benchmarks/ask.py [--runs 3] [--cases detect read] [--memory-entries 10000]

Every figure is a whole process (interpreter start to exit), timed from here. Per case and
per run, in this order, interleaved so that load from other processes hits all alike:

- bare: a script that imports the library, loads the same weights the tool resolves and
  predicts once on the same photo (ultralytics YOLO; or EasyOCR's Reader + readtext);
- for YOLO also "bare, no warm-up": the same script skipping ultralytics' warm-up, which
  for the OpenVINO export on the CPU only imports torchvision; lensmith's detector skips it
  too, so this is the stricter baseline, and every ratio is printed against both;
- `--no-memory`;
- memory on, empty (a fresh $LENSMITH_HOME for every run);
- ``--warm``: the same ask through the background agent, started by an untimed first
  ask (what a user asking many questions in a row gets from the second ask on);
- memory on, with N image entries plus a few past turns and facts (the same home for
  every run: each run journals its own turn, the next one's recall writes it).

All variants share one model cache ($LENSMITH_CACHE_DIR), filled by one untimed-for-the-
medians first ask, as on a machine where lensmith has run once.

Medians over the runs; each variant's ratio is its median over the bare median of the same
run set.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

os.environ.setdefault("LENSMITH_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

LENSMITH = str(Path(sys.executable).with_name("lensmith"))

BARE_DETECT = """
import os, sys
os.environ.setdefault("YOLO_OFFLINE", "1"); os.environ.setdefault("YOLO_VERBOSE", "False")
import ultralytics
model = ultralytics.YOLO(sys.argv[1], task="detect")
result = model.predict(sys.argv[2], imgsz=640, conf=0.25, classes=[0], device="cpu", verbose=False)[0]
print(len(result.boxes), "boxes")
"""

# The same, without ultralytics' warm-up: for an OpenVINO export on the CPU the warm-up only
# imports torchvision (for its NMS kernel), which lensmith's detector skips. A stricter
# baseline than the plain script above, printed beside it so that neither flatters.
BARE_DETECT_NO_WARMUP = BARE_DETECT.replace(
    'model = ultralytics.YOLO(sys.argv[1], task="detect")',
    """from ultralytics.models.yolo.detect import DetectionPredictor
class NoWarmUp(DetectionPredictor):
    def setup_model(self, model, verbose=True):
        super().setup_model(model, verbose)
        self.done_warmup = True
model = ultralytics.YOLO(sys.argv[1], task="detect")""",
).replace('verbose=False)[0]', 'verbose=False, predictor=NoWarmUp)[0]')
assert "NoWarmUp)[0]" in BARE_DETECT_NO_WARMUP

BARE_READ = """
import sys
import easyocr
reader = easyocr.Reader(["en"], gpu=False, model_storage_directory=sys.argv[1], download_enabled=False, verbose=False)
print(len(reader.readtext(sys.argv[2])), "spans")
"""

CASES = {
    # name: (photo, question, bare script, stricter bare script or None)
    "detect": ("bus.jpg", "how many people are there?", BARE_DETECT, BARE_DETECT_NO_WARMUP),
    "read": ("sign.png", "what does the sign say?", BARE_READ, None),
}


def _weights(case: str) -> str:
    if case == "detect":
        from lensmith.runtime.weights import resolve
        from lensmith.tools import models

        return resolve(models.YOLO).path
    from lensmith.tools.ocr import model_folders

    for _where, folder in model_folders():
        if (folder / "craft_mlt_25k.pth").is_file():
            return str(folder)
    raise SystemExit("no EasyOCR weights found")


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr[-3000:]}")
    return elapsed


def fill_memory(home: Path, entries: int) -> None:
    """A memory with ``entries`` indexed photos (synthetic unit vectors, real metadata
    layout) and a few real past turns and facts (real MiniLM vectors)."""
    code = f"""
import numpy as np
from lensmith.memory import open_memory
from lensmith.memory.store import IMAGE_TEXTS, ImageRecord, Seen
store = open_memory({str(home / "memory")!r})
rng = np.random.default_rng(0)
labels = ["person", "cat", "dog", "car", "cup", "bus", "tree", "book"]
for start in range(0, {entries}, 2000):
    stop = min({entries}, start + 2000)
    vecs = rng.standard_normal((stop - start, 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    metas = []
    for i in range(start, stop):
        record = ImageRecord(path=f"/photos/{{i}}.jpg", size_bytes=1000, mtime_ns=0, sha256=f"{{i:064x}}", root="/photos")
        seen = Seen(label_counts={{labels[i % 8]: 1 + i % 3}}, analysed=True)
        metas.append({{**record.metadata(seen, indexed_at=0.0), "aspect": "labels", "searchable": True}})
    with store.backend.writing() as client:
        store._collection(client, IMAGE_TEXTS).add(
            ids=[m["key"] + "#labels" for m in metas], embeddings=vecs, metadatas=metas,
            documents=[f"A photo containing {{labels[i % 8]}}." for i in range(start, stop)])
for i in range(20):
    store.add_turn(session_id=f"old{{i % 4}}", turn_id=f"t{{i}}", question=f"how many {{labels[i % 8]}}s are there?",
                   answer=f"There are {{i % 5}} {{labels[i % 8]}}s (detect).", image_ids=[], image_paths=[])
for i in range(5):
    store.add_fact(f"My {{labels[i]}} is called Name{{i}}.", evidence=[], session_id="old0")
store.flush_pending()
print(store.counts())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800,
                         env={**os.environ, "LENSMITH_HOME": str(home)})
    if out.returncode != 0:
        raise SystemExit(f"could not fill the memory:\n{out.stderr[-3000:]}")
    print(f"memory filled: {out.stdout.strip()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--memory-entries", type=int, default=10_000)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}; "
          f"load average at start {os.getloadavg()[0]:.2f}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="lensmith-bench-ask-"))
    # one machine-wide cache (converted models, exemplar embeddings), as a user has it: the
    # first ask on a machine fills it, and that run is reported apart, not in the medians
    os.environ["LENSMITH_CACHE_DIR"] = str(tmp / "cache")
    try:
        photos = tmp / "photos"
        subprocess.run([LENSMITH, "samples", str(photos)], check=True, capture_output=True,
                       env={**os.environ, "LENSMITH_HOME": str(tmp / "samples-home")})
        full_home = tmp / "home-full"
        if args.memory_entries:
            fill_memory(full_home, args.memory_entries)
        for case in args.cases:
            photo, question, bare, strict = CASES[case]
            image = str(photos / photo)
            weights = _weights(case)
            first = _timed([LENSMITH, "ask", image, question, "--planner", "heuristic", "--json"],
                           {**os.environ, "LENSMITH_HOME": str(tmp / f"home-{case}-first")})
            print(f"{case}: first ask on this machine (fills the model cache): {first:.2f} s", flush=True)
            times: dict[str, list[float]] = {"bare": [], "no-memory": [], "memory empty": []}
            if strict:
                times["bare, no warm-up"] = []
            if args.memory_entries:
                times[f"memory {args.memory_entries:,}"] = []
            ask = [LENSMITH, "ask", image, question, "--planner", "heuristic", "--json"]
            warm_env = {**os.environ, "LENSMITH_HOME": str(tmp / f"home-{case}-warm")}
            times["--warm (agent up)"] = []
            _timed([*ask, "--warm"], warm_env)  # starts the warm agent; not timed
            for run in range(args.runs):
                env = {**os.environ, "LENSMITH_HOME": str(tmp / f"home-{case}-{run}-a")}
                times["bare"].append(_timed([sys.executable, "-c", bare, weights, image], env))
                if strict:
                    times["bare, no warm-up"].append(_timed([sys.executable, "-c", strict, weights, image], env))
                times["no-memory"].append(_timed([*ask, "--no-memory"], env))
                env = {**os.environ, "LENSMITH_HOME": str(tmp / f"home-{case}-{run}-b")}
                times["memory empty"].append(_timed(ask, env))
                if args.memory_entries:
                    env = {**os.environ, "LENSMITH_HOME": str(full_home)}
                    times[f"memory {args.memory_entries:,}"].append(_timed(ask, env))
                times["--warm (agent up)"].append(_timed([*ask, "--warm"], warm_env))
            subprocess.run([LENSMITH, "warm", "stop"], env=warm_env, capture_output=True, timeout=60)
            base = statistics.median(times["bare"])
            stricter = statistics.median(times["bare, no warm-up"]) if strict else None
            print(f"\n{case}: lensmith ask {photo} {question!r} --planner heuristic, {args.runs} runs")
            for name, values in times.items():
                med = statistics.median(values)
                runs = ", ".join(f"{v:.2f}" for v in values)
                also = f", {med / stricter:4.2f}× bare without warm-up" if stricter else ""
                print(f"  {name:<18} median {med:6.2f} s  ratio {med / base:4.2f}×{also}  (runs: {runs})", flush=True)
        print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
