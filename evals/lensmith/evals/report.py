"""Reports: a Markdown summary with a matplotlib plot of the headline metrics, and a
side-by-side comparison of two runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lensmith.evals.dataset import Dataset


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def plot(metrics: dict[str, Any], keys: Sequence[str], out: Path, title: str) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [(k, float(v)) for k in keys if isinstance(v := metrics.get(k), int | float)]
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(shown) + 1.5), 3.2), dpi=110)
    bars = ax.bar([k for k, _ in shown], [v for _, v in shown], color="#4c72b0")
    ax.set_ylim(0, 1.05)
    ax.set_title(title, fontsize=10)
    ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def write_report(run_dir: Path, dataset: Dataset, metrics: dict[str, Any], rows: Sequence[dict], meta: dict) -> Path:
    png = plot(metrics, dataset.headline, run_dir / "metrics.png", f"{dataset.name} · {meta.get('planner', '')}")
    lines = [
        f"# lensmith eval: {dataset.name}",
        "",
        f"{dataset.description}.",
        "",
        f"- planner: {meta.get('planner', '')}",
        f"- command: `{meta.get('command', '')}`",
        f"- machine: {meta.get('machine', '')}",
        f"- cases: {len(rows)} (started {meta.get('started', '')}, finished {meta.get('finished', '')}, "
        f"sum of case times {meta.get('wall_s', 0)} s)",
        "",
        "## Metrics",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in metrics.items()]
    if png:
        lines += ["", f"![headline metrics]({png.name})"]
    failures = [r for r in rows if r.get("error")]
    lines += ["", "## Cases", "", "| case | answer | key scores |", "|---|---|---|"]
    for row in rows[:200]:
        scores = row.get("scores", {})
        key = ", ".join(
            f"{k}={_fmt(scores[k])}"
            for k in ("prediction", "label", "hallucinated", "tool_selection", "answer_correct", "grounded_share")
            if k in scores
        )
        answer = (row.get("answer") or row.get("error") or "").replace("\n", " ").replace("|", "\\|")[:160]
        lines.append(f"| {row['name']} | {answer} | {key} |")
    if len(rows) > 200:
        lines.append(f"| … {len(rows) - 200} more in cases.jsonl | | |")
    if failures:
        lines += ["", f"{len(failures)} case(s) failed; their errors are in cases.jsonl."]
    out = run_dir / "report.md"
    out.write_text("\n".join(lines) + "\n")
    return out


def compare(run_a: Path, run_b: Path) -> tuple[list[tuple[str, Any, Any]], dict, dict]:
    """Rows of (metric, value in A, value in B) for the metrics either run reports."""
    loaded = []
    for run in (run_a, run_b):
        path = Path(run) / "metrics.json"
        if not path.exists():
            raise FileNotFoundError(f"no metrics.json in {run} (is it a lensmith eval run folder?)")
        meta_path = Path(run) / "run.json"
        loaded.append((json.loads(path.read_text()), json.loads(meta_path.read_text()) if meta_path.exists() else {}))
    (a, meta_a), (b, meta_b) = loaded
    keys = list(dict.fromkeys([*a, *b]))
    return [(k, a.get(k), b.get(k)) for k in keys], meta_a, meta_b
