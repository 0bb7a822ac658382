"""Typed tool results: what the UI, the grounding checker and the evals read.

Every artifact names the ``method`` that produced it ("yolo", "easyocr", "sam",
"grabcut", "sd-inpaint", "opencv-telea", ...) and whether that method is a learned
model, a classical fallback, or a plain measurement, so nobody mistakes one for another.
Coordinates are pixels ``[x0, y0, x1, y1]`` in the image as displayed (EXIF applied).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

MethodKind = Literal["model", "fallback", "measurement"]
# below this a detection or a read is shown as low confidence, to the planner and the user
LOW_CONFIDENCE = 0.5


class Artifact(BaseModel):
    kind: str
    tool: str
    image: str | None = None  # the image id the tool looked at
    method: str  # what actually ran
    method_kind: MethodKind = "model"
    model: str | None = None  # weights name/path when a model ran
    note: str | None = None  # e.g. "GrabCut fallback: no SAM weights found"
    images: list[str] = Field(default_factory=list)  # new image ids (annotated, overlay, edited)
    files: list[str] = Field(default_factory=list)  # other files written (RGBA cut-outs): not images in the store


class Detection(BaseModel):
    label: str
    score: float
    box: list[float]  # xyxy, displayed-image pixels


class DetectArtifact(Artifact):
    kind: Literal["detect"] = "detect"
    detections: list[Detection] = Field(default_factory=list)
    # which classes the run looked for: every class it knows (all_classes), or exactly
    # ``queried`` — which is empty when every word asked for was undetectable and the
    # detector did not run at all
    all_classes: bool = False
    queried: list[str] = Field(default_factory=list)  # detector classes asked for
    not_detectable: list[str] = Field(default_factory=list)  # asked, but not in the vocabulary
    min_score: float = 0.25
    vocabulary_size: int = 0

    @model_validator(mode="before")
    @classmethod
    def _older_records(cls, data: object) -> object:
        # records written before ``all_classes`` existed used queried=[] for "all classes";
        # with an undetectable word asked for, it meant "nothing was searched"
        if isinstance(data, dict) and "all_classes" not in data:
            data = {**data, "all_classes": not data.get("queried") and not data.get("not_detectable")}
        return data

    def looked_for(self, label: str) -> bool:
        """Did this run search for ``label`` (a class name of its vocabulary)?"""
        if label in self.not_detectable:
            return False
        return self.all_classes or label in self.queried

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for det in self.detections:
            out[det.label] = out.get(det.label, 0) + 1
        return out


class TextSpan(BaseModel):
    text: str
    score: float
    box: list[float]  # xyxy


class OcrArtifact(Artifact):
    kind: Literal["read_text"] = "read_text"
    spans: list[TextSpan] = Field(default_factory=list)
    lines: list[str] = Field(default_factory=list)  # reading order
    full_text: str = ""
    languages: list[str] = Field(default_factory=lambda: ["en"])
    line_scores: list[float] = Field(default_factory=list)  # lowest span confidence per line

    @property
    def confidence(self) -> float | None:
        """Mean span confidence, None when nothing was read."""
        return sum(s.score for s in self.spans) / len(self.spans) if self.spans else None


class Mask(BaseModel):
    label: str | None = None
    box: list[float] | None = None  # the prompt box, when there was one
    rle: dict  # COCO RLE: {"size": [h, w], "counts": str}
    area_px: int
    area_share: float  # of the whole image
    score: float | None = None
    cutout: str | None = None  # RGBA PNG of the object, cropped to it, alpha 0 outside the mask


class SegmentArtifact(Artifact):
    kind: Literal["segment"] = "segment"
    masks: list[Mask] = Field(default_factory=list)
    overlay: str | None = None  # image id of the overlay


class EditArtifact(Artifact):
    kind: Literal["edit"] = "edit"
    operation: Literal["remove", "replace", "recolor", "inpaint"] = "remove"
    target: str | None = None
    prompt: str | None = None
    seed: int | None = None
    edited: str | None = None  # image id of the result
    mask: str | None = None  # image id of the mask used
    mask_area_share: float = 0.0


class RetrievalHit(BaseModel):
    image_id: str | None = None
    path: str
    score: float
    why: str  # "labels: cat ×1", "text: 'coffee'", "CLIP similarity"


class RetrieveArtifact(Artifact):
    kind: Literal["retrieve"] = "retrieve"
    query: str | None = None
    hits: list[RetrievalHit] = Field(default_factory=list)
    label_scores: dict[str, float] = Field(default_factory=dict)  # zero-shot labelling


class FactArtifact(Artifact):
    kind: Literal["fact"] = "fact"
    fact: str
    evidence: list[str] = Field(default_factory=list)


class GenericArtifact(Artifact):
    """Anything a plugin or MCP tool returns that is not one of ours."""

    kind: Literal["generic"] = "generic"
    data: dict | list | str | None = None


AnyArtifact = Annotated[
    DetectArtifact
    | OcrArtifact
    | SegmentArtifact
    | EditArtifact
    | RetrieveArtifact
    | FactArtifact
    | GenericArtifact,
    Field(discriminator="kind"),
]


def parse_artifact(data: object) -> Artifact | None:
    """Turn a dict (from JSON, MCP, a checkpoint) back into its artifact class."""
    from pydantic import TypeAdapter

    if data is None or isinstance(data, Artifact):
        return data  # type: ignore[return-value]
    if isinstance(data, dict) and data.get("kind") in _KINDS:
        return TypeAdapter(AnyArtifact).validate_python(data)
    return GenericArtifact(tool="unknown", method="unknown", method_kind="measurement", data=data)  # type: ignore[arg-type]


_KINDS = {"detect", "read_text", "segment", "edit", "retrieve", "fact", "generic"}
