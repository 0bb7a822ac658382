"""The heuristic planner: transparent rules instead of a language model.

It reads what is asked with a sentence encoder against exemplar questions
(:mod:`.intent`), splits compound questions, and plans the tools each part needs on
each attached image: detect for counting, finding, comparing, listing and locating;
read_text for reading; detect then colour for colours; detect and read_text for "can I
… here?"; detect then segment or edit for cut-outs and edits; retrieve, remember. What
no tool measures (actions, relations, the scene, emotions, identity) it says so, and
still reports what it measured. It composes the answer from the tool results alone
(:mod:`.compose`), citing the tool behind every sentence, and every answer it gives is
labelled as coming from this planner.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from lensmith.agent.planners.compose import compose_answer
from lensmith.agent.planners.intent import DETECT_FAMILY, Ask, Intent, read_intent
from lensmith.agent.prompts import GROUNDING_MARKER, MEMORY_MARKER
from lensmith.agent.trace import PLANNER_LABELS
from lensmith.runtime.artifacts import Artifact, DetectArtifact, parse_artifact

LABEL = PLANNER_LABELS["heuristic"]
_IMAGE_ID = re.compile(r"img:[0-9a-f]{8}")
_NAMED = re.compile(r'(img:[0-9a-f]{8}) \(\d+×\d+, file name \(untrusted data\): ("(?:[^"\\]|\\.)*")\)')
COLOUR_BOXES = 3  # boxes per class whose colours are measured


class _Turn:
    def __init__(self, messages: Sequence[BaseMessage]) -> None:
        start = 0
        for i, message in enumerate(messages):
            if isinstance(message, HumanMessage) and not str(message.text).startswith(GROUNDING_MARKER):
                start = i
        human = messages[start] if messages else HumanMessage("")
        blocks = _blocks(human)
        self.question = blocks[0] if blocks else ""
        self.memory = [b for b in blocks if b.startswith(MEMORY_MARKER)]
        attached = " ".join(b for b in blocks[1:] if b.startswith("Attached images:"))
        self.images = _IMAGE_ID.findall(attached)
        self.names = _names(attached)
        self.follow_up = False
        if not self.images:  # a follow-up ("and how many cars?") is about the last images shown
            for message in reversed(messages[:start]):
                if isinstance(message, HumanMessage):
                    earlier = " ".join(b for b in _blocks(message) if b.startswith("Attached images:"))
                    found = _IMAGE_ID.findall(earlier)
                    if found:
                        self.images, self.names, self.follow_up = found, _names(earlier), True
                        break
        self.results: list[tuple[dict[str, Any], ToolMessage]] = []
        calls: dict[str, dict[str, Any]] = {}
        for message in messages[start + 1 :]:
            if isinstance(message, AIMessage):
                for call in message.tool_calls:
                    calls[str(call["id"])] = dict(call)
            elif isinstance(message, ToolMessage) and message.tool_call_id in calls:
                self.results.append((calls[message.tool_call_id], message))

    def artifacts(self, kind: type[Artifact]) -> list[Artifact]:
        out = []
        for _call, message in self.results:
            artifact = message.artifact if isinstance(message.artifact, Artifact) else parse_artifact(message.artifact)
            if isinstance(artifact, kind):
                out.append(artifact)
        return out

    def called(self, tool: str) -> bool:
        return any(call["name"] == tool for call, _m in self.results)


class HeuristicPlanner(BaseChatModel):
    """A chat model whose 'thinking' is a fixed, inspectable set of rules."""

    tool_names: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "heuristic"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> HeuristicPlanner:  # type: ignore[override]
        names = [getattr(t, "name", None) or t.get("function", {}).get("name") for t in tools]
        return self.model_copy(update={"tool_names": [n for n in names if n]})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        turn = _Turn(messages)
        intent = read_intent(turn.question)
        calls = self._next_calls(turn, intent)
        if calls:
            message = AIMessage(
                content="",
                tool_calls=[
                    {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:10]}", "type": "tool_call"}
                    for name, args in calls
                ],
            )
        else:
            message = AIMessage(content=compose_answer(turn, intent, self.tool_names))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def uses_recall(self, question: str) -> bool:
        """Whether recalled memory can change this planner's answer to ``question``: only a
        question that asks about the past ("what did I call my dog?") reads it. The loop
        skips recall otherwise, so a question about the attached photo opens no database."""
        return any(part.kind == "recall" for part in read_intent(question).parts)

    # ---- planning ------------------------------------------------------------------
    def _has(self, tool: str) -> bool:
        return tool in self.tool_names

    def _next_calls(self, turn: _Turn, intent: Intent) -> list[tuple[str, dict[str, Any]]]:
        if not turn.results:
            return self._first_round(turn, intent)
        if turn.called("colour") or turn.called("segment") or turn.called("edit"):
            return []
        return self._second_round(turn, intent)

    def _first_round(self, turn: _Turn, intent: Intent) -> list[tuple[str, dict[str, Any]]]:
        for part in intent.parts:
            if part.kind == "remember" and part.fact and self._has("remember"):
                return [("remember", {"fact": part.fact, "evidence": turn.images})]
            if part.kind == "retrieve" and self._has("retrieve"):
                if turn.images and not part.targets:
                    return [("retrieve", {"image": turn.images[0]})]
                return [("retrieve", {"query": part.text})]
        if not turn.images:
            return []
        calls: list[tuple[str, dict[str, Any]]] = []
        for image in turn.images:
            look_all, read, colour_whole = False, False, False
            classes: list[str] = []
            for part in intent.parts:
                wanted = _detect_for(part)
                if wanted is None:
                    look_all = True
                elif isinstance(wanted, list):
                    classes.extend(c for c in wanted if c not in classes)
                read = read or part.kind in ("read", "availability")
                colour_whole = colour_whole or (part.kind == "colour" and not part.targets)
            if (look_all or classes) and self._has("detect"):
                calls.append(("detect", {"image": image} if look_all else {"image": image, "classes": classes}))
            if read and self._has("read_text"):
                calls.append(("read_text", {"image": image}))
            if colour_whole and self._has("colour"):
                calls.append(("colour", {"image": image}))
        return calls

    def _second_round(self, turn: _Turn, intent: Intent) -> list[tuple[str, dict[str, Any]]]:
        """Measure the colours of what detect found, or cut out / edit it."""
        calls: list[tuple[str, dict[str, Any]]] = []
        detects = [a for a in turn.artifacts(DetectArtifact) if isinstance(a, DetectArtifact)]
        for part in intent.parts:
            for artifact in detects:
                if artifact.image is None:
                    continue
                if part.kind == "colour" and self._has("colour"):
                    for label in part.objects:
                        found = sorted((d for d in artifact.detections if d.label == label), key=lambda d: -d.score)
                        for det in found[:COLOUR_BOXES]:
                            calls.append(("colour", {"image": artifact.image, "box": det.box, "label": label}))
                if part.kind in ("segment", "edit"):
                    boxes = [d.box for d in artifact.detections if d.label in part.objects]
                    if not boxes:
                        continue
                    label = next(d.label for d in artifact.detections if d.label in part.objects)
                    if part.kind == "edit" and self._has("edit"):
                        calls.append(("edit", _edit_args(artifact.image, part, label)))
                    elif part.kind == "segment" and self._has("segment"):
                        calls.append(("segment", {"image": artifact.image, "boxes": boxes}))
        return _unique_calls(calls)


def _detect_for(part: Ask) -> list[str] | None | bool:
    """What detect should look for to answer ``part``: class words, None for everything, False for nothing."""
    kind = part.kind
    if kind in DETECT_FAMILY:
        return part.detect_classes
    if kind in ("segment", "edit", "colour"):
        return part.targets or False
    if kind == "availability":
        if part.activity:
            return list(part.activity.get("objects", [])) or None
        return None
    if part.unmeasurable is not None and kind != "off_domain":
        return part.detect_classes  # what was measured, next to what was not
    return False


def _edit_args(image: str, part: Ask, label: str) -> dict[str, Any]:
    if part.replacement:
        operation, prompt = "replace", part.replacement
    elif part.colour:
        operation, prompt = "recolor", part.colour
    else:
        operation, prompt = "remove", None
    args: dict[str, Any] = {"image": image, "operation": operation, "target": label}
    if prompt:
        args["prompt"] = prompt
    return args


def _unique_calls(calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for call in calls:
        if call not in out:
            out.append(call)
    return out


def _names(attached: str) -> dict[str, str]:
    """Image id → file name, to name each photo in the answer. A file name is untrusted data:
    only a short run of plain characters of it is repeated."""
    out = {}
    for image_id, quoted in _NAMED.findall(attached):
        try:
            name = str(json.loads(quoted))
        except ValueError:
            continue
        safe = re.sub(r"[^\w.\- ]+", "_", name)[:40].strip()
        if safe:
            out[image_id] = safe
    return out


def _blocks(message: BaseMessage) -> list[str]:
    content = message.content
    if isinstance(content, str):
        return [content]
    return [str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") == "text"]



