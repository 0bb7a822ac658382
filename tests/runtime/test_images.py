"""The session image store against real files made here: photos from skimage.data
saved by Pillow, broken and hostile files cut or crafted byte by byte, a real HTTP
server on 127.0.0.1, and a failed turn followed by a good one in the agent loop."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import socket
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from lensmith.runtime.errors import ImageError
from lensmith.runtime.images import ImageStore, current_store, use_store

ORIENTATION = 0x0112


# ---- helpers ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cat() -> np.ndarray:
    return skdata.chelsea()  # 300 × 451 RGB: not square, so a rotation shows in the size


@pytest.fixture
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "store")


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_claiming(width: int, height: int) -> bytes:
    """A ~60-byte PNG whose header claims ``width × height`` RGB pixels (no pixel data)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def expect_error(store: ImageStore, source, *needles: str) -> str:
    with pytest.raises(ImageError) as info:
        store.add(source)
    message = str(info.value)
    for needle in needles:
        assert needle.lower() in message.lower(), message
    return message


# ---- good inputs ----------------------------------------------------------------------
def test_path_bytes_pil_and_array_all_load(store: ImageStore, cat: np.ndarray, tmp_path: Path) -> None:
    path = write(tmp_path / "cat.png", encode(Image.fromarray(cat), "PNG"))
    meta = store.add(path)
    assert meta.id == "img:" + hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    assert (meta.width, meta.height) == (451, 300) and meta.scale == 1.0 and meta.origin == "input"
    assert np.array_equal(store.array(meta.id), cat)
    assert np.array_equal(store.array(meta.id, bgr=True), cat[:, :, ::-1])
    assert store.file(meta.id).exists()
    assert store.get(str(path)).id == meta.id  # a path resolves to the same entry

    from_pil = store.add(Image.fromarray(cat))
    from_array = store.add(cat)
    assert from_pil.id == from_array.id  # same pixels, same id
    assert np.array_equal(store.array(from_array.id), cat)


@pytest.mark.parametrize(
    ("orientation", "turns"),
    [(6, -1), (8, 1), (3, 2)],  # 6: turn 90° clockwise to display, 8: counter-clockwise, 3: 180°
)
def test_exif_orientation_is_applied(
    store: ImageStore, cat: np.ndarray, tmp_path: Path, orientation: int, turns: int
) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    path = write(tmp_path / f"rot{orientation}.jpg", encode(Image.fromarray(cat), "JPEG", quality=95, exif=exif.tobytes()))
    with Image.open(path) as raw:  # Image.open does not rotate: the pixels as stored
        assert raw.getexif()[ORIENTATION] == orientation
        stored_pixels = np.asarray(raw.convert("RGB"))

    meta = store.add(path)
    expected = np.rot90(stored_pixels, k=turns)
    assert (meta.width, meta.height) == (expected.shape[1], expected.shape[0])
    assert (meta.original_width, meta.original_height) == (meta.width, meta.height)
    if orientation in (6, 8):
        assert (meta.width, meta.height) == (300, 451)
    assert np.array_equal(store.array(meta.id), expected)
    # and it is still the cat: JPEG loss only
    assert np.abs(store.array(meta.id).astype(int) - np.rot90(cat, k=turns)).mean() < 3
    # the file on disk is the displayed image, so anything reading it directly agrees
    with Image.open(store.file(meta.id)) as on_disk:
        assert np.array_equal(np.asarray(on_disk.convert("RGB")), expected)


def test_sixteen_bit_grey_keeps_its_contrast(store: ImageStore) -> None:
    camera = skdata.camera().astype(np.uint16)  # 512 × 512, 8-bit grey photo
    deep = camera * 40 + 3000  # 3000..13200: a narrow slice of the 16-bit range
    image = Image.fromarray(deep)
    assert image.mode == "I;16"
    meta = store.add(encode(image, "PNG"))
    assert meta.mode.startswith("I")
    rgb = store.array(meta.id)
    assert rgb.shape == (512, 512, 3) and rgb.dtype == np.uint8
    assert np.array_equal(rgb[:, :, 0], rgb[:, :, 1]) and np.array_equal(rgb[:, :, 1], rgb[:, :, 2])
    assert rgb.min() == 0 and rgb.max() == 255  # stretched, not clipped to white or black
    assert np.corrcoef(rgb[:, :, 0].ravel(), camera.ravel())[0, 1] > 0.999


