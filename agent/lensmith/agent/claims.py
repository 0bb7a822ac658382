"""Claim extraction: the statements in a drafted answer, each one checkable or flagged.

Rule-based and deterministic. Every sentence is read clause by clause:

- **objects** said to be present, absent or present N times, with quantifiers ("at
  least two people", "no more than four", "a dozen", "several", "both", "nobody"),
  negation scope ("no cars or trucks", "not only a bus but also…"), hedges ("might
  be a dog") and the image a clause is about ("the first photo", "in zidane.jpg");
  words name classes through the one vocabulary (:mod:`lensmith.runtime.vocab`), and a
  noun no detector class covers ("a printer") is still a claim, one nothing measured;
- **quoted text** said to be written in the image ("the sign says 'EXIT'");
- **positions** of objects in the frame ("the cat on the left");
- **predicates no tool measures** — colours, actions, relations, gender and age,
  emotions, scene, clothing — each an explicit claim, so the user sees "unverified"
  instead of nothing.

Each claim keeps its character span in the answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from lensmith.agent.lexicon import (
    ABSENT_PREDICATES,
    ACTIONS,
    ADJECTIVES,
    CLAUSE_BREAKS,
    CLOTHING,
    COLOURS,
    COMPOUND_HEADS,
    COPULAS,
    EMOTIONS,
    FILLERS,
    FUNCTION,
    HEDGES,
    IMAGE_NOUNS,
    META_NOUNS,
    NOT_ACTIONS,
    POSITION_CUES,
    POSITIONS,
    PREPOSITIONS,
    RELATIONS,
    SCENE_NOUNS,
    SCENE_WORDS,
    VERBAL_NEGATORS,
)
from lensmith.agent.quantities import count_matches as count_matches  # re-exported for the checker
from lensmith.agent.quantities import lower_bound as lower_bound
from lensmith.agent.quantities import quantity
from lensmith.runtime.vocab import (
    COCO_CLASSES,
    ORDINALS,
    PERSON_WORDS,
    SYNONYMS,
    number_value,
    singularize,
    to_class,
)

ClaimKind = Literal["presence", "absence", "count", "text", "attribute", "position"]
ANY_OBJECT = "*"  # the subject of "the detector found nothing"


@dataclass
class ImageRef:
    """Which image(s) a claim is about: one by position or name, each of them, or all together."""

    mode: Literal["index", "name", "each", "all"]
    value: int | str | None = None


@dataclass
class Claim:
    kind: ClaimKind
    text: str  # the words of the answer the claim comes from
    subject: str  # the class, the unknown noun, the quoted text, or the attribute's object
    expected: object = None  # True, False, 3, ">=2", "~12", "left", "red", "EXIT"
    sentence: int = 0
    extras: dict = field(default_factory=dict)
    start: int = -1  # character span in the answer
    end: int = -1
    category: str = "object"  # object, text, position, colour, action, relation, gender, ...
    image: ImageRef | None = None
    hedged: bool = False
    known: bool = True  # the subject is a detector class (False: "printer")


_TOKEN = re.compile(
    r"\d+(?:\.\d+)?(?:st|nd|rd|th)?|[a-z]+(?=n't\b)|n't|[a-z]+(?:-[a-z]+)*(?:'[a-z]+)?|×|[.,;:!?()]",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# quoted text: a double-quoted passage may hold apostrophes and OCR junk ("'MHIL uLA")
_QUOTED = re.compile(
    r"(?<![\w])(?:\"([^\"\n]{1,2000}?)\"|“([^”\n]{1,2000}?)”|«([^»\n]{1,2000}?)»|['‘]([^'’\"\n]{1,200}?)['’])(?![\w])"
)


def _group(match: re.Match[str]) -> int:
    """The index of the alternative of :data:`_QUOTED` that matched."""
    return next(k for k in range(1, 5) if match.group(k) is not None)
_READS = re.compile(
    r"\b(?:reads?|says?|saying|spells?|text is|text:|written)\s*:\s*(.+?)\s*$", re.IGNORECASE
)
# "The sign reads BUSINESS CENTER": unquoted text right after a reading verb, unless it is a
# clause of its own ("it says that…", "the label says the shop is closed")
_READS_BARE = re.compile(
    r"\b(?:[Ss]ign|[Tt]ext|[Ll]abel|[Ii]t|[Dd]isplay|[Bb]anner|[Pp]age|[Hh]eading|[Cc]aption|[Ww]riting|[Ww]ords?|[Pp]oster|[Ss]creen|[Pp]late)\s+"
    r"(?:[Rr]eads|[Ss]ays)\s+(?!(?:That|There|The|A|An|It|This|No|Nothing|Something|You|We|They|He|She|I|Is|Are)\b)"
    r"([A-Z0-9][^.;!?]*?)\s*[.;!?]?\s*$",
)
_READ_CUES = re.compile(
    r"\b(?:say|says|said|saying|read|reads|reading|text|texts|written|writing|sign|signs|label|labels|"
    r"caption|title|heading|headline|spell|spells|spelled|word|words|ocr|inscription|printed|banner|logo|"
    r"mentions?|display|displays|shows the (?:word|text))\b",
    re.IGNORECASE,
)
# claims of certainty ("all with high confidence"); saying "low confidence" is a hedge, not a claim
_CONFIDENCE = re.compile(r"\b(?:high|strong|full|great)\s+confidence\b|\bconfidently\b|\bclearly\s+(?:visible|detected)\b", re.IGNORECASE)
_META = re.compile(
    r"\b(?:can(?:no|')t|can not|unable to|not able to)\s+(?:tell|say|see|know|judge|determine|verify)\b|\bno tool\b|"
    r"\bwould need\b|\bnothing (?:here )?measures?\b|\bnot (?:measured|verified)\b|\bdoes not know\b|\bdoesn't know\b",
    re.IGNORECASE,
)
_FILE = re.compile(r"(?<![\w/.-])[\w.-]+\.(?:jpe?g|png|gif|webp|bmp|tiff?)\b|\bimg:[0-9a-f]{4,}\b", re.IGNORECASE)
# model names, paths, URLs and identifiers ("yolo11n_int8_openvino_model", "$LENSMITH_WEIGHTS/x"): never scene words
_WORDISH = re.compile(r"\S+")
_ALNUM_ID = re.compile(r"[a-z]+\d+[a-z\d]*", re.IGNORECASE)


# a parenthesis about how the tools worked ("(segment via grabcut, a classical fallback: no SAM
# weights were found)", "(detect: 0.93)") speaks of lensmith, not of the image
_TOOL_NOTE = re.compile(
    r"\([^()]*\b(?:via|fallback|weights?|classical|method|overlay|annotated|grabcut|inpainting|detect|ocr|"
    r"read_text|segment|model|score)\b[^()]*\)",
    re.IGNORECASE,
)


def _mask_tool_notes(text: str) -> str:
    return _TOOL_NOTE.sub(lambda m: " " * len(m.group(0)), text)


def _mask_identifiers(text: str) -> str:
    """Blank out model names, paths, URLs and identifiers, one whitespace-separated run at a
    time (linear: no regex backtracking over long runs)."""
    def blank(m: re.Match[str]) -> str:
        run = m.group(0)
        if any(c in run for c in "_/\\$@") or "://" in run:
            return " " * len(run)
        return _ALNUM_ID.sub(lambda k: " " * len(k.group(0)), run) if any(c.isdigit() for c in run) else run

    return _WORDISH.sub(blank, text)
_SEARCH = re.compile(
    r"\b(?:found|detected|detects|sees|saw|finds|reports?)\s+(?:no\s+objects?|nothing|none\s+of\s+the\s+(?:\d+\s+)?"
    r"(?:object\s+)?classes(?:\s+it\s+knows)?)|\bno\s+objects?\s+(?:were\s+|was\s+)?(?:detected|found)|"
    r"\bnothing\s+(?:was\s+)?detected",
    re.IGNORECASE,
)


@dataclass
class _Tok:
    word: str  # lower case
    start: int
    end: int


def split_sentences(answer: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(answer) if s and s.strip()]


def _sentence_spans(answer: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for part in _SENTENCE.split(answer):
        if part is None:
            continue
        at = answer.find(part, pos)
        if part.strip():
            lead = len(part) - len(part.lstrip())
            spans.append((at + lead, at + len(part.rstrip())))
        pos = at + len(part)
    return spans


def _tokens(text: str, offset: int) -> list[_Tok]:
    return [_Tok(m.group(0).lower().replace("’", "'"), offset + m.start(), offset + m.end()) for m in _TOKEN.finditer(text)]


# ---- the vocabulary -------------------------------------------------------------
def _keys() -> dict[str, str]:
    keys = {c: c for c in COCO_CLASSES}
    keys.update({k: v for k, v in SYNONYMS.items() if v in COCO_CLASSES})
    return keys


_KEYS = _keys()


def _object_at(toks: list[_Tok], i: int, extra: dict[str, str]) -> tuple[str, int] | None:
    """The class named at ``toks[i]`` (up to three words), with the number of words used."""
    for size in (3, 2, 1):
        words = [t.word[:-2] if t.word.endswith("'s") else t.word for t in toks[i : i + size]]
        if len(words) < size or not all(w.replace("-", "").isalpha() for w in words):
            continue
        phrase = " ".join(words).replace("-", " ")
        for form in (phrase, " ".join(phrase.split()[:-1] + [singularize(phrase.split()[-1])])):
            if form in _KEYS:
                return _KEYS[form], size
            if form in extra:
                return extra[form], size
    return None


def _extra_vocabulary(words: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for term in words or []:
        key = " ".join(re.findall(r"[a-z]+", term.lower().replace("_", " ")))
        if key and key not in _KEYS:
            target = to_class(key) or key
            out[key] = target
            out.setdefault(" ".join(key.split()[:-1] + [singularize(key.split()[-1])]), target)
    return out


# ---- image attribution --------------------------------------------------------------
def _image_refs(toks: list[_Tok], files: list[tuple[int, int, str]]) -> list[tuple[int, ImageRef]]:
    """(token index, reference) for every mention of an image in a clause's tokens."""
    words = [t.word for t in toks]
    refs: list[tuple[int, ImageRef]] = []
    for k, word in enumerate(words):
        nxt = words[k + 1] if k + 1 < len(words) else ""
        prev = words[k - 1] if k > 0 else ""
        if word in ORDINALS or word in ("last", "latter", "former", "other"):
            is_ref = nxt in IMAGE_NOUNS or (prev == "the" and (not nxt or nxt in FUNCTION or nxt in {",", ";", ".", ":"}) and nxt not in ("one",) or nxt == "one")
            if prev == "the" and nxt and _object_at(toks, k + 1, {}) is not None:
                is_ref = False
            if is_ref:
                if word in ORDINALS:
                    refs.append((k, ImageRef("index", ORDINALS[word])))
                elif word in ("last", "latter"):
                    refs.append((k, ImageRef("index", -1)))
                elif word == "former":
                    refs.append((k, ImageRef("index", 1)))
        elif word in ("image", "photo", "picture") and nxt.isdigit():
            refs.append((k, ImageRef("index", int(nxt))))
        elif word in ("both", "each", "all", "every", "either") and nxt in IMAGE_NOUNS - {"one", "shot"} or (word in ("both",) and nxt in ("of",) and len(words) > k + 2 and words[k + 2] in ("them", "the")):
            refs.append((k, ImageRef("each")))
        elif word in ("across", "altogether", "combined", "total") or (word == "two" and nxt in ("photos", "images", "pictures") and prev in ("the", "these")):
            refs.append((k, ImageRef("all")))
    for start, _end, name in files:
        k = next((i for i, t in enumerate(toks) if t.start >= start), len(toks))
        refs.append((k, ImageRef("name", name)))
    return sorted(refs, key=lambda r: r[0])


