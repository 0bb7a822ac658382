"""The shipped data: ground-truth files, the scene generator, POPE sampling."""

from __future__ import annotations

import numpy as np
import pytest

from lensmith.evals.chair import chair_cases
from lensmith.evals.photos import cutouts, photo_array, photos
from lensmith.evals.pope import ALL_SETTINGS, CONFUSION, pope_cases, pope_negatives
from lensmith.evals.scenes import CANVAS, make_scene, scene_set
from lensmith.evals.sources import Item, shipped_items
from lensmith.evals.suites import tool_cases
from lensmith.runtime.vocab import COCO_CLASSES


def test_ground_truth_files_are_valid_and_match_the_pixels():
    truth = photos()
    assert {"chelsea", "astronaut", "coffee", "bus", "zidane"} <= set(truth)
    for photo in truth.values():
        assert set(photo.objects) | set(photo.maybe) <= set(COCO_CLASSES), photo.id
        assert not set(photo.objects) & set(photo.maybe)
        array = photo_array(photo)
        assert array.dtype == np.uint8 and array.shape[2] == 3
        assert (array.shape[1], array.shape[0]) == tuple(photo.size), photo.id
        assert photo.licence and photo.source["package"] in photo.provenance or photo.source["name"] in photo.provenance
    assert {p.split for p in truth.values()} == {"probe", "calibration"}
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
    Item(id="e", path="e.png", objects={"dog": 1, "car": 1}),
    Item(id="d", path="d.png", objects={}),
]
POSITIVES = {"a": ["cat", "couch"], "b": ["person", "bus"], "c": ["person", "cat"], "e": ["dog", "car"], "d": []}


def test_pope_negatives_follow_the_paper():
    import random

    # frequency in the set (images holding it): cat 2, person 2, couch 1, bus 1, dog 1, car 1
    popular = pope_negatives(ITEMS, "popular", POSITIVES, random.Random(0))
    assert popular["a"] == ["person", "bicycle"] or popular["a"] == ["person", "car"]  # ties broken in COCO order
    assert popular["a"] == ["person", "car"]  # car (id 3) before bus (6), dog, couch; bicycle never occurs
    assert popular["b"] == ["cat", "bicycle"][:1] + ["dog"] or popular["b"] == ["cat", "dog"]
    # adversarial: for each positive in turn, its most frequent co-occurring class absent from the image
    adversarial = pope_negatives(ITEMS, "adversarial", POSITIVES, random.Random(0))
    assert adversarial["c"] == ["bus", "couch"]  # person → bus; cat → couch
    assert adversarial["a"] == ["person"]  # cat → person; couch co-occurs only with cat (present)
    assert adversarial["e"] == []  # dog and car co-occur with nothing else
    rand = pope_negatives(ITEMS, "random", POSITIVES, random.Random(0))
    occurring = {c for item in ITEMS for c in item.objects}
    for item in ITEMS:
        banned = set(item.objects) | set(item.maybe)
        for negs in (rand[item.id], popular[item.id], adversarial[item.id]):
            assert not set(negs) & banned and set(negs) <= occurring  # drawn from the set's own objects
        assert len(rand[item.id]) == len(POSITIVES[item.id])
    assert "car" not in rand["b"] + popular["b"] + adversarial["b"]  # a maybe class is never asked
    with pytest.raises(ValueError):
        pope_negatives(ITEMS, "nope", POSITIVES, random.Random(0))


def test_detector_confusion_negatives_come_from_other_photos():
    import random

    from lensmith.evals.confusions import confused_negatives, folds

    truth = photos()
    probe = sorted(p.id for p in truth.values() if p.split == "probe")
    fold = folds(probe)
    same, other = [p for p in probe if fold[p] == 0], [p for p in probe if fold[p] == 1]
    # fake measurements: the detector "sees" a toaster on a photo of the same fold, a kite
    # beside a person on one of the other fold, and a giraffe on a calibration photo
    person_other = next(p for p in other if "person" in truth[p].objects)
    calibration = next(p.id for p in truth.values() if p.split == "calibration")
    measured = {same[1]: [["toaster", 0.9]], person_other: [["kite", 0.5]], calibration: [["giraffe", 0.3], ["giraffe", 0.2]]}
    target = next(p for p in same if "person" in truth[p].objects and p != same[1])
    negs = confused_negatives(target, ["person"], set(truth[target].objects), 3, measured)
    assert negs == ["kite", "giraffe"]  # beside its own class first; never the same fold's toaster
    items = [Item(id=target, path="x.png", objects=dict(truth[target].objects))]
    by_setting = pope_negatives(items, CONFUSION, {target: ["person"]}, random.Random(0), measured)
    assert by_setting[target] == ["kite"]


