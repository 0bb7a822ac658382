"""Strict grading of tool-use answers: word-level, digits exact.

Each answer gets one outcome:

- ``correct``: it answers the question and the answer holds against the reference
  (a question whose honest answer is "I can't tell" is correct when it says so);
- ``declined``: it says plainly that it cannot tell (honest, but no answer);
- ``wrong``: it answers the question asked, wrongly;
- ``off_topic``: it neither answers the question asked nor says it cannot — a count
  for a colour question, a list of objects for "is this indoors?".

References (``answer`` in ``data/tool_questions.json``): ``yes_no``, ``count`` +
``object``, ``text`` (every reference word among the answer's words, digits exact),
``no_text``, ``words_any`` / ``words_all``, ``side``, ``contains`` / ``absent`` (classes),
``decline``, ``needs_image``, ``hedged``, ``per_image`` (one reference per attached
photo, graded on the part of the answer naming "photo N"), ``all`` (compound questions:
every part), ``yes_no_for`` + ``object`` (a part's yes/no read from the object's count).
"""

from __future__ import annotations

import re
from typing import Any

from lensmith.runtime.vocab import COCO_CLASSES, SYNONYMS

OUTCOMES = ("correct", "declined", "wrong", "off_topic")
DECLINE = re.compile(
    r"\b(?:i can(?:'|’)?t|i cannot|i can not) (?:tell|answer|say|read|measure|judge)\b|\bno tool here\b"
    r"|\bnone of my tools\b|\bi cannot see (?:that|it)\b",
    re.I,
)
NEEDS_IMAGE = re.compile(r"\bneed an image\b|\battach (?:one|an image|a photo)\b", re.I)
HEDGES = re.compile(r"\b(?:probably|possibly|perhaps|may|might|likely|maybe|seems?|suggests?|not sure|"
                    r"can(?:'|’)?t tell|cannot tell|unclear|weak(?:ly)?)\b", re.I)
YES = re.compile(r"\byes\b", re.I)
NO = re.compile(r"\bno\b", re.I)
_NUMBERS = {"no": 0, "zero": 0, "none": 0, "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "three": 3, "four": 4,
            "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
COLOUR_WORDS = {"red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "grey",
                "gray", "beige", "cyan", "teal", "navy", "olive", "maroon", "violet", "silver", "gold", "tan"}
_PHOTO = re.compile(r"\b(?:photo|image|picture)\s+(\d+)\b", re.I)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("’", "'"))


def _word_matches(want: str, have: set[str]) -> bool:
    if want in have:
        return True
    if any(ch.isdigit() for ch in want):
        return False  # digits exact
    # a word's inflections ("print" → "printing", "printer") but nothing longer
    return any(h.startswith(want) and len(h) - len(want) <= 3 for h in have if len(want) >= 4)


def object_forms(obj: str) -> set[str]:
    """The ways an answer may name a class: the class, its plural, the vocabulary's synonyms."""
    forms = {obj}
    forms |= {word for word, target in SYNONYMS.items() if target == obj}
    out = set()
    for form in forms:
        out.add(form)
        head, _, last = form.rpartition(" ")
        irregular = {"person": "people", "mouse": "mice", "knife": "knives", "man": "men", "woman": "women",
                     "child": "children", "sheep": "sheep", "skis": "skis"}
        if last in irregular:
            plural = irregular[last]
        elif last.endswith(("s", "x", "ch", "sh")):
            plural = last + "es"
        elif last.endswith("y") and last[-2:-1] not in "aeiou":
            plural = last[:-1] + "ies"
        else:
            plural = last + "s"
        out.add(f"{head} {plural}".strip())
    return out


def count_of(answer: str, obj: str) -> int | None:
    """The first count the answer states for ``obj`` ("4 people", "no dog", "one cat"), or None."""
    forms = sorted(object_forms(obj), key=len, reverse=True)
    names = "|".join(re.escape(f) for f in forms)
    number = r"(\d+|" + "|".join(_NUMBERS) + r")"
    text = answer.lower()
    found = re.search(rf"\b{number}\s+(?:[a-z]+\s+)?(?:{names})\b", text)
    if found:
        token = found.group(1)
        return int(token) if token.isdigit() else _NUMBERS[token]
    if re.search(rf"\b(?:no|zero|none of the)\s+(?:[a-z]+\s+)?(?:{names})\b", text):
        return 0
    return None


