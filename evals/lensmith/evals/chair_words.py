"""CHAIR's words: its synonym table and the two ways of finding COCO objects in a caption.

The table is ``data/synonyms.txt`` of Rohrbach et al., "Object Hallucination in Image
Captioning" (EMNLP 2018, https://github.com/LisaAnne/Hallucination): each line lists a
COCO class and then the words that count as it ("kitten" → cat). Duplicates are kept as
in the original. It belongs to the CHAIR metric only; the words users type are mapped
to classes by :mod:`lensmith.runtime.vocab`.

Two word handlings (``words=`` below):

``published`` — the published ``utils/chair.py``, quirks included, so numbers can be
  set beside papers: NLTK's ``word_tokenize`` (approximated here by a Treebank-style
  regex: possessive "'s" and "n't" split off, hyphenated words kept whole) and
  pattern.en 2.6's ``singularize``, whose rules turn "bus" into "bu", "glass" into
  "glas", "ties" into "ty", "canoes" into "cano" and "taxis" into "taxi" (so "bus",
  "tie" in the plural and "canoes" are never counted, while "taxis" is a car). The
  two-word list includes "train track" (which then names no object).
``lensmith`` (default) — the same table, two-word rules and counting, but an English
  singulariser (:func:`lensmith.runtime.vocab.singularize`: "bus" stays "bus", "ties"
  → "tie", "canoes" → "canoe", "taxis" stays "taxis" and is not a car) and a regex
  tokeniser that also splits possessives. So lensmith counts the buses, ties and canoes
  the published script misses and misses the taxis it counts.

Everything else — the double-word merge, "baby bird" → bird, "toilet seat" not a
chair, one mention per occurrence — is the same in both.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from lensmith.runtime.vocab import singularize

WordMode = Literal["lensmith", "published"]
WORD_MODES: tuple[str, ...] = ("lensmith", "published")

CHAIR_SYNONYMS_TXT = """\
person, girl, boy, man, woman, kid, child, chef, baker, people, adult, rider, children, baby, worker, passenger, sister, biker, policeman, cop, officer, lady, cowboy, bride, groom, male, female, guy, traveler, mother, father, gentleman, pitcher, player, skier, snowboarder, skater, skateboarder, person, woman, guy, foreigner, child, gentleman, caller, offender, coworker, trespasser, patient, politician, soldier, grandchild, serviceman, walker, drinker, doctor, bicyclist, thief, buyer, teenager, student, camper, driver, solider, hunter, shopper, villager
bicycle, bike, bicycle, bike, unicycle, minibike, trike
car, automobile, van, minivan, sedan, suv, hatchback, cab, jeep, coupe, taxicab, limo, taxi
motorcycle, scooter, motor bike, motor cycle, motorbike, scooter, moped
airplane, jetliner, plane, air plane, monoplane, aircraft, jet, jetliner, airbus, biplane, seaplane
bus, minibus, trolley
train, locomotive, tramway, caboose
truck, pickup, lorry, hauler, firetruck
boat, ship, liner, sailboat, motorboat, dinghy, powerboat, speedboat, canoe, skiff, yacht, kayak, catamaran, pontoon, houseboat, vessel, rowboat, trawler, ferryboat, watercraft, tugboat, schooner, barge, ferry, sailboard, paddleboat, lifeboat, freighter, steamboat, riverboat, battleship, steamship
traffic light, street light, traffic signal, stop light, streetlight, stoplight
fire hydrant, hydrant
stop sign
parking meter
bench, pew
bird, ostrich, owl, seagull, goose, duck, parakeet, falcon, robin, pelican, waterfowl, heron, hummingbird, mallard, finch, pigeon, sparrow, seabird, osprey, blackbird, fowl, shorebird, woodpecker, egret, chickadee, quail, bluebird, kingfisher, buzzard, willet, gull, swan, bluejay, flamingo, cormorant, parrot, loon, gosling, waterbird, pheasant, rooster, sandpiper, crow, raven, turkey, oriole, cowbird, warbler, magpie, peacock, cockatiel, lorikeet, puffin, vulture, condor, macaw, peafowl, cockatoo, songbird
cat, kitten, feline, tabby
dog, puppy, beagle, pup, chihuahua, schnauzer, dachshund, rottweiler, canine, pitbull, collie, pug, terrier, poodle, labrador, doggie, doberman, mutt, doggy, spaniel, bulldog, sheepdog, weimaraner, corgi, cocker, greyhound, retriever, brindle, hound, whippet, husky
horse, colt, pony, racehorse, stallion, equine, mare, foal, palomino, mustang, clydesdale, bronc, bronco
sheep, lamb, ram, lamb, goat, ewe
cow, cattle, oxen, ox, calf, cattle, holstein, heifer, buffalo, bull, zebu, bison
elephant
bear, panda
zebra
giraffe
backpack, knapsack
umbrella
handbag, wallet, purse, briefcase
tie, bow, bow tie
suitcase, suit case, luggage
frisbee
skis, ski
snowboard
sports ball, ball
kite
baseball bat
baseball glove
skateboard
surfboard, longboard, skimboard, shortboard, wakeboard
tennis racket, racket
bottle
wine glass
cup
fork
knife, pocketknife, knive
spoon
bowl, container
banana
apple
sandwich, burger, sub, cheeseburger, hamburger
orange
broccoli
carrot
hot dog
pizza
donut, doughnut, bagel
cake, cheesecake, cupcake, shortcake, coffeecake, pancake
chair, seat, stool
couch, sofa, recliner, futon, loveseat, settee, chesterfield
potted plant, houseplant
bed
dining table, table, desk
toilet, urinal, commode, toilet, lavatory, potty
tv, monitor, televison, television
laptop, computer, notebook, netbook, lenovo, macbook, laptop computer
mouse
remote
keyboard
cell phone, mobile phone, phone, cellphone, telephone, phon, smartphone, iPhone
microwave
oven, stovetop, stove, stove top oven
toaster
sink
refrigerator, fridge, fridge, freezer
book
clock
vase
scissors
teddy bear, teddybear
hair drier, hairdryer
toothbrush
"""

# chair.py: two-word phrases read as one word, and qualifier rules that map
# "baby bird" to bird (not person) and "passenger jet" to jet (not person).
CHAIR_DOUBLE_WORDS: tuple[str, ...] = (
    "motor bike", "motor cycle", "air plane", "traffic light", "street light", "traffic signal",
    "stop light", "fire hydrant", "stop sign", "parking meter", "suit case", "sports ball",
    "baseball bat", "baseball glove", "tennis racket", "wine glass", "hot dog", "cell phone",
    "mobile phone", "teddy bear", "hair drier", "potted plant", "bow tie", "laptop computer",
    "stove top oven", "hot dog", "teddy bear", "home plate", "train track",
)  # fmt: skip
_ANIMAL_WORDS = ("bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "animal", "cub")  # fmt: skip
_VEHICLE_WORDS = ("jet", "train")


@lru_cache(maxsize=1)
def synonym_groups() -> list[list[str]]:
    return [[w.strip() for w in line.split(",")] for line in CHAIR_SYNONYMS_TXT.splitlines() if line.strip()]


@lru_cache(maxsize=1)
def inverse_synonyms() -> dict[str, str]:
    """Every word of the CHAIR list → its COCO class (``"kitten" → "cat"``)."""
    out: dict[str, str] = {}
    for group in synonym_groups():
        for word in group:
            out[word] = group[0]
    return out


@lru_cache(maxsize=1)
def double_word_map() -> dict[str, str]:
    out = {w: w for w in CHAIR_DOUBLE_WORDS}
    for animal in _ANIMAL_WORDS:
        out[f"baby {animal}"] = animal
        out[f"adult {animal}"] = animal
    for vehicle in _VEHICLE_WORDS:
        out[f"passenger {vehicle}"] = vehicle
    out["bow tie"] = "tie"
    out["toilet seat"] = "toilet"
    out["wine glas"] = "wine glass"  # the published singulariser's "glass"
    return out


# ---- tokenisers ---------------------------------------------------------------------
_LENSMITH_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Treebank-like: words (hyphens kept), clitics split off, punctuation as its own token
_TREEBANK_TOKEN = re.compile(r"'s\b|n't\b|'re\b|'ve\b|'ll\b|'d\b|'m\b|[a-z0-9]+(?:[-'][a-z0-9]+)*?(?=n't\b)|[a-z0-9]+(?:-[a-z0-9]+)*|[^\sa-z0-9]")  # fmt: skip


def tokenize(text: str, words: WordMode = "lensmith") -> list[str]:
    """Lower-cased tokens of a caption, as the chosen word handling splits it."""
    pattern = _TREEBANK_TOKEN if words == "published" else _LENSMITH_TOKEN
    return pattern.findall(text.lower())


# ---- the published singulariser ---------------------------------------------------------
# Behaviour of pattern.en 2.6 ``singularize`` (BSD; its rules come from Bermi Ferrer's
# Inflector, MIT), the version chair.py imports. Checked in order; the first match wins.
# Only the parts that can matter for caption words are kept; the literal "^tie" and "^pie"
# entries of its -ie list never match (a bug that turns "ties" into "ty"), so they are left out.
_UNCHANGED = (
    "bison", "bream", "breeches", "britches", "carp", "chassis", "christmas", "clippers", "cod",
    "contretemps", "corps", "debris", "diabetes", "djinn", "eland", "elk", "flounder", "gallows",
    "georgia", "graffiti", "headquarters", "herpes", "high-jinks", "homework", "innings",
    "jackanapes", "mackerel", "measles", "mews", "mumps", "news", "pincers", "pliers",
    "proceedings", "rabies", "salmon", "scissors", "series", "shears", "species", "swine", "swiss",
    "trout", "tuna", "whiting", "wildebeest", "advice", "bread", "butter", "cheese", "electricity",
    "equipment", "fruit", "furniture", "garbage", "gravel", "happiness", "information", "ketchup",
    "knowledge", "love", "luggage", "mathematics", "mayonnaise", "meat", "mustard", "progress",
    "research", "rice", "sand", "software", "understanding", "water",
)  # fmt: skip
_IE_WORDS = (
    "auntie", "beanie", "birdie", "bogie", "bombie", "bookie", "collie", "cookie", "cutie", "doggie",
    "eyrie", "freebie", "goonie", "groupie", "hankie", "hippie", "hoagie", "hottie", "indie", "junkie",
    "laddie", "lingerie", "meanie", "nightie", "oldie", "pixie", "quickie", "reverie", "rookie",
    "softie", "sortie", "stoolie", "sweetie", "techie", "toughie", "valkyrie", "veggie", "weenie",
    "yuppie", "zombie",
)  # fmt: skip
_IRREGULAR_ENDINGS = {
    "men": "man", "people": "person", "children": "child", "teeth": "tooth", "geese": "goose",
    "feet": "foot", "oxen": "ox", "axes": "axe", "moves": "move", "leaves": "leaf", "loaves": "loaf",
    "sexes": "sex", "beeves": "beef", "monies": "money", "kine": "cow",
}  # fmt: skip
_SUFFIX_RULES: tuple[tuple[str, str], ...] = (
    (r"(.)ae$", r"\1a"), (r"(.)itis$", r"\1itis"), (r"(.)eaux$", r"\1eau"), (r"(quiz)zes$", r"\1"),
    (r"(matr)ices$", r"\1ix"), (r"(ap|vert|ind)ices$", r"\1ex"), (r"^(ox)en", r"\1"),
    (r"(alias|status)es$", r"\1"), (r"([octop|vir])i$", r"\1us"), (r"(cris|ax|test)es$", r"\1is"),
    (r"(shoe)s$", r"\1"), (r"(o)es$", r"\1"), (r"(bus)es$", r"\1"), (r"([m|l])ice$", r"\1ouse"),
    (r"(x|ch|ss|sh)es$", r"\1"), (r"(m)ovies$", r"\1ovie"), (r"(.)ombies$", r"\1ombie"),
    (r"(s)eries$", r"\1eries"), (r"([^aeiouy]|qu)ies$", r"\1y"), (r"([aeo]l)ves$", r"\1f"),
    (r"([^d]ea)ves$", r"\1f"), (r"arves$", "arf"), (r"erves$", "erve"), (r"([nlw]i)ves$", r"\1fe"),
    (r"([lr])ves$", r"\1f"), (r"([aeo])ves$", r"\1ve"), (r"(sive)s$", r"\1"), (r"(tive)s$", r"\1"),
    (r"(hive)s$", r"\1"), (r"([^f])ves$", r"\1fe"), (r"(^analy)ses$", r"\1sis"),
    (r"((a)naly|(b)a|(d)iagno|(p)arenthe|(p)rogno|(s)ynop|(t)he)ses$", r"\1\2sis"),
    (r"(.)opses$", r"\1opsis"), (r"(.)yses$", r"\1ysis"), (r"(h|d|r|o|n|b|cl|p)oses$", r"\1ose"),
    (r"(fruct|gluc|galact|lact|ket|malt|rib|sacchar|cellul)ose$", r"\1ose"), (r"(.)oses$", r"\1osis"),
    (r"([ti])a$", r"\1um"), (r"(n)ews$", r"\1ews"), (r"s$", ""),
)  # fmt: skip
_COMPILED = tuple((re.compile(p, re.IGNORECASE), r) for p, r in _SUFFIX_RULES)


def published_singularize(word: str) -> str:
    """pattern.en 2.6's ``singularize`` as chair.py calls it: "buses" → "bus" but "bus" → "bu"."""
    if word.endswith("'") and len(word) > 1:
        return published_singularize(word[:-1]) + "'s"
    lower = word.lower()
    if any(w.endswith(lower) for w in _UNCHANGED):  # sic: "ice" is unchanged because "advice" ends with it
        return word
    for ie in _IE_WORDS:
        if lower.endswith(ie + "s"):
            return ie
    for plural_end, singular_end in _IRREGULAR_ENDINGS.items():
        if lower.endswith(plural_end):
            return re.sub(f"(?i){plural_end}$", singular_end, word)
    for pattern, replacement in _COMPILED:
        match = pattern.search(word)
        if match:
            for k, group in enumerate(match.groups(), start=1):
                if group is None:  # an unmatched optional group becomes empty, as in pattern.en
                    replacement = replacement.replace(f"\\{k}", "")
            return pattern.sub(replacement, word)
    return word


def singular(word: str, words: WordMode = "lensmith") -> str:
    return published_singularize(word) if words == "published" else singularize(word)


def caption_objects(caption: str, words: WordMode = "lensmith") -> tuple[list[str], list[str]]:
    """CHAIR's ``caption_to_words``: the COCO words in a caption and their classes.

    Tokenise and singularise, merge the listed two-word phrases, drop "seat" when
    "toilet" is present, keep the words in the synonym list (one entry per occurrence).
    """
    if words not in WORD_MODES:
        raise ValueError(f"unknown CHAIR word handling {words!r} (lensmith, published)")
    tokens = [singular(t, words) for t in tokenize(caption, words)]
    doubles = double_word_map()
    merged: list[str] = []
    i = 0
    while i < len(tokens):
        pair = " ".join(tokens[i : i + 2])
        if pair in doubles:
            merged.append(doubles[pair])
            i += 2
        else:
            merged.append(tokens[i])
            i += 1
    if "toilet" in merged and "seat" in merged:
        merged = [w for w in merged if w != "seat"]
    inverse = inverse_synonyms()
    found = [w for w in merged if w in inverse]
    return found, [inverse[w] for w in found]
