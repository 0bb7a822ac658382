"""Plain functions that turn trace objects into short lines of Textual markup.

Kept apart from the widgets so the wording can be tested without running an app.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from textual.markup import escape

from lensmith.agent.trace import ToolCallRecord, TurnTrace, Verdict
from lensmith.runtime.artifacts import Artifact, EditArtifact, SegmentArtifact

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}


def short(value: Any, limit: int = 40) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_args(args: dict[str, Any], limit: int = 40) -> str:
    return ", ".join(f"{key}={short(value, limit)}" for key, value in args.items())


def call_title(tool: str, args: dict[str, Any]) -> str:
    return f"[b]{escape(tool)}[/b]([dim]{escape(format_args(args))}[/dim])"


def call_outcome(record: ToolCallRecord) -> str:
    """The one line under a finished call: its summary, or its error, and the time it took."""
    took = f"[dim]{record.duration_s:.2f}s[/dim]"
    if record.error:
        return f"[$error]✗ {escape(short(record.error, 160))}[/] {took}"
    method = ""
    art = record.artifact
    if art is not None and art.method_kind == "fallback":
        method = f" [$warning]({escape(art.method)} fallback)[/]"
    return f"[$success]✓[/] {escape(short(record.summary or 'done', 160))}{method} {took}"


def planner_line(planner: str, note: str = "") -> str:
    """Who answered. A heuristic planner always says that it is one."""
    name = planner or "unknown planner"
    text = f"planner: [b]{escape(name)}[/b]"
    if name.startswith("heuristic"):
        text += " [$warning](rule-based, no language model)[/]"
    if note:
        text += f" [dim]· {escape(short(note, 120))}[/dim]"
    return text


def evidence_link(turn_id: str, call_id: str, label: str) -> str:
    return f"[@click=app.open_call({turn_id!r},{call_id!r})]{escape(label)}[/]"


def evidence_lines(trace: TurnTrace) -> list[str]:
    lines = []
    for number, record in enumerate(trace.calls, 1):
        label = f"[{number}] {record.tool}"
        link = evidence_link(trace.turn_id, record.call_id, label)
        if record.error:
            lines.append(f"{link} [$error]✗ {escape(short(record.error, 100))}[/]")
        else:
            lines.append(f"{link} [dim]{escape(short(record.summary or 'done', 100))}[/dim]")
    return lines


def call_number(trace: TurnTrace, call_id: str) -> int | None:
    for number, record in enumerate(trace.calls, 1):
        if record.call_id == call_id:
            return number
    return None


def verdict_lines(trace: TurnTrace) -> list[str]:
    """Claims consistent with strong evidence share one quiet line; weak evidence,
    unverified and contradicted claims are named one by one, with links to the calls."""
    from lensmith.agent.grounding import strength_note

    strong = [v for v in trace.verdicts if v.status == "supported" and v.confidence != "low"]
    others = [v for v in trace.verdicts if v not in strong]
    lines = []
    if strong:
        claims = ", ".join(f"{escape(short(v.claim, 30))} ({escape(strength_note(v))})" for v in strong)
        lines.append(f"[dim]✓ consistent with the tools: {claims}[/dim]")
    for verdict in others:
        lines.append(_verdict_line(trace, verdict))
    return lines


_MARKS = {"contradicted": "[$error]✗ contradicted[/]", "unverified": "[$warning]? unverified[/]",
          "supported": "[$warning]✓ weak evidence[/]"}


def _verdict_line(trace: TurnTrace, verdict: Verdict) -> str:
    from lensmith.agent.grounding import explain

    detail = explain(verdict, status=verdict.status == "supported")
    text = f"{_MARKS[verdict.status]} “{escape(verdict.claim)}” — {escape(short(detail, 160))}"
    links = []
    for call_id in verdict.evidence:
        number = call_number(trace, call_id)
        label = f"[{number}]" if number else f"[{call_id}]"
        links.append(evidence_link(trace.turn_id, call_id, label))
    if links:
        text += " " + " ".join(links)
    return text


def artifact_image_ids(artifact: Artifact | None) -> list[str]:
    """The images worth looking at for an artifact: the result first, the input last."""
    if artifact is None:
        return []
    ids: list[str] = []
    if isinstance(artifact, EditArtifact) and artifact.edited:
        ids.append(artifact.edited)
    if isinstance(artifact, SegmentArtifact) and artifact.overlay:
        ids.append(artifact.overlay)
    ids.extend(artifact.images)
    if isinstance(artifact, EditArtifact) and artifact.mask:
        ids.append(artifact.mask)
    if artifact.image:
        ids.append(artifact.image)
    return list(dict.fromkeys(ids))


def record_json(record: ToolCallRecord) -> str:
    return json.dumps(record.model_dump(mode="json"), indent=2, ensure_ascii=False)


def _clean_path(token: str) -> Path:
    if token.startswith("file://"):
        token = unquote(urlparse(token).path)
    return Path(token).expanduser()


def pasted_image_paths(text: str) -> list[Path]:
    """Paths in a paste or a drop, when the text is nothing but existing image files.

    Terminals hand a dropped file over as its path, quoted or with escaped spaces, or
    as a ``file://`` URL; several files come separated by spaces or newlines.
    """
    text = text.strip()
    if not text or len(text) > 4096:
        return []
    single = _clean_path(text.strip("'\""))
    if _is_image_file(single):
        return [single]
    try:
        tokens = shlex.split(text)
    except ValueError:
        return []
    paths = [_clean_path(token) for token in tokens]
    if paths and all(_is_image_file(p) for p in paths):
        return paths
    return []


def _is_image_file(path: Path) -> bool:
    try:
        return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
    except OSError:
        return False


def check_image(path: Path) -> str | None:
    """Why a file cannot be attached, or None when Pillow can read it."""
    from PIL import Image, UnidentifiedImageError

    if not path.exists():
        return f"Image not found: {path}"
    if path.is_dir():
        return f"Expected an image file, got a folder: {path}"
    try:
        with Image.open(path) as image:
            image.verify()
    except UnidentifiedImageError:
        return f"Not an image (Pillow cannot identify it): {path}"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"Corrupt or unreadable image: {path}: {exc}"
    return None