def yes_no(answer: str) -> str | None:
    """yes / no as the first sentence states it (hedged forms included), or None."""
    first = re.split(r"(?<=[.!?])\s|\n|:|—| - ", answer.strip(), maxsplit=1)[0]
    if YES.search(first) and not NO.search(first):
        return "yes"
    if NO.search(first) and not YES.search(first):
        return "no"
    return None


def declines(answer: str) -> bool:
    return bool(DECLINE.search(answer))


def grade(answer: str, ref: dict[str, Any]) -> str:
    """One of :data:`OUTCOMES` for ``answer`` against the reference ``ref``."""
    if "per_image" in ref:
        return _per_image(answer, ref["per_image"])
    if "all" in ref:
        outcomes = [grade(answer, part) for part in ref["all"]]
        for worst in ("off_topic", "wrong", "declined"):
            if worst in outcomes:
                return worst
        return "correct"
    ok, addressed = _check(answer, ref)
    if ok:
        return "correct"
    if declines(answer) or (ref.get("needs_image") is None and NEEDS_IMAGE.search(answer)):
        return "declined"
    return "wrong" if addressed else "off_topic"


def _check(answer: str, ref: dict[str, Any]) -> tuple[bool, bool]:
    """(correct?, does it address the question at all?)"""
    have = set(words(answer))
    if ref.get("decline"):
        return declines(answer), declines(answer)
    if ref.get("needs_image"):
        found = bool(NEEDS_IMAGE.search(answer))
        return found, found
    if "yes_no" in ref:
        said = yes_no(answer)
        return said == ref["yes_no"], said is not None
    if "yes_no_for" in ref:
        n = count_of(answer, ref["object"])
        if n is None:
            return False, False
        return (n > 0) == (ref["yes_no_for"] == "yes"), True
    if "count" in ref:
        n = count_of(answer, ref["object"])
        return n == int(ref["count"]), n is not None or bool(re.search(r"\d", answer))
    if "text" in ref:
        ok = all(_word_matches(w, have) for w in words(ref["text"]))
        return ok, ok or '"' in answer or "no readable text" in answer.lower()
    if ref.get("no_text"):
        said_none = bool(re.search(r"\bno (?:readable )?text\b|\bfound no\b.*\btext\b", answer, re.I))
        return said_none, said_none or '"' in answer
    if "side" in ref:
        side = ref["side"]
        other = "right" if side == "left" else "left"
        # "no bicycle was detected" answers "where is the bicycle?" (wrongly, when there is one)
        missing = bool(re.search(r"\bno [a-z ]+ (?:was|were) (?:detected|found)\b", answer, re.I))
        return side in have and other not in have, bool({"left", "right", "middle"} & have) or missing
    ok = True
    addressed = True
    if "hedged" in ref:
        ok = ok and bool(HEDGES.search(answer))
    if "words_all" in ref:
        ok = ok and all(_word_matches(w, have) for w in ref["words_all"])
    if "words_any" in ref:
        ok = ok and any(_word_matches(w, have) for w in ref["words_any"])
        if set(ref["words_any"]) & COLOUR_WORDS:
            addressed = bool(COLOUR_WORDS & have)
    if "contains" in ref or "absent" in ref:
        ok = ok and all((count_of(answer, o) or 0) > 0 for o in ref.get("contains", []))
        ok = ok and all(not count_of(answer, o) for o in ref.get("absent", []))
        addressed = any(count_of(answer, o) is not None for o in COCO_CLASSES) or bool(
            re.search(r"\bnone of\b|\bno objects?\b|\bfound no\b|\bnothing\b", answer, re.I))
    return ok, addressed


def _per_image(answer: str, refs: list[dict[str, Any]]) -> str:
    marks = list(_PHOTO.finditer(answer))
    parts: dict[int, str] = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(answer)
        index = int(mark.group(1))
        parts[index] = parts.get(index, "") + " " + answer[mark.end():end]
    if not parts:
        return "declined" if declines(answer) else "off_topic"
    outcomes = []
    for index, ref in enumerate(refs, start=1):
        part = parts.get(index)
        if part is None:
            outcomes.append("off_topic")
            continue
        part = re.sub(r"^\s*\([^)]*\)\s*[:,]?", "", part)  # the photo's name in brackets
        outcomes.append(grade(part, ref))
    for worst in ("off_topic", "wrong", "declined"):
        if worst in outcomes:
            return worst
    return "correct"
