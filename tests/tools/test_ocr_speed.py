"""read_text's OpenVINO path reads what EasyOCR as shipped reads.

On the CPU lensmith runs EasyOCR's CRAFT detector (bf16 where the CPU has it) and its
recogniser (f32, from the unquantised weights) through OpenVINO; EasyOCR's own torch path
quantises the recogniser to int8. The comparison is against plain
``easyocr.Reader.readtext`` with its defaults on real images: the same words in the same
order, boxes within a few pixels. Words are compared with whitespace collapsed, as
read_text reports them (EasyOCR's int8 recogniser sometimes reads a double space where f32
reads a triple one).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import ultralytics
from PIL import Image

from lensmith.evals.tool_questions import SIGN_LINES, render_sign
from lensmith.tools import ocr

pytestmark = pytest.mark.slow

# bf16 moves a score across a threshold here and there: one pixel of CRAFT's half-resolution
# map is two image pixels, and a slanted box's corners also move with its angle
BOX_PX = 4
# Below this confidence EasyOCR is reading noise (bus.jpg's small print: 'Lu miuils W "
# clicuricu `v Ulau', 0.03; "'MHILmulA", 0.03): int8 and f32 weights read different
# letters there, so only the box is compared
NOISE = 0.1


@pytest.fixture(scope="module")
def fast() -> ocr.Reader:
    return ocr.load_reader(["en"], "cpu")


@pytest.fixture(scope="module")
def plain(fast: ocr.Reader):  # noqa: ANN201 - easyocr is untyped
    import easyocr

    return easyocr.Reader(["en"], gpu=False, model_storage_directory=fast.folder, download_enabled=False, verbose=False)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    sign = render_sign(tmp_path_factory.mktemp("sign") / "sign.png")
    bus = Path(ultralytics.__file__).parent / "assets" / "bus.jpg"
    return {
        "page": np.stack([skimage.data.page()] * 3, axis=-1),
        "sign": np.asarray(Image.open(sign).convert("RGB")),
        # the band with the bus's lettering, at full resolution (the whole photo triples the time)
        "bus": np.asarray(Image.open(bus).convert("RGB"))[300:700],
    }


def plain_read(reader, rgb: np.ndarray) -> list[tuple[list[float], str, float]]:  # noqa: ANN001
    out = []
    for points, text, score in reader.readtext(rgb):
        xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
        out.append(([min(xs), min(ys), max(xs), max(ys)], " ".join(str(text).split()), float(score)))
    return out


def test_both_networks_run_in_openvino_on_the_cpu(fast: ocr.Reader) -> None:
    assert fast.runtime == "OpenVINO (detector and recogniser)"
    assert isinstance(fast.reader.detector, ocr._OpenVinoNet) and isinstance(fast.reader.recognizer, ocr._OpenVinoNet)


@pytest.mark.parametrize("name", ["page", "sign", "bus"])
def test_reads_the_same_words_as_plain_easyocr(fast: ocr.Reader, plain, images: dict[str, np.ndarray], name: str) -> None:  # noqa: ANN001
    ours, theirs = fast.read(images[name]), plain_read(plain, images[name])
    assert theirs, f"EasyOCR reads nothing in {name}: not a useful comparison"
    assert len(ours) == len(theirs), ([t for _, t, _ in ours], [t for _, t, _ in theirs])
    for (box, text, _), (their_box, their_text, their_score) in zip(ours, theirs, strict=True):
        assert np.abs(np.subtract(box, their_box)).max() <= BOX_PX, (box, their_box)
        if their_score >= NOISE:
            assert text == their_text
    assert any(score >= NOISE for _, _, score in theirs)
    if name == "sign":
        assert " ".join(t for _, t, _ in ours) == " ".join(" ".join(SIGN_LINES).split())


def test_score_maps_match_torch(fast: ocr.Reader, plain, images: dict[str, np.ndarray]) -> None:  # noqa: ANN001
    import torch
    from easyocr.imgproc import normalizeMeanVariance

    x = torch.from_numpy(np.transpose(normalizeMeanVariance(images["sign"]), (2, 0, 1))[None].copy())
    with torch.no_grad():
        theirs = plain.detector(x)[0].numpy()
    ours = fast.reader.detector(x)[0].numpy()
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < 0.05
    # the thresholds EasyOCR cuts the maps at (low_text, link_threshold 0.4; text_threshold 0.7)
    for cut in (0.4, 0.7):
        assert np.mean((ours > cut) != (theirs > cut)) < 0.001


def test_concurrent_reads_match_one_at_a_time(fast: ocr.Reader, images: dict[str, np.ndarray]) -> None:
    alone = {name: fast.read(images[name]) for name in ("sign", "page")}
    together: dict[str, list] = {}
    threads = [threading.Thread(target=lambda n=name: together.__setitem__(n, fast.read(images[n]))) for name in alone]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert together == alone


def test_without_openvino_the_torch_path_reads_the_same(fast: ocr.Reader, images: dict[str, np.ndarray],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    import lensmith.runtime.openvino_ir as ir

    def unavailable(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("no OpenVINO here")

    monkeypatch.setattr(ir, "compile_cached", unavailable)
    torch_reader = ocr.Reader(["en"], fast.folder, "cpu")
    assert torch_reader.runtime == "torch" and not isinstance(torch_reader.reader.recognizer, ocr._OpenVinoNet)
    assert isinstance(torch_reader.reader.detector, torch.nn.Module)
    # EasyOCR's CPU recogniser is int8 (quantised like EasyOCR does it), so reads what plain EasyOCR reads
    assert "quantized" in type(torch_reader.reader.recognizer.Prediction).__module__
    assert [t for _, t, _ in torch_reader.read(images["sign"])] == [t for _, t, _ in fast.read(images["sign"])]


def test_a_cached_detector_builds_no_torch_network(fast: ocr.Reader, images: dict[str, np.ndarray],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With CRAFT's IR in the cache (``fast`` put it there), the torch detector (a VGG16,
    ~1.9 s to build and initialise) is not built at all."""
    import easyocr

    built: list[str] = []
    real = easyocr.Reader.initDetector
    monkeypatch.setattr(easyocr.Reader, "initDetector", lambda self, path: built.append(path) or real(self, path))
    again = ocr.Reader(["en"], fast.folder, "cpu")
    assert built == [] and isinstance(again.reader.detector, ocr._OpenVinoNet)
    assert again.read(images["sign"]) == fast.read(images["sign"])
