"""Any OpenAI-compatible server (vLLM, SGLang, Ollama, llama.cpp server) as the planner.

``langchain-openai``'s ``ChatOpenAI`` already speaks the protocol: native tool calls,
and LangChain's standard image blocks become ``image_url`` data URLs on the wire.
The subclass adds what real self-hosted servers need:

- the served model found from ``GET /models`` when none is configured (also after
  the server comes up late), no retries, errors that name the server and the fix;
- ``tool_choice: "auto"`` whenever tools are sent (llama-cpp-python's server treats a
  missing one as "none" and never shows the model its tools), and ``""`` rather than
  ``null`` as the content of an assistant message that only calls tools (the same
  server answers HTTP 500 to ``null``);
- images only to models that take them (``planner.vision``): in ``auto`` a server that
  refuses the image parts is asked again without them, and the user is told;
- every response bounded: a total deadline and a byte cap (:mod:`.http`), one
  connection pool per event loop, so one planner serves many turns;
- a tool call whose arguments are not valid JSON goes back to the model as an error
  it can fix, instead of ending the turn with no answer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import openai
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelConnectionError,
    ModelError,
    ModelTimeoutError,
)
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from lensmith.agent.config import PlannerSettings
from lensmith.agent.planners.http import (
    BoundedSyncTransport,
    DeadlineExceeded,
    ResponseTooLarge,
    bounded_clients,
)

log = logging.getLogger("lensmith.agent")

PROBE_TIMEOUT_S = 2.0
# placeholder until GET /models names the served model
UNRESOLVED_MODEL = "default"
# a planner's reply is a few kilobytes of text or tool calls; anything near this is hostile
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MAX_LIST_BYTES = 1024 * 1024  # GET /models, Ollama's /api/show
# how often a tool call with unparsable arguments goes back to the model to fix
FIX_ROUNDS = 2
IMAGE_NOT_SENT = "[image not sent: this planner model takes text only; use the tools to look at it]"
# what servers say when they cannot take image parts (llama.cpp's server, vLLM, Ollama),
# or, for a text-only chat template that prints the data URL as text, the token overflow
_IMAGE_REFUSALS = (
    "image", "multimodal", "vision", "mmproj", "context length", "context window", "maximum context",
    "requested tokens", "you requested", "too many tokens", "content type", "image_url",
)


class PlannerServerError(ModelError):
    """The planner server failed; the message names its URL and what went wrong."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


# the builtin bases let callers that know nothing of LangChain catch them too
class PlannerConnectionError(PlannerServerError, ModelConnectionError, ConnectionError):
    """Nothing answers at the planner URL (refused, unreachable, bad host)."""


class PlannerTimeoutError(PlannerServerError, ModelTimeoutError, TimeoutError):
    """The planner server took longer than ``planner.timeout_s``."""


class PlannerHTTPError(PlannerServerError, ModelAPIError):
    """The planner server answered with an HTTP error status."""

    def __init__(self, message: str, url: str, status: int) -> None:
        super().__init__(message, url)
        self.status = status


class PlannerReplyError(PlannerServerError):
    """The planner's reply cannot be used (too large, tool calls it could not fix)."""


def _base(url: str) -> str:
    return url.rstrip("/")


def _small_client(timeout: float) -> httpx.Client:
    """For model lists and capability probes: a deadline and a small byte cap."""
    return httpx.Client(transport=BoundedSyncTransport(timeout, MAX_LIST_BYTES), timeout=timeout)


