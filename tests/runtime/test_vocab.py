"""The user's words → COCO class names, and what cannot be mapped."""

from __future__ import annotations

import pytest

from lensmith.runtime.vocab import COCO_CLASSES, map_classes, normalise, singular, to_class


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
