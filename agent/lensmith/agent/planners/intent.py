"""Reading a question for the heuristic planner: what is asked, and about what.

What is asked comes from a sentence encoder, not keywords: the question (each part of a
compound one), with the object names in it replaced by "thing", is embedded with the
packaged MiniLM model and compared with exemplar questions per intent
(``data/intents.json``, which a contributor extends). The nearest intent wins when it
is similar enough and clearly ahead of the next one; otherwise the question is
``unknown`` and the planner says it cannot tell what is asked — never a wrong tool.
What it is about comes from the one vocabulary (:mod:`lensmith.runtime.vocab`:
synonyms, plurals, "and"-joined lists).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from lensmith.runtime.vocab import COCO_CLASSES, PERSON_WORDS, normalise, plural, singular, to_class

log = logging.getLogger("lensmith.agent")

DATA = Path(__file__).parent / "data" / "intents.json"
DETECT_FAMILY = frozenset({"count", "presence", "compare", "list", "locate"})
# close calls inside one family are fine: the same tools answer, worded for the nearer intent
FAMILIES = (DETECT_FAMILY, frozenset({"read", "availability"}),
            frozenset({"action", "relation", "scene", "emotion", "identity", "attribute", "clock_time", "value"}))
_COLOURS = ("red", "green", "blue", "yellow", "black", "white", "orange", "purple", "pink", "grey", "gray", "brown")

# phrases after which an object name follows
_CUES = re.compile(
    r"\b(?:how many|number of|count(?: the)?|is there(?: an?| any)?|are there(?: any)?|any|"
    r"find(?: the| an?| all)?|where(?:'s| is| are)(?: the| an?)?|locate(?: the)?|"
    r"detect(?: the| an?| all)?|see(?: an?| any| the)?|spot(?: the| an?)?|show(?: an?| any| the)?|"
    r"colou?rs? (?:is|are|of)(?: the| an?)?|"
    r"(?:remove|erase|delete|cut out|outline|segment|isolate|replace|mask|extract)(?: the| an?| all)?)\s+"
    r"([a-z][a-z -]{1,40}?)(?=\s+(?:are|is|in|on|at|of|and|or|with|from|there|here|visible|"
    r"present|please|to|by|near|inside|that|which|do|does|can|could|you|i|than|as)\b|[?.,!;]|$)",
)
_STOP = {"there", "it", "them", "this", "that", "image", "picture", "photo", "anything", "something",
         "one", "ones", "thing", "things", "objects", "object", "text", "sign", "everything", "of them",
         "and", "or", "the", "a", "an", "any", "some", "here", "me", "you", "in", "on", "what", "which",
         "these", "those", "photos", "pictures", "images", "each", "both", "all", "they", "he", "she",
         "his", "her", "their", "its", "more", "fewer", "many", "much", "colour", "color", "colours",
         "colors", "words", "writing", "background", "front", "side", "left", "right", "top", "bottom"}
# words that ask about a person without naming one ("is anybody there?")
_ANYONE = {"anyone", "anybody", "everyone", "everybody", "someone", "somebody", "nobody", "no one"}
_LEADING_STOP = {"in", "on", "at", "of", "to", "from", "with", "for", "by", "near", "this", "that", "there", "here",
                 "what", "which", "who", "how", "it", "is", "are", "be", "can", "you", "i", "me", "my", "your"}
_CONNECTOR = r"(?:how|what|which|where|who|whose|why|when|is|are|was|were|does|do|did|can|could|will|would|read|count|tell|and)"


@dataclass
class Ask:
    """One question, or one part of a compound question."""

    text: str
    kind: str = "unknown"  # an intent of data/intents.json, or "unknown"
    objects: list[str] = field(default_factory=list)  # vocabulary classes, in order of mention
    unknown: list[str] = field(default_factory=list)  # named things outside the vocabulary
    category: str | None = None  # "vehicles" → the classes in ``categories``
    category_classes: list[str] = field(default_factory=list)
    replacement: str | None = None  # "replace the X with Y" → Y
    colour: str | None = None  # "make the X red" / "is the X red?" → red
    fact: str | None = None  # "remember that ..." → ...
    spatial: bool = False
    vertical: bool = False
    yes_no: bool = False  # starts like a yes/no question
    activity: dict[str, Any] | None = None  # availability: the activity entry
    # a class named by a word that says more than the class ("children" → person, but age)
    qualified: dict[str, tuple[str, str]] = field(default_factory=dict)
    unmeasurable: dict[str, Any] | None = None  # {"what": ..., "needs": ...}
    score: float = 0.0
    runner_up: tuple[str, float] = ("", 0.0)

    @property
    def targets(self) -> list[str]:
        return self.objects + self.unknown

    @property
    def detect_classes(self) -> list[str] | None:
        """What detect should look for: None for everything it knows."""
        wanted = self.targets + [c for c in self.category_classes if c not in self.objects]
        return wanted or None


@dataclass
class Intent:
    question: str
    parts: list[Ask]

    @property
    def kinds(self) -> list[str]:
        return [p.kind for p in self.parts]

    @property
    def objects(self) -> list[str]:
        return _unique(o for p in self.parts for o in p.objects)


# ---- the data and the encoder ---------------------------------------------------------
@lru_cache(maxsize=4)
def load_data(path: str = str(DATA)) -> dict[str, Any]:
    data = json.loads(Path(path).read_text())
    for name, entry in data["intents"].items():
        if not entry.get("exemplars"):
            raise ValueError(f"{path}: intent {name!r} has no exemplars; add a few example questions")
    return data


def encode(texts: list[str]) -> np.ndarray:
    """L2-normalised MiniLM sentence embeddings (the model memory uses; loaded once, lazily,
    without importing Chroma)."""
    from lensmith.memory.minilm import embed_texts

    return embed_texts(list(texts))


class Router:
    """Nearest exemplars with a margin."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.min_similarity = float(data.get("min_similarity", 0.5))
        self.margin = float(data.get("margin", 0.03))
        self.labels: list[str] = []
        texts: list[str] = []
        owner: dict[str, str] = {}
        for name, entry in data["intents"].items():
            for example in entry["exemplars"]:
                masked = mask_objects(example)[0]
                if owner.setdefault(masked, name) != name:
                    log.warning("intent exemplar %r (%s) reads the same as one of %s once objects are masked; "
                                "ignoring it", example, name, owner[masked])
                    continue
                self.labels.append(name)
                texts.append(masked)
        self.matrix = _cached_embeddings(texts)
        acts = data.get("availability", [])
        self.activity_labels = [i for i, a in enumerate(acts) for _ in a["exemplars"]]
        self.activity_matrix = _cached_embeddings([e for a in acts for e in a["exemplars"]]) if acts else None

    def rank(self, text: str) -> list[tuple[str, float]]:
        """Intents by their nearest exemplar's cosine similarity to ``text``, best first."""
        masked, _ = mask_objects(text)
        vec = encode([masked])[0]
        sims = self.matrix @ vec
        best: dict[str, float] = {}
        for label, sim in zip(self.labels, sims.tolist(), strict=True):
            best[label] = max(best.get(label, -1.0), sim)
        return sorted(best.items(), key=lambda kv: -kv[1])

    def activity(self, text: str) -> tuple[dict[str, Any] | None, float]:
        if self.activity_matrix is None:
            return None, 0.0
        sims = self.activity_matrix @ encode([text])[0]
        i = int(np.argmax(sims))
        entry = self.data["availability"][self.activity_labels[i]]
        return (entry if sims[i] >= self.min_similarity else None), float(sims[i])


