"""The grounding checker: hold each claim of an answer against the tool evidence.

:func:`check_answer` extracts the answer's claims (:mod:`lensmith.agent.claims`) and gives
each a :class:`~lensmith.agent.trace.Verdict`:

- **supported** — *consistent with* a measurement: a tool looked and agrees. It does not
  mean true: the verdict carries how strong the evidence is (the detector's score, the
  OCR confidence, whether a model, a fallback or a plain measurement produced it), and
  weak evidence (a score under 0.5, an object *not found*) is marked low confidence;
- **contradicted** — a tool looked and disagrees ("two cats" when detect saw one);
- **unverified** — nothing measured it: no tool for colours, actions, relations, gender,
  emotions or the scene; a class the detector does not know; a class it was not asked
  for; an image no tool looked at.

Evidence is scoped: an answer is held against the tool results of the images it is
about ("the first photo", "in zidane.jpg"), from the calls the caller passes (the loop
passes the current turn's), never a whole session's history added up.

No model runs here: the check is deterministic and takes milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePath

from lensmith.agent.claims import ANY_OBJECT, Claim, count_matches, extract_claims, lower_bound
from lensmith.agent.trace import ToolCallRecord, Verdict
from lensmith.runtime.artifacts import (
    LOW_CONFIDENCE,
    Artifact,
    DetectArtifact,
    Detection,
    GenericArtifact,
    OcrArtifact,
)
from lensmith.runtime.vocab import COCO_CLASSES, to_class

ImageSize = tuple[float, float]  # (width, height) of the displayed image
SizeLookup = Callable[[str], ImageSize | None]
_UNSCOPED = "?"  # artifacts that name no image
MAX_ANSWER_CHARS = 20_000  # longer answers are checked up to here


@dataclass
class _Evidence:
    detects: list[tuple[str, DetectArtifact]] = field(default_factory=list)
    ocrs: list[tuple[str, OcrArtifact]] = field(default_factory=list)
    colours: list[tuple[str, GenericArtifact]] = field(default_factory=list)  # the colour tool's measurements
    vocabulary: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # in the order the turn names them


def _collect(calls: Sequence[ToolCallRecord], images: Sequence[str] | None) -> _Evidence:
    evidence = _Evidence(images=list(images or []))
    for call in calls:
        if call.error or call.artifact is None:
            continue
        art = call.artifact
        if isinstance(art, DetectArtifact):
            evidence.detects.append((call.call_id, art))
            evidence.vocabulary.extend(art.queried + [d.label for d in art.detections])
        elif isinstance(art, OcrArtifact):
            evidence.ocrs.append((call.call_id, art))
        elif isinstance(art, GenericArtifact) and art.tool == "colour" and isinstance(art.data, dict):
            evidence.colours.append((call.call_id, art))
        else:
            continue
        if not images and art.image and art.image not in evidence.images:
            evidence.images.append(art.image)
    return evidence


def _key(art: Artifact) -> str:
    return art.image or _UNSCOPED


# ---- which images a claim is about -----------------------------------------------------
def _scope(claim: Claim, evidence: _Evidence, names: dict[str, str]) -> tuple[list[str], str, str | None]:
    """(image keys, mode, problem): mode "one", "each" or "all"; problem says why no image fits."""
    images = evidence.images or [_UNSCOPED]
    ref = claim.image
    if ref is None or ref.mode == "all" or len(images) == 1 and ref.mode != "name":
        if ref is not None and ref.mode == "index" and isinstance(ref.value, int) and abs(ref.value) > len(images) and ref.value != -1:
            return [], "one", f"the answer names image {ref.value}, but the turn has {len(images)}"
        return images, "all" if len(images) > 1 else "one", None
    if ref.mode == "each":
        return images, "each", None
    if ref.mode == "index" and isinstance(ref.value, int):
        position = ref.value - 1 if ref.value > 0 else len(images) + ref.value
        if 0 <= position < len(images):
            return [images[position]], "one", None
        return [], "one", f"the answer names image {ref.value}, but the turn has {len(images)}"
    if ref.mode == "name":
        wanted = str(ref.value).lower()
        for image in images:
            if image.lower() == wanted or names.get(image, "").lower() == wanted:
                return [image], "one", None
        return [], "one", f"no tool looked at {ref.value}"
    return images, "all", None


# ---- object claims ---------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _label_class(label: str) -> str:
    return to_class(label) or label.lower()


def _searched(art: DetectArtifact, subject: str) -> bool:
    """Did this detector run look for ``subject`` (a class, or an open-vocabulary word)?"""
    if any(_label_class(x) == subject for x in art.not_detectable):
        return False
    if any(_label_class(q) == subject for q in art.queried):
        return True
    if art.all_classes:
        # every class it knows: COCO's for a COCO-sized detector, else those it reported
        if art.vocabulary_size in (0, len(COCO_CLASSES)):
            return subject in COCO_CLASSES
        return any(_label_class(d.label) == subject for d in art.detections)
    return False


def _matching(art: DetectArtifact, subject: str) -> list[Detection]:
    return [d for d in art.detections if d.score >= art.min_score and _label_class(d.label) == subject]


@dataclass
class _Seen:
    count: int
    call_id: str
    art: DetectArtifact
    found: list[Detection]


def _per_image(evidence: _Evidence, subject: str, keys: list[str]) -> dict[str, _Seen]:
    """For each image in scope that a detector searched for ``subject``: what it found.

    Several runs on one image (all classes, then a restricted query) are one measurement
    of that image: its count is the largest any run reported.
    """
    seen: dict[str, _Seen] = {}
    for call_id, art in evidence.detects:
        key = _key(art)
        if key not in keys and key != _UNSCOPED or not _searched(art, subject):
            continue
        found = _matching(art, subject)
        best = seen.get(key)
        if best is None or len(found) > best.count:
            seen[key] = _Seen(len(found), call_id, art, found)
    return seen


def _unseen_reason(evidence: _Evidence, subject: str, keys: list[str], known: bool) -> str:
    runs = [a for _, a in evidence.detects if _key(a) in keys or _key(a) == _UNSCOPED]
    if not evidence.detects:
        return "no detector ran, so nothing measured this"
    if not runs:
        return "no detector looked at that image"
    if any(any(_label_class(x) == subject for x in a.not_detectable) for a in runs) or not known:
        return f"the detector cannot see '{subject}' (not one of its classes)"
    return f"the detector was asked only for {', '.join(sorted({q for a in runs for q in a.queried})) or 'nothing'}, not '{subject}'"


def _strength(found: list[Detection], *, count: bool) -> tuple[float | None, str]:
    """The score that carries the claim and its confidence: the weakest box for a count,
    the best one for presence."""
    if not found:
        return None, "low"
    score = min(d.score for d in found) if count else max(d.score for d in found)
    return score, "low" if score < LOW_CONFIDENCE else "high"


def _scores(found: list[Detection]) -> str:
    return ", ".join(f"{d.score:.2f}" for d in found[:6]) + ("…" if len(found) > 6 else "")


def _check_object(claim: Claim, evidence: _Evidence, names: dict[str, str]) -> Verdict:
    keys, mode, problem = _scope(claim, evidence, names)
    if problem:
        return _verdict(claim, "unverified", reason=problem)
    if claim.subject == ANY_OBJECT:
        return _check_search(claim, evidence, keys)
    seen = _per_image(evidence, claim.subject, keys)
    if not seen and claim.subject in _TEXT_BEARERS and claim.kind in ("presence", "absence"):
        return _check_text_bearer(claim, evidence, keys)
    if not seen:
        return _verdict(claim, "unverified", reason=_unseen_reason(evidence, claim.subject, keys, claim.known))
    unsearched = [k for k in keys if k not in seen and k != _UNSCOPED and evidence.images]
    noun = claim.subject
    found = [d for s in seen.values() for d in s.found]
    ids = [s.call_id for s in seen.values()]
    arts = [s.art for s in seen.values()]
    counts = {k: s.count for k, s in seen.items()}
    total = sum(counts.values())
    image = keys[0] if len(keys) == 1 and keys[0] != _UNSCOPED else None
    where = f" in {names.get(image, image)}" if image and len(evidence.images) > 1 else ""

    def found_text() -> str:
        if not found:
            return f"detect found no {noun}{where} (min score {min(a.min_score for a in arts):.2f})"
        if mode == "each" or (mode == "all" and len(counts) > 1):
            parts = "; ".join(f"{names.get(k, k)}: {n}" for k, n in counts.items())
            return f"detect found {total} × {noun} ({parts})"
        return f"detect found {total} × {noun}{where} ({_scores(found)})"

    def ok_for(n: int) -> bool:
        if claim.kind == "presence":
            return n >= 1
        if claim.kind == "absence":
            return n == 0
        return count_matches(claim.expected, n)

    if mode == "each":
        results = [ok_for(counts[k]) for k in keys if k in counts]
        ok = all(results) and not unsearched
        if not all(results):
            return _verdict(claim, "contradicted", observed=counts, evidence=ids, arts=arts, found=found, reason=found_text())
        if unsearched:
            return _verdict(claim, "unverified", observed=counts, evidence=ids, arts=arts, reason=f"no detector searched {', '.join(names.get(k, k) for k in unsearched)}")
        return _support(claim, ok, counts, ids, arts, found, found_text())
    ok = ok_for(total)
    if claim.kind in ("count", "absence") and unsearched and not (claim.kind == "count" and not ok and total > lower_bound(claim.expected) and False):
        if claim.kind == "absence" and total > 0:
            return _verdict(claim, "contradicted", observed=total, evidence=ids, arts=arts, found=found, reason=found_text())
        return _verdict(claim, "unverified", observed=total, evidence=ids, arts=arts,
                        reason=f"{found_text()}, but no detector searched {', '.join(names.get(k, k) for k in unsearched)}")
    qualified = claim.extras.get("qualified")
    if not ok and claim.kind == "count" and qualified and total > lower_bound(claim.expected):
        # "two men" when detect found four people: the claim is about a subset it cannot pick out
        return _verdict(claim, "unverified", observed=total, evidence=ids, arts=arts,
                        reason=f"{found_text()}; nothing measured which of them are '{qualified}'")
    if not ok and mode == "all" and len(counts) > 1 and claim.kind == "count" and any(ok_for(n) for n in counts.values()):
        return _verdict(claim, "unverified", observed=counts, evidence=ids, arts=arts,
                        reason=f"{found_text()}: the answer does not say which image it means")
    return _support(claim, ok, total, ids, arts, found, found_text())


_TEXT_BEARERS = {"sign", "label", "text", "writing", "inscription", "banner", "poster", "lettering"}


def _check_text_bearer(claim: Claim, evidence: _Evidence, keys: list[str]) -> Verdict:
    """"A sign reads …": OCR reading text there is (weak) evidence of something bearing it."""
    runs = [(c, a) for c, a in evidence.ocrs if _key(a) in keys or _key(a) == _UNSCOPED]
    read = [s for _, a in runs for s in a.spans if s.score >= LOW_CONFIDENCE]
    ids, arts = [c for c, _ in runs], [a for _, a in runs]
    if claim.kind == "absence":
        if not runs:
            return _verdict(claim, "unverified", reason="no OCR ran on that image")
        if read:
            shown = " / ".join(s.text for s in read[:4])
            return _verdict(claim, "contradicted", observed=len(read), evidence=ids, arts=arts, reason=f"OCR read {shown!r}")
        return _verdict(claim, "supported", observed=0, evidence=ids, arts=arts, confidence="low",
                        reason="OCR read no confident text; it can miss small or stylised text")
    if not read:
        why = "OCR read no confident text there" if runs else _unseen_reason(evidence, claim.subject, keys, claim.known)
        return _verdict(claim, "unverified", reason=why)
    return _verdict(claim, "supported", observed=len(read), evidence=[c for c, _ in runs], arts=[a for _, a in runs],
                    confidence="low", reason=f"OCR read text there ({len(read)} spans); nothing classified what bears it")


def _support(claim: Claim, ok: bool, observed: object, ids: list[str], arts: list[DetectArtifact],
             found: list[Detection], why: str) -> Verdict:
    if not ok:
        return _verdict(claim, "contradicted", observed=observed, evidence=ids, arts=arts, found=found, reason=why)
    if claim.kind == "absence":
        # not finding something is weak evidence: detectors miss small, cut-off and unusual objects
        return _verdict(claim, "supported", observed=observed, evidence=ids, arts=arts, confidence="low",
                        reason=f"{why}; a detector can miss what is there")
    score, confidence = _strength(found, count=claim.kind == "count")
    return _verdict(claim, "supported", observed=observed, evidence=ids, arts=arts, strength=score,
                    confidence=confidence, reason=why)


def _check_search(claim: Claim, evidence: _Evidence, keys: list[str]) -> Verdict:
    """"The detector found nothing": only an all-classes run that found nothing says so."""
    runs = [(c, a) for c, a in evidence.detects if _key(a) in keys or _key(a) == _UNSCOPED]
    if not runs:
        return _verdict(claim, "unverified", reason="no detector ran on that image")
    full = [(c, a) for c, a in runs if a.all_classes]
    if not full:
        asked = sorted({q for _, a in runs for q in a.queried + a.not_detectable})
        return _verdict(claim, "contradicted", evidence=[c for c, _ in runs], arts=[a for _, a in runs],
                        reason=f"the detector never searched all its classes: it was asked only for {', '.join(asked) or 'nothing'}")
    hits = [d for _, a in full for d in a.detections if d.score >= a.min_score]
    ids, arts = [c for c, _ in full], [a for _, a in full]
    if hits:
        labels = sorted({d.label for d in hits})
        return _verdict(claim, "contradicted", observed=len(hits), evidence=ids, arts=arts, found=hits,
                        reason=f"detect found {', '.join(labels)}")
    return _verdict(claim, "supported", observed=0, evidence=ids, arts=arts, confidence="low",
                    reason="detect found none of its classes; a detector can miss what is there")


# ---- positions -------------------------------------------------------------------------
_THIRDS = {
    "left": lambda cx, cy: (cx < 1 / 3, cx > 2 / 3),
    "right": lambda cx, cy: (cx > 2 / 3, cx < 1 / 3),
    "top": lambda cx, cy: (cy < 1 / 3, cy > 2 / 3),
    "bottom": lambda cx, cy: (cy > 2 / 3, cy < 1 / 3),
    "center": lambda cx, cy: (1 / 3 <= cx <= 2 / 3 and 1 / 3 <= cy <= 2 / 3, cx < 1 / 6 or cx > 5 / 6 or cy < 1 / 6 or cy > 5 / 6),
    # "in the middle" / "near the middle": across, as the composer and most answers mean it
    "middle": lambda cx, cy: (1 / 3 <= cx <= 2 / 3, cx < 1 / 6 or cx > 5 / 6),
}


def _in_region(where: str, cx: float, cy: float) -> tuple[bool, bool]:
    """(inside the named third(s), clearly outside them) for a centre in [0, 1]²."""
    inside, outside = True, False
    for part in where.split("-"):
        yes, no = _THIRDS[part](cx, cy)
        inside = inside and yes
        outside = outside or no
    return inside, outside


def _check_position(claim: Claim, evidence: _Evidence, size_of: SizeLookup, names: dict[str, str]) -> Verdict:
    keys, _, problem = _scope(claim, evidence, names)
    if problem:
        return _verdict(claim, "unverified", reason=problem)
    seen = _per_image(evidence, claim.subject, keys)
    boxes = [(s.art.image, d, s.art) for s in seen.values() for d in s.found]
    ids = [s.call_id for s in seen.values()]
    arts = [s.art for s in seen.values()]
    if not boxes:
        return _verdict(claim, "unverified", evidence=ids, reason=f"no box of {claim.subject} was measured")
    placed = []
    for image_id, det, _ in boxes:
        size = size_of(image_id) if image_id else None
        if size:
            x0, y0, x1, y1 = det.box
            placed.append(((x0 + x1) / 2 / size[0], (y0 + y1) / 2 / size[1], det))
    if not placed:
        return _verdict(claim, "unverified", evidence=ids, reason="the image size is unknown, so the box cannot be placed")
    results = [(_in_region(str(claim.expected), cx, cy), det) for cx, cy, det in placed]
    observed = [f"centre at ({cx:.2f}, {cy:.2f}) of the image" for cx, cy, _ in placed]
    inside = [det for (yes, _), det in results if yes]
    wanted = int(claim.extras.get("at_least", 1))
    if inside and len(inside) < wanted:
        return _verdict(claim, "unverified", observed=observed, evidence=ids, arts=arts,
                        reason=f"{len(inside)} {claim.subject} box(es) lie in the {claim.expected} third, not {wanted}")
    if inside:
        score, confidence = _strength(inside, count=False)
        return _verdict(claim, "supported", observed=observed, evidence=ids, arts=arts, strength=score, confidence=confidence,
                        reason=f"a {claim.subject} box ({_scores(inside)}) lies in the {claim.expected} third")
    if all(outside for (_, outside), _ in results):
        return _verdict(claim, "contradicted", observed=observed, evidence=ids, arts=arts,
                        reason=f"no {claim.subject} box lies in the {claim.expected} third")
    return _verdict(claim, "unverified", observed=observed, evidence=ids, reason="the box centre is in the middle third: ambiguous")


# ---- quoted text -----------------------------------------------------------------------
_CONFUSABLE = str.maketrans({"0": "o", "1": "l", "|": "l", "i": "l", "5": "s", "8": "b"})


def _words(text: str) -> list[str]:
    text = text.casefold().replace("’", "'").replace("‘", "'")
    return [w.strip("'") for w in re.findall(r"[\w']+", text) if w.strip("'")]


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


@lru_cache(maxsize=65536)
def _word_cost(claimed: str, read: str) -> int | None:
    """0 for the same word, 1 for OCR noise on a long word, None for a different word.

    Digits and short words ("2nd", "no", "on") must match exactly: one character
    changes their meaning."""
    if claimed == read:
        return 0
    if any(ch.isdigit() for ch in claimed):
        return None
    if claimed.translate(_CONFUSABLE) == read.translate(_CONFUSABLE):
        return 1  # I/l/1, O/0, S/5: the letters OCR confuses
    if len(claimed) < 5:
        return None
    return 1 if _edit_distance(claimed, read) <= 1 and abs(len(claimed) - len(read)) <= 1 and not any(ch.isdigit() for ch in read) else None


def _match_words(claimed: list[str], read: list[str]) -> list[tuple[int, int, int]]:
    """Every (start, end, cost) window of ``read`` that says ``claimed``."""
    out = []
    joined = "".join(claimed)
    for start in range(len(read)):
        if _word_cost(claimed[0], read[start]) is None and not joined.startswith(read[start]):
            continue  # the first word cannot start here
        # OCR may split or merge words: compare without the spaces first
        acc = ""
        for end in range(start, min(len(read), start + len(claimed) + 3)):
            acc += read[end]
            if acc == joined:
                out.append((start, end + 1, 0))
                break
            if len(acc) >= len(joined):
                break
        if len(read) - start < len(claimed):
            continue
        costs = [_word_cost(c, r) for c, r in zip(claimed, read[start : start + len(claimed)], strict=True)]
        if all(c is not None for c in costs):
            out.append((start, start + len(claimed), sum(c or 0 for c in costs)))
        elif len(claimed) > 1:
            gapped = _with_junk(claimed, read, start)
            if gapped is not None:
                out.append(gapped)
    return out


def _with_junk(claimed: list[str], read: list[str], start: int) -> tuple[int, int, int] | None:
    """The claim read with OCR junk between its words ("cero 2) emisiones": a stray mark
    from another line); each skipped token costs one and is at most two characters."""
    pos, cost = start, 0
    for k, word in enumerate(claimed):
        skipped = 0
        while k and pos < len(read) and len(read[pos]) <= 2 and _word_cost(word, read[pos]) is None and skipped < 2:
            pos, skipped, cost = pos + 1, skipped + 1, cost + 1
        if pos >= len(read):
            return None
        c = _word_cost(word, read[pos])
        if c is None:
            return None
        cost += c
        pos += 1
    return start, pos, cost


def text_match(claimed: str, read: str) -> tuple[bool, str, bool]:
    """(found, the passage read, exact) — is ``claimed`` in the OCR text ``read``?

    Case, spacing and punctuation never matter; digits and short words must be exact;
    one OCR slip per long word is tolerated only when a single passage matches."""
    want, have = _words(claimed), _words(read)
    if not want:
        return False, "", False
    windows = _match_words(want, have)
    if not windows:
        return False, _closest(want, have), False
    best = min(c for _, _, c in windows)
    best_windows = {(s, e) for s, e, c in windows if c == best}
    if best > 0 and len(best_windows) > 1:
        return False, _closest(want, have), False  # two passages could be it: not unambiguous
    start, end = sorted(best_windows)[0]
    return True, " ".join(have[start:end]), best == 0


def fuzzy_contains(needle: str, haystack: str) -> tuple[bool, str]:
    """Compatibility wrapper: is ``needle`` in ``haystack`` by :func:`text_match`'s rules?"""
    ok, near, _ = text_match(needle, haystack)
    return ok, near