# ---- the extractor --------------------------------------------------------------------
def _text_claims(answer: str, s_start: int, s_end: int, index: int) -> list[Claim]:
    """Quoted text in a sentence about reading ("the sign says 'EXIT'"); quotes elsewhere
    (a file name, a command) are not claims about the image."""
    sentence = answer[s_start:s_end]
    claims: list[Claim] = []
    if not _READ_CUES.search(_QUOTED.sub(" ", sentence)):
        return claims
    for match in _QUOTED.finditer(sentence):
        k = _group(match)
        quoted = match.group(k).strip()
        if quoted and not _FILE.fullmatch(quoted):
            claims.append(Claim("text", match.group(0), quoted, quoted, index, start=s_start + match.start(k),
                                end=s_start + match.end(k), category="text"))
    if not claims:
        reads = _READS.search(sentence) or _READS_BARE.search(sentence)
        if reads:
            quoted = re.sub(r"\s*\([^()]*\)\s*$", "", reads.group(1).strip().rstrip(".")).strip().strip('"“”')
            if quoted:
                claims.append(Claim("text", reads.group(0), quoted, quoted, index, start=s_start + reads.start(1),
                                    end=s_start + reads.start(1) + len(quoted), category="text"))
    return claims


def _clauses(toks: list[_Tok]) -> list[tuple[int, int]]:
    """Token ranges of the clauses of a sentence (broken at ; : but while … and commas)."""
    out, begin = [], 0
    for k, tok in enumerate(toks):
        if tok.word in CLAUSE_BREAKS or tok.word in {",", ".", "!", "?"}:
            if k > begin:
                out.append((begin, k))
            begin = k + 1
    if begin < len(toks):
        out.append((begin, len(toks)))
    return out


