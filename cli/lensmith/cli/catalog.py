"""``lensmith tools`` and ``lensmith models``: what is registered, what was found."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from lensmith.cli.common import console


def tools_cmd(
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    schemas: bool = typer.Option(False, "--schemas", help="Show each tool's full argument schema."),
) -> None:
    """List every registered tool: where it comes from (built-in, plugin, MCP server),
    the model or method it will use, its arguments — and every tool that failed to
    load, with why."""
    from lensmith.agent.config import load_settings
    from lensmith.agent.loop import Agent

    settings = load_settings()
    settings.apply()
    agent = Agent(settings, memory=False)
    infos = agent.registry.infos()
    if json_out:
        console.print_json(json.dumps([i.model_dump() for i in infos]))
        return
    table = Table(title="tools", expand=True, show_lines=True)
    table.add_column("tool", style="bold")
    table.add_column("source")
    table.add_column("model / method", overflow="fold")
    table.add_column("arguments", overflow="fold")
    for info in infos:
        if not info.ok:
            table.add_row(f"[red]{escape(info.name)}[/]", info.source, f"[red]failed to load: {escape(info.error or '')}[/]", escape(info.origin))
            continue
        props = (info.args_schema or {}).get("properties", {})
        required = set((info.args_schema or {}).get("required", []))
        if schemas:
            args = json.dumps(info.args_schema, indent=1)
        else:
            args = ", ".join(f"{k}{'' if k in required else '?'}: {_type(v)}" for k, v in props.items())
        table.add_row(escape(info.name), escape(info.source), escape(info.backend or ""), escape(args))
    console.print(table)


def models_cmd(json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List every model lensmith knows: where its weights were found, or every place
    that was looked at and the command that fetches them. Never downloads."""
    from lensmith.agent.config import load_settings
    from lensmith.agent.loop import Agent
    from lensmith.runtime import weights
    from lensmith.runtime.errors import WeightsNotFound

    settings = load_settings()
    settings.apply()
    _ = Agent(settings, memory=False).registry  # importing the tools registers their models
    rows: list[dict[str, Any]] = []
    specs = list(weights.known_models())
    if settings.planner.model:
        specs.append(weights.get_spec(settings.planner.model))
    for spec in specs:
        found = weights.status(spec)
        if isinstance(found, WeightsNotFound):
            rows.append({"name": spec.name, "task": spec.task, "found": False, "looked": found.looked, "fetch": found.fetch})
        else:
            rows.append({"name": spec.name, "task": spec.task, "found": True, "path": found.path, "source": found.source})
    if json_out:
        console.print_json(json.dumps(rows))
        return
    table = Table(title="models", expand=True, show_lines=True)
    table.add_column("model", style="bold")
    table.add_column("task")
    table.add_column("weights", overflow="fold")
    for row in rows:
        if row["found"]:
            table.add_row(row["name"], row["task"], f"[green]found[/] ({row['source']}): {escape(row['path'])}")
        else:
            looked = "\n".join(f"  - {escape(place)}" for place in row["looked"])
            table.add_row(row["name"], row["task"], f"[yellow]not found[/]; looked in:\n{looked}\nfetch: {escape(row['fetch'])}")
    console.print(table)


def _type(schema: dict) -> str:
    if "type" in schema:
        kind = schema["type"]
        if kind == "array":
            return f"list[{_type(schema.get('items', {}))}]"
        return str(kind)
    if "anyOf" in schema:
        return " | ".join(_type(s) for s in schema["anyOf"] if s.get("type") != "null")
    return "any"


def register(app: typer.Typer) -> None:
    app.command("tools", short_help="List registered tools, their source, model or method, and failures.")(tools_cmd)
    app.command("models", short_help="List models: where weights were found, or how to fetch them.")(models_cmd)
