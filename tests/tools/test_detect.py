"""detect with the real YOLO11n int8 weights that ship with lensmith, on real photos."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from support.tool_contract import ToolContract, invoke

from lensmith.runtime.weights import Resolved, resolve
from lensmith.tools import DetectArtifact, ImageStore, models, use_store
from lensmith.tools import detect as detect_mod
from lensmith.tools.detect import DetectTool

BUS = Path(__import__("ultralytics").__file__).parent / "assets" / "bus.jpg"

pytestmark = pytest.mark.slow


def iou(a: list[float], b: list[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def exif_rotated_jpeg(rgb: np.ndarray, path: Path) -> Path:
    """Save ``rgb`` (the picture as it should be displayed) as a JPEG whose pixels are
    stored rotated, with EXIF Orientation 6 telling viewers to rotate it back."""
    stored = Image.fromarray(rgb).rotate(90, expand=True)  # counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6  # display = stored rotated 90° clockwise
    stored.save(path, format="JPEG", quality=95, exif=exif)
    return path


@pytest.fixture(scope="module")
def detector() -> DetectTool:
    return DetectTool()


def run(tool: DetectTool, store: ImageStore, **args) -> DetectArtifact:
    with use_store(store):
        message = invoke(tool, args)
    assert message.status == "success", message.content
    contents[id(message.artifact)] = message.content
    return message.artifact


contents: dict[int, str] = {}  # the content line of each artifact returned by run()


class TestDetectTool(ToolContract):
    @pytest.fixture
    def tool(self, detector: DetectTool) -> DetectTool:
        return detector

    @pytest.fixture
    def good_call(self) -> tuple[dict, ImageStore]:
        store = ImageStore()
        return {"image": store.add(BUS).id}, store

    # Hand-checked reference boxes (xyxy, displayed pixels) around each object.
    @pytest.mark.parametrize(
        ("name", "label", "reference"),
        [
            ("astronaut", "person", [10, 20, 365, 512]),
            ("chelsea", "cat", [0, 0, 405, 300]),
            ("coffee", "cup", [170, 18, 420, 318]),
        ],
    )
    def test_finds_the_object_where_it_is(self, tool: DetectTool, name: str, label: str, reference: list[float]) -> None:
        store = ImageStore()
        art = run(tool, store, image=store.add(getattr(skimage.data, name)()).id)
        best = max((d for d in art.detections if d.label == label), key=lambda d: d.score)
        assert best.score > 0.5
        assert iou(best.box, reference) > 0.8, best.box
        assert art.method == "yolo" and art.method_kind == "model" and art.vocabulary_size == 80

    def test_bus_and_people(self, tool: DetectTool) -> None:
        store = ImageStore()
        art = run(tool, store, image=store.add(BUS).id, classes=["people", "buses"])
        counts = art.counts()
        assert counts.get("bus") == 1 and counts.get("person", 0) >= 3
        assert set(counts) == {"bus", "person"} and art.queried == ["bus", "person"]
        bus = next(d for d in art.detections if d.label == "bus")
        assert iou(bus.box, [10, 230, 800, 735]) > 0.85  # bus.jpg is 810×1080, the bus spans its width
        for person in (d for d in art.detections if d.label == "person"):
            assert person.box[3] > 800  # standing on the pavement at the bottom
        content = contents[id(art)]
        assert re.match(r"1 × bus \(0\.\d\d\), [3-9] × person \(", content), content
        annotated = store.get(art.images[0])
        assert annotated.origin == "artifact" and annotated.parent == art.image
        assert (annotated.width, annotated.height) == (810, 1080)
        assert not np.array_equal(store.array(annotated.id), store.array(art.image))

    def test_a_class_it_cannot_see_is_not_detectable_not_absent(self, tool: DetectTool) -> None:
        store = ImageStore()
        image = store.add(BUS).id
        art = run(tool, store, image=image, classes=["printer"])
        assert art.not_detectable == ["printer"] and art.detections == [] and art.queried == []
        content = contents[id(art)]
        assert "NOT DETECTABLE" in content and "'printer'" in content and "unknown" in content
        # the detector never ran: the artifact must not read as a search of every class
        assert not art.all_classes and not art.looked_for("person") and "did not run" in content
        assert DetectArtifact.model_validate(art.model_dump(exclude={"all_classes"})).all_classes is False
        mixed = run(tool, store, image=image, classes=["printer", "bus"])
        assert mixed.not_detectable == ["printer"] and mixed.counts() == {"bus": 1}
        assert contents[id(mixed)].startswith("1 × bus")

    def test_a_class_that_is_absent_says_none_found(self, tool: DetectTool) -> None:
        store = ImageStore()
        art = run(tool, store, image=store.add(skimage.data.chelsea()).id, classes=["dogs"])
        assert art.detections == [] and art.not_detectable == [] and art.queried == ["dog"]
        assert "0 × dog (none found" in contents[id(art)]

    def test_min_score_filters(self, tool: DetectTool) -> None:
        store = ImageStore()
        image = store.add(BUS).id
        low = run(tool, store, image=image, min_score=0.3)
        high = run(tool, store, image=image, min_score=0.8)
        assert all(d.score >= 0.8 for d in high.detections)
        assert len(high.detections) < len(low.detections)

    def test_boxes_refer_to_the_displayed_image_exif_rotated_and_downscaled(self, tool: DetectTool, tmp_path: Path) -> None:
        cat = skimage.data.chelsea()  # 451×300, not square
        path = exif_rotated_jpeg(cat, tmp_path / "rotated.jpg")
        with Image.open(path) as raw:
            assert raw.size == (300, 451)  # the file's pixels are on their side
        plain_store = ImageStore()
        plain = run(tool, plain_store, image=plain_store.add(cat).id, classes=["cat"]).detections[0].box
        store = ImageStore(max_side=300)  # forces a working copy smaller than the display
        meta = store.add(path)
        assert (meta.original_width, meta.original_height) == (451, 300) and meta.scale > 1.4
        rotated = run(tool, store, image=meta.id, classes=["cat"]).detections[0].box
        assert iou(plain, rotated) > 0.9, (plain, rotated)
        assert rotated[2] > 380 and rotated[3] > 280  # in displayed pixels, not the 300-px copy

    @pytest.mark.parametrize(
        ("args", "fragment"),
        [
            ({"classes": []}, "Empty class list"),
            ({"classes": ["  "]}, "Empty class list"),
            ({"min_score": 1.5}, "min_score"),
        ],
    )
    def test_bad_arguments(self, tool: DetectTool, args: dict, fragment: str) -> None:
        store = ImageStore()
        with use_store(store):
            message = invoke(tool, {"image": store.add(BUS).id, **args})
        assert message.status == "error" and fragment in message.content

    def test_an_image_the_model_cannot_take(self, tool: DetectTool, tmp_path: Path) -> None:
        store = ImageStore()
        tiny = store.add(np.zeros((2, 3, 3), np.uint8)).id
        not_image = tmp_path / "notes.txt"
        not_image.write_text("not an image")
        with use_store(store):
            small = invoke(tool, {"image": tiny})
            text = invoke(tool, {"image": str(not_image)})
        assert small.status == "error" and "3×2 pixels" in small.content
        assert text.status == "error" and "Not an image" in text.content

    def test_backend_names_the_packaged_model(self, tool: DetectTool) -> None:
        line = tool.backend()
        assert "int8 OpenVINO" in line and "shipped with lensmith" in line
        assert "open-vocabulary: none" in line and "not detectable" in line


def test_packaged_weights_are_the_manifest_files() -> None:
    found = resolve(models.YOLO)
    assert found.source == "package" and Path(found.path) == models.PACKAGED_YOLO
    manifest = (models.WEIGHTS_DATA / "MANIFEST.md").read_text()
    assert "AGPL-3.0" in manifest
    rows = list(re.finditer(r"`(yolo11n_int8_openvino_model/[\w.]+)` \| (\d+) \| `([0-9a-f]{64})`", manifest))
    assert sorted(Path(r[1]).name for r in rows) == sorted(p.name for p in models.PACKAGED_YOLO.iterdir())
    for row in rows:
        data = (models.WEIGHTS_DATA / row[1]).read_bytes()
        assert len(data) == int(row[2]) and hashlib.sha256(data).hexdigest() == row[3]


def test_weights_in_lensmith_weights_win_over_the_packaged_copy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # a user's weights folder, made here from the packaged copy: tests reach nothing outside the repo
    shutil.copytree(models.PACKAGED_YOLO, tmp_path / models.PACKAGED_YOLO.name)
    monkeypatch.setenv("LENSMITH_WEIGHTS", str(tmp_path))
    found = resolve(models.YOLO)
    assert found.source == "env" and found.path.startswith(str(tmp_path))
    assert "$LENSMITH_WEIGHTS" in DetectTool().backend()


def test_ultralytics_is_told_not_to_download_or_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("YOLO_OFFLINE", "YOLO_AUTOINSTALL"):
        monkeypatch.delenv(name, raising=False)
    detect_mod.import_ultralytics()
    assert os.environ["YOLO_OFFLINE"] == "1" and os.environ["YOLO_AUTOINSTALL"] == "False"


def test_open_vocabulary_detector_handles_classes_outside_coco(monkeypatch: pytest.MonkeyPatch) -> None:
    """The open-vocabulary path with a fake model standing in for YOLOE (no weights here)."""
    calls: dict[str, list] = {"vocab": []}

    class FakeOpenVocab:
        path = "/weights/yoloe-11s-seg.pt"

        def __init__(self, resolved: Resolved, device: str, *, open_vocab: bool = False) -> None:
            assert open_vocab

        def set_vocabulary(self, words: list[str]) -> None:
            calls["vocab"].append(words)

        def predict(self, bgr, *, conf: float, classes=None):
            return [([10.0, 20.0, 110.0, 220.0], "printer", 0.77)]

    monkeypatch.setattr(detect_mod, "_open_vocab_status", lambda: Resolved(name="yoloe-11s-seg", path=FakeOpenVocab.path, source="env"))
    monkeypatch.setattr(detect_mod, "Detector", FakeOpenVocab)
    monkeypatch.setattr(detect_mod, "shared_model", lambda key, loader, label=None: loader())
    store = ImageStore()
    buffer = io.BytesIO()
    Image.fromarray(skimage.data.coffee()).save(buffer, format="PNG")
    with use_store(store):
        words = ["printer"]
        found, missing, note = detect_mod._open_vocab_detect(DetectTool(), np.zeros((8, 8, 3), np.uint8), words, 0.25)
    assert calls["vocab"] == [["printer"]] and missing == [] and found[0][1] == "printer"
    assert "open-vocabulary detector yoloe-11s-seg.pt" in note


def test_ultralytics_logger_survives_a_closed_earlier_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    from ultralytics.utils import LOGGER

    handlers = [h for h in LOGGER.handlers if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]
    assert handlers, "ultralytics logs through a stream handler"
    closed = io.StringIO()
    closed.close()
    for handler in handlers:
        monkeypatch.setattr(handler, "stream", closed)
    detect_mod.import_ultralytics()
    assert all(h.stream is sys.stderr for h in handlers)


def test_skipping_the_warm_up_keeps_the_boxes(detector: DetectTool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The packaged export skips ultralytics' warm-up (an import of torchvision), so its NMS
    is ultralytics' own TorchNMS unless torchvision was imported already: both give the
    same detections."""
    import torchvision  # noqa: F401 - the kernel the warm-up would have brought in

    model = detector.detector()
    assert model.predictor is not None, "the packaged export uses the predictor without warm-up"
    photos = [BUS, BUS.with_name("zidane.jpg"), skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea()]
    for photo in photos:
        bgr = np.ascontiguousarray(photo[..., ::-1]) if isinstance(photo, np.ndarray) else np.asarray(
            Image.open(photo).convert("RGB"))[..., ::-1].copy()
        with_torchvision = model.predict(bgr, conf=0.1)
        with monkeypatch.context() as patch:
            patch.delitem(sys.modules, "torchvision")
            own_nms = model.predict(bgr, conf=0.1)
        assert len(own_nms) == len(with_torchvision) > 0
        for (box_a, label_a, score_a), (box_b, label_b, score_b) in zip(own_nms, with_torchvision, strict=True):
            assert label_a == label_b and score_a == pytest.approx(score_b, abs=1e-6)
            assert box_a == pytest.approx(box_b, abs=1e-3)


