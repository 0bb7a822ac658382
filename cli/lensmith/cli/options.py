"""Options shared by the commands that run a planner (ask, chat, eval)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the agent's config pulls in pydantic: kept off the `--help` path
    from lensmith.agent.config import Settings

PLANNER_HELP = "heuristic | transformers | openai | auto (default: config, else auto: the best available)."
PlannerOpt = Annotated[str | None, typer.Option("--planner", "-p", help=PLANNER_HELP)]
PlannerUrlOpt = Annotated[
    str | None, typer.Option("--planner-url", help="OpenAI-compatible server, e.g. http://localhost:8000/v1")
]
PlannerModelOpt = Annotated[
    str | None,
    typer.Option("--planner-model", help="Local LMM (hub id or folder) for the transformers planner, or the model name on the server."),
]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="cuda, cuda:1, cpu or auto (default).")]
MaxStepsOpt = Annotated[int | None, typer.Option("--max-steps", min=1, max=50, help="Planner step budget per turn.")]

_BACKENDS = ("auto", "heuristic", "transformers", "openai")


def build_settings(
    planner: str | None = None,
    planner_url: str | None = None,
    planner_model: str | None = None,
    device: str | None = None,
    max_steps: int | None = None,
    no_memory: bool = False,
) -> Settings:
    from lensmith.agent.config import load_settings

    settings = load_settings()
    if planner:
        if planner not in _BACKENDS:
            raise typer.BadParameter(f"unknown planner {planner!r}; choose one of {', '.join(_BACKENDS)}", param_hint="--planner")
        settings.planner.backend = planner  # type: ignore[assignment]
    if planner_url:
        settings.planner.base_url = planner_url
        if not planner:
            settings.planner.backend = "openai"
    if planner_model:
        if settings.planner.backend == "openai" or planner_url:
            settings.planner.openai_model = planner_model
        else:
            settings.planner.model = planner_model
    if device:
        settings.device = device
    if max_steps:
        settings.max_steps = max_steps
    if no_memory:
        settings.memory.enabled = False
    settings.apply()
    return settings
