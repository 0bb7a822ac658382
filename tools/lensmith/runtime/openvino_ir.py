"""Torch models run through OpenVINO, converted once and kept as IR under the user cache.

Importing torch plus transformers/sentence-transformers and building a model costs seconds
in a fresh process on a small CPU; reading an OpenVINO IR and compiling it costs a few
hundred milliseconds, and OpenVINO is already loaded for the detector. So a model that is
only ever *run* on the CPU is converted the first time (that run pays the torch cost) and
later processes load the IR. The cache key covers the source weights, the conversion
recipe and the OpenVINO version, so a change to any of them converts afresh.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lensmith.runtime.paths import cache_dir

log = logging.getLogger(__name__)

_core: Any = None
_core_lock = threading.Lock()


def core() -> Any:
    """The process's OpenVINO ``Core`` (compiled-blob cache enabled)."""
    global _core
    with _core_lock:
        if _core is None:
            import openvino as ov

            _core = ov.Core()
            try:
                _core.set_property({"CACHE_DIR": str(cache_dir() / "openvino" / "compiled")})
            except Exception as exc:  # noqa: BLE001 - a cache, not a requirement
                log.debug("OpenVINO compiled-model cache unavailable: %s", exc)
        return _core


def source_fingerprint(path: Path) -> str:
    """Names, sizes and modification times of a weights file or folder: cheap to compute on
    every start, and changed by any re-download or edit of the weights."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for file in files:
        st = file.stat()
        digest.update(f"{file.relative_to(path) if file != path else file.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def ir_path(name: str, key: str) -> Path:
    import openvino as ov

    tag = hashlib.sha256(f"{key}|{ov.get_version()}".encode()).hexdigest()[:16]
    return cache_dir() / "openvino" / f"{name}-{tag}" / "model.xml"


def compile_cached(name: str, key: str, convert: Callable[[], Any], *, config: dict[str, Any] | None = None) -> Any:
    """Compile ``name``'s OpenVINO IR for the CPU, converting it with ``convert()`` (which
    returns an ``openvino.Model``) when no IR for ``key`` is cached yet.

    The IR is written to a temporary folder and renamed into place, so a process that
    reads the cache never sees half a model, and two processes converting at once both
    finish (the second rename loses and its copy is dropped).
    """
    import openvino as ov

    target = ir_path(name, key)
    if not target.exists():
        with warnings.catch_warnings():
            # tracing for the conversion warns of torch.jit's deprecation and of shapes it
            # freezes: noise on a user's first run, and the converted model is checked by tests
            warnings.simplefilter("ignore")
            model = convert()
        target.parent.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent.parent))
        try:
            ov.save_model(model, str(tmp / "model.xml"))
            try:
                os.rename(tmp, target.parent)
            except OSError:
                if not target.exists():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return core().compile_model(str(target), "CPU", config or {})


__all__ = ["compile_cached", "core", "ir_path", "source_fingerprint"]
