"""Images in the terminal through textual-image.

textual-image picks its renderer when it is first imported (it asks the terminal about
Sixel and the kitty graphics protocol before Textual takes over stdin), so this module
is imported before the app starts. ``auto`` uses that pick; the others force one:
tests force ``halfcell`` so the output is the same on every machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image as PILImage
from textual.widget import Widget
from textual.widgets import Static
from textual_image.widget import HalfcellImage, SixelImage, TGPImage, UnicodeImage
from textual_image.widget import Image as AutoImage

RENDERERS: dict[str, type[Widget]] = {
    "auto": AutoImage,
    "halfcell": HalfcellImage,
    "unicode": UnicodeImage,
    "tgp": TGPImage,
    "sixel": SixelImage,
}


def default_renderer() -> str:
    name = os.environ.get("LENSMITH_TUI_IMAGES", "auto").strip().lower()
    return name if name in RENDERERS else "auto"


def auto_renderer_name() -> str:
    """What ``auto`` resolved to in this terminal (shown in the help screen)."""
    if AutoImage is SixelImage:
        return "sixel"
    renderable = getattr(AutoImage, "_Renderable", None)
    return renderable.__module__.rsplit(".", 1)[-1] if renderable else "unknown"


def load_preview(path: Path, max_side: int) -> PILImage.Image:
    """A small RGB copy, so re-rendering never rescales a full-size photo."""
    with PILImage.open(path) as image:
        preview = image.convert("RGB")
    preview.thumbnail((max_side, max_side))
    return preview


def image_widget(
    path: Path | None,
    renderer: str = "auto",
    *,
    max_side: int = 1024,
    id: str | None = None,
    classes: str = "",
) -> Widget:
    """An image widget for a file, or a one-line notice when it cannot be shown."""
    if path is None:
        return Static("[dim](no image file)[/dim]", id=id, classes=f"{classes} missing-image")
    try:
        preview = load_preview(path, max_side)
    except (OSError, ValueError) as exc:
        return Static(f"[dim](cannot show {path.name}: {exc})[/dim]", id=id, classes=f"{classes} missing-image")
    cls = RENDERERS.get(renderer, AutoImage)
    return cls(preview, id=id, classes=classes)  # type: ignore[call-arg,arg-type]