def list_models(base_url: str, api_key: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> list[str]:
    """Model ids served at ``{base_url}/models``; raises :class:`PlannerServerError`."""
    url = f"{_base(base_url)}/models"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        with _small_client(timeout) as client:
            response = client.get(url, headers=headers)
            response.raise_for_status()
            data = response.json()
    except ResponseTooLarge as exc:
        raise PlannerHTTPError(f"GET {url} sent more than {MAX_LIST_BYTES:,} bytes; not a model list", url, 200) from exc
    except httpx.TimeoutException as exc:
        raise PlannerTimeoutError(f"GET {url} timed out after {timeout:g} s", url) from exc
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        raise PlannerHTTPError(f"GET {url} answered HTTP {status}", url, status) from exc
    except httpx.TransportError as exc:
        raise PlannerConnectionError(f"GET {url} failed: {_reason(exc)}", url) from exc
    except ValueError as exc:
        raise PlannerHTTPError(f"GET {url} did not return JSON", url, 200) from exc
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise PlannerHTTPError(f"GET {url} is not an OpenAI-style model list", url, 200)
    return [str(entry["id"]) for entry in entries if isinstance(entry, dict) and "id" in entry]


def probe(settings: PlannerSettings) -> tuple[bool, str]:
    """Is a usable server at ``settings.base_url``? ``(ok, one line saying why)``."""
    if not settings.base_url:
        return False, "no planner.base_url set"
    base = _base(settings.base_url)
    try:
        ids = list_models(base, settings.api_key, timeout=PROBE_TIMEOUT_S)
    except PlannerTimeoutError:
        return False, f"timed out after {PROBE_TIMEOUT_S:g} s"
    except PlannerHTTPError as exc:
        return False, f"HTTP {exc.status}" if exc.status != 200 else str(exc)
    except PlannerConnectionError as exc:
        return False, _reason(exc.__cause__) if exc.__cause__ else str(exc)
    if not ids:
        return False, f"server at {base} serves no models"
    wanted = settings.openai_model
    if wanted and wanted not in ids:
        return False, f"server at {base} does not serve {wanted} (it serves {', '.join(ids[:5])})"
    return True, f"server at {base} serves {wanted or ids[0]}"


def _root(exc: BaseException) -> BaseException:
    """The transport error under the SDK's and LangChain's wrappers.

    Only transport errors count: ``__context__`` also links whatever unrelated
    exception was being handled when the call started.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, httpx.TransportError | OSError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return exc


def _reason(exc: BaseException | None) -> str:
    """'connection refused' rather than '[Errno 111] Connection refused'."""
    exc = _root(exc) if exc is not None else None
    text = str(exc) if exc is not None else ""
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered:
        return "unknown host"
    if isinstance(exc, httpx.TimeoutException | openai.APITimeoutError):
        return "timed out"
    return text or type(exc).__name__


class OpenAICompatPlanner(ChatOpenAI):
    """``ChatOpenAI`` for self-hosted servers (see the module docstring)."""

    server_url: str = ""
    discover_model: bool = False
    vision: bool | None = None  # None: try images, drop them if the server refuses
    images_refused: str | None = None  # what the server said when it refused image parts
    fix_rounds: int = FIX_ROUNDS

    @property
    def display_name(self) -> str:
        return f"openai:{self.model_name} @ {self.server_url}"

    @property
    def sends_images(self) -> bool:
        return self.vision if self.vision is not None else self.images_refused is None

    def _ensure_model(self) -> None:
        if not self.discover_model:
            return
        try:
            ids = list_models(self.server_url, self._key(), timeout=min(self._timeout(), 10.0))
        except PlannerConnectionError as exc:
            raise PlannerConnectionError(
                f"Cannot reach the planner server at {self.server_url} to ask which model it serves "
                f"({exc}). Is it running? Check planner.base_url / --planner-url, "
                "or name the model with planner.openai_model.",
                self.server_url,
            ) from exc
        if not ids:
            raise PlannerHTTPError(f"The planner server at {self.server_url} serves no models", self.server_url, 200)
        self.model_name = ids[0]
        self.discover_model = False
        log.info("planner server %s serves %s", self.server_url, self.model_name)

    def _key(self) -> str | None:
        key = self.openai_api_key
        return key.get_secret_value() if isinstance(key, SecretStr) else None

    def _timeout(self) -> float:
        timeout = self.request_timeout
        return float(timeout) if isinstance(timeout, int | float) else 60.0

    # ---- errors --------------------------------------------------------------------
    def _translate(self, exc: BaseException) -> BaseException:
        url = self.server_url
        if isinstance(exc, PlannerServerError):
            return exc
        root = _root(exc)
        if isinstance(root, ResponseTooLarge):
            return PlannerReplyError(
                f"The planner server at {url} sent a reply larger than {root.limit // 2**20} MiB; it was refused "
                "(a planner's reply is a few kilobytes). Check the server and its model.",
                url,
            )
        if isinstance(exc, openai.APITimeoutError) or isinstance(root, DeadlineExceeded):
            return PlannerTimeoutError(
                f"The planner server at {url} did not answer within {self._timeout():g} s "
                "(timed out). Raise planner.timeout_s, or check the server's load.",
                url,
            )
        if isinstance(exc, openai.APIConnectionError):
            return PlannerConnectionError(
                f"Cannot reach the planner server at {url} ({_reason(exc)}). "
                "Is it running? Check planner.base_url / --planner-url.",
                url,
            )
        if isinstance(exc, openai.APIStatusError):
            detail = _detail(exc)
            return PlannerHTTPError(
                f"The planner server at {url} answered HTTP {exc.status_code}: {detail}{_hint(detail)}",
                url,
                exc.status_code,
            )
        if isinstance(exc, ContextOverflowError):
            return PlannerHTTPError(f"The planner server at {url} ran out of context: {exc}", url, 400)
        return exc

    def _refused_images(self, exc: openai.APIStatusError) -> None:
        """Images were refused: in ``auto`` note it (and go on without them), else say how to fix."""
        detail = _detail(exc)
        if self.vision:
            raise PlannerHTTPError(
                f"The planner server at {self.server_url} refused the image parts (HTTP {exc.status_code}: "
                f"{detail}). If {self.model_name} takes text only, set planner.vision = false (or \"auto\") "
                "in config.toml; the tools still look at the images.",
                self.server_url,
                exc.status_code,
            ) from exc
        self.images_refused = f"HTTP {exc.status_code}: {detail}"
        log.warning(
            "The planner server at %s refused the image parts (%s). Asking again without them; from now on "
            "%s gets text only and sees the images through the tools. Set planner.vision = false to skip "
            "the first try, or serve a vision model.",
            self.server_url, self.images_refused, self.model_name,
        )

    # ---- requests ------------------------------------------------------------------
    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        # ChatOpenAI renames max_tokens for api.openai.com; Ollama and older llama.cpp
        # servers only know the original name, which vLLM and SGLang accept too
        if "max_completion_tokens" in payload:
            payload["max_tokens"] = payload.pop("max_completion_tokens")
        if payload.get("tools") and payload.get("tool_choice") is None:
            payload["tool_choice"] = "auto"
        for message in payload.get("messages", []):
            _normalise(message, keep_images=self.sends_images)
        return payload

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: Any = None, **kwargs: Any) -> ChatResult:
        try:
            self._ensure_model()
            result = self._generate_once(messages, stop, run_manager, **kwargs)
            for _ in range(self.fix_rounds):
                feedback = _fix_request(result)
                if feedback is None:
                    return result
                messages = [*messages, *feedback]
                result = self._generate_once(messages, stop, run_manager, **kwargs)
            return self._usable(result)
        except (openai.OpenAIError, PlannerServerError, ContextOverflowError, httpx.HTTPError) as exc:
            raise self._translate(exc) from exc

    def _generate_once(self, messages: list[BaseMessage], stop: list[str] | None, run_manager: Any,
                       **kwargs: Any) -> ChatResult:
        with_images = self.sends_images and _has_images(messages)
        try:
            return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
        except openai.APIStatusError as exc:
            if not (with_images and _refuses_images(exc)):
                raise
            self._refused_images(exc)
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    async def _agenerate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                         run_manager: Any = None, **kwargs: Any) -> ChatResult:
        try:
            self._ensure_model()
            result = await self._agenerate_once(messages, stop, run_manager, **kwargs)
            for _ in range(self.fix_rounds):
                feedback = _fix_request(result)
                if feedback is None:
                    return result
                messages = [*messages, *feedback]
                result = await self._agenerate_once(messages, stop, run_manager, **kwargs)
            return self._usable(result)
        except (openai.OpenAIError, PlannerServerError, ContextOverflowError, httpx.HTTPError) as exc:
            raise self._translate(exc) from exc

    async def _agenerate_once(self, messages: list[BaseMessage], stop: list[str] | None, run_manager: Any,
                              **kwargs: Any) -> ChatResult:
        with_images = self.sends_images and _has_images(messages)
        try:
            return await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
        except openai.APIStatusError as exc:
            if not (with_images and _refuses_images(exc)):
                raise
            self._refused_images(exc)
        return await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _usable(self, result: ChatResult) -> ChatResult:
        message = result.generations[0].message if result.generations else None
        if isinstance(message, AIMessage) and message.invalid_tool_calls:
            shown = "; ".join(_call_problem(call) for call in message.invalid_tool_calls)[:400]
            raise PlannerReplyError(
                f"The planner at {self.server_url} sent unusable tool calls {self.fix_rounds + 1} times in a row, "
                f"although told what was wrong each time ({shown}). Try a model with better tool calling, or "
                "the server's tool-call parser for this model.",
                self.server_url,
            )
        return result

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        try:
            self._ensure_model()
            yield from super()._stream(*args, **kwargs)
        except (openai.OpenAIError, PlannerServerError, ContextOverflowError, httpx.HTTPError) as exc:
            raise self._translate(exc) from exc

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        try:
            self._ensure_model()
            async for chunk in super()._astream(*args, **kwargs):
                yield chunk
        except (openai.OpenAIError, PlannerServerError, ContextOverflowError, httpx.HTTPError) as exc:
            raise self._translate(exc) from exc


# ---- the wire format ------------------------------------------------------------------
def _normalise(message: dict[str, Any], *, keep_images: bool) -> None:
    """One message as every server takes it: no null content, no image parts for a
    text-only model, and text parts joined into one string (llama-cpp-python's
    templates print a list of parts as its Python repr)."""
    content = message.get("content")
    if content is None:
        message["content"] = ""
        return
    if not isinstance(content, list):
        return
    parts = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "image_url" and not keep_images:
            parts.append({"type": "text", "text": IMAGE_NOT_SENT})
        else:
            parts.append(part)
    if all(isinstance(p, dict) and p.get("type") == "text" for p in parts):
        message["content"] = "\n".join(str(p.get("text", "")) for p in parts)
    else:
        message["content"] = parts


def _has_images(messages: Sequence[BaseMessage]) -> bool:
    return any(
        isinstance(block, dict) and block.get("type") in ("image", "image_url")
        for message in messages
        if isinstance(message.content, list)
        for block in message.content
    )


def _detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        text = body.get("message") or body.get("detail") or body.get("error") or ""
    else:
        text = body or ""
    return " ".join(str(text or exc.message or "").split())[:300]


def _refuses_images(exc: openai.APIStatusError) -> bool:
    if exc.status_code not in (400, 413, 415, 422, 500):
        return False
    detail = _detail(exc).lower()
    return isinstance(exc, ContextOverflowError) or any(marker in detail for marker in _IMAGE_REFUSALS)


def _hint(detail: str) -> str:
    lowered = detail.lower()
    if "enable-auto-tool-choice" in lowered:
        return (" (start vLLM with --enable-auto-tool-choice --tool-call-parser <the parser for this model>,"
                " e.g. hermes for Qwen2.5)")
    if "does not support tools" in lowered:
        return " (this Ollama model has no tool calling: pick one whose `ollama show` lists tools)"
    if "requires --jinja" in lowered or "--jinja" in lowered:
        return " (start llama-server with --jinja)"
    return ""


def _call_problem(call: Mapping[str, Any]) -> str:
    name = call.get("name") or "a tool"
    args = str(call.get("args") or "")
    shown = args if len(args) <= 120 else args[:120] + "…"
    return f"{name}({shown}): arguments are not a JSON object"


def _fix_request(result: ChatResult) -> list[BaseMessage] | None:
    """The bad reply and one error per call, for the model to send its calls again."""
    message = result.generations[0].message if result.generations else None
    if not isinstance(message, AIMessage) or not message.invalid_tool_calls:
        return None
    invalid = [{**call, "id": call.get("id") or f"call_bad_{i}"} for i, call in enumerate(message.invalid_tool_calls)]
    reply = AIMessage(content=message.text, tool_calls=message.tool_calls, invalid_tool_calls=invalid)  # type: ignore[arg-type]
    errors: list[BaseMessage] = [
        ToolMessage(
            "Not run: another call in the same reply was invalid. Send all the calls again.",
            tool_call_id=call["id"], name=call["name"], status="error",
        )
        for call in message.tool_calls
    ]
    for call in invalid:
        name = call.get("name") or "the tool"
        errors.append(ToolMessage(
            f"Error: {_call_problem(call)}. Call {name} again with its arguments as one JSON object, "
            'for example {"image": "img:…"}.',
            tool_call_id=call["id"], name=call.get("name") or "unknown", status="error",
        ))
    log.info("planner sent %d unusable tool call(s); told it what was wrong", len(invalid))
    return [reply, *errors]


def make_openai_planner(settings: PlannerSettings) -> OpenAICompatPlanner:
    if not settings.base_url:
        from lensmith.agent.planners import PlannerUnavailable

        raise PlannerUnavailable("The openai planner needs planner.base_url (e.g. http://localhost:8000/v1).")
    base = _base(settings.base_url)
    model = settings.openai_model
    if not model:
        try:
            ids = list_models(base, settings.api_key, timeout=min(settings.timeout_s, PROBE_TIMEOUT_S))
            model = ids[0] if ids else None
        except PlannerServerError as exc:
            # the server may come up later: ask again on the first request
            log.info("could not list models at %s yet (%s); will ask again on first use", base, exc)
    vision = getattr(settings, "vision", "auto")
    sync_client, async_client = bounded_clients(settings.timeout_s, MAX_RESPONSE_BYTES)
    return OpenAICompatPlanner(
        model=model or UNRESOLVED_MODEL,
        discover_model=model is None,
        server_url=base,
        base_url=base,
        api_key=SecretStr(settings.api_key or "not-needed"),
        timeout=settings.timeout_s,
        http_client=sync_client,
        http_async_client=async_client,
        # a dead or overloaded server should fail the turn at once, with a clear message
        max_retries=0,
        temperature=settings.temperature,
        max_completion_tokens=settings.max_new_tokens,  # sent as max_tokens, see above
        use_responses_api=False,
        vision=None if vision == "auto" else bool(vision),
    )


# ---- servers on this machine ------------------------------------------------------------
# default ports of local servers that ``auto`` looks for (loopback only)
LOCAL_SERVERS: tuple[tuple[str, int], ...] = (("Ollama", 11434), ("vLLM", 8000))
LOCAL_PROBE_TIMEOUT_S = 0.5
_OLLAMA_SHOW_LIMIT = 12


@dataclass
class LocalServer:
    kind: str  # "Ollama", "vLLM"
    url: str  # the OpenAI-compatible base URL
    model: str | None  # the model to use; None: not usable (see note)
    note: str  # one line: what was found
    vision: bool | None = None  # known from the server (Ollama's capabilities), else None


def find_local_servers(timeout: float = LOCAL_PROBE_TIMEOUT_S) -> list[LocalServer]:
    """Ollama and vLLM on their default loopback ports, one line each on what answered."""
    return [_probe_local(kind, port, timeout) for kind, port in LOCAL_SERVERS]


def _probe_local(kind: str, port: int, timeout: float) -> LocalServer:
    root = f"http://127.0.0.1:{port}"
    url = f"{root}/v1"
    try:
        ids = list_models(url, timeout=timeout)
    except PlannerTimeoutError:
        return LocalServer(kind, url, None, f"no {kind} at 127.0.0.1:{port} (no answer within {timeout:g} s)")
    except PlannerConnectionError as exc:
        why = _reason(exc.__cause__) if exc.__cause__ else str(exc)
        return LocalServer(kind, url, None, f"no {kind} at 127.0.0.1:{port} ({why})")
    except PlannerHTTPError as exc:
        return LocalServer(kind, url, None, f"127.0.0.1:{port} answers, but not as an OpenAI-compatible server ({exc})")
    if not ids:
        return LocalServer(kind, url, None, f"{kind} at 127.0.0.1:{port} serves no models")
    capabilities = _ollama_capabilities(root, ids[:_OLLAMA_SHOW_LIMIT], timeout)
    if not capabilities:  # not Ollama (or too old to say): take the served model
        return LocalServer(kind, url, ids[0], f"{kind} at 127.0.0.1:{port} serves {ids[0]}")
    with_tools = [m for m in ids if "tools" in capabilities.get(m, ())]
    if not with_tools:
        return LocalServer(
            kind, url, None,
            f"{kind} at 127.0.0.1:{port} has no model with tool calling ({', '.join(ids[:5])}); "
            "pull one whose `ollama show` lists tools (and vision), e.g. qwen3-vl",
        )
    seeing = [m for m in with_tools if "vision" in capabilities.get(m, ())]
    chosen = (seeing or with_tools)[0]
    what = "tools and vision" if seeing else "tools, no vision"
    return LocalServer(kind, url, chosen, f"{kind} at 127.0.0.1:{port} serves {chosen} ({what})", bool(seeing))


def _ollama_capabilities(root: str, ids: Sequence[str], timeout: float) -> dict[str, tuple[str, ...]]:
    """``POST /api/show`` per model (Ollama's own API): what each model can do."""
    found: dict[str, tuple[str, ...]] = {}
    for model in ids:
        try:
            with _small_client(timeout) as client:
                response = client.post(f"{root}/api/show", json={"model": model})
                data = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return found
        caps = data.get("capabilities") if isinstance(data, dict) else None
        if not isinstance(caps, list):
            return found
        found[model] = tuple(str(c) for c in caps)
    return found