def _closest(want: list[str], have: list[str]) -> str:
    if not have or len(want) > 30 or len(have) > 400:
        return ""  # a near-miss hint is not worth quadratic work on hostile input
    width = len(want)
    target = " ".join(want)
    windows = [" ".join(have[s : s + width]) for s in range(max(1, len(have) - width + 1))]
    return min(windows, key=lambda w: _edit_distance(target, w))


def _span_scores(art: OcrArtifact, passage: str) -> list[float]:
    words = set(passage.split())
    return [s.score for s in art.spans if words & set(_words(s.text))]


def _check_text(claim: Claim, evidence: _Evidence, names: dict[str, str]) -> Verdict:
    keys, _, problem = _scope(claim, evidence, names)
    if problem:
        return _verdict(claim, "unverified", reason=problem)
    runs = [(c, a) for c, a in evidence.ocrs if _key(a) in keys or _key(a) == _UNSCOPED]
    if not runs:
        return _verdict(claim, "unverified", reason="no OCR ran on that image, so nothing read the text")
    closest = ""
    for call_id, art in runs:
        full = art.full_text or " ".join(art.lines) or " ".join(s.text for s in art.spans)
        ok, near, exact = text_match(str(claim.expected), full)
        if ok:
            scores = _span_scores(art, near) or [s.score for s in art.spans]
            score = min(scores) if scores else None
            confidence = "low" if score is None or score < LOW_CONFIDENCE else "high"
            how = "OCR read this text" if exact else f"OCR read {near!r}, one letter off per word at most"
            if confidence == "low":
                how += " — at low confidence, so it may be misread"
            return _verdict(claim, "supported", observed=near, evidence=[call_id], arts=[art], strength=score,
                            confidence=confidence, reason=how)
        closest = closest or near
    ids = [c for c, _ in runs]
    arts = [a for _, a in runs]
    read = " | ".join((a.full_text or "").replace("\n", " / ").strip() for a in arts).strip(" |")
    confident = [s.score for a in arts for s in a.spans if s.score >= LOW_CONFIDENCE]
    if not confident:
        why = f"OCR read only low-confidence text ({read!r})" if read else "OCR read no text"
        return _verdict(claim, "unverified", observed=read, evidence=ids, arts=arts,
                        reason=f"{why}, so it may have missed this")
    return _verdict(claim, "contradicted", observed=read, evidence=ids, arts=arts,
                    reason=f"OCR read {read!r}" + (f"; closest: {closest!r}" if closest else ""))


