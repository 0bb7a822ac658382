"""``lensmith index``, ``lensmith search`` and ``lensmith memory show|forget``."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import typer

from lensmith.cli import common
from lensmith.cli.common import fail

memory_app = typer.Typer(help="What lensmith remembers: past turns, facts and the image index.", no_args_is_help=True,
                         rich_markup_mode=None)


def _open() -> Any:
    from lensmith.agent.config import load_settings
    from lensmith.memory import MemoryUnavailable, open_memory
    from lensmith.runtime import paths

    settings = load_settings()
    settings.apply()
    try:
        return open_memory(paths.memory_dir(), url=settings.memory.chroma_url)
    except MemoryUnavailable as exc:
        fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - a damaged store or bad path: say what, not a traceback
        fail(f"Cannot open the memory store: {type(exc).__name__}: {exc}")


def _look_tools() -> list[Any]:
    from lensmith.agent.config import load_settings
    from lensmith.agent.toolset import look_tools

    return look_tools(load_settings())


def _quiet_models() -> None:
    import logging

    for name in ("transformers", "sentence_transformers", "ultralytics", "easyocr"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except Exception:  # noqa: BLE001 - only cosmetics
        pass


# ---------------------------------------------------------------------------------------
# lensmith index
# ---------------------------------------------------------------------------------------


def index_cmd(
    folders: list[Path] = typer.Argument(..., help="Photo folders (or files) to index."),
    no_tools: bool = typer.Option(False, "--no-tools", help="Skip detect/read_text (metadata and CLIP only)."),
    batch_size: int = typer.Option(8, "--batch-size", min=1, help="Images per model batch and write."),
    ocr_all: bool = typer.Option(False, "--ocr-all", help="Run OCR on every photo, not only where a quick check finds text-like shapes."),
) -> None:
    """Index photo folders for `lensmith search` and the retrieve tool. Incremental: unchanged
    files are skipped, changed ones re-indexed, deleted ones dropped. Ctrl-C stops after the
    current image and keeps everything finished; run again to resume."""
    import warnings

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from lensmith.memory.indexer import Indexer

    warnings.filterwarnings("ignore")
    _quiet_models()
    for folder in folders:
        if not folder.exists():
            fail(f"No such folder or file: {folder}")
    store = _open()
    indexer = Indexer(store, tools=None if no_tools else _look_tools(), batch_size=batch_size, ocr_all=ocr_all)
    with common.console.status("Scanning…"):
        plan = indexer.plan(folders)
    clip = indexer.clip()
    common.console.print(
        f"[bold]{len(plan.files)}[/] images in {', '.join(str(f) for f in folders)}: "
        f"{sum(1 for _, k in plan.todo if k == 'new')} new, {sum(1 for _, k in plan.todo if k == 'changed')} changed, "
        f"{plan.unchanged} unchanged, {len(plan.deleted)} deleted"
        + (f", {len(plan.needs_clip)} need CLIP vectors" if plan.needs_clip else "")
    )
    common.console.print(
        f"[dim]store: {store.kind} {store.location} · tools: {'off (--no-tools)' if no_tools else 'detect + read_text' + ('' if ocr_all else ' (OCR where a quick check finds text; --ocr-all: every photo)')}"
        f" · CLIP: {clip.name if clip else 'none found (text search over what the tools saw)'}[/]"
    )
    cancel = threading.Event()
    previous = signal.getsignal(signal.SIGINT)

    def _on_sigint(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        common.err_console.print("[yellow]Stopping after the current image (Ctrl-C again to abort now)…[/]")

    signal.signal(signal.SIGINT, _on_sigint)
    progress = Progress(
        TextColumn("[bold]indexing"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        TextColumn("[dim]{task.fields[current]}"), console=common.console, transient=False,
    )
    started = time.perf_counter()
    if not (plan.todo or plan.needs_clip):
        progress.disable = True
    try:
        with progress:
            task = progress.add_task("index", total=max(1, len(plan.todo) + len(plan.needs_clip)),
                                     rate="", current="")

            def on_progress(done: int, total: int, path: str) -> None:
                elapsed = time.perf_counter() - started
                rate = f"{done / elapsed:.2f} img/s" if done and elapsed > 0 else ""
                progress.update(task, completed=done, total=max(1, total), rate=rate, current=Path(path).name)

            report = indexer.run(folders, cancel=cancel, on_progress=on_progress, plan=plan)
    except KeyboardInterrupt:
        common.err_console.print("[yellow]Aborted. Every finished batch is kept; run the same command to resume.[/]")
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGINT, previous)
    _print_report(report)
    if report.interrupted:
        raise typer.Exit(130)


def _print_report(report: Any) -> None:
    from rich.table import Table

    table = Table(title="index", show_header=False)
    table.add_row("added", str(report.added))
    table.add_row("re-indexed (changed)", str(report.updated))
    table.add_row("unchanged (skipped)", str(report.unchanged))
    table.add_row("removed (deleted files)", str(report.removed))
    if report.clip_added:
        table.add_row("CLIP vectors added", str(report.clip_added))
    table.add_row("rate", f"{report.rate:.2f} images/s ({report.processed} in {report.seconds:.1f} s)")
    common.console.print(table)
    if report.bad:
        bad = Table(title=f"{len(report.bad)} file(s) skipped", title_style="bold red")
        bad.add_column("file")
        bad.add_column("why")
        for path, why in report.bad:
            bad.add_row(path, why)
        common.console.print(bad)
    if report.tool_errors:
        common.console.print(f"[yellow]{len(report.tool_errors)} tool error(s)[/], e.g. {report.tool_errors[0][0]}: "
                      f"{report.tool_errors[0][1][:200]}")
    if report.interrupted:
        common.console.print("[yellow]Interrupted: what was finished is kept; run the same command again to resume.[/]")


# ---------------------------------------------------------------------------------------
# lensmith search
# ---------------------------------------------------------------------------------------


def search_cmd(
    query: str | None = typer.Argument(None, help="What to look for, in words ('a cat on a sofa')."),
    image: Path | None = typer.Option(None, "--image", help="Find photos similar to this image."),
    label: list[str] = typer.Option([], "--label", help="Only photos where the detector saw this (repeatable)."),
    has_text: bool = typer.Option(False, "--has-text", help="Only photos with readable text."),
    limit: int = typer.Option(10, "--limit", "-n", min=1, help="How many results."),
    json_out: bool = typer.Option(False, "--json", help="Print the hits as JSON (full paths, no table)."),
) -> None:
    """Search the image index: text → images, --image → similar images, and filters."""
    import warnings

    from rich.table import Table

    from lensmith.memory.search import Searcher
    from lensmith.memory.store import IMAGE_TEXTS

    warnings.filterwarnings("ignore")
    _quiet_models()
    if not (query or image or label or has_text):
        fail("Give a query, --image PATH, or a filter (--label, --has-text)")
    if image is not None and not image.is_file():
        fail(f"No such image: {image}")
    store = _open()
    texts = store.collection(IMAGE_TEXTS)
    if texts is None or texts.count() == 0:
        fail(f"No index yet in {store.location}: run `lensmith index DIR` first")
    searcher = Searcher(store)
    filters = label or None
    with (common.err_console if json_out else common.console).status("Searching…"):
        if image is not None:
            from lensmith.memory.indexer import ToolRunner

            look = ToolRunner(_look_tools())  # runs only when there is no CLIP to compare with
            result = searcher.by_image(str(image), labels=filters, has_text=has_text or None, limit=limit, look=look)
        elif query:
            result = searcher.by_text(query, labels=filters, has_text=has_text or None, limit=limit)
        else:
            result = searcher.by_filter(labels=filters, has_text=has_text or None, limit=limit)
    what = query or (f"like {image}" if image else "filters")
    if json_out:
        hits = [{"rank": i, "path": hit.path, "image_id": hit.image_id, "score": round(hit.score, 6), "why": hit.why}
                for i, hit in enumerate(result.hits, 1)]
        _echo_json({"query": query, "image": str(image) if image else None, "labels": label, "has_text": has_text,
                    "method": result.method, "method_kind": result.method_kind, "note": result.note, "hits": hits})
        return
    table = Table(title=f"search: {what}  [{result.method}]")
    table.add_column("#", justify="right")
    table.add_column("path", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column("why it matched", overflow="fold")
    for i, hit in enumerate(result.hits, 1):
        table.add_row(str(i), hit.path, f"{hit.score:.3f}", hit.why)
    if result.hits:
        common.console.print(table)
    else:
        common.console.print(f"No indexed photos match {what!r}.")
    if result.note:
        common.console.print(f"[dim]{result.note}[/]")


# ---------------------------------------------------------------------------------------
# lensmith memory show | forget
# ---------------------------------------------------------------------------------------


@memory_app.command("show")
def show_cmd(
    limit: int = typer.Option(10, "--limit", "-n", help="Rows per section."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON (full paths, no tables)."),
) -> None:
    """What is stored: collections, sessions, facts and indexed folders."""
    from rich.table import Table

    store = _open()
    counts = store.counts()
    if json_out:
        _echo_json(_show_data(store, counts, limit))
        return
    head = Table(title=f"memory ({store.kind}: {store.location})", show_header=False)
    for name, n in counts.items():
        head.add_row(name, str(n))
    head.add_row("CLIP model of the index", store.images_clip_model() or "none")
    common.console.print(head)
    sessions = store.sessions()
    if sessions:
        table = Table(title="sessions with remembered turns")
        table.add_column("session")
        table.add_column("turns", justify="right")
        table.add_column("last")
        for sid, n, last in sessions[:limit]:
            table.add_row(sid, str(n), time.strftime("%Y-%m-%d %H:%M", time.localtime(last)))
        common.console.print(table)
    facts = store.facts(limit)
    if facts:
        table = Table(title="facts")
        table.add_column("id")
        table.add_column("fact", overflow="fold")
        table.add_column("evidence", overflow="fold")
        for fid, doc, meta in facts:
            table.add_row(fid, doc, ", ".join(meta.get("evidence") or []))
        common.console.print(table)
    entries = store.image_entries()
    if entries:
        roots: dict[str, int] = {}
        for meta in entries:
            roots[meta.get("root") or "(seen in chat)"] = roots.get(meta.get("root") or "(seen in chat)", 0) + 1
        table = Table(title="indexed images")
        table.add_column("folder")
        table.add_column("images", justify="right")
        for root, n in sorted(roots.items()):
            table.add_row(root, str(n))
        common.console.print(table)


def _show_data(store: Any, counts: dict[str, int], limit: int) -> dict[str, Any]:
    roots: dict[str, int] = {}
    for meta in store.image_entries():
        root = meta.get("root") or "(seen in chat)"
        roots[root] = roots.get(root, 0) + 1
    return {
        "store": {"kind": store.kind, "location": str(store.location)},
        "counts": counts,
        "clip_model": store.images_clip_model(),
        "sessions": [{"session": sid, "turns": n, "last": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(last))}
                     for sid, n, last in store.sessions()[:limit]],
        "facts": [{"id": fid, "fact": doc, "evidence": list(meta.get("evidence") or [])}
                  for fid, doc, meta in store.facts(limit)],
        "indexed_folders": [{"folder": root, "images": n} for root, n in sorted(roots.items())],
    }


def _echo_json(data: Any) -> None:
    # plain stdout, never rich: a terminal-width wrap or markup would break the JSON
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@memory_app.command("forget")
def forget_cmd(
    session: str | None = typer.Option(None, "--session", help="Forget a session's turns and facts."),
    image: str | None = typer.Option(None, "--image", help="Forget an image (path), or every image under a folder."),
    fact: str | None = typer.Option(None, "--fact", help="Forget one fact (id from `memory show`)."),
    everything: bool = typer.Option(False, "--all", help="Forget everything."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation with --all."),
) -> None:
    """Delete entries for good (documents, metadata and vectors)."""
    chosen = [x for x in (session, image, fact) if x] + (["all"] if everything else [])
    if len(chosen) != 1:
        fail("Name exactly one of --session ID, --image PATH, --fact ID, --all")
    store = _open()
    if everything:
        if not yes and not typer.confirm(f"Delete everything in {store.location}?"):
            raise typer.Exit(1)
        counts = store.forget_all()
        common.console.print("Forgot everything: " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    elif session:
        n = store.forget_session(session)
        common.console.print(f"Forgot {n} entr{'y' if n == 1 else 'ies'} of session {session}")
        if not n:
            raise typer.Exit(1)
    elif image:
        n = store.forget_image(image)
        common.console.print(f"Forgot {n} image(s) for {image}")
        if not n:
            raise typer.Exit(1)
    elif fact:
        n = store.forget_fact(fact)
        common.console.print(f"Forgot {n} fact(s) {fact}")
        if not n:
            raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("index")(index_cmd)
    app.command("search")(search_cmd)
    app.add_typer(memory_app, name="memory")
