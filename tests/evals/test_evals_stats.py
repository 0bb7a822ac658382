"""Intervals and paired tests against values computed by hand or by scipy."""

from __future__ import annotations

import pytest

from lensmith.evals.stats import bootstrap, fmt, mcnemar, paired_bootstrap, verdict, wilson


def test_wilson_matches_scipy():
    from scipy.stats import binomtest

    for k, n in [(8, 10), (0, 12), (12, 12), (47, 52), (1, 3)]:
        ours = wilson(k, n)
        ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        assert ours.value == pytest.approx(k / n)
        assert (ours.low, ours.high) == (pytest.approx(ref.low, abs=1e-9), pytest.approx(ref.high, abs=1e-9))
    empty = wilson(0, 0)
    assert empty.value is None and empty.n == 0 and fmt(empty) == "–"
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_bootstrap_is_seeded_and_covers_the_estimate():
    rows = [1.0] * 30 + [0.0] * 10

    def mean(xs):
        return sum(xs) / len(xs)

    a = bootstrap(rows, mean, seed=1)
    assert a == bootstrap(rows, mean, seed=1)
    assert a.value == 0.75 and a.low < 0.75 < a.high and a.n == 40
    # rows that always travel together: whole clusters of 10 identical rows make a wider interval
    clustered = bootstrap(rows, mean, clusters=[i // 10 for i in range(40)], seed=1)
    assert clustered.high - clustered.low > a.high - a.low
    assert clustered.method == "cluster bootstrap"
    constant = bootstrap([1.0] * 5, mean)
    assert (constant.low, constant.high) == (1.0, 1.0)
    assert bootstrap([], mean).value is None


def test_mcnemar_exact_by_hand():
    # A right only on case 0; B right only on cases 1..6 → discordant 1 vs 6, p = 2·(1+7)/2^7 = 0.125
    right_a = [True] + [False] * 6 + [True] * 5
    right_b = [False] + [True] * 6 + [True] * 5
    test = mcnemar(right_a, right_b)
    assert (test.only_a, test.only_b) == (1, 6)
    assert test.p_value == pytest.approx(0.125)
    assert mcnemar([True, False], [True, False]).p_value == 1.0
    with pytest.raises(ValueError):
        mcnemar([True], [])


def test_paired_bootstrap_and_verdict():
    def acc(xs):
        return sum(xs) / len(xs)

    better = [(0.0, 1.0)] * 20 + [(1.0, 1.0)] * 20  # B right everywhere A is, and on 20 more
    diff = paired_bootstrap(better, acc)
    assert diff.value == pytest.approx(0.5) and diff.low > 0
    assert verdict(diff) == "B better" and verdict(diff, higher_is_better=False) == "A better"
    same = [(1.0, 0.0), (0.0, 1.0)] * 10
    assert verdict(paired_bootstrap(same, acc)) == "within noise"
