"""The grounding checker: hold each claim of an answer against the tool evidence.

:func:`check_answer` extracts the answer's checkable claims (:mod:`agent.claims`)
and gives each a :class:`~agent.trace.Verdict`:

- **supported**: a tool measured it and agrees (the verdict names the call);
- **contradicted**: a tool measured it and disagrees ("two cats" when detect saw one);
- **unverified**: no tool measured it, or the tool could not have seen it (a class the
  detector does not know, a class outside a restricted query, a colour nobody measured).

No model runs here: the check is deterministic and takes milliseconds.
:func:`revision_request` turns the contradicted verdicts into the one message the
loop sends back to the planner for a revision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lensmith.agent.claims import Claim, extract_claims
from lensmith.agent.synonyms import normalise_label
from lensmith.agent.trace import ToolCallRecord, Verdict
from lensmith.runtime.artifacts import DetectArtifact, OcrArtifact

ImageSize = tuple[float, float]  # (width, height) of the displayed image
SizeLookup = Callable[[str], ImageSize | None]


@dataclass
class _Evidence:
    detects: list[tuple[str, DetectArtifact]] = field(default_factory=list)
    ocrs: list[tuple[str, OcrArtifact]] = field(default_factory=list)
    vocabulary: list[str] = field(default_factory=list)


def _collect(calls: Sequence[ToolCallRecord]) -> _Evidence:
    evidence = _Evidence()
    for call in calls:
        if call.error or call.artifact is None:
            continue
        art = call.artifact
        if isinstance(art, DetectArtifact):
            evidence.detects.append((call.call_id, art))
            evidence.vocabulary.extend(art.queried + art.not_detectable + [d.label for d in art.detections])
        elif isinstance(art, OcrArtifact):
            evidence.ocrs.append((call.call_id, art))
    return evidence


def _sees(art: DetectArtifact, subject: str) -> bool:
    """Could this detector run have reported ``subject`` at all?"""
    if any(normalise_label(x) == subject for x in art.not_detectable):
        return False
    if art.queried:
        return any(normalise_label(q) == subject for q in art.queried)
    # An unrestricted run sees its whole vocabulary; we know the labels it can emit
    # only through what it reported or was asked, so accept COCO names for COCO-sized vocabularies.
    from lensmith.agent.synonyms import COCO_CLASSES

    if subject in COCO_CLASSES:
        return art.vocabulary_size in (0, 80) or any(normalise_label(d.label) == subject for d in art.detections)
    return any(normalise_label(d.label) == subject for d in art.detections)


def _matching(art: DetectArtifact, subject: str) -> list:
    return [d for d in art.detections if d.score >= art.min_score and normalise_label(d.label) == subject]


def _observe(evidence: _Evidence, subject: str) -> tuple[int | None, list[str], list]:
    """(count over images, call ids, boxes) for a class; count None when no run could see it.

    Several runs on the same image (say, all classes and then a restricted query) are
    one measurement of that image: its count is the largest any run reported.
    """
    per_image: dict[str, tuple[int, str, list]] = {}
    for call_id, art in evidence.detects:
        if not _sees(art, subject):
            continue
        found = _matching(art, subject)
        key = art.image or call_id
        best = per_image.get(key)
        if best is None or len(found) > best[0]:
            per_image[key] = (len(found), call_id, [(art.image, d) for d in found])
    if not per_image:
        return None, [], []
    total = sum(v[0] for v in per_image.values())
    ids = [v[1] for v in per_image.values()]
    boxes = [b for v in per_image.values() for b in v[2]]
    return total, ids, boxes


def _unseen_reason(evidence: _Evidence, subject: str) -> str:
    if not evidence.detects:
        return "no detector ran, so nothing measured this"
    if any(any(normalise_label(x) == subject for x in a.not_detectable) for _, a in evidence.detects):
        return f"the detector cannot see '{subject}' (not in its vocabulary)"
    return f"the detector was asked only for other classes, not '{subject}'"


def _verdict(claim: Claim, status: str, *, observed=None, evidence=(), reason: str = "") -> Verdict:
    return Verdict(
        claim=claim.text,
        kind=claim.kind,
        status=status,  # type: ignore[arg-type]
        subject=claim.subject,
        expected=claim.expected,
        observed=observed,
        evidence=list(evidence),
        reason=reason,
    )


def _check_object(claim: Claim, evidence: _Evidence) -> Verdict:
    count, ids, _ = _observe(evidence, claim.subject)
    if count is None:
        return _verdict(claim, "unverified", reason=_unseen_reason(evidence, claim.subject))
    noun = claim.subject
    if claim.kind == "presence":
        ok = count >= 1
        why = f"detect found {count} × {noun}" if ok else f"detect found no {noun}"
    elif claim.kind == "absence":
        ok = count == 0
        why = f"detect found no {noun}" if ok else f"detect found {count} × {noun}"
    else:
        if claim.expected == ">=2":
            ok = count >= 2
        else:
            ok = count == claim.expected
        why = f"detect found {count} × {noun}"
    return _verdict(claim, "supported" if ok else "contradicted", observed=count, evidence=ids, reason=why)


_THIRDS = {
    "left": lambda cx, cy: (cx < 1 / 3, cx > 2 / 3),
    "right": lambda cx, cy: (cx > 2 / 3, cx < 1 / 3),
    "top": lambda cx, cy: (cy < 1 / 3, cy > 2 / 3),
    "bottom": lambda cx, cy: (cy > 2 / 3, cy < 1 / 3),
    "center": lambda cx, cy: (1 / 3 <= cx <= 2 / 3 and 1 / 3 <= cy <= 2 / 3, cx < 1 / 6 or cx > 5 / 6 or cy < 1 / 6 or cy > 5 / 6),
}


def _in_region(where: str, cx: float, cy: float) -> tuple[bool, bool]:
    """(inside the named third(s), clearly outside them) for a centre in [0, 1]²."""
    inside, outside = True, False
    for part in where.split("-"):
        yes, no = _THIRDS[part](cx, cy)
        inside = inside and yes
        outside = outside or no
    return inside, outside


def _check_position(claim: Claim, evidence: _Evidence, size_of: SizeLookup) -> Verdict:
    count, ids, boxes = _observe(evidence, claim.subject)
    if not count:
        return _verdict(claim, "unverified", reason=f"no box of {claim.subject} was measured")
    placed = []
    for image_id, det in boxes:
        size = size_of(image_id) if image_id else None
        if not size:
            continue
        x0, y0, x1, y1 = det.box
        placed.append(((x0 + x1) / 2 / size[0], (y0 + y1) / 2 / size[1]))
    if not placed:
        return _verdict(claim, "unverified", evidence=ids, reason="the image size is unknown, so the box cannot be placed")
    results = [_in_region(str(claim.expected), cx, cy) for cx, cy in placed]
    observed = [f"centre at ({cx:.2f}, {cy:.2f}) of the image" for cx, cy in placed]
    if any(inside for inside, _ in results):
        return _verdict(claim, "supported", observed=observed, evidence=ids, reason=f"a {claim.subject} box lies in the {claim.expected} third")
    if all(outside for _, outside in results):
        return _verdict(claim, "contradicted", observed=observed, evidence=ids, reason=f"no {claim.subject} box lies in the {claim.expected} third")
    return _verdict(claim, "unverified", observed=observed, evidence=ids, reason="the box centre is in the middle third: ambiguous")


def _norm_text(text: str) -> str:
    import re

    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def fuzzy_contains(needle: str, haystack: str) -> tuple[bool, str]:
    """Is ``needle`` in ``haystack`` up to case, spacing and a small edit distance?

    Allows one edit per five characters (OCR drops and swaps letters); returns the
    closest passage of the haystack as well.
    """
    n, h = _norm_text(needle), _norm_text(haystack)
    if not n:
        return False, ""
    if n in h:
        return True, n
    if n.replace(" ", "") in h.replace(" ", ""):
        return True, n
    budget = max(1, len(n) // 5)
    best, best_text = len(n) + 1, ""
    words = h.split()
    width = len(n.split())
    for size in {max(1, width - 1), width, width + 1}:
        for start in range(0, max(1, len(words) - size + 1)):
            window = " ".join(words[start : start + size])
            d = _edit_distance(n, window)
            if d < best:
                best, best_text = d, window
    return best <= budget, best_text


def _check_text(claim: Claim, evidence: _Evidence) -> Verdict:
    if not evidence.ocrs:
        return _verdict(claim, "unverified", reason="no OCR ran, so nothing read the text")
    closest = ""
    for call_id, art in evidence.ocrs:
        full = art.full_text or " ".join(art.lines) or " ".join(s.text for s in art.spans)
        ok, near = fuzzy_contains(str(claim.expected), full)
        if ok:
            return _verdict(claim, "supported", observed=near, evidence=[call_id], reason="OCR read this text")
        closest = closest or near
    ids = [c for c, _ in evidence.ocrs]
    read = " | ".join((a.full_text or "").strip() for _, a in evidence.ocrs).strip(" |")
    return _verdict(
        claim,
        "contradicted",
        observed=read or "",
        evidence=ids,
        reason=f"OCR read {read!r}" if read else "OCR read no text",
    )


def _size_from_store(image_id: str) -> ImageSize | None:
    try:
        from lensmith.runtime.images import current_store

        store = current_store()
        if image_id not in store:
            return None
        meta = store.get(image_id)
    except Exception:  # noqa: BLE001 - no store, no size: the claim stays unverified
        return None
    return float(meta.original_width), float(meta.original_height)


def check_answer(
    answer: str,
    calls: list[ToolCallRecord],
    *,
    image_sizes: dict[str, ImageSize] | None = None,
) -> list[Verdict]:
    """A verdict for every checkable claim in ``answer``, in reading order.

    ``image_sizes`` maps image ids to (width, height); without it the session's
    image store (``tools.images.current_store()``) is asked, for position claims.
    """
    evidence = _collect(calls)
    claims = extract_claims(answer, evidence.vocabulary)

    def size_of(image_id: str) -> ImageSize | None:
        if image_sizes and image_id in image_sizes:
            return image_sizes[image_id]
        return _size_from_store(image_id)

    verdicts: list[Verdict] = []
    for claim in claims:
        if claim.kind in ("presence", "absence", "count"):
            verdicts.append(_check_object(claim, evidence))
        elif claim.kind == "position":
            verdicts.append(_check_position(claim, evidence, size_of))
        elif claim.kind == "text":
            verdicts.append(_check_text(claim, evidence))
        else:
            verdicts.append(_verdict(claim, "unverified", reason=f"no tool measured {claim.extras.get('attribute', 'this attribute')}"))
    return verdicts


def _describe(verdict: Verdict) -> str:
    if verdict.kind == "count":
        return f'you wrote "{verdict.claim}", but {verdict.reason}'
    if verdict.kind == "text":
        return f'you quoted "{verdict.expected}", but {verdict.reason}'
    if verdict.kind == "position":
        where = "; ".join(verdict.observed or [])
        return f'you placed {verdict.subject} {verdict.expected}, but {verdict.reason} ({where})'
    return f'you wrote "{verdict.claim}", but {verdict.reason}'


def revision_request(verdicts: list[Verdict]) -> str | None:
    """The message asking the planner to revise, or None when nothing is contradicted."""
    bad = [v for v in verdicts if v.status == "contradicted"]
    if not bad:
        return None
    lines = ["Your answer contradicts the tool evidence:"]
    for v in bad:
        calls = f" [evidence: {', '.join(v.evidence)}]" if v.evidence else ""
        lines.append(f"- {_describe(v)}{calls}.")
    lines.append(
        "Revise the answer so that it states only what the tool results support; "
        "do not call more tools unless they are needed to settle these points."
    )
    return "\n".join(lines)


def summary(verdicts: Sequence[Verdict]) -> dict[str, int]:
    """Counts per status, for reports and the CLI."""
    out = {"supported": 0, "contradicted": 0, "unverified": 0}
    for v in verdicts:
        out[v.status] += 1
    return out
