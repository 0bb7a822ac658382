"""The shipped data: ground-truth files, the scene generator, POPE sampling."""

from __future__ import annotations

import numpy as np
import pytest

from lensmith.agent.synonyms import COCO_CLASSES
from lensmith.evals.photos import cutouts, photo_array, photos
from lensmith.evals.scenes import CANVAS, make_scene, scene_set
from lensmith.evals.sources import Item, shipped_items
from lensmith.evals.suites import POPE_SETTINGS, chair_cases, pope_cases, pope_negatives, tool_cases


def test_ground_truth_files_are_valid_and_match_the_pixels():
    truth = photos()
    assert {"chelsea", "astronaut", "coffee", "bus", "zidane"} <= set(truth)
    for photo in truth.values():
        assert set(photo.objects) | set(photo.maybe) <= set(COCO_CLASSES), photo.id
        assert not set(photo.objects) & set(photo.maybe)
        array = photo_array(photo)
        assert array.dtype == np.uint8 and array.shape[2] == 3
        assert (array.shape[1], array.shape[0]) == tuple(photo.size), photo.id
        assert photo.provenance
    for cut in cutouts():
        assert cut.label in truth[cut.image].objects, cut.id
        x0, y0, x1, y1 = cut.box
        w, h = truth[cut.image].size
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, cut.id


def test_scenes_are_deterministic_and_exact():
    a, image_a = make_scene(7, "hard", index=3)
    b, image_b = make_scene(7, "hard", index=3)
    assert a == b and np.array_equal(np.asarray(image_a), np.asarray(image_b))
    c, _ = make_scene(8, "hard", index=3)
    assert c != a
    for scene, image in scene_set(9, seed=1):
        assert image.size == CANVAS
        assert scene.difficulty in ("easy", "medium", "hard") and scene.provenance
        boxes = [o.box for o in scene.objects] + ([scene.sign_box] if scene.sign_box else [])
        for i, box in enumerate(boxes):
            assert 0 <= box[0] < box[2] <= CANVAS[0] and 0 <= box[1] < box[3] <= CANVAS[1]
            for other in boxes[i + 1 :]:  # nothing overlaps, so every pasted object is fully visible
                assert box[2] <= other[0] or other[2] <= box[0] or box[3] <= other[1] or other[3] <= box[1]
        assert sum(scene.counts().values()) == len(scene.objects)
        assert not set(scene.maybe) & set(scene.counts())


def test_scene_pixels_hold_the_cutout():
    scene, image = make_scene(0, "easy", index=0)
    obj = scene.objects[0]
    x0, y0, x1, y1 = (int(v) for v in obj.box)
    inside = np.asarray(image)[y0:y1, x0:x1].astype(float)
    assert inside.std() > 10  # a photo crop, not the flat background


ITEMS = [
    Item(id="a", path="a.png", objects={"cat": 1, "couch": 1}),
    Item(id="b", path="b.png", objects={"person": 2, "bus": 1}, maybe=["car"]),
    Item(id="c", path="c.png", objects={"person": 1, "cat": 1}),
    Item(id="d", path="d.png", objects={}),
]


def test_pope_negative_sampling_settings():
    import random

    popular = pope_negatives(ITEMS, "popular", 2, random.Random(0))
    # popularity: cat 2, person 2, couch 1, bus 1 (ties in COCO order: person, bus, cat, couch)
    assert popular["a"] == ["person", "bus"]
    assert popular["b"] == ["cat", "couch"]
    adversarial = pope_negatives(ITEMS, "adversarial", 2, random.Random(0))
    # for c (person, cat): co-occurring with person → bus (1), with cat → couch (1); ties by popularity, COCO order
    assert adversarial["c"] == ["bus", "couch"]
    # for a (cat, couch): cat co-occurs with person (1) → person first
    assert adversarial["a"][0] == "person"
    rand = pope_negatives(ITEMS, "random", 3, random.Random(0))
    for item in ITEMS:
        assert not set(rand[item.id]) & (set(item.objects) | set(item.maybe))
    assert "car" not in rand["b"] + popular["b"] + adversarial["b"]
    with pytest.raises(ValueError):
        pope_negatives(ITEMS, "nope", 1, random.Random(0))


def test_pope_cases_are_balanced_and_interleaved():
    cases = pope_cases(ITEMS, per_image=2)
    assert len(cases) == 3 * 3 * 4  # 3 settings × 3 images with objects × (2 yes + 2 no)
    assert [c.metadata["setting"] for c in cases[:3]] == list(POPE_SETTINGS)
    for setting in POPE_SETTINGS:
        labels = [c.expected["label"] for c in cases if c.metadata["setting"] == setting]
        assert labels.count("yes") == labels.count("no")
    assert cases[0].question.startswith("Is there a") and cases[0].question.endswith("in the image?")
    assert len({c.name for c in cases}) == len(cases)


def test_shipped_suites_build(tmp_path):
    items = shipped_items(tmp_path, n_scenes=6)
    assert sum(1 for i in items if i.source == "scene") == 6
    assert all(__import__("pathlib").Path(i.path).exists() for i in items)
    chair = chair_cases(items)
    assert len(chair) == len(items) and all(c.expected["truth"] == sorted(c.expected["truth"]) for c in chair)
    tools = tool_cases(items)
    names = [c.name for c in tools]
    assert "tools-chelsea-count-cat" in names and any(n.endswith("-read") for n in names)
    assert len(set(names)) == len(names)
    for case in tools:
        assert case.expected["tools"] and case.metadata["provenance"]