_router: Router | None = None
_router_lock = threading.Lock()


def router() -> Router:
    global _router
    with _router_lock:
        if _router is None:
            _router = Router(load_data())
        return _router


def _cached_embeddings(texts: list[str]) -> np.ndarray:
    """Exemplar embeddings, kept under $LENSMITH_HOME/cache keyed by their text and the model,
    so a cold start encodes only the question."""
    from lensmith.memory.minilm import encoder_fingerprint
    from lensmith.runtime.paths import cache_dir

    key = hashlib.sha256(("\n".join(texts) + "|" + encoder_fingerprint()).encode()).hexdigest()[:16]
    path = cache_dir() / f"intent-exemplars-{key}.npy"
    if path.exists():
        try:
            cached = np.load(path)
            if cached.shape[0] == len(texts):
                return cached
        except (OSError, ValueError):
            log.info("re-encoding the intent exemplars: %s is unreadable", path)
    vectors = encode(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, vectors)
        tmp.replace(path)
    except OSError:
        pass  # a cache, not a requirement
    return vectors


# ---- reading a question ---------------------------------------------------------------
def read_intent(question: str, vocabulary: tuple[str, ...] = COCO_CLASSES) -> Intent:
    text = question.strip()[:2000]
    parts = [_read_part(p, vocabulary) for p in split_question(text)] or [Ask(text=text)]
    # "is there a cup? and a spoon?" / "is there a cat, and what colour is it?": a fragment
    # takes the previous part's intent, a pronoun its objects
    for i, (prev, part) in enumerate(zip(parts, parts[1:], strict=False), start=1):
        if part.targets and prev.kind != "unknown" and _is_fragment(part.text):
            part.kind, part.yes_no, part.unmeasurable = prev.kind, prev.yes_no, prev.unmeasurable
        if not part.targets and _PRONOUN.search(part.text) and prev.targets:
            # also read as the question it stands for ("what is in them" after "how many cups …"
            # as "what is in the cups"), and routed as whichever reading the router tells
            # apart more clearly: a bare "them" can match no exemplar well, while "are the
            # people indoors" reads more like a count than "are they indoors" does
            resolved = _read_part(_PRONOUN.sub(partial(_antecedent, name=prev.targets[0]), part.text),
                                  vocabulary)
            if _margin(resolved) > _margin(part):
                resolved.text = part.text
                parts[i] = part = resolved
        if not part.targets and _PRONOUN.search(part.text):
            part.objects, part.unknown = list(prev.objects), list(prev.unknown)
    return Intent(question=text, parts=parts)


