"""Any OpenAI-compatible server (vLLM, SGLang, Ollama, llama.cpp server) as the planner.

``langchain-openai``'s ``ChatOpenAI`` already speaks the protocol: native tool calls,
and LangChain's standard image blocks become ``image_url`` data URLs on the wire.
The thin subclass adds what a self-hosted server needs: the served model found from
``GET /models`` when none is configured (also after the server comes up late), no
retries, and errors that name the server and say what to do instead of the SDK's
bare "Connection error.".
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
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
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from lensmith.agent.config import PlannerSettings

log = logging.getLogger("lensmith.agent")

PROBE_TIMEOUT_S = 2.0
# placeholder until GET /models names the served model
UNRESOLVED_MODEL = "default"


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


def _base(url: str) -> str:
    return url.rstrip("/")


def list_models(base_url: str, api_key: str | None = None, timeout: float = PROBE_TIMEOUT_S) -> list[str]:
    """Model ids served at ``{base_url}/models``; raises :class:`PlannerServerError`."""
    url = f"{_base(base_url)}/models"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.get(url, headers=headers, timeout=timeout)
        response.raise_for_status()
        data = response.json()
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
    """``ChatOpenAI`` for self-hosted servers: lazy model discovery, errors naming the URL."""

    server_url: str = ""
    discover_model: bool = False

    @property
    def display_name(self) -> str:
        return f"openai:{self.model_name} @ {self.server_url}"

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

    def _translate(self, exc: Exception) -> Exception:
        url = self.server_url
        if isinstance(exc, PlannerServerError | ContextOverflowError):
            return exc
        if isinstance(exc, openai.APITimeoutError):
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
            body = exc.body.get("message") if isinstance(exc.body, dict) else None
            detail = str(body or exc.message or "").strip()[:300]
            return PlannerHTTPError(
                f"The planner server at {url} answered HTTP {exc.status_code}: {detail}",
                url,
                exc.status_code,
            )
        return exc

    def _get_request_payload(self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        # ChatOpenAI renames max_tokens for api.openai.com; Ollama and older llama.cpp
        # servers only know the original name, which vLLM and SGLang accept too
        if "max_completion_tokens" in payload:
            payload["max_tokens"] = payload.pop("max_completion_tokens")
        return payload

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        try:
            self._ensure_model()
            return super()._generate(*args, **kwargs)
        except (openai.OpenAIError, PlannerServerError) as exc:
            raise self._translate(exc) from exc

    async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
        try:
            self._ensure_model()
            return await super()._agenerate(*args, **kwargs)
        except (openai.OpenAIError, PlannerServerError) as exc:
            raise self._translate(exc) from exc

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        try:
            self._ensure_model()
            yield from super()._stream(*args, **kwargs)
        except (openai.OpenAIError, PlannerServerError) as exc:
            raise self._translate(exc) from exc

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        try:
            self._ensure_model()
            async for chunk in super()._astream(*args, **kwargs):
                yield chunk
        except (openai.OpenAIError, PlannerServerError) as exc:
            raise self._translate(exc) from exc


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
    return OpenAICompatPlanner(
        model=model or UNRESOLVED_MODEL,
        discover_model=model is None,
        server_url=base,
        base_url=base,
        api_key=SecretStr(settings.api_key or "not-needed"),
        timeout=settings.timeout_s,
        # a dead or overloaded server should fail the turn at once, with a clear message
        max_retries=0,
        temperature=settings.temperature,
        max_completion_tokens=settings.max_new_tokens,  # sent as max_tokens, see above
        use_responses_api=False,
    )
