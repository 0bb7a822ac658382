"""Image ids as planners write them resolve in their own store only."""

from __future__ import annotations

import pytest
from PIL import Image

from lensmith.runtime.errors import ImageError
from lensmith.runtime.image_ids import known_image_id
from lensmith.runtime.images import ImageStore

KNOWN = {"img:c02019c4", "img:0badf00d"}


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("c02019c4 (bus.jpg, 810×1080)", "img:c02019c4"),
        ("img:c02019c4 (bus.jpg)", "img:c02019c4"),
        ("IMG:C02019C4", "img:c02019c4"),
        ('"c02019c4"', "img:c02019c4"),
        ("image c02019c4", "img:c02019c4"),
        ("the photo img:c02019c4, please", "img:c02019c4"),
        ("deadbeef (bus.jpg)", None),  # well formed, but not this store's
        ("img:deadbeef", None),
        ("c02019c4x", None),
        ("photos/c02019c4-holiday", None),
        ("img:c02019c4 " + "x" * 2000, None),  # an id with a short note, never a document
    ],
)
def test_known_image_id(ref: str, expected: str | None) -> None:
    assert known_image_id(ref, KNOWN) == expected


def test_store_resolves_written_ids_but_not_other_stores(tmp_path) -> None:
    mine, theirs = ImageStore(tmp_path / "a"), ImageStore(tmp_path / "b")
    red = mine.add(Image.new("RGB", (8, 6), "red"))
    blue = theirs.add(Image.new("RGB", (8, 6), "blue"))
    assert mine.get(f"{red.id.removeprefix('img:')} (red.png, 8×6)").id == red.id
    with pytest.raises(ImageError):
        mine.get(f"{blue.id.removeprefix('img:')} (blue.png, 8×6)")
    with pytest.raises(ImageError):
        mine.get(f"{blue.id} (blue.png)")
