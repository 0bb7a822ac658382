"""Who may name which images: the policy an :class:`~lensmith.runtime.images.ImageStore`
applies to an image reference that is not one of its own ids, and the one bounded way
to read an image file.

The local user at the CLI or TUI may name any file of theirs (:meth:`ImagePolicy.local`).
Image arguments chosen by a planner or sent by an MCP client are untrusted
(:meth:`ImagePolicy.shared`): ids of the caller's own store, base64 data, or files under
folders the user shared; URLs only when enabled, and then never to private addresses.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lensmith.runtime.errors import ImageError

MAX_FILE_BYTES = 64 * 1024 * 1024  # from untrusted callers
# the local user's own files: room for a large uncompressed TIFF within the pixel limit
LOCAL_MAX_FILE_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class ImagePolicy:
    local: bool = True  # any path the process can read (the local user's own request)
    allow_dirs: tuple[Path, ...] = field(default_factory=tuple)  # shared folders, resolved
    urls: bool = True
    private_urls: bool = True  # loopback/private/link-local URL targets
    max_file_bytes: int = LOCAL_MAX_FILE_BYTES

    @classmethod
    def local_user(cls) -> ImagePolicy:
        return cls()

    @classmethod
    def shared(cls, allow_dirs: Iterable[str | Path] = (), *, urls: bool = False,
               max_file_bytes: int = MAX_FILE_BYTES) -> ImagePolicy:
        """For untrusted callers: files only under ``allow_dirs``; public URLs only if ``urls``."""
        dirs = tuple(Path(os.path.realpath(Path(d).expanduser())) for d in allow_dirs)
        return cls(local=False, allow_dirs=dirs, urls=urls, private_urls=False, max_file_bytes=max_file_bytes)

    def unavailable(self, ref: str) -> ImageError:
        """The one error for a path that is missing, forbidden or not a regular file: the
        same words whatever the reason, so a caller cannot probe the file system."""
        where = "a file under a folder the user shared" if self.allow_dirs else "no file paths (none are shared)"
        return ImageError(
            f"Image not available: {short(ref)}. Use an img: id from this session, base64 image data, or {where}."
        )

    def check_path(self, ref: str) -> Path:
        """The path to read for ``ref``, or the one unavailable-error (untrusted callers)."""
        try:
            real = Path(os.path.realpath(ref))
        except (OSError, ValueError) as exc:
            raise self.unavailable(ref) from exc
        if not any(real == d or real.is_relative_to(d) for d in self.allow_dirs):
            raise self.unavailable(ref)
        return real


def short(text: str, limit: int = 120) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + f"… ({len(text):,} characters)"


class NotRegularFile(ImageError):
    pass


def read_image_file(path: Path, *, max_bytes: int, shown: str) -> bytes:
    """The bytes of a regular file, at most ``max_bytes``.

    Stat first (a device, FIFO or socket is refused before it is opened; a symlink to
    ``/dev/zero`` is a device), open without blocking (a FIFO swapped in after the stat
    cannot hang the open), check the opened file is the one stat saw, and never read
    past the cap (a file that grows while read is still bounded)."""
    before = os.stat(path)
    if not stat.S_ISREG(before.st_mode):
        raise NotRegularFile(f"Not a regular file: {shown}")
    if before.st_size > max_bytes:
        raise ImageError(f"Image file too large ({before.st_size:,} bytes; the limit is {max_bytes:,}): {shown}")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            raise NotRegularFile(f"Not a regular file: {shown}")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise ImageError(f"Image file too large (over {max_bytes:,} bytes): {shown}")
        return b"".join(chunks)
    finally:
        os.close(fd)
