"""Device placement: CUDA in bf16/fp16 when present, else CPU; overridable per tool."""

from __future__ import annotations

import os
import sys
from functools import cache


@cache
def cuda_available() -> bool:
    # importing torch only to hear "no" costs seconds on a small CPU (it is most of a cold
    # `lensmith search`): without an NVIDIA or ROCm kernel driver there is no GPU to find.
    # Asked first even when torch is in sys.modules: it may be half-imported by another
    # thread, and ``import torch`` would then wait for that import to finish.
    if not _gpu_driver_present():
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def _gpu_driver_present() -> bool:
    if sys.platform != "linux":
        return True  # no cheap check known elsewhere: ask torch
    return any(os.path.exists(p) for p in ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd"))


def pick_device(preference: str | None = None, tool: str | None = None) -> str:
    """Resolve a device name.

    Order: the explicit ``preference``; ``$LENSMITH_DEVICE_<TOOL>``; ``$LENSMITH_DEVICE``;
    then "cuda" when available, else "cpu". "auto" means the last step.
    """
    candidates = [preference]
    if tool:
        candidates.append(os.environ.get(f"LENSMITH_DEVICE_{tool.upper()}"))
    candidates.append(os.environ.get("LENSMITH_DEVICE"))
    for choice in candidates:
        if choice and choice != "auto":
            return choice
    return "cuda" if cuda_available() else "cpu"


def pick_dtype(device: str):  # -> torch.dtype
    """bf16 on CUDA devices that support it, fp16 on older CUDA, fp32 on CPU."""
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32
