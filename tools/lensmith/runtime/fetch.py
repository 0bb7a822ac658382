"""Downloads behind ``lensmith models fetch``: resumable, verified, never half-visible.

Each file is streamed to ``<weights>/.partial/<target>…`` with an HTTP ``Range`` request
picking up where an earlier attempt stopped, checked against its sha256 (the catalogue's,
else the one the Hugging Face hub publishes for the file in ``X-Linked-Etag``) or, where
no checksum is published, against its size; only when every file of a model passed is the
whole target moved to ``<weights>/<target>``, so the resolver never finds half a model.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lensmith.runtime.errors import LensmithError
from lensmith.runtime.weights import offline, weights_dir

CHUNK = 1 << 20
MAX_BYTES = 16 << 30  # no model we list is larger; a server claiming more is refused
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

ProgressFn = Callable[[str, int, int | None], None]  # (file label, bytes so far, total or None)


class FetchError(LensmithError):
    """A download failed; the message is one line naming the model and what to do."""


@dataclass(frozen=True)
class RemoteFile:
    url: str
    name: str = ""  # path inside a folder target; "" when the target is this one file
    sha256: str | None = None  # published checksum, lower-case hex
    size: int | None = None  # published size in bytes


@dataclass(frozen=True)
class Download:
    model: str  # the resolver's model name
    target: str  # file or folder name under the weights folder (one of the spec's candidates)
    files: tuple[RemoteFile, ...]
    checksum: str  # where the checksums come from, or that none is published
    note: str = ""

    @property
    def single(self) -> bool:
        return len(self.files) == 1 and not self.files[0].name


@dataclass
class FileResult:
    name: str
    bytes: int
    verified: str  # "sha256 (catalogue)", "sha256 (hub X-Linked-Etag)", "size (...)"
    resumed_from: int = 0


@dataclass
class FetchResult:
    model: str
    path: Path
    already: bool = False  # it was there before; nothing downloaded
    files: list[FileResult] = field(default_factory=list)


def fetch(download: Download, root: Path | None = None, *, force: bool = False,
          on_progress: ProgressFn | None = None, timeout: float = 30.0,
          transport: httpx.BaseTransport | None = None) -> FetchResult:
    """Download one model into the weights folder (``root``, default :func:`weights_dir`)."""
    root = root or weights_dir()
    final = root / download.target
    if final.exists() and not force:
        return FetchResult(download.model, final, already=True)
    if offline():
        raise FetchError(
            f"Cannot fetch {download.model}: offline mode is on (LENSMITH_OFFLINE or HF_HUB_OFFLINE); "
            f"unset it and run `lensmith models fetch {download.model}`, or place {download.target} in {root} yourself."
        )
    staging = root / ".partial" / download.target
    if force:  # trusts nothing from an earlier attempt either
        for leftover in (staging, staging.with_name(staging.name + ".part")):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink(missing_ok=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    result = FetchResult(download.model, final)
    with httpx.Client(follow_redirects=True, timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                      transport=transport, headers={"User-Agent": "lensmith", "Accept-Encoding": "identity"}) as client:
        for remote in download.files:
            dest = staging if download.single else staging / remote.name
            _check_inside(dest, staging)
            result.files.append(_fetch_file(client, download, remote, dest, on_progress))
    if final.exists():
        shutil.rmtree(final) if final.is_dir() and not final.is_symlink() else final.unlink()
    os.replace(staging, final)
    return result


def _fetch_file(client: httpx.Client, download: Download, remote: RemoteFile, dest: Path,
                on_progress: ProgressFn | None) -> FileResult:
    label = remote.name or download.target
    part = dest.with_name(dest.name + ".part")
    if dest.exists() and not part.exists():  # verified by an earlier, interrupted run
        return FileResult(label, dest.stat().st_size, "verified earlier")
    dest.parent.mkdir(parents=True, exist_ok=True)
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    host = urllib.parse.urlsplit(remote.url).hostname or remote.url
    hub_sha = hub_size = None
    resumed = 0
    try:
        with client.stream("GET", remote.url, headers=headers) as response:
            hub_sha, hub_size = _hub_checksum(response)
            if response.status_code == 416 and have:
                total: int | None = have  # the part already holds the whole file
            else:
                if response.status_code not in (200, 206):
                    raise FetchError(
                        f"Cannot download {download.model}: {host} answered HTTP {response.status_code} for {label}; "
                        f"run `lensmith models fetch {download.model}` later, or place {download.target} in the weights folder yourself."
                    )
                if response.status_code == 206 and _range_start(response) == have:
                    resumed, mode = have, "ab"
                else:  # the server ignored the range: start over
                    have, mode = 0, "wb"
                total = _total(response, have)
                limit = remote.size or hub_size or total or MAX_BYTES
                if limit > MAX_BYTES or (remote.size and total and total != remote.size):
                    part.unlink(missing_ok=True)
                    raise FetchError(
                        f"Refusing {download.model}: {host} offers {label} as {total} bytes, expected "
                        f"{remote.size or f'at most {MAX_BYTES}'}; the catalogue or the server is wrong, nothing was kept."
                    )
                done = have
                with part.open(mode) as out:
                    for chunk in response.iter_bytes():  # as received, so an interruption keeps every byte
                        done += len(chunk)
                        if done > limit:
                            part.unlink(missing_ok=True)
                            raise FetchError(
                                f"Refusing {download.model}: {host} sent more than the {limit} bytes {label} has; nothing was kept."
                            )
                        out.write(chunk)
                        if on_progress:
                            on_progress(label, done, total)
    except httpx.HTTPError as exc:
        kept = part.stat().st_size if part.exists() else 0
        reason = _reason(exc)
        if kept:
            raise FetchError(
                f"Download of {download.model} ({label}) stopped after {_mb(kept)} ({reason}); "
                f"run `lensmith models fetch {download.model}` again to resume."
            ) from exc
        raise FetchError(
            f"Cannot download {download.model}: {host} is unreachable ({reason}); check the network or "
            f"HTTPS_PROXY and run `lensmith models fetch {download.model}` again."
        ) from exc
    verified = _verify(download, remote, label, part, hub_sha, hub_size or total)
    os.replace(part, dest)
    return FileResult(label, dest.stat().st_size, verified, resumed)


def _verify(download: Download, remote: RemoteFile, label: str, part: Path,
            hub_sha: str | None, size: int | None) -> str:
    got_size = part.stat().st_size
    expected = remote.sha256 or hub_sha
    if expected:
        digest = sha256_of(part)
        if digest != expected:
            part.unlink()
            raise FetchError(
                f"{download.model}: {label} failed its checksum (sha256 {digest[:16]}…, expected {expected[:16]}…); "
                f"the download was deleted, run `lensmith models fetch {download.model}` again."
            )
        return "sha256 (catalogue)" if remote.sha256 else "sha256 (published by the hub, X-Linked-Etag)"
    want = remote.size or size
    if want is None:
        part.unlink()
        raise FetchError(
            f"{download.model}: {label} has no published checksum and the server sent no size, so it cannot "
            f"be verified; nothing was kept. Place {download.target} in the weights folder yourself."
        )
    if got_size != want:
        kept = got_size < want
        if not kept:
            part.unlink()
        raise FetchError(
            f"{download.model}: {label} is {got_size} bytes, expected {want}; "
            + (f"run `lensmith models fetch {download.model}` again to resume." if kept
               else f"the download was deleted, run `lensmith models fetch {download.model}` again.")
        )
    return f"size only ({want} bytes; no published checksum)"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _hub_checksum(response: httpx.Response) -> tuple[str | None, int | None]:
    """The sha256 and size the Hugging Face hub publishes for an LFS file (on its redirect)."""
    for hop in (*response.history, response):
        etag = hop.headers.get("x-linked-etag", "").strip().removeprefix("W/").strip('"').lower()
        if _SHA256.match(etag):
            size = hop.headers.get("x-linked-size")
            return etag, int(size) if size and size.isdigit() else None
    return None, None


def _range_start(response: httpx.Response) -> int | None:
    match = re.match(r"bytes (\d+)-\d+/", response.headers.get("content-range", ""))
    return int(match.group(1)) if match else None


def _total(response: httpx.Response, have: int) -> int | None:
    match = re.match(r"bytes \d+-\d+/(\d+)", response.headers.get("content-range", ""))
    if match:
        return int(match.group(1))
    length = response.headers.get("content-length")
    return int(length) + have if length and length.isdigit() else None


def _check_inside(path: Path, folder: Path) -> None:
    if not path.resolve().is_relative_to(folder.resolve()):
        raise FetchError(f"Catalogue entry names a file outside its folder: {path}")


def _reason(exc: httpx.HTTPError) -> str:
    cause = exc.__cause__ or exc.__context__
    text = str(exc) or (str(cause) if cause else "") or type(exc).__name__
    return " ".join(text.split())[:160]


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"