def _noun_phrase(words: list[str], i: int) -> tuple[int, int] | None:
    """An unknown noun phrase starting at ``words[i]`` after a quantity: (start, end) of its words."""
    j = i
    while j < len(words) and (words[j] in FILLERS or words[j] in COLOURS or words[j] in ADJECTIVES or words[j].endswith("ed")):
        j += 1
    if j >= len(words):
        return None
    head = words[j]
    if not head.isalpha() or head in FUNCTION or head in META_NOUNS or head in ACTIONS or head in EMOTIONS or head in PREPOSITIONS or number_value(head) is not None:
        return None
    end = j + 1
    nxt = words[end] if end < len(words) else ""
    if nxt.isalpha() and nxt not in FUNCTION and nxt not in META_NOUNS and nxt not in ACTIONS and not nxt.endswith(("ing", "ly")) and nxt not in EMOTIONS and nxt not in COLOURS:
        end += 1
    return i, end


def extract_claims(
    answer: str, vocabulary: list[str] | None = None, *, image_names: list[str] | None = None
) -> list[Claim]:
    """Every claim in ``answer``, in reading order.

    ``vocabulary`` adds words a tool was asked for (an open-vocabulary class); ``image_names``
    lists the file names the answer may cite ("bus.jpg").
    """
    extra = _extra_vocabulary(vocabulary)
    claims: list[Claim] = []
    current: ImageRef | None = None
    for index, (s_start, s_end) in enumerate(_sentence_spans(answer)):
        sentence = answer[s_start:s_end]
        if sentence.rstrip().endswith("?"):
            continue  # a question back to the user claims nothing
        text_claims = _text_claims(answer, s_start, s_end, index)
        masked = sentence
        for c in text_claims:
            a, b = c.start - s_start, c.end - s_start
            masked = masked[:a] + " " * (b - a) + masked[b:]
        masked = _QUOTED.sub(lambda m: " " * len(m.group(0)), masked) if text_claims else masked
        files = []
        for m in _FILE.finditer(masked):
            files.append((s_start + m.start(), s_start + m.end(), m.group(0)))
            masked = masked[: m.start()] + " " * len(m.group(0)) + masked[m.end():]
        masked = _mask_identifiers(_mask_tool_notes(masked))
        toks = _tokens(masked, s_start)
        hedged_sentence = any(t.word in HEDGES for t in toks)
        for c in text_claims:
            c.image, c.hedged = current, hedged_sentence
        sentence_claims: list[Claim] = list(text_claims)
        search = _SEARCH.search(masked)
        if search:
            sentence_claims.append(Claim("absence", search.group(0), ANY_OBJECT, False, index, start=s_start + search.start(),
                                         end=s_start + search.end(), category="search"))
            a, b = search.start(), search.end()
            toks = [t for t in toks if not (s_start + a <= t.start < s_start + b)]
        for m in _CONFIDENCE.finditer(masked):
            sentence_claims.append(Claim("attribute", m.group(0), ANY_OBJECT, "high", index, {"attribute": "confidence"},
                                         s_start + m.start(), s_start + m.end(), "confidence", current, hedged_sentence))
        sentence_claims.extend(_names(toks, answer, index, current, hedged_sentence))
        refs_all = _image_refs(toks, files)
        topic = ""  # the object a clause without one is about ("the bus's colours: blue 46%")
        for c_start, c_end in _clauses(toks):
            clause = toks[c_start:c_end]
            refs = [(k - c_start, r) for k, r in refs_all if c_start <= k < c_end or (k == c_end and r.mode == "name")]
            found = _clause_claims(clause, index, extra, refs, current, hedged_sentence, answer, topic)
            sentence_claims.extend(found)
            topic = next((c.subject for c in reversed(found) if c.kind in ("presence", "count") and c.known), topic)
            if refs:
                current = refs[-1][1]
        meta = _META.search(masked)
        if meta:
            # "no tool here measures how things relate (holding, next to)": words about the tools
            cut = s_start + meta.start()
            sentence_claims = [c for c in sentence_claims if c.start < cut or (c.kind != "attribute" and c.known)]
        sentence_claims.sort(key=lambda c: (c.start, c.kind != "presence"))
        seen: set[tuple[str, str, str]] = set()
        for c in sentence_claims:
            key = (c.kind, c.subject, repr(c.image))
            if c.kind == "presence" and key in seen:
                continue  # "the people … the people": one claim
            seen.add(key)
            claims.append(c)
    return claims