def test_cmyk_jpeg_becomes_rgb(store: ImageStore, cat: np.ndarray) -> None:
    meta = store.add(encode(Image.fromarray(cat).convert("CMYK"), "JPEG", quality=95))
    assert meta.mode == "CMYK"
    rgb = store.array(meta.id)
    assert rgb.shape == cat.shape
    assert np.abs(rgb.astype(int) - cat).mean() < 6


def test_transparency_is_composited_on_white(store: ImageStore, cat: np.ndarray) -> None:
    alpha = np.zeros(cat.shape[:2], np.uint8)
    alpha[:, : cat.shape[1] // 2] = 255  # left half opaque, right half fully transparent
    rgba = Image.fromarray(np.dstack([cat, alpha]), "RGBA")
    meta = store.add(encode(rgba, "PNG"))
    assert meta.mode == "RGBA"
    rgb = store.array(meta.id)
    half = cat.shape[1] // 2
    assert np.array_equal(rgb[:, :half], cat[:, :half])
    assert (rgb[:, half:] == 255).all()

    palette = Image.fromarray(cat).quantize(colors=16)
    indices = np.asarray(palette).copy()
    indices[:50, :50] = 15
    marked = Image.fromarray(indices, "P")
    marked.putpalette(palette.getpalette())
    meta_p = store.add(encode(marked, "PNG", transparency=15))
    assert meta_p.mode == "P"
    rgb_p = store.array(meta_p.id)
    assert (rgb_p[:50, :50] == 255).all()  # the transparent index shows as white
    opaque = np.asarray(marked) != 15
    lut = np.array(palette.getpalette()[: 16 * 3], np.uint8).reshape(16, 3)
    assert np.array_equal(rgb_p[opaque], lut[np.asarray(marked)[opaque]])


def test_large_image_is_downscaled_and_boxes_map_back(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store", max_side=500)
    width, height = 1001, 601  # not a multiple of the scale: the axes round differently
    canvas = np.full((height, width, 3), 30, np.uint8)
    box = (400, 150, 700, 420)  # x0, y0, x1, y1 on the original
    canvas[box[1] : box[3], box[0] : box[2]] = (250, 20, 20)
    meta = store.add(encode(Image.fromarray(canvas), "PNG"))

    assert max(meta.width, meta.height) == 500
    assert (meta.original_width, meta.original_height) == (width, height)
    assert meta.scale == pytest.approx(width / meta.width)
    assert meta.to_original([0, 0, meta.width, meta.height]) == [0, 0, width, height]
    assert meta.to_working(meta.to_original([12.5, 40, 100, 250])) == pytest.approx([12.5, 40, 100, 250], abs=0.01)  # to_original rounds to 0.01 px

    # find the red box the way a detector would, on the working copy, and map it back
    red = store.array(meta.id)
    ys, xs = np.nonzero((red[:, :, 0] > 140) & (red[:, :, 1] < 90))
    found = meta.to_original([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])
    assert found == pytest.approx(box, abs=2.5)

    # the working copy survives a restart with the same scale
    again = ImageStore(tmp_path / "store", max_side=500)
    assert again.get(meta.id).to_original([0, 0, meta.width, meta.height]) == [0, 0, width, height]
    assert np.array_equal(again.array(meta.id), red)


def test_same_bytes_are_stored_once(store: ImageStore, cat: np.ndarray, tmp_path: Path) -> None:
    data = encode(Image.fromarray(cat), "JPEG", quality=90)
    first = store.add(write(tmp_path / "a.jpg", data))
    second = store.add(write(tmp_path / "copy-of-a.jpg", data))
    third = store.add(data)
    assert first.id == second.id == third.id
    assert len(store) == 1
    assert list(store.artifact_dir.iterdir()) == []  # an RGB file is used in place, never copied
    index = json.loads((store.folder / "images.json").read_text())
    assert [item["id"] for item in index] == [first.id]


# ---- bad inputs: always an ImageError naming the input -------------------------------------
def test_missing_file_and_folder(store: ImageStore, tmp_path: Path) -> None:
    expect_error(store, tmp_path / "nowhere.jpg", "not found", "nowhere.jpg")
    expect_error(store, tmp_path, "folder", str(tmp_path))
    expect_error(store, "x" * 5000, "x" * 50)  # a planner passing text as a path: no OSError


def test_text_file_named_jpg(store: ImageStore, tmp_path: Path) -> None:
    path = write(tmp_path / "notes.jpg", b"these are my holiday notes, not a photo\n" * 20)
    expect_error(store, path, "not an image", "notes.jpg")


def test_empty_file(store: ImageStore, tmp_path: Path) -> None:
    expect_error(store, write(tmp_path / "empty.png", b""), "empty", "empty.png")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file(store: ImageStore, cat: np.ndarray, tmp_path: Path, fmt: str) -> None:
    whole = encode(Image.fromarray(cat), fmt)
    path = write(tmp_path / f"cut.{fmt.lower()}", whole[: len(whole) // 2])
    expect_error(store, path, "truncated", path.name)
    assert len(store) == 0


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bombs_are_refused_without_decoding(store: ImageStore, tmp_path: Path) -> None:
    # beyond Pillow's own hard limit: its guard fires, reported as ours
    huge = write(tmp_path / "bomb.png", png_claiming(100_000, 100_000))
    expect_error(store, huge, "too large", "bomb.png")
    # between Pillow's warning and its hard limit, but above the store's: our own check
    big = write(tmp_path / "big.png", png_claiming(11_000, 11_000))
    message = expect_error(store, big, "too large", "big.png")
    assert "11000×11000" in message
    assert len(store) == 0


def test_lowered_pixel_limit_refuses_a_real_photo(cat: np.ndarray, tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store", max_pixels=100_000)  # the cat has 135,300
    path = write(tmp_path / "cat.png", encode(Image.fromarray(cat), "PNG"))
    expect_error(store, path, "too large", "cat.png", "451×300")
    small = write(tmp_path / "small.png", encode(Image.fromarray(cat[:200, :200]), "PNG"))
    assert store.add(small).width == 200


def test_zero_size_images(store: ImageStore, tmp_path: Path) -> None:
    expect_error(store, write(tmp_path / "flat.png", png_claiming(0, 10)), "zero width or height", "flat.png")
    expect_error(store, Image.new("RGB", (0, 7)), "zero width or height")
    expect_error(store, np.zeros((0, 5, 3), np.uint8), "zero width or height")
    with pytest.raises(ImageError, match="zero width or height"):
        store.add_artifact(Image.new("RGB", (4, 0)), parent=None, label="empty-mask")


def test_unknown_id_names_the_known_ones(store: ImageStore, cat: np.ndarray) -> None:
    with pytest.raises(ImageError, match="none yet"):
        store.get("img:deadbeef")
    meta = store.add(cat)
    with pytest.raises(ImageError) as info:
        store.pil("img:deadbeef")
    assert "img:deadbeef" in str(info.value) and meta.id in str(info.value)


def test_array_of_wrong_shape(store: ImageStore) -> None:
    with pytest.raises(ImageError, match=r"\(4, 4, 2\)"):
        store.add(np.zeros((4, 4, 2), np.uint8))


# ---- artifacts, persistence, the session's store ---------------------------------------------
def test_artifacts_and_deferred_writes(store: ImageStore, cat: np.ndarray) -> None:
    source = store.add(cat)
    boxes = cat.copy()
    boxes[10:20, 10:200] = (0, 255, 0)
    art = store.add_artifact(boxes, parent=source.id, label="detect boxes")
    assert (art.origin, art.parent, art.label) == ("artifact", source.id, "detect boxes")
    assert Path(art.path).parent == store.artifact_dir
    assert np.array_equal(store.array(art.id), boxes)

    mask = np.zeros(cat.shape[:2], np.uint8)
    mask[100:200, 100:300] = 255
    deferred = store.add_artifact(mask, parent=source.id, label="mask", defer_write=True)
    assert np.array_equal(store.array(deferred.id)[:, :, 0], mask)  # usable before the PNG exists
    store.flush()
    on_disk = store.get(deferred.id).path
    assert on_disk and Path(on_disk).exists()
    with Image.open(on_disk) as png:
        assert np.array_equal(np.asarray(png.convert("L")), mask)


def test_file_of_a_deferred_artifact_waits_for_its_write(store: ImageStore, cat: np.ndarray,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Asking for the file of an artifact whose PNG is being written waits for that write
    instead of encoding the PNG itself, in the caller's thread, at a slower compression
    level (the turn lists its artifact files as soon as the tools return)."""
    import threading
    import time

    saved: list[str] = []
    real_save = Image.Image.save

    def save(self: Image.Image, fp, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        saved.append(threading.current_thread().name.split("_")[0])
        real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    real_write = store._write_deferred

    def slow_write(image_id: str) -> None:
        time.sleep(0.3)
        real_write(image_id)

    monkeypatch.setattr(store, "_write_deferred", slow_write)
    art = store.add_artifact(cat, parent=None, label="drawn", defer_write=True)
    path = store.file(art.id)
    store.flush()
    assert saved == ["lensmith-png"] and path.exists() and str(path) == store.get(art.id).path
    with Image.open(path) as png:
        assert np.array_equal(np.asarray(png.convert("RGB")), store.array(art.id))


def test_a_new_store_on_the_same_folder_knows_earlier_images(cat: np.ndarray, tmp_path: Path) -> None:
    folder = tmp_path / "session-images"
    first = ImageStore(folder)
    kept = first.add(write(tmp_path / "cat.jpg", encode(Image.fromarray(cat), "JPEG", quality=92)))
    made = first.add(cat[::2, ::2])
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    turned = first.add(encode(Image.fromarray(cat), "JPEG", exif=exif.tobytes()))
    expected = {m.id: first.array(m.id).copy() for m in (kept, made, turned)}

    second = ImageStore(folder)
    assert {m.id for m in second} == set(expected)
    for image_id, pixels in expected.items():
        assert image_id in second
        assert np.array_equal(second.array(image_id), pixels)

    # a damaged entry in the index costs only that entry
    index = json.loads((folder / "images.json").read_text())
    index.append({"id": "img:broken", "width": "wide"})
    (folder / "images.json").write_text(json.dumps(index))
    assert {m.id for m in ImageStore(folder)} == set(expected)
    # a damaged index file costs the shortcuts, not the session
    (folder / "images.json").write_text("{not json")
    assert len(ImageStore(folder)) == 0


def test_current_store_follows_use_store(tmp_path: Path) -> None:
    mine = ImageStore(tmp_path / "mine")
    outside = current_store()
    assert outside is not mine
    with use_store(mine):
        assert current_store() is mine
    assert current_store() is outside


# ---- URLs: a real HTTP server on 127.0.0.1 ------------------------------------------------
class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def http_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


def test_url_loads(store: ImageStore, cat: np.ndarray, http_root: tuple[str, Path]) -> None:
    base, root = http_root
    data = encode(Image.fromarray(cat), "PNG")
    write(root / "cat.png", data)
    meta = store.add(f"{base}/cat.png")
    assert meta.id == "img:" + hashlib.sha256(data).hexdigest()[:8]
    assert meta.source == f"{base}/cat.png"
    assert np.array_equal(store.array(meta.id), cat)
    assert store.get(f"{base}/cat.png").id == meta.id  # get() adds URLs on the fly too


def test_url_errors(store: ImageStore, http_root: tuple[str, Path]) -> None:
    base, root = http_root
    expect_error(store, f"{base}/missing.jpg", "404", f"{base}/missing.jpg")
    write(root / "page.jpg", b"<html><body>not a picture</body></html>")
    expect_error(store, f"{base}/page.jpg", "not an image", f"{base}/page.jpg")

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    url = f"http://127.0.0.1:{closed}/cat.png"
    expect_error(store, url, "could not download", url)


# ---- through the agent loop: a bad image fails one turn, not the session ---------------------
def test_bad_image_fails_the_turn_and_the_session_goes_on(cat: np.ndarray, tmp_path: Path) -> None:
    from lensmith.agent.config import Settings
    from lensmith.agent.events import TurnFailed, TurnFinished
    from lensmith.agent.loop import Agent
    from lensmith.agent.planners.scripted import ScriptedChatModel
    from lensmith.tools.registry import Registry

    planner = ScriptedChatModel(replies=["It is a photo of a cat lying on a rug."])
    agent = Agent(Settings(device="cpu"), planner=planner, registry=Registry([]), memory=False)
    session = agent.sessions.new()
    broken = write(tmp_path / "holiday.jpg", b"not a jpeg at all")
    events: list = []

    failed = agent.ask("what is in this photo?", [broken], session=session, on_event=events.append)
    assert failed.error and "holiday.jpg" in failed.error and "not an image" in failed.error.lower()
    assert failed.answer in ("", None)
    assert [type(e) for e in events][-1] is TurnFailed
    assert events[-1].error == failed.error
    assert planner.seen == []  # the planner was never asked about an image it cannot see

    good = write(tmp_path / "cat.png", encode(Image.fromarray(cat), "PNG"))
    events.clear()
    ok = agent.ask("what is in this photo?", [good], session=session, on_event=events.append)
    assert ok.error is None, ok.error
    assert ok.answer == "It is a photo of a cat lying on a rug."
    assert isinstance(events[-1], TurnFinished)
    assert ok.images == [session.store.add(good).id]
    assert [t.error is None for t in session.turns()] == [False, True]
