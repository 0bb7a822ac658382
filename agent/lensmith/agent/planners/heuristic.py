"""The heuristic planner: transparent rules instead of a language model.

It routes by intent (count/find → detect; read → read_text; cut out → detect then
segment; remove/replace/recolour → segment then edit; similar photos → retrieve;
"remember that …" → remember) and composes the answer from the tool results alone,
citing the tool behind every sentence. It never invents anything a tool did not
measure, and every answer it gives is labelled as coming from this planner.
"""

from __future__ import annotations

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
from lensmith.agent.planners.intent import Intent, read_intent
from lensmith.agent.prompts import GROUNDING_MARKER, MEMORY_MARKER
from lensmith.runtime.artifacts import Artifact, DetectArtifact, parse_artifact

LABEL = "heuristic planner (rule-based, no language model)"
_IMAGE_ID = re.compile(r"img:[0-9a-f]{8}")


class _Turn:
    def __init__(self, messages: Sequence[BaseMessage]) -> None:
        start = 0
        for i, message in enumerate(messages):
            if isinstance(message, HumanMessage) and not _text(message).startswith(GROUNDING_MARKER):
                start = i
        human = messages[start] if messages else HumanMessage("")
        blocks = _blocks(human)
        self.question = blocks[0] if blocks else ""
        self.memory = [b for b in blocks if b.startswith(MEMORY_MARKER)]
        attached = [b for b in blocks[1:] if b.startswith("Attached images:")]
        self.images = _IMAGE_ID.findall(" ".join(attached))
        if not self.images:  # a follow-up ("and how many cars?") is about the last images shown
            for message in reversed(messages[:start]):
                if isinstance(message, HumanMessage):
                    found = _IMAGE_ID.findall(" ".join(b for b in _blocks(message) if b.startswith("Attached images:")))
                    if found:
                        self.images = found
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

    # ---- planning ------------------------------------------------------------------
    def _has(self, tool: str) -> bool:
        return tool in self.tool_names

    def _next_calls(self, turn: _Turn, intent: Intent) -> list[tuple[str, dict[str, Any]]]:
        wants = intent.wants
        first_round = not turn.results
        calls: list[tuple[str, dict[str, Any]]] = []
        if first_round:
            if "remember" in wants and intent.fact and self._has("remember"):
                return [("remember", {"fact": intent.fact, "evidence": turn.images})]
            if "retrieve" in wants and self._has("retrieve"):
                if turn.images and not intent.targets:
                    return [("retrieve", {"image": turn.images[0]})]
                return [("retrieve", {"query": turn.question})]
            if not turn.images:
                return []
            for image in turn.images:
                if wants & {"edit", "segment"} and self._has("detect"):
                    calls.append(("detect", {"image": image, "classes": intent.targets}))
                    continue
                if "read" in wants and self._has("read_text"):
                    calls.append(("read_text", {"image": image}))
                if "count" in wants and self._has("detect") and ("read" not in wants or intent.targets):
                    args: dict[str, Any] = {"image": image}
                    if intent.targets:
                        args["classes"] = intent.targets
                    calls.append(("detect", args))
            return calls
        # second round: segment or edit what detect found
        if wants & {"edit", "segment"} and not turn.called("segment") and not turn.called("edit"):
            for artifact in turn.artifacts(DetectArtifact):
                assert isinstance(artifact, DetectArtifact)
                boxes = [d.box for d in artifact.detections if d.label in intent.objects]
                if not boxes or artifact.image is None:
                    continue
                label = next(d.label for d in artifact.detections if d.label in intent.objects)
                if "edit" in wants and self._has("edit"):
                    calls.append(("edit", _edit_args(artifact.image, intent, label)))
                elif self._has("segment"):
                    calls.append(("segment", {"image": artifact.image, "boxes": boxes}))
        return calls


def _edit_args(image: str, intent: Intent, label: str) -> dict[str, Any]:
    if intent.replacement:
        operation, prompt = "replace", intent.replacement
    elif intent.colour:
        operation, prompt = "recolor", intent.colour
    else:
        operation, prompt = "remove", None
    args: dict[str, Any] = {"image": image, "operation": operation, "target": label}
    if prompt:
        args["prompt"] = prompt
    return args


def _blocks(message: BaseMessage) -> list[str]:
    content = message.content
    if isinstance(content, str):
        return [content]
    return [str(part.get("text", "")) for part in content if isinstance(part, dict) and part.get("type") == "text"]


def _text(message: BaseMessage) -> str:
    return "\n".join(_blocks(message))

