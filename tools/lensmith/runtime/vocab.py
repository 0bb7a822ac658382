"""The one vocabulary: the user's words → a detector's class names, plurals and numbers.

"people" means ``person``, "sofa" means ``couch``, "mugs" means ``cup``, "a van" means
``car`` (COCO annotates vans as cars). The detector maps the words it is asked for
with :func:`to_class`, the planner reads questions with it, and the grounding checker
reads answers with it, so a word means the same class everywhere. A word that maps to
nothing is reported as not detectable, so that "no printer found" is never confused
with "the detector cannot see printers". (CHAIR's looser synonym list — "desk" as a
dining table — belongs to the CHAIR eval, not here.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)

# Words that name a person and also say something no detector measures (gender, age,
# role): the checker holds "a man" against ``person`` and flags the rest as unverified.
PERSON_WORDS: dict[str, str] = {
    **dict.fromkeys(["man", "men", "boy", "gentleman", "guy", "male", "father", "husband", "policeman"], "gender"),
    **dict.fromkeys(["woman", "women", "girl", "lady", "female", "mother", "wife", "bride"], "gender"),
    **dict.fromkeys(["child", "children", "kid", "kids", "baby", "toddler", "teenager", "adult", "elderly"], "age"),
    **dict.fromkeys(
        ["player", "pedestrian", "astronaut", "worker", "passenger", "driver", "rider", "chef", "officer",
         "soldier", "tourist", "customer", "skier", "surfer", "skateboarder", "cyclist", "biker",
         "footballer", "athlete", "referee", "doctor", "student", "crowd"],
        "role",
    ),
}  # fmt: skip

# Words people use → COCO's names. Plurals are handled by ``singular`` first.
SYNONYMS: dict[str, str] = {
    **dict.fromkeys(
        ["people", "persons", "human", "humans", "person", "someone", "somebody", "spectator",
         *PERSON_WORDS],
        "person",
    ),
    "sofa": "couch", "settee": "couch", "loveseat": "couch",
    "phone": "cell phone", "cellphone": "cell phone", "mobile phone": "cell phone",
    "smartphone": "cell phone", "mobile": "cell phone", "iphone": "cell phone", "telephone": "cell phone",
    "tv": "tv", "television": "tv", "tv monitor": "tv", "tvmonitor": "tv", "monitor": "tv",
    "screen": "tv",
    "motorbike": "motorcycle", "motor bike": "motorcycle", "scooter": "motorcycle", "moped": "motorcycle",
    "bike": "bicycle", "cycle": "bicycle",
    "aeroplane": "airplane", "plane": "airplane", "aircraft": "airplane", "jet": "airplane",
    "airliner": "airplane", "jetliner": "airplane",
    "minibus": "bus", "autobus": "bus", "coach": "bus",
    "lorry": "truck", "pickup": "truck", "pickup truck": "truck", "firetruck": "truck",
    "automobile": "car", "taxi": "car", "cab": "car", "van": "car", "minivan": "car",
    "sedan": "car", "suv": "car", "jeep": "car", "hatchback": "car",
    "ship": "boat", "yacht": "boat", "canoe": "boat", "kayak": "boat", "sailboat": "boat", "ferry": "boat",
    "locomotive": "train", "tram": "train",
    "kitten": "cat", "kitty": "cat", "tabby": "cat", "feline": "cat",
    "puppy": "dog", "doggy": "dog", "doggie": "dog", "pup": "dog", "canine": "dog",
    "pony": "horse", "foal": "horse", "stallion": "horse", "mare": "horse",
    "lamb": "sheep", "ewe": "sheep", "ram": "sheep",
    "cattle": "cow", "bull": "cow", "calf": "cow", "ox": "cow", "oxen": "cow",
    "pigeon": "bird", "seagull": "bird", "gull": "bird", "duck": "bird", "goose": "bird",
    "parrot": "bird", "sparrow": "bird", "owl": "bird", "swan": "bird", "crow": "bird",
    "teddy": "teddy bear", "teddybear": "teddy bear",
    "table": "dining table", "dinner table": "dining table", "kitchen table": "dining table",
    "plant": "potted plant", "houseplant": "potted plant", "pot plant": "potted plant",
    "fridge": "refrigerator", "wineglass": "wine glass", "mug": "cup", "coffee cup": "cup",
    "tea cup": "cup", "teacup": "cup", "espresso cup": "cup",
    "ball": "sports ball", "football": "sports ball",
    "soccer ball": "sports ball", "basketball": "sports ball", "tennis ball": "sports ball",
    "hairdryer": "hair drier", "hair dryer": "hair drier", "blow dryer": "hair drier",
    "doughnut": "donut", "hotdog": "hot dog", "laptop computer": "laptop",
    "remote control": "remote", "bag": "handbag", "purse": "handbag", "rucksack": "backpack",
    "knapsack": "backpack", "luggage": "suitcase", "racket": "tennis racket", "racquet": "tennis racket",
    "baseball mitt": "baseball glove", "mitt": "baseball glove",
    "stoplight": "traffic light", "traffic signal": "traffic light", "hydrant": "fire hydrant",
    "ski": "skis", "armchair": "chair", "necktie": "tie",
    "loo": "toilet", "basin": "sink", "microwave oven": "microwave",
    "stove": "oven", "flower vase": "vase", "burger": "sandwich", "hamburger": "sandwich",
}  # fmt: skip

_IRREGULAR = {
    "people": "person", "persons": "person", "men": "man", "women": "woman", "children": "child",
    "mice": "mouse", "geese": "goose", "oxen": "ox", "feet": "foot", "teeth": "tooth",
    "knives": "knife", "calves": "calf", "wolves": "wolf", "shelves": "shelf", "leaves": "leaf",
    "halves": "half", "buses": "bus", "busses": "bus", "ladies": "lady", "policemen": "policeman",
    "gentlemen": "gentleman", "servicemen": "serviceman", "sheep": "sheep", "cattle": "cattle",
    "skis": "skis", "scissors": "scissors", "series": "series", "species": "species",
    "grandchildren": "grandchild", "tomatoes": "tomato", "potatoes": "potato",
}  # fmt: skip
_KEEP_ENDINGS = ("ss", "us", "is", "ous", "'s")

_IRREGULAR_PLURALS = {
    "person": "people", "man": "men", "woman": "women", "child": "children", "mouse": "mice",
    "knife": "knives", "sheep": "sheep", "skis": "skis", "scissors": "scissors", "goose": "geese",
    "bus": "buses", "calf": "calves", "foot": "feet", "tooth": "teeth",
}  # fmt: skip

NUMBER_WORDS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
}  # fmt: skip
ORDINALS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5, "6th": 6, "7th": 7, "8th": 8,
}  # fmt: skip

_ARTICLES = re.compile(r"^(?:the|a|an|any|some|all|every|each|my|your|this|that|these|those)\s+")


_NOT_WORD = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=8192)  # pure, and called on every span of every exemplar as the router starts
def normalise(word: str) -> str:
    text = _NOT_WORD.sub(" ", word.lower().replace("-", " ").replace("_", " "))
    text = _SPACES.sub(" ", text).strip()
    while True:
        stripped = _ARTICLES.sub("", text)
        if stripped == text:
            return text
        text = stripped


def singularize(word: str) -> str:
    """Singular of one English noun ("benches" → "bench"), enough for COCO nouns."""
    w = word.lower()
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if len(w) <= 3 or w.endswith(_KEEP_ENDINGS) or not w.endswith("s"):
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "ches", "shes", "xes", "zzes")):
        return w[:-2]
    return w[:-1]


def singular(phrase: str) -> str:
    """Singular of a noun phrase: its last word ("red cars" → "red car")."""
    head, _, last = phrase.rpartition(" ")
    return f"{head} {singularize(last)}".strip()


def plural(noun: str, count: int = 2) -> str:
    """``noun`` as ``count`` of them are called ("person", 4 → "people")."""
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


def number_value(word: str) -> int | None:
    """The number a word or numeral names ("4", "four", "twenty-one", "dozen"), or None."""
    w = word.lower().strip()
    if w.isdigit() and len(w) <= 6:
        return int(w)
    if w in NUMBER_WORDS:
        return NUMBER_WORDS[w]
    tens, _, unit = w.partition("-")
    if unit and NUMBER_WORDS.get(tens, 0) in (20, 30, 40, 50, 60, 70, 80, 90) and NUMBER_WORDS.get(unit, 10) < 10:
        return NUMBER_WORDS[tens] + NUMBER_WORDS[unit]
    return None


def to_class(word: str, vocabulary: Sequence[str] = COCO_CLASSES) -> str | None:
    """The vocabulary's class for a user's word, or None when it has no such class."""
    lowered = _lowered(tuple(vocabulary))
    text = normalise(word)
    for form in (text, singular(text)):
        if form in lowered:
            return lowered[form]
        target = SYNONYMS.get(form)
        if target is not None and target in lowered:
            return lowered[target]
    return None


@lru_cache(maxsize=16)
def _lowered(vocabulary: tuple[str, ...]) -> dict[str, str]:
    # the planner's router asks this thousands of times while it starts
    return {v.lower(): v for v in vocabulary}


def map_classes(
    words: Iterable[str], vocabulary: Sequence[str] = COCO_CLASSES
) -> tuple[dict[str, str], list[str]]:
    """``({word: class}, [words not in the vocabulary])``, keeping the caller's order."""
    found: dict[str, str] = {}
    missing: list[str] = []
    for word in words:
        target = to_class(word, vocabulary)
        if target is None:
            cleaned = normalise(word) or word.strip()
            if cleaned and cleaned not in missing:
                missing.append(cleaned)
        else:
            found[word] = target
    return found, missing
