"""The user's words → a detector's class names.

"people" means ``person``, "sofa" means ``couch``, "phones" means ``cell phone``. A word
that maps to nothing in the vocabulary is reported as not detectable, so that "no printer
found" is never confused with "the detector cannot see printers".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

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

# Words people use → COCO's names. Plurals are handled by ``singular`` first.
SYNONYMS: dict[str, str] = {
    **dict.fromkeys(
        ["people", "persons", "human", "humans", "man", "men", "woman", "women", "child",
         "children", "kid", "kids", "boy", "girl", "pedestrian", "player", "person", "guy",
         "lady", "baby", "astronaut", "adult", "someone", "somebody"],
        "person",
    ),
    "sofa": "couch", "settee": "couch",
    "phone": "cell phone", "cellphone": "cell phone", "mobile phone": "cell phone",
    "smartphone": "cell phone", "mobile": "cell phone", "iphone": "cell phone",
    "tv": "tv", "television": "tv", "tv monitor": "tv", "tvmonitor": "tv", "monitor": "tv",
    "screen": "tv",
    "motorbike": "motorcycle", "motor bike": "motorcycle", "scooter": "motorcycle",
    "bike": "bicycle", "cycle": "bicycle",
    "aeroplane": "airplane", "plane": "airplane", "aircraft": "airplane", "jet": "airplane",
    "coach": "bus", "minibus": "bus",
    "lorry": "truck", "pickup": "truck", "pickup truck": "truck",
    "automobile": "car", "taxi": "car", "cab": "car",
    "ship": "boat", "yacht": "boat", "canoe": "boat",
    "kitten": "cat", "kitty": "cat", "puppy": "dog", "doggy": "dog",
    "pony": "horse", "lamb": "sheep", "cattle": "cow", "bull": "cow", "calf": "cow",
    "teddy": "teddy bear", "plush": "teddy bear",
    "table": "dining table", "dinner table": "dining table", "kitchen table": "dining table",
    "plant": "potted plant", "houseplant": "potted plant", "pot plant": "potted plant",
    "fridge": "refrigerator", "wineglass": "wine glass", "mug": "cup", "coffee cup": "cup",
    "tea cup": "cup", "teacup": "cup", "ball": "sports ball", "football": "sports ball",
    "soccer ball": "sports ball", "basketball": "sports ball", "tennis ball": "sports ball",
    "hairdryer": "hair drier", "hair dryer": "hair drier", "blow dryer": "hair drier",
    "doughnut": "donut", "hotdog": "hot dog", "laptop computer": "laptop",
    "remote control": "remote", "bag": "handbag", "purse": "handbag", "rucksack": "backpack",
    "luggage": "suitcase", "racket": "tennis racket", "racquet": "tennis racket",
    "baseball mitt": "baseball glove", "mitt": "baseball glove",
    "stoplight": "traffic light", "traffic signal": "traffic light", "hydrant": "fire hydrant",
    "ski": "skis", "keyboard": "keyboard", "armchair": "chair",
    "toilet": "toilet", "loo": "toilet", "basin": "sink", "microwave oven": "microwave",
    "stove": "oven", "books": "book", "flower vase": "vase", "necktie": "tie",
}

_IRREGULAR = {
    "people": "person", "men": "man", "women": "woman", "children": "child", "mice": "mouse",
    "knives": "knife", "geese": "goose", "teeth": "tooth", "feet": "foot", "sheep": "sheep",
    "skis": "skis", "buses": "bus", "couches": "couch", "benches": "bench",
    "sandwiches": "sandwich", "dishes": "dish", "boxes": "box", "watches": "watch",
    "scissors": "scissors", "toothbrushes": "toothbrush", "giraffes": "giraffe",
}

_ARTICLES = re.compile(r"^(?:the|a|an|any|some|all|every|each|my|your|this|that|these|those)\s+")


def normalise(word: str) -> str:
    text = re.sub(r"[^a-z0-9 ]+", " ", word.lower().replace("-", " ").replace("_", " "))
    text = re.sub(r"\s+", " ", text).strip()
    while True:
        stripped = _ARTICLES.sub("", text)
        if stripped == text:
            return text
        text = stripped


def singular(word: str) -> str:
    """Singular of an English noun phrase (its last word), good enough for class names."""
    head, _, last = word.rpartition(" ")
    if last in _IRREGULAR:
        last = _IRREGULAR[last]
    elif last.endswith("ies") and len(last) > 4:
        last = last[:-3] + "y"
    elif last.endswith(("ches", "shes", "sses", "xes")):
        last = last[:-2]
    elif last.endswith("s") and not last.endswith(("ss", "us", "is")) and len(last) > 2:
        last = last[:-1]
    return f"{head} {last}".strip()


def to_class(word: str, vocabulary: Sequence[str] = COCO_CLASSES) -> str | None:
    """The vocabulary's class for a user's word, or None when it has no such class."""
    lowered = {v.lower(): v for v in vocabulary}
    text = normalise(word)
    for form in (text, singular(text)):
        if form in lowered:
            return lowered[form]
        target = SYNONYMS.get(form)
        if target is not None and target in lowered:
            return lowered[target]
    return None


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
