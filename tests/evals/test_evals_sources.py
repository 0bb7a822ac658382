"""The public-set loaders on tiny fake COCO / POPE files (the real files are not shipped)."""

from __future__ import annotations

import json

from PIL import Image

from lensmith.evals.pope import pope_dataset_from_files
from lensmith.evals.sources import load_coco_truth


def _coco(tmp_path, n: int = 12):
    images, ann = tmp_path / "val2014", tmp_path / "annotations"
    images.mkdir()
    ann.mkdir()
    infos = []
    for i in range(1, n + 1):
        name = f"COCO_val2014_{i:012d}.jpg"
        Image.new("RGB", (8, 8)).save(images / name)
        infos.append({"id": i, "file_name": name})
    categories = [{"id": 1, "name": "person"}, {"id": 6, "name": "bus"}]
    instances = [{"image_id": 1, "category_id": 1}, {"image_id": 1, "category_id": 1}, {"image_id": 2, "category_id": 6}]
    captions = [{"image_id": 1, "caption": "A man next to a bus."}, {"image_id": 2, "caption": "Two buses and a dog."}]
    (ann / "instances_val2014.json").write_text(json.dumps({"images": infos, "categories": categories, "annotations": instances}))
    (ann / "captions_val2014.json").write_text(json.dumps({"annotations": captions}))
    return ann, images


def test_coco_sample_is_seeded_random_not_the_first_ids(tmp_path):
    ann, images = _coco(tmp_path)
    a = [i.id for i in load_coco_truth(ann, images, limit=4, seed=0)]
    assert a == [i.id for i in load_coco_truth(ann, images, limit=4, seed=0)]  # the same seed, the same sample
    assert a == ["coco-6", "coco-10", "coco-11", "coco-12"]  # random.Random("coco:0"), not the first four ids
    assert a != [i.id for i in load_coco_truth(ann, images, limit=4, seed=1)]
    everything = {i.id: i for i in load_coco_truth(ann, images)}
    assert len(everything) == 12 and everything["coco-1"].objects == {"person": 2}


def test_coco_truth_reads_reference_captions_with_the_chosen_words(tmp_path):
    ann, images = _coco(tmp_path)
    ours = {i.id: i for i in load_coco_truth(ann, images)}
    published = {i.id: i for i in load_coco_truth(ann, images, words="published")}
    # "bus" in a reference caption is a bus to lensmith, "bu" (nothing) to the published script
    assert ours["coco-1"].maybe == ["bus"] and published["coco-1"].maybe == []
    assert ours["coco-2"].maybe == ["dog"] and published["coco-2"].maybe == ["dog"]  # "buses" → bus: already an object
    assert ours["coco-1"].labelled_by.startswith("COCO annotators")


def test_published_pope_files_load_with_their_object(tmp_path, monkeypatch):
    _, images = _coco(tmp_path, n=2)
    rows = [
        {"question_id": 1, "image": "COCO_val2014_000000000001.jpg", "text": "Is there a person in the image?", "label": "yes"},
        {"question_id": 2, "image": "COCO_val2014_000000000002.jpg", "text": "Is there a dining table in the image?", "label": "no"},
    ]
    file = tmp_path / "coco_pope_adversarial.json"
    file.write_text("\n".join(json.dumps(r) for r in rows))
    dataset = pope_dataset_from_files([file], images)
    assert [c.metadata["setting"] for c in dataset.cases] == ["adversarial", "adversarial"]
    assert [c.expected["object"] for c in dataset.cases] == ["person", "dining table"]
    assert [c.expected["label"] for c in dataset.cases] == ["yes", "no"]
    assert all(c.metadata["source"] == "coco" for c in dataset.cases)
