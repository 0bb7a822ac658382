from __future__ import annotations

import os
import subprocess
import sys

import pytest

from lensmith.runtime.device import _gpu_driver_present, pick_device


@pytest.mark.skipif(sys.platform != "linux" or _gpu_driver_present(), reason="a GPU driver is present")
def test_no_gpu_driver_means_cpu_without_importing_torch() -> None:
    probe = ("import sys; from lensmith.runtime.device import pick_device; "
             "print(pick_device(), 'torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LENSMITH_DEVICE")}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, env=env)
    assert out.stdout.split() == ["cpu", "False"], out.stderr


def test_explicit_choices_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENSMITH_DEVICE", "cuda:1")
    assert pick_device(None, "embed") == "cuda:1"
    monkeypatch.setenv("LENSMITH_DEVICE_EMBED", "cpu")
    assert pick_device(None, "embed") == "cpu"
    assert pick_device("mps", "embed") == "mps"


@pytest.mark.skipif(sys.platform != "linux" or _gpu_driver_present(), reason="a GPU driver is present")
def test_no_gpu_driver_is_cpu_even_with_torch_in_sys_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch in sys.modules may be half-imported by another thread (the detector's warm-up):
    asking it would wait for that import. Without a driver the answer is known anyway."""
    import types

    from lensmith.runtime import device

    asked: list[bool] = []
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(is_available=lambda: asked.append(True) or True))
    monkeypatch.setitem(sys.modules, "torch", fake)
    for name in ("LENSMITH_DEVICE", "LENSMITH_DEVICE_DETECT"):
        monkeypatch.delenv(name, raising=False)
    device.cuda_available.cache_clear()
    try:
        assert pick_device(None, "detect") == "cpu" and asked == []
    finally:
        device.cuda_available.cache_clear()