def _margin(ask: Ask) -> float:
    """How clearly the router told this part's intent from the next nearest."""
    return ask.score - ask.runner_up[1] if ask.kind != "unknown" else 0.0


_PRONOUN = re.compile(r"\b(?:it|they|them|its|their)\b", re.I)


def _antecedent(pronoun: re.Match[str], name: str) -> str:
    """What ``pronoun`` stands for when it refers to ``name`` ("them", "cup" → "the cups";
    a possessive as a plain noun, "its handle" → "the cup handle", which routes the same)."""
    return f"the {plural(name) if pronoun.group(0).lower() in ('they', 'them', 'their') else name}"


def split_question(text: str) -> list[str]:
    """Parts of a compound question: split at question marks, semicolons, and at "and"/commas
    that start a new question ("… and what vehicles?"), never inside a list ("cats and dogs")."""
    pieces = re.split(r"(?<=[?;])\s+", text)
    parts: list[str] = []
    for piece in pieces:
        sub = re.split(rf"(?:,\s*and\s+|\s+and\s+|,\s*)(?={_CONNECTOR}\b(?!\s+(?:a|an|the)\b\s*[?.!]?$))", piece,
                       flags=re.I)
        parts.extend(s.strip(" ?;,") for s in sub if s and s.strip(" ?;,"))
    return parts or [text]


def _is_fragment(text: str) -> bool:
    return not re.match(rf"(?:and\s+)?(?!and\b){_CONNECTOR}\b", text.strip(), re.I)


def _read_part(text: str, vocabulary: tuple[str, ...]) -> Ask:
    lowered = text.lower()
    ask = Ask(text=text)
    ask.spatial = bool(re.search(r"\b(?:where|left|right|top|bottom|which side|position|located|above|below)\b", lowered))
    ask.vertical = bool(re.search(r"\b(?:top|bottom|above|below|upper|lower)\b", lowered))
    ask.yes_no = bool(re.match(r"\s*(?:and\s+)?(?:is|are|was|were|does|do|did|can|could|has|have|any)\b", lowered))
    replace = re.search(r"\b(?:replace|swap) (?:the |a |an )?(.+?) (?:with|for) (?:a |an |the )?(.+?)(?:[?.!]|$)", lowered)
    if replace:
        ask.replacement = replace.group(2).strip()
    colour = re.search(r"\b(" + "|".join(_COLOURS) + r")\b", lowered)
    if colour:
        ask.colour = colour.group(1)
    fact = re.match(r"\s*(?:please\s+)?(?:remember|note|keep in mind|save the fact)(?:\s+that)?\s*[:,]?\s*(.+)", text, re.I)
    if fact:
        ask.fact = fact.group(1).rstrip(".!") or None
    _find_objects(lowered, ask, vocabulary)
    _find_category(lowered, ask)
    try:
        ranked = router().rank(text)
    except Exception as exc:  # noqa: BLE001 - no encoder: say so rather than guess
        log.warning("intent router unavailable: %s", exc)
        ask.kind = "no_router"
        return ask
    (best, score), runner = ranked[0], (ranked[1] if len(ranked) > 1 else ("", 0.0))
    ask.score, ask.runner_up = round(score, 4), (runner[0], round(runner[1], 4))
    data = router().data
    close = score - runner[1] < router().margin and not any({best, runner[0]} <= f for f in FAMILIES)
    unmeasurable = {n for n, e in data["intents"].items() if e.get("unmeasurable") and n != "off_domain"}
    listing = dict(ranked).get("list", 0.0)
    if ask.category and best not in unmeasurable and score - listing < router().margin:
        # "what tableware do you see?": a category of things asked for, with a listing as near
        # as the best reading, is a listing (answered by the detector), not a coin flip
        # between a presence and a relation question
        best, close = "list", False
    if close and best in DETECT_FAMILY | unmeasurable and runner[0] in DETECT_FAMILY | unmeasurable:
        # "how many people are standing near the rocket?": say what cannot be told, give the counts
        best = best if best in unmeasurable else runner[0]
        close = False
    if score < router().min_similarity or close:
        ask.kind = "unknown"
        return ask
    if best in DETECT_FAMILY | {"colour"} and re.match(r"\s*(?:and\s+)?where\b", lowered):
        best = "locate"  # "where …" asks for a place, whichever detect intent reads nearest
    ask.kind = best
    entry = data["intents"][best]
    if entry.get("unmeasurable"):
        ask.unmeasurable = {"what": entry.get("what", best), "needs": entry.get("needs", "another tool")}
    if best == "availability":
        ask.activity, _ = router().activity(text)
    if best == "remember" and not ask.fact:
        ask.kind = "unknown"
    return ask


