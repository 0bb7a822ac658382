"""The session's image store: every image kept once, addressed by content hash.

Tools take and return image ids (``img:3fa2c9e1``), never pixels. Inputs are decoded
with Pillow, EXIF-rotated and converted to RGB; images beyond ``max_side`` are
downscaled for the models, and ``scale`` maps coordinates back to the image as
displayed. Images that tools produce (boxes drawn, masks, edits) are new entries
saved under the store's artifact folder.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import io
import json
import logging
import os
import sys
import tempfile
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from pydantic import BaseModel

from lensmith.runtime import urls
from lensmith.runtime.access import ImagePolicy, NotRegularFile, read_image_file, short
from lensmith.runtime.errors import ImageError
from lensmith.runtime.image_ids import known_image_id

log = logging.getLogger(__name__)

# Pillow's own bomb guard warns at MAX_IMAGE_PIXELS and raises at twice that; we
# refuse anything above our own limit with a clear message before decoding pixels.
DEFAULT_MAX_PIXELS = 120_000_000
DEFAULT_MAX_SIDE = 4096
# decoded working copies kept in memory, all stores of the process together; the
# least recently used are dropped first and decoded again from disk when needed
PIXEL_CACHE_BYTES = int(os.environ.get("LENSMITH_PIXEL_CACHE_MB", "512")) * 2**20


class StoredImage(BaseModel):
    id: str
    source: str
    path: str | None = None  # a file holding exactly the working pixels, when one exists
    width: int  # working copy, what the models see
    height: int
    original_width: int  # as displayed: EXIF orientation applied, before any downscale
    original_height: int
    scale: float = 1.0  # original / working (width; height too unless scale_y is set)
    scale_y: float | None = None  # original / working height, when rounding made it differ
    mode: str = "RGB"  # the mode the file had before conversion
    origin: Literal["input", "artifact"] = "input"
    parent: str | None = None
    label: str | None = None

    def _axis_scales(self) -> tuple[float, float]:
        return self.scale, self.scale_y if self.scale_y is not None else self.scale

    def to_original(self, xyxy: Sequence[float]) -> list[float]:
        """Map a box (or any x, y, x, y, ... sequence) on the working copy to the
        displayed image's pixel coordinates."""
        scales = self._axis_scales()
        return [round(float(v) * scales[i % 2], 2) for i, v in enumerate(xyxy)]

    def to_working(self, xyxy: Sequence[float]) -> list[float]:
        scales = self._axis_scales()
        return [float(v) / scales[i % 2] for i, v in enumerate(xyxy)]


def _image_id(data: bytes) -> str:
    return "img:" + hashlib.sha256(data).hexdigest()[:8]


def _looks_like_url(ref: str) -> bool:
    return ref.startswith(("http://", "https://"))


