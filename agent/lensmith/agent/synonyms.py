"""COCO object vocabulary and the CHAIR synonym lists.

The synonym table reproduces the content of ``data/synonyms.txt`` from Rohrbach et
al., "Object Hallucination in Image Captioning" (EMNLP 2018,
https://github.com/LisaAnne/Hallucination), together with the hard-coded two-word
rules of its ``utils/chair.py``. Each line lists a COCO class first and then the
words that count as that class ("people" → person, "kitten" → cat). Duplicates are
kept as in the original; they are harmless.

The grounding checker and the CHAIR metric both use :func:`canonical` so that
"people" in an answer is held against ``person`` detections.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lensmith.runtime.vocab import (
    COCO_CLASSES as COCO_CLASSES,  # re-exported: the 80 classes in category-id order
)
from lensmith.runtime.vocab import singularize as singularize  # the one singulariser

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
    "stove top oven", "hot dog", "teddy bear", "home plate",
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
    out["wine glas"] = "wine glass"
    return out


_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def canonical(term: str) -> str | None:
    """The COCO class a word or phrase names (``"people"`` → ``"person"``), or None."""
    phrase = " ".join(singularize(t) for t in tokenize(term.replace("_", " ")))
    if not phrase:
        return None
    inverse = inverse_synonyms()
    phrase = double_word_map().get(phrase, phrase)
    if phrase in inverse:
        return inverse[phrase]
    raw = " ".join(tokenize(term))
    return inverse.get(raw)


def normalise_label(term: str) -> str:
    """COCO class when the term names one, else the singular lower-case phrase."""
    found = canonical(term)
    if found is not None:
        return found
    return " ".join(singularize(t) for t in tokenize(term))


def caption_objects(caption: str) -> tuple[list[str], list[str]]:
    """CHAIR's ``caption_to_words``: the COCO words in a caption and their classes.

    Tokenise and singularise, merge the listed two-word phrases, drop "seat" when
    "toilet" is present, keep the words in the synonym list. (chair.py tokenises with
    NLTK and singularises with pattern.en; this uses a regex tokeniser and
    :func:`singularize`, which agree on COCO nouns.)
    """
    words = [singularize(w) for w in tokenize(caption)]
    doubles = double_word_map()
    merged: list[str] = []
    i = 0
    while i < len(words):
        pair = " ".join(words[i : i + 2])
        if pair in doubles:
            merged.append(doubles[pair])
            i += 2
        else:
            merged.append(words[i])
            i += 1
    if "toilet" in merged and "seat" in merged:
        merged = [w for w in merged if w != "seat"]
    inverse = inverse_synonyms()
    found = [w for w in merged if w in inverse]
    return found, [inverse[w] for w in found]