def test_pope_cases_are_balanced_and_interleaved():
    cases = pope_cases(ITEMS, per_image=2, settings=("random", "popular"))
    assert len(cases) == 2 * 4 * 4  # 2 settings × 4 images with objects × (2 yes + 2 no)
    assert [c.metadata["setting"] for c in cases[:2]] == ["random", "popular"]
    for setting in ("random", "popular"):
        labels = [c.expected["label"] for c in cases if c.metadata["setting"] == setting]
        assert labels.count("yes") == labels.count("no")
    adversarial = pope_cases(ITEMS, per_image=2, settings=("adversarial",))
    # positives are trimmed to the negatives found: a 1, c 2, e 0 (and b: person → cat, bus → nothing)
    labels = [c.expected["label"] for c in adversarial]
    assert labels.count("yes") == labels.count("no") == 4
    assert cases[0].question.startswith("Is there a") and cases[0].question.endswith("in the image?")
    assert len({c.name for c in cases}) == len(cases)
    scenes = [Item(id="s1", path="s.png", objects={"cat": 1}, source="scene"), Item(id="s2", path="t.png", objects={"dog": 1}, source="scene")]
    mixed = pope_cases([*ITEMS, *scenes], per_image=1, settings=("random",))
    assert {c.metadata["source"] for c in mixed} == {"photo", "scene"}
    # photos and scenes are sampled apart: the scene's negative comes from the scenes' own objects
    assert all(c.expected["object"] in ("cat", "dog") for c in mixed if c.metadata["source"] == "scene")


def test_measured_confusions_cover_the_shipped_photos():
    import json

    from lensmith.evals.confusions import CONFUSIONS_FILE, MEASURE_SCORE, false_positives

    doc = json.loads(CONFUSIONS_FILE.read_text())
    assert set(doc["detections"]) == set(photos()) and doc["min_score"] == MEASURE_SCORE
    assert "yolo" in doc["detector"].lower()
    for pid, dets in doc["detections"].items():
        assert all(d[0] in COCO_CLASSES and d[1] >= MEASURE_SCORE for d in dets), pid
    # a detection of a labelled or maybe class is no confusion
    coffee = photos()["coffee"]
    assert false_positives(coffee, ["cup", "dining table", "cake"]) == {"cake"}


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    return shipped_items(tmp_path_factory.mktemp("shipped"), n_scenes=6)


def test_no_ground_truth_comes_from_the_detector(shipped):
    """Every case's truth is hand-made (photos, cut-out boxes) or built from hand-made parts (scenes)."""
    for photo in photos().values():
        assert photo.labelled_by.startswith("hand:"), photo.id
        assert not any(w in photo.labelled_by.lower() for w in ("yolo", "detector output was used", "detect tool"))
    assert all(cut.method == "hand" for cut in cutouts())
    items = shipped
    cases = pope_cases(items, settings=ALL_SETTINGS) + chair_cases(items)
    assert {c.metadata["source"] for c in cases} == {"photo", "scene"}
    by_id = {i.id: i for i in items}
    for case in cases:
        item = by_id[case.metadata["image"]]
        assert item.labelled_by.startswith(("hand:", "construction:")), case.name
        assert "yolo" not in (item.labelled_by + case.metadata["provenance"]).lower(), case.name
    # POPE never probes a calibration photo (where the detector's confusions are measured)
    probed = {c.metadata["image"] for c in cases if c.name.startswith("pope-") and c.metadata["source"] == "photo"}
    assert all(photos()[i].split == "probe" for i in probed)


def test_shipped_suites_build(shipped):
    items = shipped
    assert sum(1 for i in items if i.source == "scene") == 6
    assert all(__import__("pathlib").Path(i.path).exists() for i in items)
    chair = chair_cases(items)
    assert len(chair) == len(items) and all(c.expected["truth"] == sorted(c.expected["truth"]) for c in chair)
    tools = tool_cases(items)
    names = [c.name for c in tools]
    assert "tools-chelsea-count-cat" in names and any(n.endswith("-read") for n in names)
    assert len(set(names)) == len(names)
    for case in tools:  # what each tool case expects is the tool-use suite's business (tests/evals/test_tools*)
        assert case.metadata["provenance"]
