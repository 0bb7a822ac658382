"""Reading a question for the heuristic planner: what the user wants done, and to what.

Rules, not a model: keywords pick the intents, cue phrases ("how many X", "is there a
X") and the detector's vocabulary pick the objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lensmith.runtime.vocab import COCO_CLASSES, normalise, singular, to_class

_INTENTS: dict[str, tuple[str, ...]] = {
    "edit": (r"\bremove\b", r"\berase\b", r"\bdelete\b", r"\bget rid of\b", r"\breplace\b",
             r"\bmake (?:the |it |them )?\w+ (?:red|green|blue|yellow|black|white|orange|purple|pink)\b",
             r"\bpaint\b", r"\brecolou?r\b", r"\binpaint\b"),
    "segment": (r"\bcut (?:out|it out)\b", r"\boutline\b", r"\bsegment", r"\bmask\b", r"\bisolate\b",
                r"\bsilhouette\b", r"\bhow much of the (?:image|picture|photo)\b", r"\barea\b"),
    "read": (r"\bread\b", r"\btext\b", r"\bsays?\b", r"\bsaying\b", r"\bwritten\b", r"\bwords?\b",
             r"\bsign\b", r"\bocr\b", r"\blabel says\b", r"\btitle\b", r"\bcaption\b", r"\bletters?\b",
             r"\bspell", r"\bnumber on\b", r"\breceipt\b", r"\btotal\b"),
    "retrieve": (r"\bsimilar\b", r"\bfind (?:my |all |the )?(?:photos?|pictures?|images?)\b",
                 r"\b(?:photos?|pictures?|images?) (?:with|of|that|showing|containing)\b",
                 r"\bmy (?:photos?|pictures?|images?)\b", r"\blike this one\b"),
    "remember": (r"^\s*remember\b", r"\bplease remember\b", r"\bnote that\b", r"\bkeep in mind\b"),
    "recall": (r"\bwhat did i\b", r"\bdo you remember\b", r"\bwhat is my\b", r"\bwhat's my\b",
               r"\blast (?:week|time)\b", r"\bearlier\b", r"\bi told you\b", r"\bwho is my\b"),
}

# phrases after which an object name follows
_CUES = re.compile(
    r"\b(?:how many|number of|count(?: the)?|is there(?: an?| any)?|are there(?: any)?|any|"
    r"find(?: the| an?| all)?|where(?:'s| is| are)(?: the| an?)?|locate(?: the)?|"
    r"detect(?: the| an?| all)?|see(?: an?| any| the)?|spot(?: the| an?)?|"
    r"(?:remove|erase|delete|cut out|outline|segment|isolate|replace|mask)(?: the| an?| all)?)\s+"
    r"([a-z][a-z -]{1,40}?)(?=\s+(?:are|is|in|on|at|of|and|or|with|from|there|here|visible|"
    r"present|please|to|by|near|inside|that|which|do|does|can|could|you|i)\b|[?.,!;]|$)",
)
_STOP = {"there", "it", "them", "this", "that", "image", "picture", "photo", "anything", "something",
         "one", "ones", "thing", "things", "objects", "object", "text", "sign", "everything", "of them",
         "and", "or", "the", "a", "an", "any", "some", "here", "me", "you", "in", "on", "what", "which"}
_COLOURS = ("red", "green", "blue", "yellow", "black", "white", "orange", "purple", "pink", "grey", "gray", "brown")


@dataclass
class Intent:
    question: str
    wants: set[str] = field(default_factory=set)
    objects: list[str] = field(default_factory=list)  # vocabulary classes, in order of mention
    unknown: list[str] = field(default_factory=list)  # named things outside the vocabulary
    replacement: str | None = None  # "replace the X with Y" → Y
    colour: str | None = None  # "make the X red" → red
    fact: str | None = None  # "remember that ..." → ...
    spatial: bool = False  # "where is …", "left or right?"
    vertical: bool = False  # "top or bottom?"

    @property
    def targets(self) -> list[str]:
        return self.objects + self.unknown


def read_intent(question: str, vocabulary: tuple[str, ...] = COCO_CLASSES) -> Intent:
    text = question.strip()
    lowered = text.lower()
    intent = Intent(question=text)
    intent.spatial = bool(re.search(r"\b(?:where|left|right|top|bottom|which side|position|located|above|below)\b", lowered))
    intent.vertical = bool(re.search(r"\b(?:top|bottom|above|below|upper|lower)\b", lowered))
    for name, patterns in _INTENTS.items():
        if any(re.search(p, lowered) for p in patterns):
            intent.wants.add(name)
    if "remember" in intent.wants:
        fact = re.sub(r"^\s*(?:please\s+)?(?:remember|note|keep in mind)(?:\s+that)?\s*[:,]?\s*", "", text, flags=re.I)
        intent.fact = fact.rstrip(".!") or None
        return intent
    replace = re.search(r"\breplace (?:the |a |an )?(.+?) with (?:a |an |the )?(.+?)(?:[?.!]|$)", lowered)
    if replace:
        intent.replacement = replace.group(2).strip()
    colour = re.search(r"\b(?:make|paint|recolou?r|turn)\b.*?\b(" + "|".join(_COLOURS) + r")\b", lowered)
    if colour:
        intent.colour = colour.group(1)
    _find_objects(lowered, intent, vocabulary)
    if intent.wants & {"edit", "segment"} and not intent.targets:
        intent.wants -= {"edit", "segment"}
        intent.wants.add("count")
    if not intent.wants - {"recall"} or intent.objects or intent.unknown:
        if not intent.wants & {"edit", "segment", "retrieve"}:
            intent.wants.add("count")
    return intent


def _find_objects(lowered: str, intent: Intent, vocabulary: tuple[str, ...]) -> None:
    seen: set[str] = set()

    def add(phrase: str, *, strict: bool) -> None:
        phrase = normalise(phrase)
        if not phrase or phrase in _STOP:
            return
        target = to_class(phrase, vocabulary)
        if target is not None:
            if target not in seen:
                seen.add(target)
                intent.objects.append(target)
        elif not strict:
            name = singular(phrase)
            if name not in intent.unknown and name not in _STOP and len(name) > 2:
                intent.unknown.append(name)

    for match in _CUES.finditer(lowered):
        phrase = match.group(1)
        if intent.replacement and phrase.endswith(intent.replacement):
            phrase = phrase[: -len(intent.replacement)].strip()
        words = phrase.split()
        # the longest span that names a class ("dining table", "the red car" → car)
        spans = [" ".join(words[i : i + n]) for n in range(len(words), 0, -1) for i in range(len(words) - n + 1)]
        named = next((span for span in spans if to_class(span, vocabulary)), None)
        add(named or phrase, strict=named is not None)
    # classes mentioned anywhere ("is the cat on the sofa?")
    tokens = re.findall(r"[a-z]+", lowered)
    for size in (3, 2, 1):
        for i in range(len(tokens) - size + 1):
            phrase = normalise(" ".join(tokens[i : i + size]))
            if phrase in _STOP:
                continue
            if intent.replacement and phrase in intent.replacement:
                continue
            if to_class(phrase, vocabulary):
                add(phrase, strict=True)
