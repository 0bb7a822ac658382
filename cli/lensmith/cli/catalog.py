"""``lensmith tools`` and ``lensmith models``: what is registered, what was found."""

from __future__ import annotations

import json
import os
from typing import Any

import typer

from lensmith.cli import common


def tools_cmd(
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
    schemas: bool = typer.Option(False, "--schemas", help="Show each tool's full argument schema."),
) -> None:
    """List every registered tool: where it comes from (built-in, plugin, MCP server),
    the model or method it will use, its arguments — and every tool that failed to
    load, with why."""
    from rich.markup import escape
    from rich.table import Table

    from lensmith.agent.config import load_settings
    from lensmith.agent.loop import Agent

    settings = load_settings()
    settings.apply()
    agent = Agent(settings, memory=False)
    infos = agent.registry.infos()
    if json_out:
        common.console.print_json(json.dumps([i.model_dump() for i in infos]))
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
    common.console.print(table)


def models_cmd(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """List every model lensmith knows: where its weights were found, or every place
    that was looked at and the command that fetches them. Never downloads;
    `lensmith models fetch NAME` does."""
    from rich.markup import escape
    from rich.table import Table

    if ctx.invoked_subcommand is not None:
        return
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
        common.console.print_json(json.dumps(rows))
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
    common.console.print(table)


def fetch_cmd(
    names: list[str] = typer.Argument(None, help="Models to fetch (names from `lensmith models fetch --list`)."),
    all_: bool = typer.Option(False, "--all", help="Fetch every model in the catalogue."),
    list_: bool = typer.Option(False, "--list", help="Show the catalogue (sources and how each is checked) and exit."),
    force: bool = typer.Option(False, "--force", help="Download again even if the weights are there."),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Download model weights into the weights folder ($LENSMITH_WEIGHTS, else weights/
    under the lensmith home), where lensmith finds them with no config. Downloads resume
    where an interrupted one stopped and are checked against their published sha256
    (or their size, where no checksum is published) before they are used."""
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.table import Table

    from lensmith.cli import common
    from lensmith.cli.common import fail
    from lensmith.runtime.fetch import FetchError, fetch
    from lensmith.runtime.weights import weights_dir
    from lensmith.tools.downloads import catalogue

    entries = catalogue()
    if list_:
        rows: list[dict[str, Any]] = [{"name": e.model, "target": e.target, "files": [f.url for f in e.files], "checksum": e.checksum,
                 "note": e.note} for e in entries.values()]
        if json_out:
            common.console.print_json(json.dumps(rows))
            return
        table = Table(title=f"fetchable models (into {escape(str(weights_dir()))})", expand=True, show_lines=True)
        for column in ("model", "saved as", "source", "checked by"):
            table.add_column(column, overflow="fold")
        for row in rows:
            urls = row["files"]
            source = urls[0] if len(urls) == 1 else f"{os.path.commonprefix(urls).rsplit('/', 1)[0]}/… ({len(urls)} files)"
            table.add_row(row["name"], row["target"], escape(source), escape(row["checksum"]))
        common.console.print(table)
        return
    chosen = list(entries) if all_ else list(names or [])
    if not chosen:
        fail("Name the models to fetch (e.g. `lensmith models fetch sam-vit-b`), or --all; --list shows them.")
    unknown = [n for n in chosen if n not in entries]
    if unknown:
        fail(f"No download known for {', '.join(unknown)}; fetchable: {', '.join(entries)}.")
    results: list[dict[str, Any]] = []
    failed = False
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=common.err_console, transient=True) as bar:
        for name in chosen:
            task = bar.add_task(name, total=None)

            def shown(label: str, done: int, total: int | None, task=task, name=name) -> None:
                bar.update(task, description=f"{name}: {label}", completed=done, total=total)

            try:
                got = fetch(entries[name], force=force, on_progress=shown)
            except FetchError as exc:
                failed = True
                common.err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
                results.append({"name": name, "ok": False, "error": str(exc)})
                continue
            finally:
                bar.remove_task(task)
            results.append({"name": name, "ok": True, "path": str(got.path), "already": got.already,
                            "files": [vars(f) for f in got.files]})
    if json_out:
        common.console.print_json(json.dumps(results))
    else:
        for row in results:
            if not row["ok"]:
                continue
            if row["already"]:
                common.console.print(f"[green]✓[/] {row['name']}: already in {escape(row['path'])}", highlight=False)
                continue
            checks = sorted({f["verified"] for f in row["files"]})
            resumed = "".join(f"; resumed {f['name']} at byte {f['resumed_from']}" for f in row["files"] if f["resumed_from"])
            common.console.print(f"[green]✓[/] {row['name']}: {escape(row['path'])} (checked: {escape('; '.join(checks))}{resumed})",
                          highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


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
    models_app = typer.Typer(no_args_is_help=False, rich_markup_mode=None)
    models_app.callback(invoke_without_command=True)(models_cmd)
    models_app.command("fetch", short_help="Download weights into the weights folder (resumable, checksum-verified).")(fetch_cmd)
    app.add_typer(models_app, name="models", short_help="List models: where weights were found, or how to fetch them.")