class PixelCache:
    """One LRU of decoded working copies for the whole process, bounded in bytes.
    Entries waiting for their PNG to be written are pinned (not evictable)."""

    def __init__(self, max_bytes: int = PIXEL_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str], Image.Image] = OrderedDict()
        self._pinned: set[tuple[str, str]] = set()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def _size(image: Image.Image) -> int:
        return image.width * image.height * len(image.getbands())

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, key: tuple[str, str]) -> Image.Image | None:
        with self._lock:
            image = self._items.get(key)
            if image is not None:
                self._items.move_to_end(key)
            return image

    def put(self, key: tuple[str, str], image: Image.Image, *, pin: bool = False) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= self._size(old)
            self._items[key] = image
            self._bytes += self._size(image)
            if pin:
                self._pinned.add(key)
            self._evict()

    def unpin(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._pinned.discard(key)
            self._evict()

    def drop(self, owner: str) -> None:
        with self._lock:
            for key in [k for k in self._items if k[0] == owner]:
                self._bytes -= self._size(self._items.pop(key))
                self._pinned.discard(key)

    def _evict(self) -> None:
        for key in list(self._items):
            if self._bytes <= self.max_bytes:
                return
            if key in self._pinned:
                continue
            self._bytes -= self._size(self._items.pop(key))


PIXELS = PixelCache()


class ImageStore:
    """Images of one session (or one process when no session is set).

    ``policy`` says which references other than the store's own ids a caller may use
    (by default the local user's: any readable file, any URL); ``max_disk_bytes`` caps
    what the store writes under its folder (uploads, artifacts)."""

    def __init__(
        self,
        folder: str | Path | None = None,
        *,
        max_side: int = DEFAULT_MAX_SIDE,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        policy: ImagePolicy | None = None,
        max_disk_bytes: int | None = None,
        pixels: PixelCache | None = None,
    ) -> None:
        self.folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="lensmith-images-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_side = max_side
        self.max_pixels = max_pixels
        self.policy = policy or ImagePolicy.local_user()
        self.max_disk_bytes = max_disk_bytes
        self._disk_bytes = 0
        self._meta: dict[str, StoredImage] = {}
        self._cache = pixels or PIXELS
        self._owner = uuid.uuid4().hex
        weakref.finalize(self, self._cache.drop, self._owner)
        self._lock = threading.RLock()
        self._writer: ThreadPoolExecutor | None = None  # writes deferred artifact files; made on first use
        self._pending: dict[str, Future[None]] = {}  # deferred writes not finished yet, by image id
        self._load_index()
        if max_disk_bytes is not None:
            self._disk_bytes = sum(f.stat().st_size for f in self.folder.rglob("*") if f.is_file())

    # ---- persistence -------------------------------------------------------------
    @property
    def artifact_dir(self) -> Path:
        path = self.folder / "artifacts"
        path.mkdir(exist_ok=True)
        return path

    def _index_path(self) -> Path:
        return self.folder / "images.json"

    def _load_index(self) -> None:
        path = self._index_path()
        if not path.exists():
            return
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError):
            return  # a damaged index only loses the id shortcuts; sources remain on disk
        for item in raw if isinstance(raw, list) else []:
            try:
                meta = StoredImage.model_validate(item)
            except ValueError:
                continue  # one damaged entry must not make the whole session unreadable
            self._meta[meta.id] = meta

    def _save_index(self) -> None:
        path = self._index_path()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([m.model_dump() for m in self._meta.values()], indent=1))
        os.replace(tmp, path)

    # ---- adding ------------------------------------------------------------------
    def add(
        self, source: str | Path | bytes | Image.Image | np.ndarray, *, label: str | None = None,
        policy: ImagePolicy | None = None,
    ) -> StoredImage:
        """Load an image from a path, URL, bytes, a PIL image or an RGB array. Paths and
        URLs go through ``policy`` (default: the store's)."""
        if isinstance(source, Image.Image | np.ndarray):
            return self._add_pixels(_as_pil(source), source_name="pixels", origin="input", label=label)
        if isinstance(source, bytes):
            return self._add_bytes(source, source_name="bytes", label=label)
        policy = policy or self.policy
        ref = str(source)
        if _looks_like_url(ref):
            if not policy.urls:
                raise ImageError(
                    f"Image URLs are not fetched for this caller: {short(ref)}. Send the image as base64 "
                    "data, or ask the user to enable URLs."
                )
            data = urls.download(ref, allow_private=policy.private_urls, max_bytes=min(policy.max_file_bytes, urls.MAX_BYTES))
            return self._add_bytes(data, source_name=ref, label=label)
        if not policy.local:
            path = policy.check_path(ref)
            try:
                data = read_image_file(path, max_bytes=policy.max_file_bytes, shown=short(ref))
            except (OSError, NotRegularFile) as exc:
                raise policy.unavailable(ref) from exc
            return self._add_bytes(data, source_name=str(path), label=label, keep_path=path, shown=short(ref))
        path = Path(ref).expanduser()
        try:
            exists, is_dir = path.exists(), path.is_dir()
        except OSError as exc:  # e.g. a name too long: a planner passing text as a path
            raise ImageError(f"Not a usable image path: {short(ref)}: {exc.strerror or exc}") from exc
        if not exists:
            raise ImageError(f"Image not found: {short(ref)}")
        if is_dir:
            raise ImageError(f"Expected an image file, got a folder: {ref}")
        try:
            data = read_image_file(path, max_bytes=policy.max_file_bytes, shown=ref)
        except NotRegularFile as exc:
            raise ImageError(f"Not a regular file (a device, FIFO or socket is never read as an image): {ref}") from exc
        except OSError as exc:
            raise ImageError(f"Cannot read {ref}: {exc.strerror or exc}") from exc
        return self._add_bytes(data, source_name=str(path.resolve()), label=label, keep_path=path)

    def add_artifact(
        self,
        image: Image.Image | np.ndarray,
        *,
        parent: str | None,
        label: str,
        defer_write: bool = False,
        key: str | None = None,
    ) -> StoredImage:
        """Store an image a tool produced (annotations, masks, edits) as a PNG artifact.

        ``defer_write=True`` (for hot paths such as annotated images): the id is the hash of
        the raw pixels and the PNG is written by a background thread, because encoding a
        PNG costs several times a small model's inference. With a ``key`` (what was drawn on
        what, e.g. parent id + boxes), the id is :meth:`keyed_id` of it instead of a pixel hash.
        """
        if defer_write or key is not None:
            return self._add_deferred(_as_pil(image), parent=parent, label=label, key=key)
        return self._add_pixels(_as_pil(image), source_name=label, origin="artifact", parent=parent, label=label)

    @staticmethod
    def keyed_id(key: str) -> str:
        """The id an artifact added with ``key=key`` gets (so a tool can skip redrawing it)."""
        return "img:" + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()[:8]

    def _add_deferred(
        self, image: Image.Image, *, parent: str | None, label: str, key: str | None = None
    ) -> StoredImage:
        mode = image.mode
        if image.width == 0 or image.height == 0:
            raise ImageError(f"Image has zero width or height ({image.width}×{image.height}): {label}")
        image = _to_rgb(image)
        working, scale, scale_y = self._fit(image)
        # blake2b: a few times faster than sha256 on CPUs without SHA instructions
        if key is not None:
            image_id = self.keyed_id(key)
        else:
            digest = hashlib.blake2b(f"{working.width}x{working.height}:".encode() + working.tobytes(), digest_size=16)
            image_id = "img:" + digest.hexdigest()[:8]
        with self._lock:
            if image_id in self._meta:
                return self._meta[image_id]
        meta = StoredImage(
            id=image_id, source=label, path=None, width=working.width, height=working.height,
            original_width=image.width, original_height=image.height, scale=scale, scale_y=scale_y,
            mode=mode, origin="artifact", parent=parent, label=label,
        )
        self._remember(meta, working, pin=True)
        with self._lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="lensmith-png")
            self._pending[image_id] = self._writer.submit(self._write_deferred, image_id)
        return meta

    def _write_deferred(self, image_id: str) -> None:
        key = (self._owner, image_id)
        try:
            with self._lock:
                meta, pixels = self._meta.get(image_id), self._cache.get(key)
            if meta is None or pixels is None or meta.path:
                return
            buffer = io.BytesIO()
            pixels.save(buffer, format="PNG", compress_level=1)
            try:
                out = self._write_file(f"{image_id[4:]}.png", buffer.getvalue())
            except ImageError as exc:
                log.warning("%s stays in memory only: %s", image_id, exc)
                return
            with self._lock:
                self._meta[image_id] = meta.model_copy(update={"path": str(out)})
                self._save_index()
        finally:
            self._cache.unpin(key)
            with self._lock:
                self._pending.pop(image_id, None)

    def _write_file(self, name: str, data: bytes) -> Path:
        """Write ``data`` as an artifact file, within the store's disk cap."""
        with self._lock:
            if self.max_disk_bytes is not None and self._disk_bytes + len(data) > self.max_disk_bytes:
                raise ImageError(
                    f"This session's image storage is full ({self.max_disk_bytes // 2**20} MiB); "
                    "start a new session to add more images."
                )
            self._disk_bytes += len(data)
        out = self.artifact_dir / name
        # a temporary name of its own: the deferred writer and a caller may write the same
        # artifact at once, and a shared ".part" let one rename it away under the other
        tmp = out.with_name(f"{out.name}.{os.getpid()}.{threading.get_ident()}.part")
        tmp.write_bytes(data)
        os.replace(tmp, out)
        return out

    def write_artifact_file(self, name: str, data: bytes) -> Path:
        """Write a file that is not an image of the store (the store keeps RGB only, so an
        RGBA cut-out lives here) into the session's artifact folder, within the disk cap."""
        return self._write_file(Path(name).name, data)

    def flush(self) -> None:
        """Wait until every deferred artifact is on disk."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)

    def close(self) -> None:
        """Write what is pending and free this store's pixels now (not when it is collected)."""
        self.flush()
        self._cache.drop(self._owner)

    def _add_bytes(
        self, data: bytes, *, source_name: str, label: str | None, keep_path: Path | None = None,
        shown: str | None = None,
    ) -> StoredImage:
        """``shown``: how errors name the image (what the caller gave, not the resolved path)."""
        if not data:
            raise ImageError(f"Empty file, not an image: {shown or source_name}")
        image_id = _image_id(data)
        with self._lock:
            known = self._meta.get(image_id)
            if known is not None and (known.path is None or Path(known.path).exists()):
                return known
        image, mode = self._decode(data, shown or source_name)
        width, height = image.size
        working, scale, scale_y = self._fit(image)
        path = None
        if keep_path is not None and scale == 1.0 and mode == "RGB" and not _has_rotation(data):
            path = str(keep_path.resolve())
        else:
            buffer = io.BytesIO()
            working.save(buffer, format="PNG")
            path = str(self._write_file(f"{image_id[4:]}.png", buffer.getvalue()))
        return self._remember_new(
            image_id, working, (width, height), (scale, scale_y), source=source_name, path=path, mode=mode, label=label
        )

    def _add_pixels(
        self,
        image: Image.Image,
        *,
        source_name: str,
        origin: Literal["input", "artifact"],
        label: str | None,
        parent: str | None = None,
    ) -> StoredImage:
        mode = image.mode
        if image.width == 0 or image.height == 0:
            raise ImageError(f"Image has zero width or height ({image.width}×{image.height}): {label or source_name}")
        image = _to_rgb(image)
        working, scale, scale_y = self._fit(image)
        buffer = io.BytesIO()
        working.save(buffer, format="PNG")
        data = buffer.getvalue()
        image_id = _image_id(data)
        with self._lock:
            if image_id in self._meta:
                return self._meta[image_id]
        out = self._write_file(f"{image_id[4:]}.png", data)
        return self._remember_new(
            image_id, working, image.size, (scale, scale_y), source=source_name, path=str(out), mode=mode,
            origin=origin, parent=parent, label=label,
        )

    def _remember_new(
        self,
        image_id: str,
        working: Image.Image,
        original: tuple[int, int],
        scales: tuple[float, float | None],
        **fields: Any,
    ) -> StoredImage:
        meta = StoredImage(
            id=image_id, width=working.width, height=working.height, original_width=original[0],
            original_height=original[1], scale=scales[0], scale_y=scales[1], **fields,
        )
        return self._remember(meta, working)

    def _remember(self, meta: StoredImage, pixels: Image.Image, *, pin: bool = False) -> StoredImage:
        with self._lock:
            self._meta[meta.id] = meta
            self._cache.put((self._owner, meta.id), pixels, pin=pin)
            self._save_index()
        return meta

    def _decode(self, data: bytes, source_name: str) -> tuple[Image.Image, str]:
        try:
            with _open(io.BytesIO(data)) as probe:
                width, height = probe.size
                if width * height > self.max_pixels:
                    raise ImageError(
                        f"Image too large: {width}×{height} = {width * height:,} pixels, the limit is "
                        f"{self.max_pixels:,} (a decompression bomb, or a photo to downscale first): {source_name}"
                    )
                if width == 0 or height == 0:
                    raise ImageError(f"Image has zero width or height: {source_name}")
                probe.load()
                mode = probe.mode
                image: Image.Image = ImageOps.exif_transpose(probe) or probe
                return _to_rgb(image), mode
        except ImageError:
            raise
        except UnidentifiedImageError as exc:
            size = _png_header_size(data)
            if size is not None and 0 in size:
                # Pillow refuses zero-sized images at identification; say what is wrong
                raise ImageError(f"Image has zero width or height ({size[0]}×{size[1]}): {source_name}") from exc
            raise ImageError(f"Not an image (Pillow cannot identify it): {source_name}") from exc
        except Image.DecompressionBombError as exc:
            raise ImageError(f"Image too large (decompression bomb guard): {source_name}: {exc}") from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"Corrupt or truncated image: {source_name}: {exc}") from exc

    def _fit(self, image: Image.Image) -> tuple[Image.Image, float, float | None]:
        """The working copy, and original/working scales for x and (when it differs) y."""
        longest = max(image.size)
        if longest <= self.max_side:
            return image, 1.0, None
        scale = longest / self.max_side
        size = (max(1, round(image.width / scale)), max(1, round(image.height / scale)))
        resized = image.resize(size, Image.Resampling.LANCZOS)
        scale_x, scale_y = image.width / resized.width, image.height / resized.height
        # rounding the working size makes the axes differ slightly; keep both so a
        # box spanning the working copy maps back onto the whole original exactly
        return resized, scale_x, (scale_y if scale_y != scale_x else None)

    # ---- reading -----------------------------------------------------------------
    def get(self, ref: str, *, policy: ImagePolicy | None = None) -> StoredImage:
        """An image by id, or by path/URL (added on the fly, through ``policy``)."""
        ref = ref.strip()
        with self._lock:
            if ref in self._meta:
                return self._meta[ref]
            named = known_image_id(ref, self._meta)  # "c02019c4 (bus.jpg, …)": this store's ids only
            if named is not None:
                return self._meta[named]
        if ref.startswith("img:"):
            if not (policy or self.policy).local:
                # untrusted callers learn nothing about what else is stored
                raise ImageError(f"Unknown image id {short(ref, 40)!r}: use an id returned earlier in this session.")
            known = sorted(self._meta)
            listed = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
            raise ImageError(f"Unknown image id {short(ref, 40)!r}. Images in this session: {listed or 'none yet'}")
        return self.add(ref, policy=policy)

    def pil(self, ref: str) -> Image.Image:
        """The working copy as an RGB PIL image (do not modify it in place)."""
        meta = self.get(ref)
        cached = self._cache.get((self._owner, meta.id))
        if cached is not None:
            return cached
        if meta.path is None:
            raise ImageError(f"The pixels of {meta.id} are no longer available (not saved to disk); add the image again.")
        try:
            data = read_image_file(Path(meta.path), max_bytes=max(self.policy.max_file_bytes, 4 * self.max_pixels),
                                   shown=meta.id)
        except FileNotFoundError as exc:
            raise ImageError(f"The file behind {meta.id} is gone: {meta.path}") from exc
        except OSError as exc:
            raise ImageError(f"Cannot read the file behind {meta.id}: {exc.strerror or exc}") from exc
        image, _ = self._decode(data, meta.id)
        image, _, _ = self._fit(image)
        self._cache.put((self._owner, meta.id), image)
        return image

    def array(self, ref: str, *, bgr: bool = False) -> np.ndarray:
        rgb = np.asarray(self.pil(ref))
        return np.ascontiguousarray(rgb[:, :, ::-1]) if bgr else rgb

    def file(self, ref: str) -> Path:
        """A file on disk holding the image (writes one for in-memory images)."""
        meta = self.get(ref)
        with self._lock:
            pending = self._pending.get(meta.id)
        if pending is not None:  # its deferred write is under way: wait for it, not encode it again
            if pending.exception() is None:
                meta = self.get(meta.id)
            # a failed deferred write is logged there; the write below is the second try
        if meta.path and Path(meta.path).exists():
            return Path(meta.path)
        buffer = io.BytesIO()
        self.pil(meta.id).save(buffer, format="PNG")
        out = self._write_file(f"{meta.id[4:]}.png", buffer.getvalue())
        with self._lock:
            self._meta[meta.id] = meta.model_copy(update={"path": str(out)})
            self._save_index()
        return out

    def __contains__(self, ref: object) -> bool:
        return ref in self._meta

    def __iter__(self) -> Iterator[StoredImage]:
        return iter(list(self._meta.values()))

    def __len__(self) -> int:
        return len(self._meta)


