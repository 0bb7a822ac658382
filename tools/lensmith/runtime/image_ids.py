"""Image ids as models write them.

Planners copy ids from the prompt's image line (``img:c02019c4 (bus.jpg, 810×1080)``)
and often drop the ``img:`` prefix or keep the trailing text. :func:`known_image_id`
reads such a reference as the id it names, but only when that id is one of the
caller's own (``known``): an id from another session stays unknown.
"""

from __future__ import annotations

import re
from collections.abc import Container

# an 8-hex-digit id, with or without "img:" (also "img_", "img-", "image:"), at the start
# of the reference, optionally quoted or bracketed, followed by nothing or by a non-word
_LEADING = re.compile(r"""^[\s"'`(\[<]*(?:im(?:g|age)\s*[:_-]?\s*)?([0-9a-f]{8})(?![0-9a-z])""", re.I)
_ANYWHERE = re.compile(r"(?<![0-9a-z])img:([0-9a-f]{8})(?![0-9a-z])", re.I)


def known_image_id(ref: str, known: Container[str]) -> str | None:
    """The ``img:xxxxxxxx`` id ``ref`` names, if it is in ``known``; else ``None``."""
    if len(ref) > 1000:  # an id with a short note, never a document
        return None
    match = _LEADING.match(ref)
    if match:
        candidate = "img:" + match.group(1).lower()
        if candidate in known:
            return candidate
    named = {"img:" + m.lower() for m in _ANYWHERE.findall(ref)}
    if len(named) == 1:  # "the photo img:c02019c4": one id, unambiguous
        candidate = named.pop()
        if candidate in known:
            return candidate
    return None
