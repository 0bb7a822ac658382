"""``/search``: past turns, facts and indexed images from memory, as one notice."""

from __future__ import annotations

import logging
from typing import Any

from textual.markup import escape

from lensmith.tui.format import short

log = logging.getLogger("lensmith.tui")

UNAVAILABLE = (
    "Memory search is unavailable: memory is turned off in the settings, or the memory "
    "store could not be opened (see `lensmith memory` for details)."
)


def _field(item: Any, name: str, default: Any = None) -> Any:
    if isinstance(item, dict):
        return item.get(name, default)
    return getattr(item, name, default)


def _line(item: Any) -> str:
    kind = _field(item, "kind") or "image"
    text = _field(item, "text") or _field(item, "path") or ""
    source = _field(item, "source") or _field(item, "why") or ""
    score = _field(item, "score")
    score_text = f" [dim]{score:.2f}[/dim]" if isinstance(score, int | float) else ""
    source_text = f" [dim]· {escape(short(str(source), 60))}[/dim]" if source else ""
    return f"  [b]{escape(str(kind))}[/b]{score_text} {escape(short(str(text), 100))}{source_text}"


def search_memory(memory: Any, query: str, k: int = 5) -> tuple[str, str]:
    """Markup and a notice kind for the results of searching ``memory`` for ``query``."""
    if memory is None:
        return UNAVAILABLE, "warning"
    items: list[Any] = []
    note = ""
    try:
        items.extend(memory.recall(query, k=k, session_id=None, min_score=0.2))
        from lensmith.memory.search import Searcher

        if hasattr(memory, "collection"):  # the image index
            result = Searcher(memory).by_text(query, limit=k)
            note = f"images: {result.method}" + (f" ({result.note})" if result.note else "")
            items.extend({"kind": "image", "text": h.path, "why": h.why, "score": h.score} for h in result.hits)
    except Exception as exc:  # noqa: BLE001 - a failed search is a message, not a crash
        log.warning("memory search failed", exc_info=True)
        return f"[$error]Memory search failed:[/] {escape(str(exc))}", "error"
    if not items:
        return f"Nothing in memory matches “{escape(query)}”." + (f" [dim]{escape(note)}[/dim]" if note else ""), "info"
    lines = [f"[b]memory[/b] “{escape(query)}” · {len(items)} result(s)"]
    lines.extend(_line(item) for item in items)
    if note:
        lines.append(f"[dim]{escape(short(note, 160))}[/dim]")
    return "\n".join(lines), "info"