_NOT_NAMES = {
    "i", "ocr", "yolo", "coco", "easyocr", "sam", "clip", "grabcut", "lensmith", "yes", "no", "ok", "note",
    "however", "also", "english", "cpu", "gpu", "the", "a", "an", "this", "that", "there", "it", "in", "on",
}  # fmt: skip


def _names(toks: list[_Tok], answer: str, index: int, current: ImageRef | None, hedged: bool) -> list[Claim]:
    """Proper names ("Zidane", "Madrid", "a Yamaha") name who or where: nothing here identifies that.

    A capitalised word not starting the sentence or a clause, that names no class."""
    out: list[Claim] = []
    for k, tok in enumerate(toks):
        original = answer[tok.start : tok.end]
        prev = toks[k - 1].word if k else ""
        if (k == 0 or prev in {".", ":", ";", "(", "!", "?", '"'} or not original[:1].isupper() or not original.isalpha()
                or tok.word in _NOT_NAMES or tok.word in _KEYS or singularize(tok.word) in _KEYS or original.isupper() and len(original) <= 3):
            continue
        out.append(Claim("attribute", original, "", original, index, {"attribute": "identity"}, tok.start, tok.end,
                         "identity", current, hedged))
    return out


def _ref_for(k: int, refs: list[tuple[int, ImageRef]], current: ImageRef | None) -> ImageRef | None:
    before = [r for i, r in refs if i <= k]
    if before:
        return before[-1]
    if refs:
        return refs[0][1]
    return current