def test_a_cold_detection_does_not_import_torchvision() -> None:
    """1.5-1.9 s of a cold ask went to importing torchvision for a warm-up that, for the
    packaged export on the CPU, runs nothing."""
    script = (
        "import sys\n"
        "from lensmith.tools.detect import DetectTool\n"
        "from lensmith.tools import ImageStore, use_store\n"
        "store = ImageStore()\n"
        f"image = store.add({str(BUS)!r}).id\n"
        "with use_store(store):\n"
        "    text, art = DetectTool().run_tool(image, classes=['person'])\n"
        "print(len(art.detections), 'torchvision' in sys.modules)\n"
    )
    import subprocess

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["4", "False"], done.stdout


def test_the_export_is_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """ultralytics' ``names`` on an export that has not predicted yet loads (compiles) a
    throwaway copy of the model; the detector's one predictor serves names and predictions."""
    import ultralytics.engine.predictor as predictor_mod

    loads: list[str] = []
    real = predictor_mod.AutoBackend

    def counting(*args, **kwargs):
        loads.append(str(kwargs.get("model", args[0] if args else "")))
        return real(*args, **kwargs)

    monkeypatch.setattr(predictor_mod, "AutoBackend", counting)
    model = detect_mod.Detector(resolve(models.YOLO), "cpu")
    assert "person" in model.names
    first = model.model.predictor
    found = model.predict(np.asarray(Image.open(BUS).convert("RGB"))[..., ::-1].copy(), conf=0.25, classes=[0])
    assert len(found) == 4 and all(label == "person" for _box, label, _score in found)
    assert model.model.predictor is first and len(loads) == 1, loads
