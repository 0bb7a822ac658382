"""lensmith's vision tools, and the plugin API.

What a tool author imports is this module's ``__all__`` and nothing else; it is kept
small and stable (README, "Writing a tool"). Everything under ``lensmith.tools.*``
submodules and ``lensmith.runtime.*`` that is not re-exported here is internal and may
change between releases.
"""

from lensmith.runtime.artifacts import (
    Artifact,
    DetectArtifact,
    Detection,
    EditArtifact,
    GenericArtifact,
    Mask,
    OcrArtifact,
    SegmentArtifact,
    TextSpan,
    parse_artifact,
)
from lensmith.runtime.base import LensmithTool, shared_model
from lensmith.runtime.device import pick_device
from lensmith.runtime.errors import (
    ImageError,
    InvalidArguments,
    ToolError,
    ToolUnavailable,
    WeightsNotFound,
)
from lensmith.runtime.images import ImageStore, StoredImage, current_store, use_store
from lensmith.runtime.progress import report
from lensmith.runtime.weights import ModelSpec, register_model, resolve

__all__ = [
    # writing a tool
    "LensmithTool", "shared_model", "pick_device", "report",
    # images in the session
    "current_store", "StoredImage", "ImageStore", "use_store",
    # results
    "Artifact", "GenericArtifact", "DetectArtifact", "Detection", "OcrArtifact", "TextSpan",
    "SegmentArtifact", "Mask", "EditArtifact", "parse_artifact",
    # errors the planner reads
    "ToolError", "InvalidArguments", "ImageError", "ToolUnavailable", "WeightsNotFound",
    # weights through the one resolver
    "ModelSpec", "register_model", "resolve",
]
