"""Uncertainty for eval numbers: 95% intervals and paired comparisons.

- :func:`wilson` — the Wilson score interval of a proportion k/n (accuracy, precision,
  recall, yes-ratio, any rate). It assumes independent trials; cases that share an
  image are not quite independent, so for metrics built from many cases per image use
  :func:`bootstrap` with ``clusters`` (resampling whole images).
- :func:`bootstrap` — a seeded percentile bootstrap of any statistic of a list of
  rows (F1, CHAIR-i, ...), optionally resampling clusters instead of rows.
- :func:`paired_bootstrap` — the interval of B − A for a statistic over the same cases.
- :func:`mcnemar` — the exact McNemar test of two runs' per-case right/wrong.

Used by the POPE and CHAIR reports, ``lensmith eval compare`` and the tool-use eval.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal
T = TypeVar("T")


@dataclass(frozen=True)
class Interval:
    value: float | None  # the point estimate (None when undefined, e.g. 0/0)
    low: float | None
    high: float | None
    n: int  # the denominator (cases, mentions, ...) the estimate rests on
    method: str

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n, "method": self.method}

    def __str__(self) -> str:
        if self.value is None:
            return f"– (n={self.n})"
        if self.low is None or self.high is None:
            return f"{self.value:.3f} (n={self.n})"
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}] (n={self.n})"


def wilson(k: int, n: int, z: float = Z95) -> Interval:
    """Wilson score interval of k successes in n trials (undefined when n = 0)."""
    if n <= 0:
        return Interval(None, None, None, 0, "wilson")
    if not 0 <= k <= n:
        raise ValueError(f"wilson: need 0 <= k <= n, got k={k}, n={n}")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n, "wilson")


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default) of already sorted values."""
    if not sorted_values:
        raise ValueError("no values")
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _resample(rows: Sequence[T], clusters: Sequence[Hashable] | None, rng: random.Random) -> list[T]:
    if clusters is None:
        return [rows[rng.randrange(len(rows))] for _ in rows]
    groups: dict[Hashable, list[T]] = {}
    for row, key in zip(rows, clusters, strict=True):
        groups.setdefault(key, []).append(row)
    keys = list(groups)
    out: list[T] = []
    for _ in keys:
        out.extend(groups[keys[rng.randrange(len(keys))]])
    return out


def bootstrap(
    rows: Sequence[T],
    statistic: Callable[[Sequence[T]], float | None],
    *,
    clusters: Sequence[Hashable] | None = None,
    resamples: int = 2000,
    seed: int = 0,
    n: int | None = None,
) -> Interval:
    """Percentile bootstrap 95% interval of ``statistic(rows)``.

    ``clusters`` (one key per row, e.g. the image id) resamples whole clusters, which
    keeps the interval honest when rows that share a key are correlated. Resamples
    where the statistic is undefined (None) are dropped. ``n`` is the count reported
    with the interval (default: the number of rows)."""
    value = statistic(rows) if rows else None
    size = len(rows) if n is None else n
    if not rows or value is None:
        return Interval(value, None, None, size, "bootstrap")
    rng = random.Random(seed)
    draws = sorted(v for v in (statistic(_resample(rows, clusters, rng)) for _ in range(resamples)) if v is not None)
    if not draws:
        return Interval(value, None, None, size, "bootstrap")
    method = "cluster bootstrap" if clusters is not None else "bootstrap"
    return Interval(value, _percentile(draws, 0.025), _percentile(draws, 0.975), size, method)


def paired_bootstrap(
    pairs: Sequence[tuple[T, T]],
    statistic: Callable[[Sequence[T]], float | None],
    *,
    clusters: Sequence[Hashable] | None = None,
    resamples: int = 2000,
    seed: int = 0,
) -> Interval:
    """Interval of statistic(B) − statistic(A) over the same cases, resampled together.

    ``pairs`` holds (row of A, row of B) for each shared case."""

    def diff(sample: Sequence[tuple[T, T]]) -> float | None:
        a = statistic([p[0] for p in sample])
        b = statistic([p[1] for p in sample])
        return None if a is None or b is None else b - a

    out = bootstrap(pairs, diff, clusters=clusters, resamples=resamples, seed=seed)
    return Interval(out.value, out.low, out.high, out.n, f"paired {out.method}")


@dataclass(frozen=True)
class McNemar:
    only_a: int  # cases A got right and B got wrong
    only_b: int  # cases B got right and A got wrong
    p_value: float  # two-sided exact binomial test on the discordant cases

    def as_dict(self) -> dict[str, Any]:
        return {"only_a": self.only_a, "only_b": self.only_b, "p_value": self.p_value}


def mcnemar(right_a: Sequence[bool], right_b: Sequence[bool]) -> McNemar:
    """Exact McNemar test: do two runs differ in which of the same cases they get right?"""
    if len(right_a) != len(right_b):
        raise ValueError("mcnemar: the runs must hold the same cases")
    only_a = sum(1 for a, b in zip(right_a, right_b, strict=True) if a and not b)
    only_b = sum(1 for a, b in zip(right_a, right_b, strict=True) if b and not a)
    m = only_a + only_b
    if m == 0:
        return McNemar(0, 0, 1.0)
    tail = sum(math.comb(m, i) for i in range(min(only_a, only_b) + 1)) / 2**m
    return McNemar(only_a, only_b, min(1.0, 2 * tail))


def verdict(diff: Interval, higher_is_better: bool = True) -> str:
    """'B better', 'A better' or 'within noise' from the interval of B − A."""
    if diff.low is None or diff.high is None:
        return "no interval"
    if diff.low > 0:
        return "B better" if higher_is_better else "A better"
    if diff.high < 0:
        return "A better" if higher_is_better else "B better"
    return "within noise"


def fmt(iv: Interval | dict[str, Any] | None) -> str:
    """'0.812 [0.741, 0.866]' (or '–'), for tables."""
    if iv is None:
        return "–"
    data = iv.as_dict() if isinstance(iv, Interval) else iv
    value, low, high = data.get("value"), data.get("low"), data.get("high")
    if value is None:
        return "–"
    if low is None or high is None:
        return f"{value:.3f}"
    return f"{value:.3f} [{low:.3f}, {high:.3f}]"
