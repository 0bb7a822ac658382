"""What a turn leaves behind: each tool call with its arguments, summary, artifact and
timing; the drafts and the final answer; the grounding verdicts. The CLI prints it,
``--json`` dumps it, the TUI renders it, the evals score it."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from lensmith.runtime.artifacts import Artifact, MethodKind, parse_artifact

ClaimKind = Literal["presence", "absence", "count", "text", "attribute", "position"]
VerdictStatus = Literal["supported", "contradicted", "unverified"]


class ToolCallRecord(BaseModel):
    call_id: str
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    summary: str = ""  # the content the planner read
    artifact: Artifact | None = None
    error: str | None = None
    duration_s: float = 0.0
    step: int = 0

    @field_validator("artifact", mode="before")
    @classmethod
    def _typed(cls, value: Any) -> Any:
        return parse_artifact(value)

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:  # keep subclass fields of artifact
        data = super().model_dump(**kwargs)
        if self.artifact is not None:
            data["artifact"] = self.artifact.model_dump(**kwargs)
        return data


class Verdict(BaseModel):
    claim: str  # the claim as it reads in the answer ("two cats")
    kind: ClaimKind
    status: VerdictStatus
    subject: str | None = None  # normalised object/text the claim is about ("cat")
    expected: Any = None  # what the answer says (2, True, "EXIT")
    observed: Any = None  # what the evidence says
    evidence: list[str] = Field(default_factory=list)  # call_ids of supporting/contradicting calls
    reason: str = ""
    # what the claim is about: object, search, text, position, colour, action, relation,
    # gender, age, role, emotion, scene, clothing, attribute
    category: str = "object"
    tool: str | None = None  # the tool(s) behind the evidence ("detect")
    method: str | None = None  # the model or method that produced it
    method_kind: MethodKind | None = None  # model, fallback or measurement
    strength: float | None = None  # the score the verdict rests on (weakest box of a count)
    confidence: Literal["high", "low"] | None = None  # for supported verdicts: how strong that is
    hedged: bool = False  # the answer itself said "might", "probably", …
    start: int | None = None  # the claim's character span in the answer
    end: int | None = None


# how a planner is named to the user, where its short name would mislead ("heuristic" alone
# reads like a model); here, not in the planner's module, so that showing a trace does not
# import the planner (and LangChain with it)
PLANNER_LABELS = {"heuristic": "heuristic planner (rule-based, no language model)"}


class Recalled(BaseModel):
    kind: Literal["turn", "fact", "image"]
    text: str
    source: str  # session/turn id, fact id, image path
    score: float | None = None


class TurnTrace(BaseModel):
    session_id: str
    turn_id: str
    question: str
    images: list[str] = Field(default_factory=list)  # image ids attached to the turn
    planner: str = ""  # e.g. "heuristic", "openai:qwen2-vl-7b @ http://..."
    planner_note: str = ""  # why this planner ran, and labels like "heuristic: rule-based"
    calls: list[ToolCallRecord] = Field(default_factory=list)
    drafts: list[str] = Field(default_factory=list)
    answer: str = ""
    verdicts: list[Verdict] = Field(default_factory=list)
    recalled: list[Recalled] = Field(default_factory=list)
    artifacts: list[str] = Field(default_factory=list)  # file paths of images tools produced
    started_at: float = Field(default_factory=time.time)
    duration_s: float = 0.0
    error: str | None = None
    cancelled: bool = False

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        data = super().model_dump(**kwargs)
        data["calls"] = [c.model_dump(**kwargs) for c in self.calls]
        return data

    def to_json(self) -> str:
        import json

        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.cancelled