def _clause_claims(
    toks: list[_Tok], index: int, extra: dict[str, str], refs: list[tuple[int, ImageRef]],
    current: ImageRef | None, hedged: bool, answer: str, topic: str = "",
) -> list[Claim]:
    words = [t.word for t in toks]
    out: list[Claim] = []
    if any(w in ("whether", "if") for w in words):
        # "I can't tell whether there is a printer": the words after it claim nothing
        cut = next(k for k, w in enumerate(words) if w in ("whether", "if"))
        toks, words = toks[:cut], words[:cut]
    verbal_neg = -1
    list_neg = False  # inside "no cars or trucks"
    covered: set[int] = set()

    def span(a: int, b: int) -> tuple[int, int, str]:
        return toks[a].start, toks[b - 1].end, answer[toks[a].start : toks[b - 1].end]

    def add(kind: ClaimKind, a: int, b: int, subject: str, expected: object, *, category: str = "object",
            known: bool = True, **extras: object) -> Claim:
        start, end, text = span(a, b)
        claim = Claim(kind, text, subject, expected, index, dict(extras), start, end, category,
                      _ref_for(a, refs, current), hedged, known)
        out.append(claim)
        return claim

    if topic and words and number_value(words[0]) is not None and not any(_object_at(toks, k, extra) for k in range(len(words))):
        where = _position(words, 1)
        if where:
            p_start, p_end, value = where
            add("position", 0, p_end, topic, value, category="position", at_least=number_value(words[0]))
            return out
    i = 0
    while i < len(words):
        word = words[i]
        if word in VERBAL_NEGATORS and not (word == "not" and i + 1 < len(words) and words[i + 1] in ("only", "just")):
            verbal_neg = i
        if word in (",",):
            list_neg = list_neg and True
        # negative pronouns
        if word in ("nobody", "noone") or (word == "no" and i + 1 < len(words) and words[i + 1] == "one"):
            size = 1 if word != "no" else 2
            add("absence", i, i + size, "person", False)
            i += size
            continue
        if word == "none" and i + 2 < len(words) and words[i + 1] == "of":
            hits = [(o, k) for k in range(i + 2, min(i + 5, len(words))) if (o := _object_at(toks, k, extra)) is not None]
            if hits:
                (subject, size), k = hits[0]
                add("absence", i, k + size, subject, False)
                covered.update(range(k, k + size))
                i = k + size
                continue
        obj = None if i in covered else _object_at(toks, i, extra)
        if obj is not None:
            subject, size = obj
            nxt_word = words[i + size] if i + size < len(words) else ""
            possessive = toks[i + size - 1].word.endswith("'s")
            is_modifier = not possessive and (
                (size == 1 and word in COLOURS and _object_at(toks, i + 1, extra) is not None)
                or (size == 1 and word == "orange" and _colour_context(words, i))
                or nxt_word in COMPOUND_HEADS
                or (_object_at(toks, i + size, extra) is not None and word in ("remote", "apple", "tv", "coffee", "table", "dog", "cat", "car", "bus", "pizza", "cake", "teddy"))
            )
            if is_modifier or "asked" in words[max(0, i - 3) : i]:
                i += size  # "(you asked about men)": the question's words, not a claim
                continue
            expected, kind, cue = quantity(words, i)
            a = cue if cue >= 0 else i
            after = words[i + size : i + size + 2]
            if i >= 2 and words[i - 2 : i] == ["number", "of"] and len(after) == 2 and after[0] in ("is", "was", "are") and number_value(after[1]) is not None:
                # "the number of people is 4"
                expected, kind, a = number_value(after[1]), "count", i - 2
            negated = kind == "absence" or (verbal_neg >= 0 and kind != "count") or (list_neg and kind is None)
            # "the bus is not in the photo": a copula negated after the noun
            tail = words[i + size : i + size + 4]
            if not negated and len(tail) >= 2 and tail[0] in COPULAS and tail[1] in ("not", "n't") and (len(tail) < 3 or tail[2] in ABSENT_PREDICATES):
                negated = True
            if negated:
                claim = add("absence", a, i + size, subject, False)
                list_neg = True
            elif kind == "count":
                claim = add("count", a, i + size, subject, expected)
                list_neg = False
            else:
                claim = add("presence", a, i + size, subject, True)
                list_neg = False
            qualifier = _qualifier(words, i, size, cue)
            if qualifier:
                claim.extras["qualified"] = qualifier
            person_word = words[i + size - 1]
            person_kind = PERSON_WORDS.get(person_word) or PERSON_WORDS.get(singularize(person_word))
            if person_kind and not claim.kind == "absence":
                add("attribute", i + size - 1, i + size, subject, person_word, category=person_kind, attribute=person_kind)
            if not negated:
                where = _position(words, i + size)
                if where:
                    p_start, p_end, value = where
                    add("position", p_start, p_end, subject, value, category="position")
            i += size
            continue
        # text said to be there or not ("no text is visible", "some writing"): held against OCR
        if word in ("no", "some", "any") or (word == "is" and i + 1 < len(words) and words[i + 1] == "text"):
            j = i + 1
            while j < len(words) and words[j] in ("visible", "readable", "legible", "other", "more"):
                j += 1
            if j < len(words) and words[j] in ("text", "writing", "lettering", "words") and (word != "is" or j == i + 1):
                absent = word == "no" or verbal_neg >= 0
                add("absence" if absent else "presence", i if word != "is" else j, j + 1, "text", not absent, known=False)
                i = j + 1
                continue
        # an unknown noun after a quantity ("a printer", "no saucer", "24 coins")
        if word in ("a", "an", "no", "some", "several", "any", "two", "three", "four", "five") or number_value(word) is not None and word.isdigit():
            phrase = _noun_phrase(words, i + 1)
            if phrase is not None and not any(_object_at(toks, k, extra) for k in range(phrase[0], phrase[1])):
                noun = words[phrase[1] - 1]
                if noun not in SCENE_NOUNS and noun not in CLOTHING:
                    subject = " ".join(singularize(w) if k == phrase[1] - 1 else w for k, w in enumerate(words[phrase[0]:phrase[1]], phrase[0]) if w not in FILLERS and w not in COLOURS and w not in ADJECTIVES)
                    subject = subject or singularize(noun)
                    absent = word == "no" or verbal_neg >= 0
                    n = number_value(word)
                    kind2: ClaimKind = "absence" if absent else "count" if n is not None and n > 1 else "presence"
                    exp: object = False if absent else n if kind2 == "count" else True
                    add(kind2, i, phrase[1], subject, exp, known=False)
                    list_neg = absent
                    i = phrase[1]
                    continue
        if list_neg and word in ("or", "nor") and i + 1 < len(words):
            phrase = _noun_phrase(words, i + 1)
            if phrase is not None and not any(_object_at(toks, k, extra) for k in range(phrase[0], phrase[1])):
                add("absence", phrase[0], phrase[1], singularize(words[phrase[1] - 1]), False, known=False)
                i = phrase[1]
                continue
        i += 1
    out.extend(_predicates(toks, words, index, refs, current, hedged, answer, topic))
    return out


