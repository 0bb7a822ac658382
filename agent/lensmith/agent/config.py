"""Configuration: ``$LENSMITH_HOME/config.toml``, overridden by environment and flags."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import tomli_w
import tomllib
from pydantic import BaseModel, Field

from lensmith.runtime import paths

PlannerBackend = Literal["auto", "heuristic", "transformers", "openai"]


class PlannerSettings(BaseModel):
    backend: PlannerBackend = "auto"
    # transformers: a model id or local folder (LLaVA-1.5/NeXT/OneVision, Qwen2-VL, ...)
    model: str | None = None
    # openai-compatible server (vLLM, SGLang, Ollama, llama.cpp server)
    base_url: str | None = None
    api_key: str | None = None
    openai_model: str | None = None
    timeout_s: float = 60.0
    max_new_tokens: int = 512
    temperature: float = 0.0


class MemorySettings(BaseModel):
    enabled: bool = True
    chroma_url: str | None = None  # e.g. "http://localhost:8000"; None = embedded store
    recall_k: int = 3


class Settings(BaseModel):
    planner: PlannerSettings = Field(default_factory=PlannerSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    device: str = "auto"
    tool_devices: dict[str, str] = Field(default_factory=dict)  # per-tool override
    models: dict[str, str] = Field(default_factory=dict)  # model name -> explicit weights path
    allow_downloads: bool = True  # may the resolver fall back to the model hub when online
    max_steps: int = 8
    tools: list[str] | None = None  # a subset of registered tools; None = all
    mcp_servers: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def apply(self) -> None:
        """Push what the tools layer needs (weights paths, download policy) into it."""
        from lensmith.runtime import weights

        weights.configure(self.models, allow_downloads=self.allow_downloads)


def load_settings(path: Path | None = None) -> Settings:
    path = path or paths.config_file()
    data: dict[str, Any] = {}
    if path.exists():
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    settings = Settings.model_validate(data)
    env = os.environ
    if env.get("LENSMITH_PLANNER"):
        settings.planner.backend = env["LENSMITH_PLANNER"]  # type: ignore[assignment]
    if env.get("LENSMITH_PLANNER_URL"):
        settings.planner.base_url = env["LENSMITH_PLANNER_URL"]
    if env.get("LENSMITH_PLANNER_MODEL"):
        settings.planner.model = env["LENSMITH_PLANNER_MODEL"]
    if env.get("LENSMITH_DEVICE"):
        settings.device = env["LENSMITH_DEVICE"]
    return settings


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    path = path or paths.config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = settings.model_dump(exclude_none=True)
    path.write_text(tomli_w.dumps(data))
    return path