def _check_confidence(claim: Claim, evidence: _Evidence, names: dict[str, str]) -> Verdict:
    """"All with high confidence": held against every score the tools in scope reported."""
    keys, _, problem = _scope(claim, evidence, names)
    if problem:
        return _verdict(claim, "unverified", reason=problem)
    runs: list[tuple[str, Artifact, list[float]]] = [
        (c, a, [d.score for d in a.detections if d.score >= a.min_score]) for c, a in evidence.detects if _key(a) in keys
    ] + [(c, a, [s.score for s in a.spans]) for c, a in evidence.ocrs if _key(a) in keys]
    scores = [s for _, _, found in runs for s in found]
    if not scores:
        return _verdict(claim, "unverified", reason="no tool reported a score")
    ids, arts = [c for c, _, _ in runs], [a for _, a, _ in runs]
    weakest, strongest = min(scores), max(scores)
    if claim.expected == "high":
        ok, why = weakest >= LOW_CONFIDENCE, f"the weakest score is {weakest:.2f}"
    else:
        ok, why = strongest < LOW_CONFIDENCE or weakest < LOW_CONFIDENCE, f"scores range {weakest:.2f}–{strongest:.2f}"
    return _verdict(claim, "supported" if ok else "contradicted", observed=weakest, evidence=ids, arts=arts,
                    strength=weakest, confidence="high" if weakest >= LOW_CONFIDENCE else "low", reason=why)


