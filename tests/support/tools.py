"""Small real tools for loop tests: they run through the whole tool contract but
need no model."""

from __future__ import annotations

import threading

import numpy as np
from pydantic import BaseModel, Field

from lensmith.tools import GenericArtifact, LensmithTool, current_store


class ImageArgs(BaseModel):
    image: str = Field(description="Image id (img:…) or a path")


class MeanColourTool(LensmithTool):
    name: str = "mean_colour"
    description: str = "Measure the mean RGB colour of an image."
    args_schema: type[BaseModel] = ImageArgs

    def run_tool(self, image: str) -> tuple[str, GenericArtifact]:
        meta = current_store().get(image)
        mean = np.asarray(current_store().pil(meta.id)).reshape(-1, 3).mean(axis=0)
        rgb = [round(float(v), 1) for v in mean]
        return f"mean colour of {meta.id}: {rgb}", GenericArtifact(
            tool=self.name, image=meta.id, method="numpy-mean", method_kind="measurement", data={"rgb": rgb}
        )


class ImageSizeTool(LensmithTool):
    """A real measurement without a model, so loop tests stay fast."""

    name: str = "image_size"
    description: str = "Measure an image's width and height in pixels."
    args_schema: type[BaseModel] = ImageArgs

    def run_tool(self, image: str) -> tuple[str, GenericArtifact]:
        stored = current_store().get(image)
        width, height = current_store().pil(image).size
        artifact = GenericArtifact(
            tool=self.name, image=stored.id, method="PIL image size", method_kind="measurement",
            data={"width": width, "height": height},
        )
        return f"{width}×{height} pixels", artifact


class BlockingTool(LensmithTool):
    """Waits until released (or 30 s): lets tests cancel a turn while a tool runs."""

    name: str = "slow_scan"
    description: str = "Scan an image slowly (test tool that blocks until released)."
    args_schema: type[BaseModel] = ImageArgs
    started: threading.Event = Field(default_factory=threading.Event, exclude=True)
    release: threading.Event = Field(default_factory=threading.Event, exclude=True)

    def run_tool(self, image: str) -> tuple[str, GenericArtifact]:
        self.started.set()
        self.release.wait(30)
        return "scanned", GenericArtifact(tool=self.name, method="wait", method_kind="measurement")
