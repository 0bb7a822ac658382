"""colour: fixed-table colour naming, on synthetic patches and on real photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from support.tool_contract import ToolContract, invoke

from lensmith.tools import GenericArtifact, ImageStore, use_store
from lensmith.tools.colour import ColourTool, dominant_colours, name_pixels


class TestColourContract(ToolContract):
    @pytest.fixture
    def tool(self):
        return ColourTool()

    @pytest.fixture
    def good_call(self, tmp_path):
        store = ImageStore()
        path = tmp_path / "red.png"
        Image.new("RGB", (64, 48), (200, 20, 20)).save(path)
        return {"image": store.get(str(path)).id}, store


@pytest.mark.parametrize(
    ("rgb", "name"),
    [((220, 30, 30), "red"), ((30, 60, 200), "blue"), ((40, 160, 60), "green"), ((240, 220, 40), "yellow"),
     ((250, 140, 20), "orange"), ((120, 70, 30), "brown"), ((10, 10, 10), "black"), ((250, 250, 250), "white"),
     ((128, 128, 128), "grey"), ((140, 40, 170), "purple"), ((240, 110, 180), "pink")],
)  # fmt: skip
def test_names_plain_colours(rgb, name):
    patch = np.full((4, 4, 3), rgb, dtype=np.uint8)
    assert dominant_colours(patch) == [(name, 1.0)]
    assert name_pixels(patch).shape == (4, 4)


def test_shares_of_a_split_region_and_small_colours_left_out():
    patch = np.zeros((10, 10, 3), dtype=np.uint8)
    patch[:, :6] = (30, 60, 200)  # 60% blue
    patch[:, 6:] = (250, 250, 250)  # 40% white
    patch[0, 0] = (220, 30, 30)  # 1% red: below the reporting share
    names = dict(dominant_colours(patch))
    assert names["blue"] == pytest.approx(0.59, abs=0.01) and names["white"] == pytest.approx(0.4)
    assert "red" not in names


def test_box_is_measured_in_displayed_pixels(tmp_path):
    image = np.full((200, 300, 3), (250, 250, 250), dtype=np.uint8)
    image[50:150, 200:300] = (30, 60, 200)  # a blue block at the right
    path = tmp_path / "block.png"
    Image.fromarray(image).save(path)
    store = ImageStore()
    with use_store(store):
        image_id = store.get(str(path)).id
        message = invoke(ColourTool(), {"image": image_id, "box": [200, 50, 300, 150], "label": "block"})
        whole = invoke(ColourTool(), {"image": image_id})
        empty = invoke(ColourTool(), {"image": image_id, "box": [400, 400, 500, 500]})
    artifact = message.artifact
    assert isinstance(artifact, GenericArtifact) and artifact.method_kind == "measurement"
    assert artifact.data["colours"][0] == {"name": "blue", "share": 1.0}
    assert "block" in message.content and "blue 100%" in message.content
    assert whole.artifact.data["colours"][0]["name"] == "white"
    assert empty.status == "error" and "no pixels" in empty.content


@pytest.mark.slow
def test_the_bus_in_the_sample_photo_is_blue(tmp_path):
    """The box comes from the real detector; the photo's bus is painted blue."""
    from lensmith.cli.samples import write_samples
    from lensmith.tools.detect import DetectTool

    write_samples(tmp_path)
    store = ImageStore()
    with use_store(store):
        image_id = store.get(str(tmp_path / "bus.jpg")).id
        detected = invoke(DetectTool(), {"image": image_id, "classes": ["bus"]}).artifact
        [bus] = detected.detections
        message = invoke(ColourTool(), {"image": image_id, "box": bus.box, "label": "bus"})
    assert message.artifact.data["colours"][0]["name"] == "blue"
