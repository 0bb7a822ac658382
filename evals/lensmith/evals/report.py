"""Reports: a Markdown summary (every metric with n and its 95% interval, photos and
scenes apart, detector error apart from planner faithfulness) with a plot, and the
comparison of two runs with the interval of each difference."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lensmith.evals.dataset import Dataset
from lensmith.evals.stats import fmt, mcnemar, paired_bootstrap, verdict, wilson

SMOKE_SOURCES = {"photo", "scene"}
SMOKE_NOTE = (
    "**Smoke test, not a benchmark.** The shipped offline set is a few hand-labelled photos "
    "(and composite scenes); its intervals are wide. The benchmark is the published data: "
    "`--pope-file` (RUCAIBox/POPE question files) and `--coco-annotations`/`--coco-images` (COCO val2014)."
)


def is_interval(value: Any) -> bool:
    return isinstance(value, dict) and "value" in value and "n" in value


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if is_interval(value):
        return f"{fmt(value)} (n={value['n']})"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def plot(metrics: dict[str, Any], keys: Sequence[str], out: Path, title: str) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown: list[tuple[str, float, float, float]] = []
    for k in keys:
        v = metrics.get(k)
        if isinstance(v, dict) and is_interval(v) and v["value"] is not None:
            low, high = v["low"] if v["low"] is not None else v["value"], v["high"] if v["high"] is not None else v["value"]
            # a percentile bootstrap interval need not contain the point estimate
            shown.append((k, v["value"], max(0.0, v["value"] - low), max(0.0, high - v["value"])))
        elif isinstance(v, int | float) and not isinstance(v, bool):
            shown.append((k, float(v), 0.0, 0.0))
    if not shown:
        return None
    # horizontal bars: one row per metric, however many there are
    fig, ax = plt.subplots(figsize=(6.4, 0.28 * len(shown) + 1.0), dpi=110)
    ys = list(range(len(shown)))[::-1]
    bars = ax.barh(ys, [s[1] for s in shown], color="#4c72b0")
    ax.errorbar([s[1] for s in shown], ys, xerr=[[s[2] for s in shown], [s[3] for s in shown]], fmt="none", ecolor="black", capsize=2)
    ax.set_yticks(ys, [s[0] for s in shown])
    ax.set_xlim(0, 1.05)
    ax.set_title(f"{title} (lines: 95% intervals)", fontsize=9)
    ax.bar_label(bars, fmt="%.2f", fontsize=6, label_type="center", color="white")
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)
    return out


def _pope_sections(metrics: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    groups = sorted({k.rsplit("/", 1)[0] for k in metrics if k.endswith("/accuracy") and k.count("/") == 2})
    if not groups:
        return lines
    lines += ["## POPE", "", "Each cell: value [95% interval]; accuracy, precision, recall, yes-ratio by Wilson, "
              "F1 by a bootstrap over images. Settings share their positives.", "",
              "| source / setting | n (images) | accuracy | precision | recall | F1 | yes-ratio | TP/FP/TN/FN |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for g in groups:
        m = {k.rsplit("/", 1)[1]: v for k, v in metrics.items() if k.rsplit("/", 1)[0] == g}
        lines.append(
            f"| {g} | {m.get('n')} ({m.get('images')}) | {fmt(m.get('accuracy'))} | {fmt(m.get('precision'))} | "
            f"{fmt(m.get('recall'))} | {fmt(m.get('f1'))} | {fmt(m.get('yes_ratio'))} | "
            f"{m.get('tp')}/{m.get('fp')}/{m.get('tn')}/{m.get('fn')} |"
        )
    for key in sorted(k for k in metrics if k.endswith("/faithfulness")):
        f = metrics[key]
        source = key.split("/")[0]
        lines += ["", f"### {source}: what the tools got wrong vs what the planner said that the tools did not", "",
                  f"- tools wrong (the detector's answer to the question differs from the ground truth): "
                  f"{_fmt(f['tools_wrong'])}",
                  f"- planner unfaithful (the answer differs from what the detector reported): {_fmt(f['planner_unfaithful'])}",
                  f"- answers with no detector evidence on the question's class: {f['no_tool_evidence']}",
                  f"- wrong answers: {f['wrong_answers']} = {f['wrong_because_tools_wrong']} repeating a tool error + "
                  f"{f['wrong_because_planner_departed']} departing from right tool evidence + "
                  f"{f['wrong_without_tool_evidence']} without tool evidence"
                  + (f"; {f['failed_turns']} failed turn(s) scored wrong and left out of these rates" if f.get("failed_turns") else "")
                  + (" (+ the rest: tools wrong and the planner departed from them too)" if f["wrong_answers"] > f["wrong_because_tools_wrong"] + f["wrong_because_planner_departed"] + f["wrong_without_tool_evidence"] else "")]  # fmt: skip
    for key in sorted(k for k in metrics if k.endswith("/per_class")):
        lines += ["", f"### {key.split('/')[0]}: per class (distinct image–class questions, all settings)", "",
                  "| class | asked where present | recall | asked where absent | \"yes\" where absent |", "|---|---|---|---|---|"]  # fmt: skip
        for cls, e in metrics[key].items():
            lines.append(f"| {cls} | {e['yes_n']} | {fmt(e['recall'])} | {e['no_n']} | {fmt(e['false_yes_rate'])} |")
    return lines


def _chair_sections(metrics: dict[str, Any]) -> list[str]:
    sources = sorted({k.split("/")[0] for k in metrics if k.endswith("/chair_i")})
    if not sources:
        return []
    lines = ["## CHAIR", "", f"Word handling: {metrics.get('word_mode', 'lensmith')}. CHAIR-i by a bootstrap over captions, "
             "CHAIR-s by Wilson, recall (of the certain objects) by a bootstrap.", "",
             "| source | captions | CHAIR-i | CHAIR-s | recall | mentions | hallucinated | of which the tools reported | of which the tools did not | mentions the tools did not report | classes the tools reported falsely |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for s in sources:
        g = {k.split("/", 1)[1]: v for k, v in metrics.items() if k.startswith(f"{s}/")}
        lines.append(
            f"| {s} | {g.get('captions')} | {fmt(g.get('chair_i'))} | {fmt(g.get('chair_s'))} | {fmt(g.get('recall'))} | "
            f"{g.get('mentions')} | {g.get('hallucinated_mentions')} | {g.get('hallucinated_from_tools')} | "
            f"{g.get('hallucinated_not_from_tools')} | {g.get('mentions_not_from_tools')} | {g.get('tool_false_classes')} |"
        )
    lines += ["", "\"Of which the tools reported\": the detector reported that class on the image, so the error is the "
              "detector's, repeated faithfully; \"the tools did not\": the planner said it on its own."]  # fmt: skip
    return lines


def write_report(run_dir: Path, dataset: Dataset, metrics: dict[str, Any], rows: Sequence[dict], meta: dict) -> Path:
    png = plot(metrics, dataset.headline, run_dir / "metrics.png", f"{dataset.name} · {meta.get('planner', '')}")
    sources = {r.get("metadata", {}).get("source", "photo") for r in rows}
    lines = [f"# lensmith eval: {dataset.name}", "", f"{dataset.description}.", ""]
    if sources & SMOKE_SOURCES:
        lines += [SMOKE_NOTE, ""]
    lines += [
        f"- planner: {meta.get('planner', '')}",
        f"- command: `{meta.get('command', '')}`",
        f"- machine: {meta.get('machine', '')}",
        f"- cases: {len(rows)} (started {meta.get('started', '')}, finished {meta.get('finished', '')}, "
        f"wall time {meta.get('wall_s', 0)} s)",
        "",
    ]
    lines += _pope_sections(metrics) or _chair_sections(metrics)
    flat = {k: v for k, v in metrics.items() if not isinstance(v, dict) or is_interval(v)}
    lines += ["", "## All metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {_fmt(v)} |" for k, v in flat.items()]
    if png:
        lines += ["", f"![headline metrics]({png.name})"]
    failures = [r for r in rows if r.get("error")]
    lines += ["", "## Cases", "", "| case | answer | key scores |", "|---|---|---|"]
    for row in rows[:300]:
        scores = row.get("scores", {})
        key = ", ".join(
            f"{k}={_fmt(scores[k])}"
            for k in ("prediction", "label", "tool_says", "hallucinated", "tool_selection", "answer_correct", "grounded_share")
            if k in scores
        )
        answer = (row.get("answer") or row.get("error") or "").replace("\n", " ").replace("|", "\\|")[:160]
        lines.append(f"| {row['name']} | {answer} | {key} |")
    if len(rows) > 300:
        lines.append(f"| … {len(rows) - 300} more in cases.jsonl | | |")
    if failures:
        lines += ["", f"{len(failures)} case(s) failed; their errors are in cases.jsonl."]
    out = run_dir / "report.md"
    out.write_text("\n".join(lines) + "\n")
    return out


# ---- comparing two runs ---------------------------------------------------------------------
def _load(run: Path) -> tuple[dict, dict, list[dict]]:
    from lensmith.evals.runner import read_rows

    path = Path(run) / "metrics.json"
    if not path.exists():
        raise FileNotFoundError(f"no metrics.json in {run} (is it a lensmith eval run folder?)")
    meta_path = Path(run) / "run.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    return json.loads(path.read_text()), meta, read_rows(Path(run))


# per-case outcomes that can be paired: (score key, higher is better)
_OUTCOMES = ("correct", "clean", "answer_correct", "tool_selection")  # all: higher is better


def _group(row: dict) -> str:
    meta = row.get("metadata", {})
    return "/".join(str(meta[k]) for k in ("source", "setting") if k in meta) or "all"


def compare(run_a: Path, run_b: Path) -> tuple[list[tuple[str, Any, Any]], dict, dict]:
    """Rows of (metric, value in A, value in B) for the metrics either run reports."""
    (a, meta_a, _), (b, meta_b, _) = _load(run_a), _load(run_b)
    keys = [k for k in dict.fromkeys([*a, *b]) if not (isinstance(a.get(k, b.get(k)), dict) and not is_interval(a.get(k, b.get(k))))]
    return [(k, a.get(k), b.get(k)) for k in keys], meta_a, meta_b


def compare_cases(run_a: Path, run_b: Path, *, resamples: int = 2000) -> list[dict[str, Any]]:
    """Per group (source/setting) and per-case outcome: the rate in A and in B, the paired
    interval of B − A over the cases both ran, McNemar's exact p, and a verdict."""
    (_, _, rows_a), (_, _, rows_b) = _load(run_a), _load(run_b)
    by_a = {r["name"]: r for r in rows_a}
    shared = [(by_a[r["name"]], r) for r in rows_b if r["name"] in by_a]
    out: list[dict[str, Any]] = []
    for key in _OUTCOMES:
        pairs = [(x, y) for x, y in shared if isinstance(x["scores"].get(key), bool) and isinstance(y["scores"].get(key), bool)]
        for group in sorted({_group(x) for x, _ in pairs}):
            mine = [(x, y) for x, y in pairs if _group(x) == group]
            outcomes = [(float(x["scores"][key]), float(y["scores"][key])) for x, y in mine]
            clusters = [x.get("metadata", {}).get("image", x["name"]) for x, _ in mine]

            def rate(xs: Sequence[float]) -> float:
                return sum(xs) / len(xs)

            diff = paired_bootstrap(outcomes, rate, clusters=clusters, resamples=resamples)
            test = mcnemar([o[0] == 1.0 for o in outcomes], [o[1] == 1.0 for o in outcomes])
            a_iv = wilson(int(sum(o[0] for o in outcomes)), len(outcomes))
            b_iv = wilson(int(sum(o[1] for o in outcomes)), len(outcomes))
            out.append({"group": group, "outcome": key, "n": len(mine), "a": a_iv.as_dict(), "b": b_iv.as_dict(),
                        "b_minus_a": diff.as_dict(), "mcnemar": test.as_dict(), "verdict": verdict(diff)})  # fmt: skip
    return out

