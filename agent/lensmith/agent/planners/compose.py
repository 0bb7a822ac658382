"""Answers built from tool results alone, one sentence per measurement, each naming
the tool behind it (used by the heuristic planner)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lensmith.agent.planners.intent import Intent
from lensmith.runtime.artifacts import (
    Artifact,
    DetectArtifact,
    EditArtifact,
    FactArtifact,
    OcrArtifact,
    RetrieveArtifact,
    SegmentArtifact,
)

if TYPE_CHECKING:
    from lensmith.agent.planners.heuristic import _Turn

_NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
_IRREGULAR_PLURALS = {"person": "people", "mouse": "mice", "knife": "knives", "sheep": "sheep",
                      "skis": "skis", "scissors": "scissors"}


def plural(noun: str, count: int) -> str:
    if count == 1:
        return noun
    head, _, last = noun.rpartition(" ")
    if last in _IRREGULAR_PLURALS:
        last = _IRREGULAR_PLURALS[last]
    elif last.endswith(("s", "x", "ch", "sh")):
        last += "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}".strip()


def counted(noun: str, count: int) -> str:
    return f"{count} {plural(noun, count)}"


def compose_answer(turn: _Turn, intent: Intent, tool_names: list[str]) -> str:
    if not turn.results:
        return _no_measurement(turn, intent, tool_names)
    sentences: list[str] = []
    for call, message in turn.results:
        artifact = message.artifact
        if message.status == "error" or not isinstance(artifact, Artifact):
            sentences.append(f"The {call['name']} tool could not answer: {_first_line(message.content)}")
            continue
        sentences.extend(_describe(artifact, intent, multi=len(turn.images) > 1))
    return " ".join(s for s in sentences if s)


def _no_measurement(turn: _Turn, intent: Intent, tool_names: list[str]) -> str:
    if turn.memory and ("recall" in intent.wants or not turn.images):
        lines = [ln[2:] for block in turn.memory for ln in block.splitlines() if ln.startswith("- ")]
        if lines:
            return "From memory: " + lines[0] + (f" (and {len(lines) - 1} more related item(s))" if len(lines) > 1 else "")
    if not turn.images:
        return (
            "I need an image to answer that: attach one (lensmith ask IMAGE \"question\", or /image PATH "
            "in chat). Nothing was measured, so I make no claim about it."
        )
    if not tool_names:
        return "No tools are registered, so I cannot measure anything in the image."
    return "None of my tools can measure what this question asks, so I cannot answer it from evidence."


def _describe(artifact: Artifact, intent: Intent, *, multi: bool) -> list[str]:
    where = f" in {artifact.image}" if multi and artifact.image else ""
    method = _method(artifact)
    if isinstance(artifact, DetectArtifact):
        return _detections(artifact, intent, where)
    if isinstance(artifact, OcrArtifact):
        if not artifact.lines and not artifact.full_text.strip():
            return [f"I found no readable text{where} (read_text)."]
        text = " / ".join(artifact.lines) if artifact.lines else artifact.full_text
        return [f'The text{where} reads: "{text}" (read_text).']
    if isinstance(artifact, SegmentArtifact):
        if not artifact.masks:
            return [f"Segmentation found no object to cut out{where} ({method})."]
        share = sum(m.area_share for m in artifact.masks)
        label = artifact.masks[0].label or (intent.objects[0] if intent.objects else "object")
        overlay = f"; overlay image {artifact.overlay}" if artifact.overlay else ""
        return [f"Cut out {counted(label, len(artifact.masks))}{where}: the mask covers {share:.1%} of the image "
                f"({method}{overlay})."]
    if isinstance(artifact, EditArtifact):
        verb = {"remove": "Removed", "replace": "Replaced", "recolor": "Recoloured"}.get(artifact.operation, "Edited")
        target = f" the {artifact.target}" if artifact.target else ""
        extra = f" with {artifact.prompt}" if artifact.operation == "replace" and artifact.prompt else ""
        return [f"{verb}{target}{extra}{where}; the edited image is {artifact.edited} ({method})."]
    if isinstance(artifact, RetrieveArtifact):
        if artifact.label_scores:
            best = sorted(artifact.label_scores.items(), key=lambda kv: -kv[1])[:3]
            return ["Label scores: " + ", ".join(f"{k} {v:.2f}" for k, v in best) + f" ({method})."]
        if not artifact.hits:
            return [f"No indexed photo matches ({method}). Index photo folders with: lensmith index DIR"]
        hits = "; ".join(f"{h.path} ({h.score:.2f}, {h.why})" for h in artifact.hits[:5])
        return [f"Best matches ({method}): {hits}."]
    if isinstance(artifact, FactArtifact):
        return [f'Noted: "{artifact.fact}" (remember).']
    return [f"{artifact.tool} returned a result ({method})."]


def _detections(artifact: DetectArtifact, intent: Intent, where: str) -> list[str]:
    counts = artifact.counts()
    out: list[str] = []
    asked = [q for q in artifact.queried] or intent.objects
    for name in asked:
        n = counts.get(name, 0)
        if n == 0:
            out.append(f"No {name} was detected{where} (detect, confidence ≥ {artifact.min_score:.2f}).")
        else:
            scores = ", ".join(f"{d.score:.2f}" for d in artifact.detections if d.label == name)
            verb = "is" if n == 1 else "are"
            out.append(f"There {verb} {counted(name, n)}{where} (detect: {scores}).")
            if intent.spatial:
                out.append(_placement(artifact, name, vertical=intent.vertical))
    if not asked:
        if counts:
            listed = ", ".join(counted(k, v) for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
            out.append(f"I see {listed}{where} (detect).")
        else:
            out.append(f"The detector found none of the {artifact.vocabulary_size or 80} object classes it knows{where} (detect).")
    for name in artifact.not_detectable:
        out.append(
            f"I cannot tell whether there is a {name}{where}: the detector does not know that class "
            f"({artifact.model or artifact.method}), so its absence from the results means nothing."
        )
    annotated = [i for i in artifact.images]
    if annotated and out:
        out[-1] = out[-1].rstrip(".") + f"; boxes drawn in {annotated[0]}."
    return out


def _placement(artifact: DetectArtifact, name: str, *, vertical: bool) -> str:
    """Where the boxes of ``name`` sit, by thirds of the image (what the checker verifies)."""
    from lensmith.runtime.errors import ImageError
    from lensmith.runtime.images import current_store

    try:
        meta = current_store().get(artifact.image or "")
    except ImageError:
        return ""
    width, height = meta.original_width, meta.original_height
    places: dict[str, int] = {}
    for det in artifact.detections:
        if det.label != name:
            continue
        cx = (det.box[0] + det.box[2]) / 2 / width
        cy = (det.box[1] + det.box[3]) / 2 / height
        column = "on the left" if cx < 1 / 3 else "on the right" if cx > 2 / 3 else "near the middle"
        if vertical:
            row = "at the top" if cy < 1 / 3 else "at the bottom" if cy > 2 / 3 else "halfway down"
            column = f"{column}, {row}"
        places[column] = places.get(column, 0) + 1
    if len(places) == 1:
        (place, n), = places.items()
        subject = f"The {name}" if n == 1 else f"All {counted(name, n)}"
        return f"{subject} {'is' if n == 1 else 'are'} {place} (detect box)."
    parts = [f"{n} {place}" for place, n in places.items()]
    return f"Of the {plural(name, 2)}: " + "; ".join(parts) + " (detect boxes)."


def _method(artifact: Artifact) -> str:
    if artifact.method_kind == "fallback":
        # the first sentence says why; where we looked and how to fetch stay in the evidence
        why = (artifact.note or "").split(". ")[0].split(": ", 1)[-1].rstrip(".")
        return f"{artifact.tool} via {artifact.method}, a classical fallback" + (f": {why}" if why else "")
    name = artifact.model or artifact.method
    return f"{artifact.tool} via {name}"


def _first_line(content: object) -> str:
    text = content if isinstance(content, str) else str(content)
    return text.strip().splitlines()[0] if text.strip() else "no details"

