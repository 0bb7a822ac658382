"""Turn a local model's text into tool calls, a final answer, or a parse error.

Models without native tool calling write their calls as JSON, in whatever wrapping
their fine-tuning taught them: bare objects, ```json fences, Qwen's
``<tool_call>...</tool_call>`` tags, a list of calls, prose before or after, or
``{"function": {...}}`` in OpenAI's shape. This module accepts all of those and
nothing it cannot check: a call must name a known tool and carry an object of
arguments with the required keys.
"""

from __future__ import annotations

import ast
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# how the instructions (render.py) ask the model to mark a final answer
ANSWER_PREFIX = re.compile(r"^\s*(?:\*\*)?\s*(?:final\s+)?answer\s*(?:\*\*)?\s*:\s*(?:\*\*)?", re.I)
_TOOL_CALL_TAG = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.S | re.I)
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)(?:```|$)", re.S)
_ARG_KEYS = ("arguments", "args", "parameters", "input", "tool_input")
_NAME_KEYS = ("name", "tool", "tool_name", "function")


@dataclass
class ParseResult:
    kind: Literal["calls", "answer", "error"]
    calls: list[dict[str, Any]] = field(default_factory=list)  # LangChain ToolCall dicts
    answer: str = ""
    error: str = ""


class ToolCallParseError(ValueError):
    """The text looks like a tool call but cannot be used as one."""


def parse_output(text: str, tools: Iterable[Mapping[str, Any]]) -> ParseResult:
    """Classify a model's text given the tool schemas (OpenAI format) it was shown."""
    schemas = {_schema_name(t): t for t in tools}
    stripped = text.strip()
    if not schemas:
        return ParseResult("answer", answer=stripped)
    marker = ANSWER_PREFIX.match(stripped)
    if marker:
        return ParseResult("answer", answer=stripped[marker.end() :].strip())
    try:
        values = extract_json_values(stripped)
    except ToolCallParseError as exc:
        return ParseResult("error", error=str(exc))
    if not values:
        return ParseResult(
            "error",
            error=(
                "The reply is neither a tool call (a JSON object with \"name\" and "
                "\"arguments\") nor a final answer starting with \"Answer:\"."
            ),
        )
    if len(values) == 1 and isinstance(values[0], dict) and _answer_of(values[0]) is not None:
        return ParseResult("answer", answer=_answer_of(values[0]) or "")
    try:
        calls = [to_tool_call(raw, schemas) for raw in _flatten(values)]
    except ToolCallParseError as exc:
        return ParseResult("error", error=str(exc))
    if not calls:
        return ParseResult("error", error="The JSON in the reply holds no tool call.")
    return ParseResult("calls", calls=calls)


def extract_json_values(text: str) -> list[Any]:
    """Every JSON value the text carries, looking inside tags and fences first."""
    tagged = [m.group(1) for m in _TOOL_CALL_TAG.finditer(text)]
    if tagged:
        return [_decode_one(chunk) for chunk in tagged if chunk.strip()]
    fenced = [m.group(1) for m in _FENCE.finditer(text)]
    values = []
    for chunk in fenced:
        values.extend(_scan(chunk))
    if values:
        return values
    values = _scan(text)
    if values:
        return values
    if _looks_like_call(text):
        raise ToolCallParseError(
            "The reply looks like a tool call but its JSON could not be parsed: "
            f"{_first_decode_error(text)}"
        )
    return []


def to_tool_call(raw: Any, schemas: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Normalise one call in any accepted shape into a LangChain ``ToolCall`` dict."""
    if not isinstance(raw, dict):
        raise ToolCallParseError(f"A tool call must be a JSON object, got {type(raw).__name__}.")
    if isinstance(raw.get("function"), dict):  # OpenAI: {"type": "function", "function": {...}}
        raw = raw["function"]
    name = next((raw[k] for k in _NAME_KEYS if isinstance(raw.get(k), str)), None)
    if name is None:
        raise ToolCallParseError(f'A tool call needs a "name"; got keys {sorted(raw)}.')
    if name not in schemas:
        raise ToolCallParseError(
            f"Unknown tool {name!r}. Available tools: {', '.join(sorted(schemas))}."
        )
    args_key = next((k for k in _ARG_KEYS if k in raw), None)
    args: Any = raw[args_key] if args_key else {}
    if isinstance(args, str):  # OpenAI sends arguments as a JSON string
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            raise ToolCallParseError(f"The arguments of {name!r} are not valid JSON: {exc}") from exc
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ToolCallParseError(f"The arguments of {name!r} must be a JSON object.")
    params = schemas[name].get("function", {}).get("parameters", {})
    missing = [key for key in params.get("required", []) if key not in args]
    if missing:
        raise ToolCallParseError(
            f"The call to {name!r} lacks required argument(s): {', '.join(missing)}."
        )
    call_id = raw.get("id") if isinstance(raw.get("id"), str) else f"call_{uuid.uuid4().hex[:12]}"
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


def _schema_name(schema: Mapping[str, Any]) -> str:
    return schema.get("function", schema).get("name", "")


def _answer_of(value: dict) -> str | None:
    for key in ("answer", "final_answer"):
        if isinstance(value.get(key), str) and not any(k in value for k in _NAME_KEYS):
            return value[key]
    return None


def _flatten(values: list[Any]) -> list[Any]:
    calls: list[Any] = []
    for value in values:
        if isinstance(value, list):
            calls.extend(value)
        elif isinstance(value, dict) and isinstance(value.get("tool_calls"), list):
            calls.extend(value["tool_calls"])
        else:
            calls.append(value)
    return calls


def _scan(text: str) -> list[Any]:
    """Top-level JSON objects/arrays in free text, left to right, skipping prose.

    A region that looks like a call but does not decode raises, rather than letting
    a nested object (the arguments) pass for the call.
    """
    decoder = json.JSONDecoder()
    values: list[Any] = []
    position = 0
    while True:
        starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
        if not starts:
            return values
        start = min(starts)
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            value, end = _lenient(text, start)
            if value is None:
                region_end = _balanced_end(text, start) or len(text)
                if _looks_like_call(text[start:region_end]):
                    raise ToolCallParseError(
                        "The reply looks like a tool call but its JSON could not be parsed: "
                        f"{exc.msg} (line {exc.lineno}, column {exc.colno})."
                    ) from exc
                position = start + 1
                continue
        if not _call_shaped(value):  # "[1]" or "{}" in prose is not a call
            position = start + 1
            continue
        values.append(value)
        position = end


def _call_shaped(value: Any) -> bool:
    if isinstance(value, dict):
        return bool(value)
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _lenient(text: str, start: int) -> tuple[Any, int]:
    """Python-literal dicts (single quotes, True/None) that small models often write."""
    end = _balanced_end(text, start)
    if end is None:
        return None, start + 1
    chunk = text[start:end]
    try:
        value = ast.literal_eval(chunk)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        try:  # trailing commas
            value = json.loads(re.sub(r",\s*([}\]])", r"\1", chunk))
        except json.JSONDecodeError:
            return None, start + 1
    return value, end


def _balanced_end(text: str, start: int) -> int | None:
    pairs = {"{": "}", "[": "]"}
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
        elif char in pairs:
            stack.append(pairs[char])
        elif char in "}]":
            if not stack or stack.pop() != char:
                return None
            if not stack:
                return index + 1
    return None


def _decode_one(chunk: str) -> Any:
    values = _scan(chunk)
    if not values:
        raise ToolCallParseError(
            "The <tool_call> block does not hold valid JSON: " f"{_first_decode_error(chunk)}"
        )
    return values if len(values) > 1 else values[0]


def _looks_like_call(text: str) -> bool:
    return "{" in text and re.search(r"[\"']?(name|arguments|tool)[\"']?\s*:", text) is not None


def _first_decode_error(text: str) -> str:
    start = text.find("{")
    try:
        json.JSONDecoder().raw_decode(text, max(start, 0))
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    return "no JSON object found"
