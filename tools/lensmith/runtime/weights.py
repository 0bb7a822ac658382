"""One resolver for every model's weights.

Order (``../shared/DESIGN.md``): an explicit path from the config, then
``$LENSMITH_WEIGHTS/<name>``, then weights an installed package ships, then — only
when online and allowed — the model hub. When nothing is found the error names the
model, every place looked at, and the one command that fetches it.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from lensmith.runtime import paths
from lensmith.runtime.errors import WeightsNotFound
from lensmith.runtime.progress import report

Source = Literal["config", "env", "package", "hub"]


class ModelSpec(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str  # stable key: "yolo11n", "sam-vit-b", "sd-inpainting", "clip-vit-b-32"
    task: str  # "detect", "ocr", "segment", "edit", "embed", "planner"
    description: str = ""
    # file or folder names to try under $LENSMITH_WEIGHTS (the first found wins)
    candidates: list[str] = []
    # a Hugging Face repo id (and optionally one file in it) for the online path
    hub_repo: str | None = None
    hub_file: str | None = None
    fetch: str = ""  # the one command a user runs to get the weights
    # returns the path of weights an installed package ships, or None
    packaged: Callable[[], Path | None] | None = None


class Resolved(BaseModel):
    name: str
    path: str
    source: Source
    detail: str = ""


_specs: dict[str, ModelSpec] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class ResolverConfig:
    """What the config says about weights: explicit paths and whether the hub may be used.

    One value, replaced whole by :func:`configure` (never merged with the previous one), so
    the last configuration wins: allow / forbid / allow ends allowed. The environment's
    offline switches are read on every lookup, never stored."""

    paths: Mapping[str, str] = field(default_factory=dict)
    allow_downloads: bool = True


_config = ResolverConfig()


def register_model(spec: ModelSpec) -> ModelSpec:
    with _lock:
        _specs[spec.name] = spec
    return spec


def known_models() -> list[ModelSpec]:
    return sorted(_specs.values(), key=lambda s: (s.task, s.name))


def get_spec(name: str) -> ModelSpec:
    """A registered spec, or an ad-hoc one treating ``name`` as a hub repo id."""
    if name in _specs:
        return _specs[name]
    return ModelSpec(
        name=name,
        task="unknown",
        candidates=[name, name.replace("/", "--"), name.split("/")[-1]],
        hub_repo=name if "/" in name else None,
        fetch=f"huggingface-cli download {name} --local-dir $LENSMITH_WEIGHTS/{name.split('/')[-1]}"
        if "/" in name
        else f"place the weights at $LENSMITH_WEIGHTS/{name}",
    )


def configure(paths: Mapping[str, str] | None = None, allow_downloads: bool = True) -> ResolverConfig:
    """Set the process's resolver configuration (the config's ``[models]`` table and
    ``allow_downloads``); returns the previous one so a caller can put it back."""
    global _config
    new = ResolverConfig({k: str(Path(v).expanduser()) for k, v in (paths or {}).items()}, allow_downloads)
    with _lock:
        old, _config = _config, new
    return old


def reset() -> None:
    """Back to the defaults (no explicit paths, downloads allowed unless offline)."""
    configure()


def configured_path(name: str) -> str | None:
    return _config.paths.get(name)


def offline() -> bool:
    switches = {"1", "true", "yes"}
    return any(os.environ.get(v, "").lower() in switches for v in ("LENSMITH_OFFLINE", "HF_HUB_OFFLINE"))


def hub_allowed() -> bool:
    return _config.allow_downloads and not offline()


def weights_dir() -> Path:
    """``$LENSMITH_WEIGHTS``, else ``weights/`` under the lensmith home: where ``lensmith
    models fetch`` puts what it downloads, so the resolver finds it with no config."""
    value = os.environ.get("LENSMITH_WEIGHTS")
    return Path(value).expanduser() if value else paths.home() / "weights"


def resolve(name: str | ModelSpec, *, hub: bool | None = None) -> Resolved:
    """Find weights for a model or raise :class:`WeightsNotFound`."""
    spec = name if isinstance(name, ModelSpec) else get_spec(name)
    looked: list[str] = []

    configured = configured_path(spec.name)
    if configured:
        if Path(configured).exists():
            return Resolved(name=spec.name, path=configured, source="config", detail="config [models]")
        looked.append(f"config [models].{spec.name} = {configured} (missing)")
    else:
        looked.append(f"config [models].{spec.name} (not set)")

    root = weights_dir()
    names = spec.candidates or [spec.name]
    label = "$LENSMITH_WEIGHTS" if os.environ.get("LENSMITH_WEIGHTS") else "the weights folder ($LENSMITH_WEIGHTS not set)"
    for candidate in names:
        path = root / candidate
        if path.exists():
            return Resolved(name=spec.name, path=str(path), source="env", detail=label)
    looked.append(f"{label} {root} / {{{', '.join(names)}}} (none there)")

    if spec.packaged is not None:
        shipped = spec.packaged()
        if shipped is not None and Path(shipped).exists():
            return Resolved(name=spec.name, path=str(shipped), source="package", detail="shipped in a package")
        looked.append("weights shipped in installed packages (none)")

    if spec.hub_repo:
        allowed = hub_allowed() if hub is None else hub
        if hub is False:
            looked.append(f"model hub {spec.hub_repo} (not checked)")
        elif not allowed:
            why = "offline mode, LENSMITH_OFFLINE/HF_HUB_OFFLINE" if offline() else "allow_downloads = false in the config"
            looked.append(f"model hub {spec.hub_repo} (skipped: {why})")
        elif not (reachable := hub_reachable())[0]:
            looked.append(f"model hub {spec.hub_repo} (unreachable: {reachable[1]})")
        else:
            try:
                return Resolved(name=spec.name, path=_from_hub(spec), source="hub", detail=spec.hub_repo)
            except Exception as exc:  # noqa: BLE001 - any hub failure means "not found there"
                looked.append(f"model hub {spec.hub_repo} (failed: {type(exc).__name__}: {str(exc)[:160]})")
    raise WeightsNotFound(spec.name, looked, spec.fetch or f"place the weights at $LENSMITH_WEIGHTS/{names[0]}")


@functools.cache
def hub_reachable() -> tuple[bool, str]:
    """One quick connection attempt per process, so that a machine without network
    fails over in seconds instead of sitting through the hub client's retries."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urllib.parse.urlparse(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        return False, f"{host}:{port}: {exc.strerror or exc}"
    return True, ""


def _from_hub(spec: ModelSpec) -> str:
    import huggingface_hub

    assert spec.hub_repo is not None
    report(spec.name, f"downloading {spec.hub_repo} from the model hub")
    if spec.hub_file:
        return huggingface_hub.hf_hub_download(spec.hub_repo, spec.hub_file, etag_timeout=10)
    return huggingface_hub.snapshot_download(spec.hub_repo, etag_timeout=10)


def status(name: str | ModelSpec) -> Resolved | WeightsNotFound:
    """Like :func:`resolve` but returns the error instead of raising; never downloads."""
    try:
        return resolve(name, hub=False)
    except WeightsNotFound as exc:
        return exc