def _check_name(claim: Claim, evidence: _Evidence, names: dict[str, str]) -> Verdict:
    """A name the OCR read in that image ("Madrid" on a destination sign) is written there;
    that is all the evidence says about it."""
    keys, _, _ = _scope(claim, evidence, names)
    for call_id, art in evidence.ocrs:
        if _key(art) in keys or _key(art) == _UNSCOPED:
            ok, near, _ = text_match(str(claim.expected), art.full_text or " ".join(art.lines))
            if ok:
                scores = _span_scores(art, near)
                score = min(scores) if scores else None
                return _verdict(claim, "supported", observed=near, evidence=[call_id], arts=[art], strength=score,
                                confidence="low" if score is None or score < LOW_CONFIDENCE else "high",
                                reason=f"OCR read {near!r} there; nothing identified more than the written word")
    return _verdict(claim, "unverified", reason="nothing measured who or what this is by name")


_COLOUR_NAMES = {"gray": "grey", "silver": "grey", "navy": "blue", "teal": "blue", "maroon": "red", "gold": "yellow",
                 "golden": "yellow", "beige": "brown", "tan": "brown", "blond": "yellow", "blonde": "yellow", "dark": "black"}


def _check_colour(claim: Claim, evidence: _Evidence, names: dict[str, str]) -> Verdict:
    """A colour held against the colour tool's measurement of the same object (or the image)."""
    keys, _, problem = _scope(claim, evidence, names)
    if problem:
        return _verdict(claim, "unverified", reason=problem)
    word = str(claim.expected).lower()
    colour = _COLOUR_NAMES.get(word, word)
    runs = []
    for call_id, art in evidence.colours:
        data = art.data if isinstance(art.data, dict) else {}
        label = data.get("label")
        about = _label_class(str(label)) if label else None
        if _key(art) in keys and (about == claim.subject or (about is None and data.get("box") is None)):
            runs.append((call_id, art, {c.get("name"): float(c.get("share", 0)) for c in data.get("colours", [])}))
    if not runs:
        return _verdict(claim, "unverified", reason=f"nothing measured the colour of {claim.subject or 'that'}")
    ids, arts = [c for c, _, _ in runs], [a for _, a, _ in runs]
    measured = {n: s for _, _, shares in runs for n, s in shares.items()}
    listed = ", ".join(f"{n} {s:.0%}" for n, s in sorted(measured.items(), key=lambda kv: -kv[1]))
    from lensmith.tools.colour import NAMES

    if colour not in NAMES:
        return _verdict(claim, "unverified", evidence=ids, arts=arts, reason=f"the colour tool names only {', '.join(NAMES)}; it measured {listed}")
    share = measured.get(colour)
    if share is None:
        return _verdict(claim, "contradicted", observed=listed, evidence=ids, arts=arts, reason=f"colour measured {listed}")
    return _verdict(claim, "supported", observed=share, evidence=ids, arts=arts, strength=share,
                    confidence="high" if share >= 0.25 else "low", reason=f"colour measured {listed}")