def _colour_context(words: list[str], i: int) -> bool:
    """Is "orange" at ``words[i]`` a colour ("orange suit", "brown 72%, orange 24%")?"""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if nxt.isalpha() and nxt not in FUNCTION and nxt not in {".", ",", ";"}:
        return True
    return bool(nxt[:1].isdigit()) or any(w in COLOURS and w != "orange" for w in words[max(0, i - 3) : i + 4])


def _qualifier(words: list[str], i: int, size: int, cue: int) -> str | None:
    """Words that narrow the set a count is about ("two men", "two people standing in front")."""
    noun = words[i + size - 1]
    if noun in PERSON_WORDS or singularize(noun) in PERSON_WORDS:
        if noun not in ("people", "persons", "person") and PERSON_WORDS.get(noun, PERSON_WORDS.get(singularize(noun))) is not None:
            return noun
    before = words[max(0, cue) : i] if cue >= 0 else []
    for w in before:
        if w in COLOURS or w in ADJECTIVES or w in ("standing", "sitting", "parked"):
            return w
    tail = words[i + size : i + size + 4]
    k = 0
    while k < len(tail) and tail[k] in COPULAS:
        k += 1
    rest = tail[k:]
    if not rest:
        return None
    first = rest[0]
    if first in ("in", "on", "at") and len(rest) > 1 and rest[1] in ("the", "this") and len(rest) > 2 and rest[2] in IMAGE_NOUNS:
        return None
    if first in ACTIONS or first in ("wearing", "holding", "near", "behind", "beside", "under", "next", "in", "on", "with", "of", "who", "that"):
        if first == "in" and len(rest) > 1 and rest[1] in ("total", "all", "view"):
            return None
        if first == "of" and len(rest) > 1 and rest[1] not in ("them", "whom"):
            return None
        return " ".join(rest[:2])
    return None