def _png_header_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR, read without decoding anything."""
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


def _has_rotation(data: bytes) -> bool:
    try:
        with _open(io.BytesIO(data)) as image:
            return image.getexif().get(0x0112, 1) not in (1, None)
    except Exception:  # noqa: BLE001 - decode errors surface in _decode
        return False


def _open(fp: io.BytesIO) -> Image.Image:
    """Pillow's own ``Image.open``. Importing ultralytics swaps in a wrapper that tries to
    pip-install a HEIF plugin for any file Pillow cannot identify; we want Pillow's
    plain answer, whoever imported ultralytics first."""
    patches = sys.modules.get("ultralytics.utils.patches")
    opener = getattr(patches, "_image_open", None) or Image.open
    return opener(fp)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit and float greyscale: stretch to 8 bits instead of clipping to white
        arr = np.asarray(image, dtype=np.float64)
        low, high = float(arr.min()), float(arr.max())
        scaled = (arr - low) / (high - low) * 255.0 if high > low else np.zeros_like(arr)
        return Image.fromarray(scaled.astype(np.uint8), "L").convert("RGB")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _as_pil(image: Image.Image | np.ndarray) -> Image.Image:
    if isinstance(image, Image.Image):
        return image
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        return Image.fromarray(array, "L")
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return Image.fromarray(array, "RGB" if array.shape[2] == 3 else "RGBA")
    raise ImageError(f"Expected an H×W, H×W×3 or H×W×4 array, got shape {array.shape}")


_current: contextvars.ContextVar[ImageStore | None] = contextvars.ContextVar(
    "lensmith_image_store", default=None
)
_fallback: ImageStore | None = None
_fallback_lock = threading.Lock()


def current_store() -> ImageStore:
    """The store of the running session, or a process-wide temporary one."""
    store = _current.get()
    if store is not None:
        return store
    global _fallback
    with _fallback_lock:
        if _fallback is None:
            _fallback = ImageStore()
        return _fallback


@contextlib.contextmanager
def use_store(store: ImageStore) -> Iterator[ImageStore]:
    token = _current.set(store)
    try:
        yield store
    finally:
        try:
            _current.reset(token)
        except ValueError:  # exited from another context (a cancelled task): undo by value
            _current.set(token.old_value if token.old_value is not contextvars.Token.MISSING else None)
