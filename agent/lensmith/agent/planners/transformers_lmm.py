"""A local model as a tool-calling planner: a multimodal one
(``AutoModelForImageTextToText``) or a text-only causal LM (``AutoModelForCausalLM``).

LLaVA-1.5/NeXT/OneVision, Qwen2-VL and kin have no native tool calling here, so the
tool schemas and a JSON calling convention go into the system prompt
(:mod:`.render`), the conversation goes through the processor's own chat template
(which places each model family's image tokens), and the generated text is parsed
into ``tool_calls`` (:mod:`.parsing`). A text-only model gets each image as a line
naming its id: the tools look at it and describe what they find, as in MM-REACT.
Nothing branches on the model's name: the config's architecture decides which kind
loads, and the processor or tokenizer, its chat template and the config carry every
family difference.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field

from lensmith.agent.config import PlannerSettings
from lensmith.agent.planners import PlannerUnavailable
from lensmith.agent.planners.parsing import ParseResult, parse_output
from lensmith.agent.planners.render import (
    render_feedback,
    render_system_prompt,
    render_tool_calls,
    render_tool_result,
)

log = logging.getLogger("lensmith.agent")

Chat = list[dict[str, Any]]
# what a text-only model reads where an image was (the id comes just before, see the loop)
IMAGE_AS_TEXT = "[an image: this model reads text only; call the tools with the image's id to learn what it shows]"


class TransformersPlanner(BaseChatModel):
    """A ``BaseChatModel`` around a loaded image-text-to-text model and its processor."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hf_model: Any = Field(exclude=True, repr=False)
    processor: Any = Field(exclude=True, repr=False)
    model_id: str = "local"
    device: str = "cpu"
    takes_images: bool = True  # False: a text-only causal LM with a tokenizer as its processor
    max_new_tokens: int = 512
    bound_tools: list[dict[str, Any]] = Field(default_factory=list)
    # one chance to fix an unusable reply, then the text counts as the answer
    feedback_rounds: int = 1
    lock: Any = Field(default_factory=threading.Lock, exclude=True, repr=False)

    @property
    def _llm_type(self) -> str:
        return "lensmith-transformers"

    @property
    def model_name(self) -> str:
        return self.model_id

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model_id, "device": self.device, "max_new_tokens": self.max_new_tokens}

    def bind_tools(  # type: ignore[override]
        self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any
    ) -> TransformersPlanner:
        # tool_choice cannot be enforced on free text generation; the prompt asks instead
        return self.model_copy(update={"bound_tools": [convert_to_openai_tool(t) for t in tools]})

    # -- generation ---------------------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        chat = self.build_chat(messages)
        text, usage = self.complete(chat, stop=stop)
        result = parse_output(text, self.bound_tools)
        outputs, errors = [text], []
        for _ in range(self.feedback_rounds):
            if result.kind != "error":
                break
            errors.append(result.error)
            log.info("planner reply unusable (%s); asking once more", result.error)
            feedback = [_turn("assistant", text), _turn("user", render_feedback(result.error))]
            if not self.takes_images:
                feedback = [{"role": t["role"], "content": _as_text(t["content"])} for t in feedback]
            chat = chat + feedback
            text, more = self.complete(chat, stop=stop)
            usage = {k: usage[k] + more[k] for k in usage}
            outputs.append(text)
            result = parse_output(text, self.bound_tools)
        message = self._to_message(result, text, usage)
        message.response_metadata.update(
            {"model_name": self.model_id, "raw_outputs": outputs, "parse_errors": errors}
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _to_message(self, result: ParseResult, text: str, usage: dict[str, int]) -> AIMessage:
        usage_metadata = {
            "input_tokens": usage["input"],
            "output_tokens": usage["output"],
            "total_tokens": usage["input"] + usage["output"],
        }
        if result.kind == "calls":
            return AIMessage(content=text.strip(), tool_calls=result.calls, usage_metadata=usage_metadata)
        if result.kind == "answer":
            return AIMessage(content=result.answer, usage_metadata=usage_metadata)
        # still unusable after feedback: the text is all we have, so it is the answer
        message = AIMessage(content=text.strip(), usage_metadata=usage_metadata)
        message.response_metadata["unparsed"] = result.error
        return message

    def build_chat(self, messages: Sequence[BaseMessage]) -> Chat:
        """LangChain messages -> the processor's chat format (roles alternate, images as PIL)."""
        return build_chat(messages, self.bound_tools, takes_images=self.takes_images)

    def render_prompt(self, chat: Chat) -> str:
        """The exact prompt text the model sees (image placeholders not yet expanded)."""
        return self._apply_template(chat, tokenize=False)

    def encode(self, chat: Chat) -> Any:
        """Token ids, attention mask and pixel values, image tokens expanded by the processor."""
        return self._apply_template(chat, tokenize=True)

    def complete(self, chat: Chat, stop: list[str] | None = None) -> tuple[str, dict[str, int]]:
        import torch
        from transformers import BatchFeature

        inputs = self.encode(chat)
        dtype = getattr(self.hf_model, "dtype", None)
        if isinstance(inputs, BatchFeature) and dtype is not None:
            inputs = inputs.to(self.device, dtype=dtype)  # casts the pixel values, never the token ids
        else:  # a tokenizer's BatchEncoding: token ids only, and .to takes no dtype
            inputs = inputs.to(self.device)
        prompt_length = inputs["input_ids"].shape[1]
        tokenizer = getattr(self.processor, "tokenizer", self.processor)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        with self.lock, torch.inference_mode():
            output = self.hf_model.generate(
                **inputs, max_new_tokens=self.max_new_tokens, do_sample=False, pad_token_id=pad
            )
        new_tokens = output[0, prompt_length:]
        text = self.processor.decode(new_tokens, skip_special_tokens=True)
        for marker in stop or []:
            text = text.split(marker, 1)[0]
        return text, {"input": int(prompt_length), "output": int(new_tokens.shape[0])}

    def _apply_template(self, chat: Chat, *, tokenize: bool) -> Any:
        kwargs: dict[str, Any] = {"add_generation_prompt": True, "tokenize": tokenize}
        if tokenize:
            kwargs.update(return_dict=True, return_tensors="pt")
        try:
            return self.processor.apply_chat_template(chat, **kwargs)
        except Exception as exc:  # noqa: BLE001 - jinja raises from inside the template
            if not chat or chat[0]["role"] != "system":
                raise
            # some templates (Mistral-based LLaVA-NeXT, ...) reject a system turn
            log.debug("chat template rejected a system turn (%s); folding it into the first user turn", exc)
            return self.processor.apply_chat_template(fold_system(chat), **kwargs)


# -- LangChain messages -> chat turns ------------------------------------------------


def build_chat(messages: Sequence[BaseMessage], tools: list[dict[str, Any]], *, takes_images: bool = True) -> Chat:
    """The chat turns; for a text-only model, images become a line of text and each
    turn's content one string (text models' chat templates expect a string)."""
    turns = _build_turns(messages, tools)
    if takes_images:
        return turns
    return [{"role": turn["role"], "content": _as_text(turn["content"])} for turn in turns]


def _as_text(content: list[dict[str, Any]]) -> str:
    return "\n".join(IMAGE_AS_TEXT if block["type"] == "image" else str(block.get("text", "")) for block in content)


def _build_turns(messages: Sequence[BaseMessage], tools: list[dict[str, Any]]) -> Chat:
    system_parts = [_text_of(m.content) for m in messages if isinstance(m, SystemMessage)]
    system = render_system_prompt("\n\n".join(p for p in system_parts if p), tools)
    turns: Chat = [_turn("system", system)] if system else []
    for message in messages:
        if isinstance(message, SystemMessage):
            continue
        if isinstance(message, ToolMessage):
            content = [
                {
                    "type": "text",
                    "text": render_tool_result(
                        message.name,
                        message.tool_call_id,
                        _text_of(message.content),
                        error=message.status == "error",
                    ),
                }
            ]
            content += _images_of(message.content)
            _append(turns, "user", content)
        elif isinstance(message, AIMessage):
            if message.tool_calls:
                text = render_tool_calls(list(message.tool_calls))
            else:
                text = _text_of(message.content)
            _append(turns, "assistant", [{"type": "text", "text": text}])
        elif isinstance(message, HumanMessage):
            _append(turns, "user", _user_content(message.content))
        else:  # a ChatMessage with a custom role: treat as the user speaking
            _append(turns, "user", [{"type": "text", "text": _text_of(message.content)}])
    return turns


def fold_system(chat: Chat) -> Chat:
    """The system text prepended to the first user turn, for templates without a system role."""
    system, rest = chat[0], [dict(turn) for turn in chat[1:]]
    for turn in rest:
        if turn["role"] == "user":
            if isinstance(turn["content"], str):
                turn["content"] = f"{system['content']}\n\n{turn['content']}"
            else:
                turn["content"] = list(system["content"]) + list(turn["content"])
            return rest
    return [{"role": "user", "content": system["content"]}, *rest]


def _turn(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "content": [{"type": "text", "text": text}]}


def _append(turns: Chat, role: str, content: list[dict[str, Any]]) -> None:
    # most LMM templates expect user/assistant to alternate: merge runs of one role
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"] = turns[-1]["content"] + content
    else:
        turns.append({"role": role, "content": content})


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "\n".join(parts)


def _user_content(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    out: list[dict[str, Any]] = []
    for block in content or []:
        if isinstance(block, str):
            out.append({"type": "text", "text": block})
        elif isinstance(block, dict) and block.get("type") == "text":
            out.append({"type": "text", "text": str(block.get("text", ""))})
        elif isinstance(block, dict) and block.get("type") in ("image", "image_url"):
            image = decode_image_block(block)
            if image is not None:
                out.append({"type": "image", "image": image})
            else:
                out.append({"type": "text", "text": "[an image that could not be loaded]"})
    return out


def _images_of(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return []
    images = []
    for block in content or []:
        if isinstance(block, dict) and block.get("type") in ("image", "image_url"):
            image = decode_image_block(block)
            if image is not None:
                images.append({"type": "image", "image": image})
    return images


def decode_image_block(block: dict[str, Any]) -> Any:
    """A PIL image from a LangChain standard image block or an OpenAI ``image_url`` block.

    Only inline data (base64 or a data URL) and local files are decoded: fetching a
    remote URL from inside the planner would be a network side channel.
    """
    from PIL import Image

    data: str | None = None
    if block.get("type") == "image_url":
        url = block.get("image_url")
        url = url.get("url") if isinstance(url, dict) else url
    else:
        url = block.get("url")
        data = block.get("base64") or (block.get("data") if block.get("source_type") == "base64" else None)
        path = block.get("path") or (block.get("url") if block.get("source_type") == "path" else None)
        if path and Path(str(path)).is_file():
            with Image.open(path) as image:
                return image.convert("RGB")
    if data is None and isinstance(url, str):
        if url.startswith("data:") and "," in url:
            data = url.split(",", 1)[1]
        elif url.startswith("file://") and Path(url[7:]).is_file():
            with Image.open(url[7:]) as image:
                return image.convert("RGB")
    if not data:
        log.warning("image block without inline data skipped: %s", str(url)[:80])
        return None
    try:
        raw = base64.b64decode(data, validate=False)
        with Image.open(io.BytesIO(raw)) as image:
            return image.convert("RGB")
    except (binascii.Error, OSError, ValueError) as exc:
        log.warning("could not decode an image block: %s", exc)
        return None


# -- loading -----------------------------------------------------------------------


def resolve_model_path(model: str) -> str:
    """A local folder is used as is; anything else goes through the weights resolver."""
    from lensmith.runtime.errors import WeightsNotFound
    from lensmith.runtime.weights import resolve

    local = Path(model).expanduser()
    if local.is_dir():
        return str(local)
    try:
        return resolve(model).path
    except WeightsNotFound as exc:
        raise PlannerUnavailable(str(exc)) from exc


def make_transformers_planner(settings: PlannerSettings, device: str = "auto") -> TransformersPlanner:
    if not settings.model:
        raise PlannerUnavailable("The transformers planner needs a model (planner.model).")
    try:
        import transformers  # noqa: F401
    except ImportError as exc:
        raise PlannerUnavailable(
            "The transformers planner needs the 'lmm' extra: pip install 'lensmith[lmm]'"
        ) from exc
    from lensmith.runtime.device import pick_device, pick_dtype
    from lensmith.runtime.progress import report

    path = resolve_model_path(settings.model)
    target = pick_device(device, tool="planner")
    dtype = pick_dtype(target)
    source = "planner"
    report(source, f"loading {settings.model} from {path} on {target} ({str(dtype).removeprefix('torch.')})", 0.0)
    try:
        model, processor, takes_images = load_model(path, target, dtype)
    except (OSError, ValueError, KeyError) as exc:
        raise PlannerUnavailable(
            f"Could not load the planner model {settings.model} from {path}: {type(exc).__name__}: {exc}"
        ) from exc
    kind = "" if takes_images else " (text only: the tools look at the images for it)"
    report(source, f"{settings.model} ready on {target}{kind}", 1.0)
    return TransformersPlanner(
        hf_model=model,
        processor=processor,
        model_id=settings.model,
        device=target,
        max_new_tokens=settings.max_new_tokens,
        takes_images=takes_images,
    )


def takes_images(config: Any) -> bool | None:
    """From the config's architecture: True for an image-text-to-text model, False for a
    text-only causal LM, None for neither."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES,
    )

    model_type = getattr(config, "model_type", None)
    if model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES:
        return True
    if model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return False
    return None


def load_model(path: str, device: str, dtype: Any) -> tuple[Any, Any, bool]:
    """``(model, processor or tokenizer, takes images)``."""
    from transformers import (
        AutoConfig,
        AutoModelForCausalLM,
        AutoModelForImageTextToText,
        AutoProcessor,
        AutoTokenizer,
    )

    from lensmith.runtime.progress import report

    config = AutoConfig.from_pretrained(path)
    seeing = takes_images(config)
    if seeing is None:
        raise ValueError(
            f"its architecture ({getattr(config, 'model_type', 'unknown')}) is neither an image-text-to-text "
            "model nor a causal language model; the planner needs one of those"
        )
    processor = AutoProcessor.from_pretrained(path) if seeing else AutoTokenizer.from_pretrained(path)
    if getattr(processor, "chat_template", None) is None:
        what = "processor" if seeing else "tokenizer"
        raise ValueError(f"the {what} at {path} has no chat template; the planner needs one")
    report("planner", f"{'processor' if seeing else 'tokenizer'} loaded; loading weights", 0.1)
    kwargs: dict[str, Any] = {"dtype": dtype}
    if device != "cpu":
        kwargs["device_map"] = device  # straight onto the accelerator, no CPU copy first
    auto = AutoModelForImageTextToText if seeing else AutoModelForCausalLM
    model = auto.from_pretrained(path, config=config, **kwargs)
    if device == "cpu":
        model = model.to(device)  # type: ignore[arg-type]  # transformers' stubs mistype .to
    return model.eval(), processor, seeing