def mask_objects(text: str, vocabulary: tuple[str, ...] = COCO_CLASSES) -> tuple[str, list[str]]:
    """The text with object names replaced by "thing" (what is asked matters, not about what):
    the vocabulary's classes, and the things named after cue phrases ("is there a printer")."""
    cued = Ask(text=text)
    _find_objects(text.lower(), cued, vocabulary)
    extra = set(cued.unknown) | {normalise(u) for u in cued.unknown}
    extra |= {w + "s" for w in extra}
    categories = set(load_data().get("categories", {}))
    tokens = re.findall(r"[a-z0-9']+|[^a-z0-9'\s]", text.lower())
    out: list[str] = []
    found: list[str] = []
    i = 0
    while i < len(tokens):
        for size in (3, 2, 1):
            span = " ".join(tokens[i : i + size])
            if (i + size <= len(tokens) and span not in _STOP and re.fullmatch(r"[a-z ]+", span)
                    and normalise(span) == span and (to_class(span, vocabulary) or span in extra
                                                     or singular(span) in categories)):
                out.append("things" if singular(span) != span else "thing")
                found.append(span)
                i += size
                break
        else:
            out.append(tokens[i])
            i += 1
    return re.sub(r"\s+([?.,!;])", r"\1", " ".join(out)), found


def _find_category(lowered: str, ask: Ask) -> None:
    categories: dict[str, list[str]] = load_data().get("categories", {})
    for word in re.findall(r"[a-z]+", lowered):
        name = singular(word)
        if name in categories and word not in ("food",) or word == "food" and "food" in categories:
            ask.category = word
            ask.category_classes = [c for c in categories[name if name in categories else word] if c not in ask.objects]
            return


def _find_objects(lowered: str, ask: Ask, vocabulary: tuple[str, ...]) -> None:
    seen: set[str] = set()
    categories = set(load_data().get("categories", {}))

    def add(phrase: str, *, strict: bool) -> None:
        phrase = re.sub(r"^(?:(?:his|her|their|its|our|these|those)\s+)+", "", normalise(phrase))
        if phrase in _ANYONE:
            phrase = "person"
        if not phrase or phrase in _STOP or phrase.split()[0] in _LEADING_STOP:
            return
        target = to_class(phrase, vocabulary)
        if target is not None:
            word = phrase.split()[-1]
            if word in PERSON_WORDS and target == "person":
                ask.qualified.setdefault(target, (word, PERSON_WORDS[word]))
            if target not in seen:
                seen.add(target)
                ask.objects.append(target)
        elif not strict:
            name = singular(phrase)
            last = name.split()[-1]
            if (name not in ask.unknown and name not in _STOP and last not in _STOP and len(name) > 2
                    and singular(last) not in categories and last not in _COLOURS):
                ask.unknown.append(name)

    for match in _CUES.finditer(lowered):
        phrase = match.group(1)
        if ask.replacement and phrase.endswith(ask.replacement):
            phrase = phrase[: -len(ask.replacement)].strip()
        words = phrase.split()
        # the longest span that names a class ("dining table", "the red car" → car)
        spans = [" ".join(words[i : i + n]) for n in range(len(words), 0, -1) for i in range(len(words) - n + 1)]
        named = next((span for span in spans if to_class(span, vocabulary)), None)
        add(named or phrase, strict=named is not None)
    # classes mentioned anywhere ("is the cat on the sofa?")
    tokens = re.findall(r"[a-z]+", lowered)
    covered: list[tuple[int, int]] = []
    mentioned: list[tuple[int, str]] = []
    for size in (3, 2, 1):
        for i in range(len(tokens) - size + 1):
            phrase = normalise(" ".join(tokens[i : i + size]))
            if phrase in _STOP or (ask.replacement and phrase in ask.replacement):
                continue
            if (to_class(phrase, vocabulary) or phrase in _ANYONE) and not any(j <= i < j + n for j, n in covered):
                mentioned.append((i, phrase))
                covered.append((i, size))
    for _i, phrase in sorted(mentioned):
        add(phrase, strict=True)


def _unique(items: Any) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out
