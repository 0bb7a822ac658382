"""Configuration: ``$LENSMITH_HOME/config.toml``, overridden by environment and flags.

The file is validated: a syntax error, a wrong type, an out-of-range value or a folder
where the file should be is a :class:`ConfigError` of one line that names the file and
the fix; an unknown key or a bad environment value is a warning, and is ignored.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Literal, get_args

import tomli_w
import tomllib
from pydantic import BaseModel, Field, ValidationError

from lensmith.runtime import paths
from lensmith.runtime.errors import SetupError

log = logging.getLogger(__name__)

PlannerBackend = Literal["auto", "heuristic", "transformers", "openai"]
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class ConfigError(SetupError, ValueError):
    """The config file cannot be used; the message names the file and the fix."""


class PlannerSettings(BaseModel):
    backend: PlannerBackend = "auto"
    # transformers: a model id or local folder (LLaVA-1.5/NeXT/OneVision, Qwen2-VL, ...)
    model: str | None = None
    # openai-compatible server (vLLM, SGLang, Ollama, llama.cpp server)
    base_url: str | None = None
    api_key: str | None = None
    openai_model: str | None = None
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_new_tokens: int = Field(default=512, ge=1, le=32768)
    temperature: float = Field(default=0.0, ge=0, le=2)
    # evals turn this off: a file name ("clock.png") can give the answer away
    show_file_names: bool = True
    # does the served model take images? "auto": send them, drop them if the server refuses
    vision: bool | Literal["auto"] = "auto"


class MemorySettings(BaseModel):
    enabled: bool = True
    chroma_url: str | None = None  # e.g. "http://localhost:8000"; None = embedded store
    recall_k: int = Field(default=3, ge=0, le=50)


class AccessSettings(BaseModel):
    """What untrusted callers (a planner's tool calls, MCP clients) may name as images
    besides ids and uploaded data. The local user may always name any file of theirs."""

    allow_dirs: list[str] = Field(default_factory=list)  # folders whose images they may read
    allow_urls: bool = False  # public http(s) URLs (never loopback/private/link-local)


class McpSettings(BaseModel):
    token: str | None = Field(default=None, min_length=16)  # bearer token for HTTP (else LENSMITH_MCP_TOKEN, else generated)
    memory: bool = False  # serve remember/retrieve to MCP clients
    idle_s: float = Field(default=900.0, gt=0)  # a client's images are dropped after this long idle


class Settings(BaseModel):
    planner: PlannerSettings = Field(default_factory=PlannerSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    access: AccessSettings = Field(default_factory=AccessSettings)
    mcp: McpSettings = Field(default_factory=McpSettings)
    device: str = "auto"
    tool_devices: dict[str, str] = Field(default_factory=dict)  # per-tool override
    models: dict[str, str] = Field(default_factory=dict)  # model name -> explicit weights path
    allow_downloads: bool = True  # may the resolver fall back to the model hub when online
    max_steps: int = Field(default=8, ge=1, le=50)
    tools: list[str] | None = None  # a subset of registered tools; None = all
    mcp_servers: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def apply(self) -> None:
        """Push what the tools layer needs (weights paths, download policy) into it."""
        from lensmith.runtime import weights

        weights.configure(self.models, allow_downloads=self.allow_downloads)


def load_settings(path: Path | None = None) -> Settings:
    path = path or paths.config_file()
    data = _read(path)
    for key in _unknown_keys(Settings, data):
        log.warning("%s: unknown key %s, ignored (check its spelling and section)", path, key)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_first_problem(exc)}") from None
    _apply_env(settings)
    return settings


def _read(path: Path) -> dict[str, Any]:
    try:
        if path.is_dir():
            raise ConfigError(f"{path} is a folder; the config must be a TOML file: move the folder away")
        if not path.exists():
            return {}
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error ({exc}); fix that line, or move the file away "
                          "to start from the defaults") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save it as UTF-8 TOML") from None
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read ({exc.strerror or exc}); check its permissions") from None


def _first_problem(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    got = first.get("input")
    shown = repr(got) if isinstance(got, str | int | float | bool) else type(got).__name__
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')} (got {shown}); fix or remove that key{more}"


def _unknown_keys(model: type[BaseModel], data: Any, prefix: str = "") -> list[str]:
    if not isinstance(data, dict):
        return []
    out = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            out.append(f"{prefix}{key}")
            continue
        sub = field.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            out += _unknown_keys(sub, value, f"{prefix}{key}.")
    return out


def _apply_env(settings: Settings) -> None:
    env = os.environ
    backend = env.get("LENSMITH_PLANNER")
    if backend:
        if backend in get_args(PlannerBackend):
            settings.planner.backend = backend  # type: ignore[assignment]
        else:
            log.warning("LENSMITH_PLANNER=%r is not a planner (use one of %s); ignored",
                        backend, ", ".join(get_args(PlannerBackend)))
    if env.get("LENSMITH_PLANNER_URL"):
        settings.planner.base_url = env["LENSMITH_PLANNER_URL"]
    if env.get("LENSMITH_PLANNER_MODEL"):
        settings.planner.model = env["LENSMITH_PLANNER_MODEL"]
    device = env.get("LENSMITH_DEVICE")
    if device:
        if _DEVICE.match(device):
            settings.device = device
        else:
            log.warning("LENSMITH_DEVICE=%r is not a device (use auto, cpu, cuda or cuda:N); ignored", device)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    path = path or paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = settings.model_dump(exclude_none=True)
    path.write_text(tomli_w.dumps(data))
    return path
