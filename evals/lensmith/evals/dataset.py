"""Dataset / Case / Evaluator, in the style of pydantic-ai's ``pydantic_evals``.

A :class:`Case` is one question about one or more images with what is expected; an
:class:`Evaluator` scores a finished turn (its :class:`~agent.trace.TurnTrace`)
against the case; a :class:`Dataset` holds the cases, its evaluators and the
function that turns per-case scores into the headline metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lensmith.agent.trace import TurnTrace


class Case(BaseModel):
    name: str  # unique within the dataset; the resume key
    question: str
    images: list[str] = Field(default_factory=list)  # file paths
    expected: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)  # provenance, setting, difficulty, ...


class Evaluator:
    """Scores one finished case. Subclasses set ``name`` and implement :meth:`evaluate`."""

    name: str = "evaluator"

    def evaluate(self, case: Case, trace: TurnTrace) -> dict[str, Any]:
        raise NotImplementedError


class FunctionEvaluator(Evaluator):
    def __init__(self, name: str, function: Callable[[Case, TurnTrace], dict[str, Any]]) -> None:
        self.name = name
        self.function = function

    def evaluate(self, case: Case, trace: TurnTrace) -> dict[str, Any]:
        return self.function(case, trace)


Aggregate = Callable[[Sequence[dict[str, Any]]], dict[str, Any]]


class Dataset(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    cases: list[Case]
    evaluators: list[Evaluator] = Field(default_factory=list)
    aggregate: Aggregate | None = None  # rows of cases.jsonl → headline metrics
    headline: list[str] = Field(default_factory=list)  # metric keys to plot and compare
    description: str = ""

    def score(self, case: Case, trace: TurnTrace) -> dict[str, Any]:
        scores: dict[str, Any] = {}
        for evaluator in self.evaluators:
            scores.update(evaluator.evaluate(case, trace))
        return scores

    def select(self, *, limit: int | None = None, subset: Sequence[str] | None = None) -> list[Case]:
        """Cases whose name or any metadata value matches one of ``subset``, then the first ``limit``."""
        cases = self.cases
        if subset:
            wanted = set(subset)
            cases = [
                c for c in cases
                if c.name in wanted or any(str(v) in wanted for v in c.metadata.values() if isinstance(v, str | int))
            ]  # fmt: skip
        if limit is not None:
            cases = cases[:limit]
        return cases

    def summarize(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        return self.aggregate(rows) if self.aggregate else {}
