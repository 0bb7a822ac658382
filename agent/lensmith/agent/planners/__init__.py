"""Planners are LangChain chat models that support ``bind_tools`` and image content.

Backends: ``transformers`` (a local LMM), ``openai`` (any OpenAI-compatible server),
``heuristic`` (transparent rules, no model). :func:`choose_planner` picks the best
one available and says why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from lensmith.agent.config import PlannerSettings

log = logging.getLogger("lensmith.agent")


class PlannerUnavailable(RuntimeError):
    """The requested planner cannot run here; the message says why and what to do."""


@dataclass
class PlannerChoice:
    model: BaseChatModel
    name: str  # "heuristic", "transformers:llava-hf/llava-1.5-7b-hf", "openai:qwen2-vl @ http://..."
    reason: str  # why this one ran
    heuristic: bool = False


def choose_planner(settings: PlannerSettings, *, device: str = "auto") -> PlannerChoice:
    backend = settings.backend
    if backend == "heuristic":
        return _heuristic("chosen in config/flags")
    if backend == "openai":
        return _openai(settings)
    if backend == "transformers":
        return _transformers(settings, device)
    # auto: the best available, most capable first
    reasons = []
    if settings.base_url:
        from lensmith.agent.planners.openai_compat import probe

        ok, why = probe(settings)
        if ok:
            choice = _openai(settings)
            choice.reason = f"auto: {why}"
            return choice
        reasons.append(f"OpenAI-compatible server at {settings.base_url} not usable ({why})")
    if settings.model:
        try:
            choice = _transformers(settings, device)
            choice.reason = f"auto: local model {settings.model} found"
            return choice
        except PlannerUnavailable as exc:
            reasons.append(str(exc))
    if not settings.base_url and not settings.model:
        found = _local_server(settings, reasons)
        if found is not None:
            return found
        reasons.append("no planner model configured (set planner.model or planner.base_url, or --planner)")
    return _heuristic("auto: " + "; ".join(reasons))


def _local_server(settings: PlannerSettings, reasons: list[str]) -> PlannerChoice | None:
    """Ollama or vLLM on its default loopback port, if one serves a usable model."""
    from lensmith.agent.planners.openai_compat import find_local_servers

    for server in find_local_servers():
        if server.model is None:
            reasons.append(server.note)
            continue
        update: dict[str, object] = {"base_url": server.url, "openai_model": server.model}
        if server.vision is not None and getattr(settings, "vision", "auto") == "auto":
            update["vision"] = server.vision
        choice = _openai(settings.model_copy(update=update))
        choice.reason = f"auto: found {server.note}"
        return choice
    return None


def _heuristic(reason: str) -> PlannerChoice:
    from lensmith.agent.planners.heuristic import HeuristicPlanner

    return PlannerChoice(HeuristicPlanner(), "heuristic", reason, heuristic=True)


def _openai(settings: PlannerSettings) -> PlannerChoice:
    from lensmith.agent.planners.openai_compat import make_openai_planner

    if not settings.base_url:
        raise PlannerUnavailable(
            "The openai planner needs a server URL: --planner-url http://localhost:8000/v1 "
            "or planner.base_url in config.toml"
        )
    model = make_openai_planner(settings)
    served = settings.openai_model or getattr(model, "model_name", None) or "default"
    name = f"openai:{served} @ {settings.base_url}"
    return PlannerChoice(model, name, "chosen in config/flags")


def _transformers(settings: PlannerSettings, device: str) -> PlannerChoice:
    from lensmith.agent.planners.transformers_lmm import make_transformers_planner

    if not settings.model:
        raise PlannerUnavailable(
            "The transformers planner needs a model: --planner-model llava-hf/llava-1.5-7b-hf "
            "or planner.model in config.toml"
        )
    model = make_transformers_planner(settings, device=device)
    return PlannerChoice(model, f"transformers:{settings.model}", "chosen in config/flags")
