"""The user's words → COCO class names, and what cannot be mapped."""

from __future__ import annotations

import pytest

from lensmith.runtime.vocab import (
    COCO_CLASSES,
    counted,
    map_classes,
    normalise,
    number_value,
    plural,
    singular,
    to_class,
)


def test_coco_has_its_80_classes() -> None:
    assert len(COCO_CLASSES) == 80 and len(set(COCO_CLASSES)) == 80


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("people", "person"), ("persons", "person"), ("men", "person"), ("kids", "person"),
        ("a woman", "person"), ("sofa", "couch"), ("sofas", "couch"), ("phone", "cell phone"),
        ("mobile phones", "cell phone"), ("cell phones", "cell phone"), ("TV", "tv"),
        ("television", "tv"), ("buses", "bus"), ("the bus", "bus"), ("cats", "cat"),
        ("kitten", "cat"), ("dogs", "dog"), ("mugs", "cup"), ("cups", "cup"),
        ("knives", "knife"), ("mice", "mouse"), ("wine glasses", "wine glass"),
        ("fridge", "refrigerator"), ("motorbikes", "motorcycle"), ("bikes", "bicycle"),
        ("teddy bears", "teddy bear"), ("hot-dogs", "hot dog"), ("skis", "skis"),
        ("scissors", "scissors"), ("benches", "bench"), ("dining tables", "dining table"),
        ("traffic lights", "traffic light"), ("Sandwiches", "sandwich"), ("potted plants", "potted plant"),
    ],
)
def test_words_map_to_coco(word: str, expected: str) -> None:
    assert to_class(word) == expected


@pytest.mark.parametrize("word", ["printer", "printers", "lamp", "tree", "sign", "window", "glasses"])
def test_words_outside_coco_map_to_nothing(word: str) -> None:
    assert to_class(word) is None


def test_map_classes_splits_found_and_missing_in_order() -> None:
    found, missing = map_classes(["people", "printer", "sofa", "the Printers", "lamp"])
    assert found == {"people": "person", "sofa": "couch"}
    assert missing == ["printer", "printers", "lamp"]


def test_another_vocabulary_is_respected() -> None:
    vocab = ["Printer", "person"]
    assert to_class("printers", vocab) == "Printer"
    assert to_class("sofa", vocab) is None  # the synonym's target is not in this vocabulary


def test_normalise_and_singular() -> None:
    assert normalise("  The  red_cars! ") == "red cars"
    assert singular("red cars") == "red car"
    assert singular("glass") == "glass" and singular("bus") == "bus"
    assert singular("strawberries") == "strawberry"


def test_one_vocabulary_for_detector_planner_and_checker() -> None:
    from lensmith.agent.claims import extract_claims

    # the detector and the checker read "mug" and "van" the same way
    assert map_classes(["mugs", "van"])[0] == {"mugs": "cup", "van": "car"}
    assert [(c.subject, c.expected) for c in extract_claims("There are two mugs and a van.") if c.kind != "attribute"] == [
        ("cup", 2), ("car", True)]


@pytest.mark.parametrize(
    ("word", "value"),
    [("4", 4), ("four", 4), ("Twelve", 12), ("dozen", 12), ("twenty-one", 21), ("ninety-nine", 99), ("zero", 0),
     ("cat", None), ("twenty-twenty", None), ("1234567", None)],
)
def test_number_words(word: str, value: int | None) -> None:
    assert number_value(word) == value


def test_plural_is_the_inverse_of_singular() -> None:
    for noun in ("person", "bus", "knife", "cup", "dining table", "wine glass", "mouse", "strawberry", "bench"):
        assert singular(plural(noun)) == noun or (noun, plural(noun)) == ("person", "people")
    assert counted("person", 4) == "4 people" and counted("cat", 1) == "1 cat"
