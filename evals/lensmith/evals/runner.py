"""Run a dataset through the agent: per-case JSONL (resumable), traces, a report.

Every case runs in a fresh session of its own (so no case sees another's tool
results) under ``<run dir>/sessions``. Results land in ``<run dir>/cases.jsonl``
as each case finishes; a re-run with ``resume=True`` skips the cases already there.
Traces (one :class:`~agent.trace.TurnTrace` per line) go to ``traces.jsonl``.
"""

from __future__ import annotations

import json
import logging
import platform
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from lensmith.agent.trace import TurnTrace
from lensmith.evals.dataset import Case, Dataset

log = logging.getLogger("lensmith.evals")

Ask = Callable[[Case], TurnTrace]


class RunExists(FileExistsError):
    pass


def read_rows(run_dir: Path) -> list[dict[str, Any]]:
    path = Path(run_dir) / "cases.jsonl"
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                log.warning("skipping a damaged line in %s (an interrupted write)", path)
    return rows


def eval_settings(settings: Any) -> Any:
    """Settings for an eval run: no memory (evals must not read or fill the user's) and no
    file names in the prompt (a name like "clock.png" would give the answer away)."""
    settings.memory.enabled = False
    settings.planner.show_file_names = False
    return settings


def agent_asker(agent: Any, sessions_root: Path) -> Ask:
    """Run a case through an :class:`agent.loop.Agent`, each case in a new session."""
    from lensmith.agent.sessions import SessionManager

    manager = SessionManager(sessions_root)

    def ask(case: Case) -> TurnTrace:
        session = manager.new(title=case.name)
        return agent.ask(case.question, case.images, session=session)

    return ask


def run_dataset(
    dataset: Dataset,
    ask: Ask,
    run_dir: Path,
    *,
    limit: int | None = None,
    subset: Sequence[str] | None = None,
    resume: bool = False,
    jobs: int = 1,
    planner: str = "",
    command: str = "",
    on_case: Callable[[Case, dict[str, Any]], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run the selected cases (skipping finished ones when resuming); return the metrics."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    cases = dataset.select(limit=limit, subset=subset)
    done_rows = read_rows(run_dir)
    if done_rows and not resume:
        raise RunExists(f"{run_dir} already holds results; pass --resume to continue it or choose another --out")
    wanted = {c.name for c in cases}
    done = {r["name"] for r in done_rows if r["name"] in wanted}
    todo = [c for c in cases if c.name not in done]
    meta_path = run_dir / "run.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    meta.update(
        suite=dataset.name, description=dataset.description, planner=planner or meta.get("planner", ""),
        command=command or meta.get("command", ""), cases=len(cases), limit=limit, subset=list(subset or []),
        machine=f"{platform.node()} ({platform.machine()}, {platform.system()}, Python {platform.python_version()})",
        started=meta.get("started", time.strftime("%Y-%m-%d %H:%M:%S")),
    )  # fmt: skip
    meta_path.write_text(json.dumps(meta, indent=1))
    if on_start:
        on_start(len(cases), len(done))
    clock = time.perf_counter()
    lock = threading.Lock()

    def one(case: Case) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            trace = ask(case)
        except Exception as exc:  # noqa: BLE001 - a failed case is recorded, the run goes on
            log.warning("case %s failed: %s", case.name, exc)
            trace = TurnTrace(session_id="", turn_id="", question=case.question, error=f"{type(exc).__name__}: {exc}")
        scores = dataset.score(case, trace)
        row = {
            "name": case.name, "question": case.question, "images": case.images, "answer": trace.answer,
            "expected": case.expected, "metadata": case.metadata, "scores": scores,
            "verdicts": [v.model_dump(mode="json") for v in trace.verdicts],
            "tools": [c.tool for c in trace.calls], "planner": trace.planner,
            "duration_s": round(time.perf_counter() - started, 3), "error": trace.error,
        }  # fmt: skip
        with lock:
            with (run_dir / "traces.jsonl").open("a") as fh:
                fh.write(trace.to_json() + "\n")
            with (run_dir / "cases.jsonl").open("a") as fh:
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        if on_case:
            on_case(case, row)
        return row

    if jobs <= 1:
        for case in todo:
            one(case)
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for future in as_completed([pool.submit(one, c) for c in todo]):
                future.result()
    rows = [r for r in read_rows(run_dir) if r["name"] in wanted]
    metrics = dataset.summarize(rows)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    meta["wall_s"] = round(meta.get("wall_s", 0.0) + time.perf_counter() - clock, 1)  # summed over resumed parts
    meta["case_s"] = round(sum(r.get("duration_s", 0.0) for r in rows), 1)
    meta_path.write_text(json.dumps(meta, indent=1))
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1, default=str))
    from lensmith.evals.report import write_report

    write_report(run_dir, dataset, metrics, rows, meta)
    return metrics