# ---- verdicts ----------------------------------------------------------------------
_NOTHING_MEASURED = {
    "colour": "colour", "action": "what anyone or anything is doing", "relation": "how objects relate",
    "gender": "gender", "age": "age", "role": "who anyone is", "emotion": "emotions", "scene": "the scene",
    "clothing": "clothing", "attribute": "this attribute", "identity": "who or what this is by name",
}


def _verdict(
    claim: Claim, status: str, *, observed: object = None, evidence: Sequence[str] = (), reason: str = "",
    arts: Sequence[Artifact] = (), found: Sequence[Detection] = (), strength: float | None = None,
    confidence: str | None = None,
) -> Verdict:
    tools = sorted({a.tool for a in arts})
    kinds = [a.method_kind for a in arts]
    method_kind = "fallback" if "fallback" in kinds else kinds[0] if kinds else None
    methods = sorted({a.model or a.method for a in arts})
    if status == "contradicted" and strength is None and found:
        strength = max(d.score for d in found)
    return Verdict(
        claim=claim.text,
        kind=claim.kind,
        status=status,  # type: ignore[arg-type]
        subject=claim.subject,
        expected=claim.expected,
        observed=observed,
        evidence=list(evidence),
        reason=reason,
        category=claim.category,
        tool=", ".join(tools) or None,
        method=", ".join(methods) or None,
        method_kind=method_kind,
        strength=round(strength, 3) if strength is not None else None,
        confidence=confidence if status == "supported" else None,  # type: ignore[arg-type]
        hedged=claim.hedged,
        start=claim.start if claim.start >= 0 else None,
        end=claim.end if claim.end >= 0 else None,
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


def _names_from_store(images: list[str]) -> dict[str, str]:
    try:
        from lensmith.runtime.images import current_store

        store = current_store()
        return {i: PurePath(store.get(i).source).name for i in images if i in store}
    except Exception:  # noqa: BLE001 - names only help attribution
        return {}


def turn_evidence(
    calls: Sequence[ToolCallRecord], earlier: Sequence[Sequence[ToolCallRecord]] = ()
) -> list[ToolCallRecord]:
    """The calls an answer is held against: this turn's, when it measured anything;
    otherwise (a follow-up like "and how many dogs?") the latest earlier turn's that did.
    Never several turns added up: counts from different images would merge."""
    def measured(batch: Sequence[ToolCallRecord]) -> bool:
        return any(c.artifact is not None and not c.error for c in batch)

    if measured(calls):
        return list(calls)
    for batch in reversed(earlier):
        if measured(batch):
            return list(batch)
    return list(calls)


def check_answer(
    answer: str,
    calls: list[ToolCallRecord],
    *,
    image_sizes: dict[str, ImageSize] | None = None,
    images: Sequence[str] | None = None,
    image_names: dict[str, str] | None = None,
) -> list[Verdict]:
    """A verdict for every claim in ``answer``, in reading order.

    ``calls`` is the evidence: pass the current turn's calls, not the session's history.
    ``images`` lists the images the answer is about, in the order the user gave them (so
    "the second photo" means something); without it, the order the tools saw them.
    ``image_names`` maps image ids to file names ("bus.jpg"); without it, and without
    ``image_sizes`` (for position claims), the session's image store is asked.
    """
    answer = answer[:MAX_ANSWER_CHARS]  # bounded work on whatever a planner sends
    evidence = _collect(calls, images)
    names = dict(image_names) if image_names is not None else _names_from_store(evidence.images)
    claims = extract_claims(answer, evidence.vocabulary, image_names=list(names.values()))

    def size_of(image_id: str) -> ImageSize | None:
        if image_sizes and image_id in image_sizes:
            return image_sizes[image_id]
        return _size_from_store(image_id)

    verdicts: list[Verdict] = []
    for claim in claims:
        if claim.kind in ("presence", "absence", "count"):
            verdicts.append(_check_object(claim, evidence, names))
        elif claim.kind == "position":
            verdicts.append(_check_position(claim, evidence, size_of, names))
        elif claim.kind == "text":
            verdicts.append(_check_text(claim, evidence, names))
        elif claim.category == "confidence":
            verdicts.append(_check_confidence(claim, evidence, names))
        elif claim.category == "identity" and evidence.ocrs:
            verdicts.append(_check_name(claim, evidence, names))
        elif claim.category == "colour" and evidence.colours:
            verdicts.append(_check_colour(claim, evidence, names))
        else:
            what = _NOTHING_MEASURED.get(claim.category, claim.category)
            verdicts.append(_verdict(claim, "unverified", reason=f"nothing measured {what}"))
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


def explain(verdict: Verdict, *, status: bool = True) -> str:
    """What a verdict means, in words a user reads next to ✓ ? ✗: the status, the tool,
    the strength of its evidence and how it was produced ("consistent with detect (0.48,
    low confidence, model: yolo11n)", "unverified: nothing measured colour").
    ``status=False`` leaves out the leading status word for a line that already shows it."""
    how = f"{verdict.method_kind}: {verdict.method}" if verdict.method_kind and verdict.method else verdict.method_kind or ""
    if verdict.status == "supported":
        bits = [f"{verdict.strength:.2f}" if verdict.strength is not None else "",
                "low confidence" if verdict.confidence == "low" else "", how]
        detail = ", ".join(b for b in bits if b)
        text = f"consistent with {verdict.tool or 'the evidence'}" + (f" ({detail})" if detail else "")
    elif verdict.status == "contradicted":
        by = (f"by {verdict.tool}" if verdict.tool else "") + (f" ({how})" if how else "")
        text = f"contradicted {by}".strip() if status else by
    else:
        text = "unverified" if status else ""
    if verdict.hedged:
        text += " · hedged in the answer" if text else "hedged in the answer"
    if verdict.reason:
        return f"{text}: {verdict.reason}" if text else verdict.reason
    return text


def strength_note(verdict: Verdict) -> str:
    """The short form of a supported verdict's evidence: "detect 0.93" or "detect 0.48, low"."""
    bits = [verdict.tool or "evidence"]
    if verdict.strength is not None:
        bits.append(f"{verdict.strength:.2f}")
    if verdict.method_kind and verdict.method_kind != "model":
        bits.append(verdict.method_kind)
    note = " ".join(bits)
    return note + ", low confidence" if verdict.confidence == "low" else note
