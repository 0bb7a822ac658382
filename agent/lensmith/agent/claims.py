"""Claim extraction: the checkable statements in a drafted answer.

Rule-based and deterministic. A claim is an object said to be present, absent or
present N times ("two cats", "no dogs", "3 × person"), a position of an object
("a cat on the left"), a colour-like attribute ("a red bus"), or text said to be
written in the image ("the sign says 'EXIT'", "the text reads: cero emisiones").
Object words are COCO classes and their CHAIR synonyms, plus any extra vocabulary
the caller knows about (e.g. the classes a detector was asked for).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from lensmith.agent.synonyms import double_word_map, inverse_synonyms, normalise_label, singularize

ClaimKind = Literal["presence", "absence", "count", "text", "attribute", "position"]


@dataclass
class Claim:
    kind: ClaimKind
    text: str  # the words of the answer the claim comes from
    subject: str  # normalised object class or the quoted text
    expected: object = None  # True, a count, ">=2", "left", "red", "EXIT"
    sentence: int = 0
    extras: dict = field(default_factory=dict)


NUMBER_WORDS = {
    "zero": 0, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "both": 2, "pair": 2, "couple": 2,
}  # fmt: skip
ARTICLES = {"a", "an", "another"}
SEVERAL = {"several", "multiple", "many", "numerous", "various"}
NEGATORS = {"no", "not", "n't", "none", "without", "zero", "neither", "nor", "nothing", "never", "cannot", "nobody"}  # fmt: skip
# words that end the reach of a negation or a number
CLAUSE_BREAKS = {"but", "however", "although", "though", "while", "whereas", "yet", "also", "there", "i", "it", "which", "that", "who"}  # fmt: skip
# words allowed between a number and its noun ("two small cats", "3 × person")
FILLERS = {"small", "large", "big", "little", "tiny", "white", "black", "red", "blue", "green", "yellow", "orange", "brown", "grey", "gray", "pink", "purple", "other", "more", "distinct", "separate", "visible", "different", "of", "the", "x", "×", "young", "old", "adult", "baby", "stuffed", "wooden", "metal", "parked", "standing", "sitting", "full", "partial", "partially", "detected", "clearly", "only", "exactly", "about", "approximately", "roughly", "around", "at", "least", "most", "instances", "instance"}  # fmt: skip
COLOURS = {"white", "black", "red", "blue", "green", "yellow", "orange", "brown", "grey", "gray", "pink", "purple", "silver", "gold", "beige"}  # fmt: skip
POSITIONS = {
    "left": "left", "right": "right", "top": "top", "bottom": "bottom", "upper": "top",
    "lower": "bottom", "center": "center", "centre": "center", "middle": "center",
}  # fmt: skip
POSITION_CUES = ("on", "at", "in", "to", "toward", "towards", "near")

_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z]+(?:'[a-z]+)?|n't|×|[.,;:!?]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_QUOTED = re.compile(r"(?<![\w])[\"“'‘«]([^\"”'’»\n]{1,200}?)[\"”'’»](?![\w])")
_READS = re.compile(
    r"\b(?:reads?|says?|saying|spells?|text is|text:|written)\s*:\s*(.+?)\s*$", re.IGNORECASE
)


def _tokens(sentence: str) -> list[str]:
    text = sentence.lower().replace("’", "'")
    text = re.sub(r"(\w)n't\b", r"\1 n't", text)  # "isn't" → "is n't"
    text = re.sub(r"\bcan't\b", "can n't", text)
    text = re.sub(r"(\d)\s*[x×]\s+", r"\1 × ", text)
    return _TOKEN.findall(text)


def split_sentences(answer: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(answer) if s and s.strip()]


_READ_CUES = re.compile(
    r"\b(?:say|says|said|saying|read|reads|reading|text|texts|written|writing|sign|signs|label|labels|"
    r"caption|title|heading|headline|spell|spells|spelled|word|words|ocr|inscription|printed|banner|logo)\b",
    re.IGNORECASE,
)


def _text_claims(sentence: str, index: int) -> tuple[list[Claim], str]:
    """Quoted text in a sentence about reading ("the sign says 'EXIT'"); quotes elsewhere
    (a file name, a command) are not claims about the image."""
    claims: list[Claim] = []
    if not _READ_CUES.search(_QUOTED.sub(" ", sentence)):
        return claims, _QUOTED.sub(" ", sentence)
    for match in _QUOTED.finditer(sentence):
        quoted = match.group(1).strip()
        if quoted:
            claims.append(Claim("text", match.group(0), quoted, quoted, index))
    rest = _QUOTED.sub(" ", sentence)
    if not claims:
        reads = _READS.search(sentence)
        if reads:
            quoted = reads.group(1).strip().rstrip(".")
            if quoted:
                claims.append(Claim("text", reads.group(0), quoted, quoted, index))
                rest = sentence[: reads.start()]
    return claims, rest


def _match_object(tokens: list[str], i: int, vocab: dict[str, str]) -> tuple[str, int] | None:
    """The class named at ``tokens[i]`` (up to three words), with the words used."""
    doubles = double_word_map()
    for size in (3, 2, 1):
        words = tokens[i : i + size]
        if len(words) < size or not all(w.isalpha() for w in words):
            continue
        phrase = " ".join(words)
        singular = " ".join(words[:-1] + [singularize(words[-1])])
        for candidate in (phrase, singular):
            if candidate in doubles and size == 2:
                return inverse_synonyms().get(doubles[candidate], doubles[candidate]), size
            if candidate in vocab:
                return vocab[candidate], size
    return None


def _vocabulary(extra: list[str] | None) -> dict[str, str]:
    vocab = dict(inverse_synonyms())
    for term in extra or []:
        key = " ".join(re.findall(r"[a-z]+", term.lower().replace("_", " ")))
        if key and key not in vocab:
            vocab[key] = normalise_label(term)
            vocab.setdefault(" ".join(key.split()[:-1] + [singularize(key.split()[-1])]), normalise_label(term))
    return vocab


def _quantity(tokens: list[str], start: int) -> tuple[object, str | None, int]:
    """Look left of an object word for a number, article or negation.

    Returns (value, kind, index of the cue): value is an int, ">=2", True or None.
    """
    j = start - 1
    skipped = 0
    while j >= 0 and skipped <= 3:
        word = tokens[j]
        if word.isdigit():
            return int(word), "count", j
        if word in ("no", "zero"):
            return 0, "count", j
        if word in NUMBER_WORDS and not (word == "one" and j + 1 < len(tokens) and tokens[j + 1] == "of"):
            if word in ("pair", "couple") and j > 0 and tokens[j - 1] in ARTICLES:
                return 2, "count", j - 1
            return NUMBER_WORDS[word], "count", j
        if word in SEVERAL or (word == "few" and j > 0 and tokens[j - 1] == "a"):
            return ">=2", "count", j
        if word in ARTICLES or word in ("some", "any", "any", "the", "this", "these", "those"):
            if word in ("the", "this", "these", "those"):
                return None, None, j
            return True, "presence", j
        if word in FILLERS or word in COLOURS:
            j -= 1
            skipped += 1
            continue
        break
    return None, None, -1


def _negated(tokens: list[str], start: int) -> bool:
    """A negator earlier in the same clause ("there are no cats", "I don't see a dog")."""
    j = start - 1
    while j >= 0:
        word = tokens[j]
        if word in {".", ";", ":", "!", "?", ","} or word in CLAUSE_BREAKS:
            # "there are no X": the negator follows "there"; stop only at the start of a clause
            return False
        if word in NEGATORS:
            return True
        j -= 1
    return False


def _position(tokens: list[str], start: int, end: int) -> str | None:
    """A position phrase near the object ("on the left", "at the top right")."""
    window = tokens[end : end + 8]
    for k, word in enumerate(window):
        if word in {".", ";", "!", "?", "but", "and"}:
            break
        if word in POSITIONS and k >= 1 and any(w in POSITION_CUES for w in window[max(0, k - 3) : k]):
            if k + 1 < len(window) and window[k + 1] in POSITIONS and window[k + 1] != word:
                return f"{POSITIONS[word]}-{POSITIONS[window[k + 1]]}"
            return POSITIONS[word]
    return None


def extract_claims(answer: str, vocabulary: list[str] | None = None) -> list[Claim]:
    """Every checkable claim in ``answer``, in reading order."""
    vocab = _vocabulary(vocabulary)
    claims: list[Claim] = []
    for index, sentence in enumerate(split_sentences(answer)):
        if sentence.rstrip().endswith("?"):
            continue  # a question back to the user claims nothing
        text_claims, rest = _text_claims(sentence, index)
        claims.extend(text_claims)
        tokens = _tokens(rest)
        seen: set[tuple[str, str]] = set()
        i = 0
        while i < len(tokens):
            found = _match_object(tokens, i, vocab)
            if found is None:
                i += 1
                continue
            subject, size = found
            # "orange bus", "remote control": a class word used as a modifier
            nxt = _match_object(tokens, i + size, vocab)
            if size == 1 and nxt is not None and tokens[i] in COLOURS | {"remote", "apple", "tv"}:
                i += 1
                continue
            phrase_tokens = tokens[i : i + size]
            value, kind, cue = _quantity(tokens, i)
            negated = _negated(tokens, i) or value == 0
            span_start = cue if cue >= 0 else i
            words = " ".join(tokens[span_start : i + size])
            if negated:
                claim = Claim("absence", words, subject, False, index)
            elif kind == "count":
                claim = Claim("count", words, subject, value, index)
            else:
                claim = Claim("presence", words, subject, True, index)
            key = (claim.kind, subject)
            if key not in seen:
                seen.add(key)
                claims.append(claim)
            if not negated:
                for k in range(max(0, i - 3), i):
                    if tokens[k] in COLOURS and k >= span_start:
                        claims.append(Claim("attribute", f"{tokens[k]} {' '.join(phrase_tokens)}", subject, tokens[k], index, {"attribute": "colour"}))
                where = _position(tokens, i, i + size)
                if where:
                    claims.append(Claim("position", f"{' '.join(phrase_tokens)} … {where}", subject, where, index))
            i += size
    return claims