def _position(words: list[str], end: int) -> tuple[int, int, str] | None:
    """A position phrase near the object ("on the left", "at the top right"), as token indices."""
    window = words[end : end + 8]
    for k, word in enumerate(window):
        if word in {".", ";", "!", "?", "but", "and", ","}:
            break
        if word in POSITIONS and k >= 1:
            cues = [c for c in range(max(0, k - 3), k) if window[c] in POSITION_CUES]
            if not cues:
                continue
            after = window[k + 1 : k + 4]
            if "of" in after[:2] and not any(w in IMAGE_NOUNS for w in window[k + 1 : k + 6]):
                return None  # "to the left of the bus": a relation between objects
            last = k
            value = POSITIONS[word]
            if k + 1 < len(window) and window[k + 1] in POSITIONS and window[k + 1] != word:
                value = f"{value}-{POSITIONS[window[k + 1]]}"
                last = k + 1
            return end + cues[0], end + last + 1, value
    return None


def _predicates(
    toks: list[_Tok], words: list[str], index: int, refs: list[tuple[int, ImageRef]],
    current: ImageRef | None, hedged: bool, answer: str, topic: str = "",
) -> list[Claim]:
    """An unverified claim for every predicate no tool measures, attached to the nearest object."""
    out: list[Claim] = []
    extra: dict[str, str] = {}
    objects = [(k, o[0]) for k in range(len(words)) if (o := _object_at(toks, k, extra)) is not None
               and not (words[k] == "orange" and _colour_context(words, k))]

    def nearest(k: int) -> str:
        if not objects:
            return topic
        return min(objects, key=lambda o: (abs(o[0] - k), o[0] > k))[1]

    def add(a: int, b: int, category: str, value: str) -> None:
        start, end = toks[a].start, toks[b - 1].end
        out.append(Claim("attribute", answer[start:end], nearest(a), value, index, {"attribute": category},
                         start, end, category, _ref_for(a, refs, current), hedged))

    k = 0
    while k < len(words):
        word = words[k]
        prev = words[k - 1] if k > 0 else ""
        nxt = words[k + 1] if k + 1 < len(words) else ""
        relation = next((p for p, _ in RELATIONS if tuple(words[k : k + len(p)]) == p), None)
        after = words[k + len(relation)] if relation and k + len(relation) < len(words) else ""
        if relation and relation[0] in ("over", "around") and (number_value(after) is not None or after in ("a", "an") and k + len(relation) + 1 < len(words) and words[k + len(relation) + 1] == "dozen"):
            relation = None  # "over 3 people": a quantity
        if relation and not (relation[0] in ("left", "right") and prev in ("the",)):
            # "on the left of the image" is a position in the frame, not a relation
            span_words = len(relation)
            target = words[k + span_words : k + span_words + 3]
            if not any(w in IMAGE_NOUNS for w in target) and not (relation[0] == "near" and nxt in ("the",) and len(target) > 1 and target[1] in POSITIONS):
                add(k, k + span_words, "relation", " ".join(relation))
            k += span_words
            continue
        if word == "on" and nxt in ("a", "an", "the", "its", "their", "his", "her") and k + 2 < len(words):
            noun = words[k + 2]
            if noun not in POSITIONS and noun not in IMAGE_NOUNS and noun not in META_NOUNS and number_value(noun) is None and not noun[0].isdigit() and objects and objects[0][0] < k:
                add(k, k + 1, "relation", "on")
        if word in COLOURS and (word != "orange" or _colour_context(words, k)):
            if not (word == "dark" and nxt in ("suit",)) or True:
                add(k, k + 1, "colour", word)
        elif word in ACTIONS and word not in ("looking",) and not (word == "looks"):
            if word in ("stand", "sit", "run", "walk", "sleep", "play", "point", "watch", "cross", "stops", "drink", "wave", "pose", "skis") and prev in ("a", "an", "the", "bus", "music", "tv", "of"):
                pass  # a noun: "a stand", "the point", "a watch"
            else:
                add(k, k + 1, "action", word)
        elif (len(word) > 5 and word.endswith("ing") and word.isalpha() and word not in NOT_ACTIONS
              and (prev in COPULAS or any(o[0] == k - 1 for o in objects))):
            add(k, k + 1, "action", word)  # "people queueing", "the dog is barking"
        elif word in EMOTIONS:
            add(k, k + 1, "emotion", word)
        elif word in SCENE_WORDS and not (prev in ("the",) and nxt in ("of",)):
            if prev in ("at", "in", "by", "during") and k > 0:
                add(k - 1, k + 1, "scene", word)
            else:
                add(k, k + 1, "scene", word)
        elif word in ("in", "at", "on", "inside", "outside") and nxt in ("a", "an", "the") and k + 2 < len(words):
            j = k + 2
            while j < len(words) and (words[j] in ADJECTIVES or words[j] in COLOURS or words[j] in ("busy", "city", "crowded")):
                j += 1
            head_end = j + 1 if j + 1 < len(words) and words[j + 1] in SCENE_NOUNS else j
            if j < len(words) and (words[j] in SCENE_NOUNS or (head_end > j and words[head_end] in SCENE_NOUNS)) and words[j] not in ("night",):
                end = min(head_end + 1, len(words))
                add(k, end, "scene", " ".join(words[k + 2 : end]))
                k = end
                continue
        elif word == "in" and nxt in CLOTHING:
            add(k + 1, k + 2, "clothing", nxt)
            k += 2
            continue
        elif word in CLOTHING and prev in ("a", "an", "the", "his", "her", "their", "black", "dark", "white") and not any(o[0] == k for o in objects):
            add(k, k + 1, "clothing", word)
        elif word in ADJECTIVES and k + 1 < len(words) and any(o[0] == k + 1 for o in objects):
            add(k, k + 1, "attribute", word)
        elif word in ADJECTIVES and prev in COPULAS and objects and objects[0][0] < k:
            add(k, k + 1, "attribute", word)
        k += 1
    return out
