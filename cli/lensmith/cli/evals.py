"""``lensmith eval``: run the POPE, CHAIR and tool-use evals and compare runs."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import typer

from lensmith.cli import common
from lensmith.cli.common import fail
from lensmith.cli.options import PLANNER_HELP, build_settings

eval_app = typer.Typer(
    help="Run the evals (POPE, CHAIR, tool use) offline on the shipped sets, or on POPE/COCO files you have.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

# same meaning and default as `ask`'s --planner (config, else auto): one place, cli/options.py
PlannerOpt = typer.Option(None, "--planner", "-p", help=PLANNER_HELP)
LimitOpt = typer.Option(None, "--limit", help="Run at most N cases.")
SubsetOpt = typer.Option(None, "--subset", help="Only cases whose name or metadata matches (repeatable): "
                         "e.g. random, adversarial, scene, photo, easy, hard, count, read, an image id.")  # fmt: skip
OutOpt = typer.Option(None, "--out", help="Run folder (default: <LENSMITH_HOME>/evals/<suite>-<planner>-<time>).")
ResumeOpt = typer.Option(False, "--resume", help="Continue the run in --out (or the latest matching run), skipping finished cases.")
JobsOpt = typer.Option(None, "--jobs", help="Cases in parallel (default: 1 for local planners, 4 for openai).")
ScenesOpt = typer.Option(None, "--scenes", help="Generated composite scenes to include (default per suite).")
SeedOpt = typer.Option(0, "--seed", help="Seed of the scene generator and the POPE sampling.")
UrlOpt = typer.Option(None, "--planner-url", help="OpenAI-compatible server for --planner openai.")
ModelOpt = typer.Option(None, "--planner-model", help="Model id/folder for --planner transformers (or the served model for openai).")


def _run_dir(suite: str, planner: str, out: Path | None, resume: bool) -> Path:
    from lensmith.runtime import paths

    if out is not None:
        return out.expanduser()
    root = paths.evals_dir()
    if resume:
        earlier = sorted(root.glob(f"{suite}-{planner}-*"), key=lambda p: p.stat().st_mtime)
        if earlier:
            return earlier[-1]
    return root / f"{suite}-{planner}-{time.strftime('%Y%m%d-%H%M%S')}"


def _agent(planner: str | None, url: str | None, model: str | None) -> Any:
    from lensmith.agent.loop import Agent
    from lensmith.evals.runner import eval_settings

    # no memory, and no file names in the prompt ("clock.png" would give the answer away)
    settings = eval_settings(build_settings(planner, url, model))
    return Agent(settings=settings, memory=False)


def _run(suite: str, dataset: Any, planner: str | None, limit: int | None, subset: list[str] | None,
         out: Path | None, resume: bool, jobs: int | None, url: str | None, model: str | None) -> None:  # fmt: skip
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from lensmith.agent.planners import PlannerUnavailable
    from lensmith.evals.runner import RunExists, agent_asker, run_dataset

    run_dir = _run_dir(suite, planner or "auto", out, resume)
    agent = _agent(planner, url, model)
    try:
        choice = agent.planner
    except PlannerUnavailable as exc:
        fail(str(exc))
        return
    jobs = jobs or (4 if planner == "openai" else 1)
    command = "lensmith " + " ".join(sys.argv[1:]) if sys.argv else ""
    common.console.print(f"[bold]{suite}[/]: {len(dataset.cases)} cases available · planner {choice.name} · run folder {run_dir}")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=common.console, transient=False) as progress:
        task = progress.add_task(suite, total=None)

        def on_start(total: int, done: int) -> None:
            progress.update(task, total=total, completed=done)

        def on_case(case: Any, row: dict) -> None:
            progress.update(task, advance=1, description=f"{suite} · {case.name[:48]}")

        try:
            metrics = run_dataset(
                dataset, agent_asker(agent, run_dir / "sessions"), run_dir, limit=limit, subset=subset,
                resume=resume, jobs=jobs, planner=choice.name, command=command, on_case=on_case, on_start=on_start,
            )  # fmt: skip
        except RunExists as exc:
            fail(str(exc))
            return
    _print_metrics(metrics, dataset.headline)
    common.console.print(f"report: {run_dir / 'report.md'}")


def _print_metrics(metrics: dict, headline: list[str]) -> None:
    from rich.table import Table

    from lensmith.evals.report import is_interval
    from lensmith.evals.stats import fmt

    table = Table("metric", "value [95% interval]", "n")
    for key, value in metrics.items():
        if is_interval(value):
            shown, n = fmt(value), str(value["n"])
        elif isinstance(value, dict):
            continue  # per-class and breakdown tables: in report.md
        else:
            shown, n = (f"{value:.3f}" if isinstance(value, float) else str(value)), ""
        table.add_row(f"[bold]{key}[/]" if key in headline else key, shown, n)
    common.console.print(table)


def _shipped(n_scenes: int, seed: int, *, genre: str | None = None) -> list:
    """The shipped photos (of one genre, when given) and ``n_scenes`` generated scenes."""
    from lensmith.evals.sources import shipped_items
    from lensmith.runtime import paths

    items = shipped_items(paths.evals_dir() / "data", n_scenes=n_scenes, seed=seed)
    return [i for i in items if genre is None or i.source != "photo" or i.genre == genre]


@eval_app.command("pope")
def pope(
    planner: str | None = PlannerOpt, limit: int | None = LimitOpt, subset: list[str] | None = SubsetOpt,
    out: Path | None = OutOpt, resume: bool = ResumeOpt, jobs: int | None = JobsOpt,
    scenes: int | None = ScenesOpt, seed: int = SeedOpt,
    per_image: int = typer.Option(3, "--per-image", help="Present (and as many absent) objects probed per image (POPE: 3)."),
    setting: list[str] | None = typer.Option(None, "--setting", help="Sampling setting(s): random, popular, adversarial, detector-confusion (default: all)."),
    pope_file: list[Path] | None = typer.Option(None, "--pope-file", help="Published POPE question file(s) instead of the shipped set."),
    coco_images: Path | None = typer.Option(None, "--coco-images", help="COCO val2014 image folder (or $LENSMITH_COCO_IMAGES)."),
    planner_url: str | None = UrlOpt, planner_model: str | None = ModelOpt,
) -> None:  # fmt: skip
    """POPE: 'Is there a <object> in the image?' with random, popular, adversarial and
    detector-confusion negatives. The shipped set is a smoke test (a few hand-labelled
    photos, scenes reported apart); the benchmark is --pope-file with COCO images."""
    from lensmith.evals.pope import ALL_SETTINGS, pope_dataset, pope_dataset_from_files
    from lensmith.evals.sources import DataMissing

    unknown = [s for s in setting or [] if s not in ALL_SETTINGS]
    if unknown:
        fail(f"unknown --setting {', '.join(unknown)}: choose from {', '.join(ALL_SETTINGS)}")
        return
    try:
        if pope_file:
            dataset = pope_dataset_from_files(pope_file, coco_images)
        else:
            items = _shipped(12 if scenes is None else scenes, seed)
            dataset = pope_dataset(items, per_image=per_image, seed=seed, settings=tuple(setting or ALL_SETTINGS))
    except DataMissing as exc:
        fail(str(exc))
        return
    _run("pope", dataset, planner, limit, subset, out, resume, jobs, planner_url, planner_model)


@eval_app.command("chair")
def chair(
    planner: str | None = PlannerOpt, limit: int | None = LimitOpt, subset: list[str] | None = SubsetOpt,
    out: Path | None = OutOpt, resume: bool = ResumeOpt, jobs: int | None = JobsOpt,
    scenes: int | None = ScenesOpt, seed: int = SeedOpt,
    coco_annotations: Path | None = typer.Option(None, "--coco-annotations", help="Folder with instances_val2014.json and captions_val2014.json (or $LENSMITH_COCO_ANNOTATIONS)."),
    coco_images: Path | None = typer.Option(None, "--coco-images", help="COCO val2014 image folder (or $LENSMITH_COCO_IMAGES)."),
    coco_limit: int = typer.Option(500, "--coco-limit", help="COCO images to caption (a random sample, seeded by --seed) when --coco-annotations is given."),
    chair_words: str = typer.Option("lensmith", "--chair-words", help="Word handling: lensmith (English singulariser) or published (the published chair.py's, quirks included: 'bus' → 'bu'), to compare with papers."),
    planner_url: str | None = UrlOpt, planner_model: str | None = ModelOpt,
) -> None:  # fmt: skip
    """CHAIR: describe each image; CHAIR-i / CHAIR-s count the objects named that are not there.
    The shipped set is a smoke test; the benchmark is COCO val2014 (--coco-annotations)."""
    from lensmith.evals.chair import chair_dataset
    from lensmith.evals.chair_words import WORD_MODES
    from lensmith.evals.sources import DataMissing, load_coco_truth

    if chair_words not in WORD_MODES:
        fail(f"unknown --chair-words {chair_words!r}: choose lensmith or published")
        return
    try:
        if coco_annotations or coco_images:
            items = load_coco_truth(coco_annotations, coco_images, limit=coco_limit, seed=seed, words=chair_words)
        else:
            items = _shipped(12 if scenes is None else scenes, seed, genre="photo")
    except DataMissing as exc:
        fail(str(exc))
        return
    dataset = chair_dataset(items, words=chair_words)  # type: ignore[arg-type]
    _run("chair", dataset, planner, limit, subset, out, resume, jobs, planner_url, planner_model)


@eval_app.command("tools")
def tools(
    planner: str | None = PlannerOpt, limit: int | None = LimitOpt, subset: list[str] | None = SubsetOpt,
    out: Path | None = OutOpt, resume: bool = ResumeOpt, jobs: int | None = JobsOpt,
    scenes: int | None = ScenesOpt, seed: int = SeedOpt,
    planner_url: str | None = UrlOpt, planner_model: str | None = ModelOpt,
) -> None:  # fmt: skip
    """Tool use: tool selection, argument accuracy, answer accuracy and grounded claims."""
    from lensmith.evals.suites import tools_dataset

    dataset = tools_dataset(_shipped(12 if scenes is None else scenes, seed))
    _run("tools", dataset, planner, limit, subset, out, resume, jobs, planner_url, planner_model)


@eval_app.command("compare")
def compare_runs(
    run_a: Path = typer.Argument(..., help="Run folder A"), run_b: Path = typer.Argument(..., help="Run folder B"),
    as_json: bool = typer.Option(False, "--json", help="Print the comparison as JSON."),
) -> None:  # fmt: skip
    """Is B better than A, or within noise? Per group, the per-case outcomes both runs share
    (POPE correct, CHAIR clean caption, tool answer correct) with the paired bootstrap
    interval of B − A and McNemar's exact p; then every metric side by side."""
    import json

    from rich.table import Table

    from lensmith.evals.report import compare, compare_cases, is_interval
    from lensmith.evals.stats import fmt

    try:
        rows, meta_a, meta_b = compare(run_a, run_b)
        paired = compare_cases(run_a, run_b)
    except FileNotFoundError as exc:
        fail(str(exc))
        return
    if as_json:
        common.console.print_json(json.dumps({"a": str(run_a), "b": str(run_b), "paired": paired,
                                       "metrics": [{"metric": k, "a": a, "b": b} for k, a, b in rows]}, default=str))  # fmt: skip
        return
    common.console.print(f"A: {run_a} ({meta_a.get('suite', '?')}, {meta_a.get('cases', '?')} cases, {meta_a.get('planner', '?')})")
    common.console.print(f"B: {run_b} ({meta_b.get('suite', '?')}, {meta_b.get('cases', '?')} cases, {meta_b.get('planner', '?')})")
    if paired:  # one line each, so that narrow terminals show the verdict whole
        for p in paired:
            common.console.print(
                f"[bold]{p['group']} · {p['outcome']}[/] ({p['n']} shared cases): [bold]{p['verdict']}[/] — "
                f"A {fmt(p['a'])}, B {fmt(p['b'])} (Wilson), B − A {fmt(p['b_minus_a'])} (paired bootstrap over images), "
                f"McNemar exact p = {p['mcnemar']['p_value']:.3g}"
            )
    else:
        common.console.print("no shared cases with a per-case outcome: only the metrics can be set side by side")

    def shown(v: object) -> str:
        if is_interval(v):
            return fmt(v)  # type: ignore[arg-type]
        return f"{v:.3f}" if isinstance(v, float) else ("–" if v is None else str(v))

    def value(v: object) -> float | int | None:
        v = v["value"] if is_interval(v) else v  # type: ignore[index]
        return v if isinstance(v, int | float) and not isinstance(v, bool) else None

    table = Table("metric", "A", "B", "B − A")
    for key, a, b in rows:
        va, vb = value(a), value(b)
        delta = "" if va is None or vb is None else f"{vb - va:+d}" if isinstance(va, int) and isinstance(vb, int) else f"{vb - va:+.3f}"
        table.add_row(key, shown(a), shown(b), delta)
    common.console.print(table)


@eval_app.command("grounding")
def grounding(
    split: str | None = typer.Option(None, "--split", help="Only the 'tune' or the 'heldout' drafts (default: both)."),
    misses: bool = typer.Option(False, "--misses", help="Also list the claims the checker got wrong."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Score the grounding checker on the hand-labelled probe set (offline, seconds): share of
    false or unknowable claims caught, share of true claims flagged, per category."""
    import json

    from lensmith.evals.grounding import evaluate, table

    if split not in (None, "tune", "heldout"):
        fail(f"--split must be 'tune' or 'heldout', not {split!r}.")
    report = evaluate(split)
    if as_json:
        common.console.print_json(json.dumps(report))
        return
    common.console.print(f"{report['drafts']} drafts, {report['claims']} labelled claims", highlight=False)
    common.console.print(table(report), highlight=False, markup=False, soft_wrap=True)
    if misses:
        for m in report["misses"]:
            common.console.print(f"- {m['draft']} ({m['split']}) {m['category']} {m['label']}: {m['span']!r} → "
                          f"{', '.join(m['statuses']) or 'no verdict'}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")
