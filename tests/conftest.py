"""Every test runs with its own ``$LENSMITH_HOME`` and offline: nothing touches the
user's data or the network."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("LENSMITH_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# converted models and embedding caches are shared by every test run on this machine (each
# test still has its own home) and never land in the user's ~/.cache: converting the OCR
# and sentence models costs 20-50 s, which only the first run should pay. Entries are keyed
# by the weights and the converter, and written by atomic rename, so runs can share them.
os.environ.setdefault("LENSMITH_CACHE_DIR", os.path.join(tempfile.gettempdir(), f"lensmith-test-cache-{os.getuid()}"))



@pytest.fixture(autouse=True)
def lensmith_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("lensmith-home")
    monkeypatch.setenv("LENSMITH_HOME", str(home))
    yield home
    # tests leave no process state behind: the resolver's config goes back to defaults
    from lensmith.runtime import weights

    weights.reset()
    # the CLI's rich consoles fix their width from $COLUMNS when first used: dropped, the
    # next test's in-process command gets its own width, whatever ran before it on this worker
    common = sys.modules.get("lensmith.cli.common")
    if common is not None:
        for name in ("console", "err_console"):
            common.__dict__.pop(name, None)


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA; none on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
