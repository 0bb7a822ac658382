"""Count claims: the quantity in front of a noun ("at least two", "a dozen", "3-4",
"no more than four") and whether an observed count satisfies it."""

from __future__ import annotations

from lensmith.agent.lexicon import ADJECTIVES, COLOURS, FILLERS
from lensmith.runtime.vocab import number_value


def comparative(words: list[str], j: int, n: int) -> object:
    """The count claim of number ``n`` at ``words[j]``, read with the words before it."""
    before = words[max(0, j - 3) : j]
    last2 = tuple(before[-2:])
    prev = before[-1] if before else ""
    neg = len(before) >= 3 and before[-3] in ("no", "not")
    if last2 == ("at", "least"):
        return f">={n}"
    if last2 == ("at", "most") or last2 == ("up", "to"):
        return f"<={n}"
    if last2 == ("more", "than"):
        return f"<={n}" if neg else f">{n}"
    if last2 in (("fewer", "than"), ("less", "than")):
        return f">={n}" if neg else f"<{n}"
    if prev == "over":
        return f">{n}"
    if prev == "under":
        return f"<{n}"
    if prev in ("about", "around", "approximately", "roughly", "nearly", "almost", "some", "circa"):
        return f"~{n}"
    return n


def quantity(words: list[str], start: int) -> tuple[object, str | None, int]:
    """Look left of an object word for a number, quantifier, article or negation.

    Returns (expected, kind, index of the cue's first word); kind is "count",
    "presence", "absence" or None.
    """
    j = start - 1
    skipped = 0
    while j >= 0 and skipped <= 4:
        word = words[j]
        n = number_value(word)
        if word == "dozen" or word == "dozens":
            first = j - 1 if j > 0 and words[j - 1] in ("a", "half") else j
            if word == "dozens":
                return ">=24", "count", j
            if j > 0 and words[j - 1] == "half":
                return "~6", "count", first - (1 if first > 0 and words[first - 1] == "a" else 0)
            return "~12", "count", first
        if word in ("hundreds", "thousands"):
            return ">=100", "count", j
        if n is not None and word not in ("one",) or (word == "one" and not (j + 1 < len(words) and words[j + 1] == "of")):
            if n is None:
                n = 1
            expected = comparative(words, j, n)
            first = j
            low = number_value(words[j - 1]) if j > 0 else None
            if low is None and j > 1 and words[j - 1] in ("to", "or"):
                low = number_value(words[j - 2])
            if low is not None and low < n:
                # "3-4 people", "three or four people": a range
                return f"{low}..{n}", "count", j - (1 if number_value(words[j - 1]) is not None else 2)
            lead = words[max(0, j - 3) : j]
            if expected != n:
                first = j - (3 if len(lead) == 3 and lead[0] in ("no", "not") and lead[1:] in (["more", "than"], ["fewer", "than"], ["less", "than"]) else
                             2 if tuple(lead[-2:]) in (("at", "least"), ("at", "most"), ("up", "to"), ("more", "than"), ("fewer", "than"), ("less", "than")) else 1)
            elif j > 0 and words[j - 1] in ("exactly", "only", "just"):
                first = j - 1
            if n == 0 and expected == 0:
                return False, "absence", j
            return expected, "count", max(0, first)
        if word in ("no", "zero") or word == "none":
            return False, "absence", j
        if word == "both":
            return 2, "count", j
        if word in ("several",):
            return ">=3", "count", j
        if word in ("many", "numerous", "plenty"):
            return ">=4", "count", j
        if word in ("multiple", "various"):
            return ">=2", "count", j
        if word == "few" and j > 0 and words[j - 1] == "a":
            return "2..5", "count", j - 1
        if word == "couple" and j > 0 and words[j - 1] == "a":
            return "2..3", "count", j - 1
        if word == "pair" and j > 0 and words[j - 1] == "a":
            return 2, "count", j - 1
        if word == "lot" and j > 0 and words[j - 1] == "a":
            return ">=4", "count", j - 1
        if word == "lots":
            return ">=4", "count", j
        if word in ("single", "lone") and j > 0 and words[j - 1] in ("a", "one"):
            return 1, "count", j - 1
        if word in ("a", "an", "another", "some", "any", "every", "each", "all", "most"):
            return True, "presence", j
        if word in ("the", "this", "that", "these", "those"):
            return None, None, j
        if word in FILLERS or word in COLOURS or word in ADJECTIVES:
            j -= 1
            skipped += 1
            continue
        break
    return None, None, -1


def count_matches(expected: object, observed: int) -> bool:
    """Does a count claim (3, ">=2", "<=4", "~12", "2..5") hold for ``observed``?"""
    if isinstance(expected, bool):
        return (observed >= 1) == expected
    if isinstance(expected, int):
        return observed == expected
    text = str(expected)
    if ".." in text:
        low, high = (int(x) for x in text.split(".."))
        return low <= observed <= high
    for op, test in ((">=", lambda a, b: a >= b), ("<=", lambda a, b: a <= b), (">", lambda a, b: a > b), ("<", lambda a, b: a < b)):
        if text.startswith(op):
            return bool(test(observed, int(text[len(op):])))
    if text.startswith("~"):
        n = int(text[1:])
        return abs(observed - n) <= max(1, round(n * 0.2))
    return False


def lower_bound(expected: object) -> int:
    """The fewest objects a count claim needs (for claims about a subset, "two men")."""
    if isinstance(expected, bool):
        return 1 if expected else 0
    if isinstance(expected, int):
        return expected
    text = str(expected)
    if ".." in text:
        return int(text.split("..")[0])
    if text.startswith(">="):
        return int(text[2:])
    if text.startswith(">"):
        return int(text[1:]) + 1
    if text.startswith("~"):
        n = int(text[1:])
        return n - max(1, round(n * 0.2))
    return 0
