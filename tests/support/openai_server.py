"""A small real HTTP server speaking the OpenAI chat-completions protocol.

It listens on a free port of 127.0.0.1 in a background thread, answers
``GET /v1/models`` and ``POST /v1/chat/completions`` (plain JSON or SSE when the
request asks to stream), records every request it receives, and replies from a
script: a list of replies played in order, or a function of the request body.

``flavour`` reproduces what a real server does with the same request (read from
their sources; see each ``_<flavour>_refusal``):

- ``"llama-cpp-python"``: llama-cpp-python's ``llama_cpp.server`` with
  ``--chat_format chatml-function-calling``. A missing ``tool_choice`` (or "none")
  renders the prompt without tools, so the model never calls one; an assistant
  ``content: null`` fails the request model's validation, which its error route turns
  into HTTP 500 ``internal_server_error``; a text-only chat template prints image parts
  (base64 and all) as text, so a photo overflows the context: HTTP 400
  ``context_length_exceeded``. Tool calls come back with ``content: null`` and ids
  ``call__0_<name>_<completion id>``.
- ``"llama-server"``: llama.cpp's C++ server with ``--jinja``: ``tool_choice``
  defaults to "auto"; image parts without a multimodal projector are HTTP 500
  "image input is not supported - hint: ... mmproj".
- ``"ollama"``: Ollama's ``/v1`` API: no ``tool_choice`` at all (tools always
  offered), tools for a model without the tools capability are HTTP 400 "... does not
  support tools", ``null`` content without tool calls is HTTP 400; ``POST /api/show``
  lists each model's capabilities; a streamed tool call arrives whole in one chunk.
- ``"vllm"``: tools with ``tool_choice`` "auto" (its default when tools are sent) on a
  server started without ``--enable-auto-tool-choice`` are HTTP 400; image parts for a
  text-only model are HTTP 400 "... is not a multimodal model"; a streamed tool call
  arrives as a name delta, then argument fragments.
- ``"generic"``: accepts everything (the original fake).

Modes: ``"ok"``; ``"hang"`` (accept, then say nothing until ``hang_s`` passes or the
server stops: drives client timeouts); ``"500"`` (every request fails with HTTP 500);
``"drip"`` (status and headers, then one body byte every ``drip_s``); ``"huge"`` (a
reply of ``huge_bytes`` bytes).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from support.servers import free_port  # noqa: F401 - re-exported: tests import it from here

Reply = dict[str, Any]  # {"content": str | None, "tool_calls": [{"name", "arguments" | "raw_arguments"}]}
Script = Callable[[dict[str, Any]], Reply] | list[Reply]
LLAMA_CPP_CONTEXT = 2048


def text(content: str) -> Reply:
    return {"content": content, "tool_calls": []}


def tool_call(name: str, arguments: dict[str, Any], content: str | None = None) -> Reply:
    return {"content": content, "tool_calls": [{"name": name, "arguments": arguments}]}


def bad_tool_call(name: str, raw_arguments: str) -> Reply:
    """A tool call whose arguments string is whatever the model wrote (e.g. broken JSON)."""
    return {"content": None, "tool_calls": [{"name": name, "raw_arguments": raw_arguments}]}


def tool_then_answer(name: str, arguments: dict[str, Any], answer: Callable[[str], str]) -> Script:
    """Call ``name`` first; once the request carries its result, answer from that result."""

    def respond(body: dict[str, Any]) -> Reply:
        results = [m for m in body.get("messages", []) if m.get("role") == "tool"]
        if results:
            content = results[-1].get("content")
            if isinstance(content, list):
                content = " ".join(str(part.get("text", "")) for part in content)
            return text(answer(str(content)))
        return tool_call(name, arguments)

    return respond


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any] | None


@dataclass
class FakeOpenAIServer:
    script: Script = field(default_factory=lambda: [text("Nothing to add.")])
    models: list[str] = field(default_factory=lambda: ["fake-vlm"])
    mode: str = "ok"  # "ok" | "hang" | "500" | "drip" | "huge"
    hang_s: float = 30.0
    port: int = 0
    flavour: str = "generic"  # "generic" | "llama-cpp-python" | "llama-server" | "ollama" | "vllm"
    vision: bool = True  # does the served model take images?
    tools: bool = True  # Ollama: the model has the tools capability; vLLM: --enable-auto-tool-choice
    drip_s: float = 0.5
    huge_bytes: int = 50 * 1024 * 1024
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._position = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests if r.path.endswith("/chat/completions") and r.body]

    def start(self) -> FakeOpenAIServer:
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- replies ---------------------------------------------------------------

    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if callable(self.script):
                return self.script(body)
            if self._position >= len(self.script):
                raise RuntimeError("the fake server's script has run out of replies")
            reply = self.script[self._position]
            self._position += 1
            return reply

    def wait_or_stop(self, seconds: float) -> bool:
        """True when the server is stopping."""
        return self._stopping.wait(seconds)

    # -- what each real server refuses -------------------------------------------

    def refusal(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        check = {
            "llama-cpp-python": self._llama_cpp_python_refusal,
            "llama-server": self._llama_server_refusal,
            "ollama": self._ollama_refusal,
            "vllm": self._vllm_refusal,
        }.get(self.flavour)
        return check(body) if check else None

    def tools_offered(self, body: dict[str, Any]) -> bool:
        """Would the model see the tools? llama-cpp-python's chatml-function-calling renders
        them only for tool_choice "auto" or a named function."""
        if not body.get("tools"):
            return False
        if self.flavour == "llama-cpp-python":
            return body.get("tool_choice") not in (None, "none")
        return body.get("tool_choice") != "none"

    def _llama_cpp_python_refusal(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        for index, message in enumerate(body.get("messages", [])):
            if message.get("role") == "assistant" and message.get("content", "") is None:
                # llama_types.ChatCompletionRequestAssistantMessage: content: NotRequired[str];
                # the validation error reaches RouteErrorHandler, which answers 500
                detail = [{"type": "string_type", "loc": ["body", "messages", index, "typed-dict", "content"],
                           "msg": "Input should be a valid string", "input": None}]
                return 500, {"error": {"message": str(detail), "type": "internal_server_error",
                                       "param": None, "code": None}}
        if not self.vision:
            # the chatml template prints each message's content; a list of parts prints as its repr
            prompt = sum(len(str(m.get("content") or "")) for m in body.get("messages", []))
            prompt_tokens = prompt // 4  # a rough tokenizer: the point is the order of magnitude
            completion = int(body.get("max_tokens") or 0)
            if prompt_tokens + completion > LLAMA_CPP_CONTEXT:
                return 400, {"error": {
                    "message": f"This model's maximum context length is {LLAMA_CPP_CONTEXT} tokens. However, you "
                               f"requested {prompt_tokens + completion} tokens ({prompt_tokens} in the messages, "
                               f"{completion} in the completion). Please reduce the length of the messages or "
                               "completion.",
                    "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}}
        return None

    def _llama_server_refusal(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if not self.vision and _has_image_parts(body):
            return 500, {"error": {"code": 500, "type": "server_error",
                                   "message": "image input is not supported - hint: if this is unexpected, "
                                              "you may need to provide the mmproj"}}
        return None

    def _ollama_refusal(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        for message in body.get("messages", []):
            if message.get("content", "") is None and not message.get("tool_calls"):
                return 400, _ollama_error(400, "invalid message content type: <nil>")
        if body.get("tools") and not self.tools:
            model = body.get("model") or self.models[0]
            return 400, _ollama_error(400, f"registry.ollama.ai/library/{model} does not support tools")
        return None

    def _vllm_refusal(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        choice = body.get("tool_choice", "auto" if body.get("tools") else "none")
        if body.get("tools") and choice == "auto" and not self.tools:
            return 400, _vllm_error('"auto" tool choice requires --enable-auto-tool-choice and '
                                    "--tool-call-parser to be set")
        if not self.vision and _has_image_parts(body):
            return 400, _vllm_error(f"{body.get('model') or self.models[0]} is not a multimodal model")
        return None


def _ollama_error(status: int, message: str) -> dict[str, Any]:
    kind = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _vllm_error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "BadRequestError", "param": None, "code": 400}}


def _has_image_parts(body: dict[str, Any]) -> bool:
    return any(
        isinstance(part, dict) and part.get("type") == "image_url"
        for message in body.get("messages", [])
        if isinstance(message.get("content"), list)
        for part in message["content"]
    )


def _calls(server: FakeOpenAIServer, reply: Reply, completion_id: str) -> list[dict[str, Any]]:
    calls = []
    for index, call in enumerate(reply.get("tool_calls", [])):
        arguments = call["raw_arguments"] if "raw_arguments" in call else json.dumps(call["arguments"])
        if server.flavour == "llama-cpp-python":
            call_id = f"call__0_{call['name']}_{completion_id}"
        elif server.flavour == "vllm":
            call_id = f"chatcmpl-tool-{uuid.uuid4().hex[:16]}"
        else:
            call_id = f"call_{uuid.uuid4().hex[:10]}"
        entry = {"id": call_id, "type": "function", "function": {"name": call["name"], "arguments": arguments}}
        if server.flavour == "ollama":
            entry["index"] = index
        calls.append(entry)
    return calls


def _completion(server: FakeOpenAIServer, model: str, reply: Reply) -> dict[str, Any]:
    completion_id = f"cmpl-{uuid.uuid4()}"
    calls = _calls(server, reply, completion_id)
    content = reply.get("content")
    if server.flavour == "ollama" and content is None:
        content = ""  # Ollama always sends a string
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
        if server.flavour == "llama-cpp-python":
            message["content"] = None
            message["function_call"] = calls[0]["function"]
    return {
        "id": f"chat{completion_id}" if server.flavour == "llama-cpp-python" else f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _chunks(server: FakeOpenAIServer, model: str, reply: Reply) -> list[dict[str, Any]]:
    """The same reply as streaming deltas, in the server's own shape."""
    full = _completion(server, model, reply)
    message = full["choices"][0]["message"]
    base = {"id": full["id"], "object": "chat.completion.chunk", "created": full["created"], "model": model}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    if message.get("content"):
        deltas.append({"content": message["content"]})
    for index, call in enumerate(message.get("tool_calls", [])):
        if server.flavour == "vllm":  # the name first, then the arguments in pieces
            head = {"index": index, "id": call["id"], "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""}}
            deltas.append({"tool_calls": [head]})
            arguments = call["function"]["arguments"]
            for start in range(0, len(arguments), 7):
                deltas.append({"tool_calls": [{"index": index, "function": {"arguments": arguments[start:start + 7]}}]})
        else:  # Ollama (and the rest here): the whole call in one chunk
            deltas.append({"tool_calls": [{"index": index, **{k: v for k, v in call.items() if k != "index"}}]})
    chunks = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    finish = full["choices"][0]["finish_reason"]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    return chunks


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
            return

        def _record(self, body: dict[str, Any] | None) -> None:
            headers = {key.lower(): value for key, value in self.headers.items()}
            server.requests.append(Received(self.command, self.path, headers, body))

        def _send_json(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _misbehave(self) -> bool:
            if server.mode == "hang":
                server.wait_or_stop(server.hang_s)
                self.close_connection = True
                return True
            if server.mode == "500":
                self._send_json(500, {"error": {"message": "internal error (scripted)", "type": "server_error"}})
                return True
            if server.mode == "drip":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                self.wfile.flush()
                started = time.monotonic()
                try:
                    while time.monotonic() - started < server.hang_s and not server.wait_or_stop(server.drip_s):
                        self.wfile.write(b" ")
                        self.wfile.flush()
                except OSError:
                    pass  # the client gave up: what the drip is for
                self.close_connection = True
                return True
            if server.mode == "huge":
                head = b'{"id": "chatcmpl-huge", "object": "chat.completion", "choices": [{"index": 0, ' \
                       b'"message": {"role": "assistant", "content": "'
                tail = b'"}, "finish_reason": "stop"}]}'
                filler = server.huge_bytes - len(head) - len(tail)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(head) + filler + len(tail)))
                self.end_headers()
                try:
                    self.wfile.write(head)
                    block = b"A" * 65536
                    for _ in range(filler // len(block)):
                        self.wfile.write(block)
                    self.wfile.write(b"A" * (filler % len(block)) + tail)
                except OSError:
                    pass  # the client stopped reading
                self.close_connection = True
                return True
            return False

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._record(None)
            if self._misbehave():
                return
            if self.path.rstrip("/").endswith("/models"):
                owner = {"vllm": "vllm", "ollama": "library", "llama-cpp-python": "me"}.get(server.flavour, "fake")
                data = [{"id": m, "object": "model", "owned_by": owner} for m in server.models]
                self._send_json(200, {"object": "list", "data": data})
            else:
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send_json(400, {"error": {"message": "body is not JSON"}})
                return
            self._record(body)
            if self.path.rstrip("/") == "/api/show" and server.flavour == "ollama":
                caps = ["completion"] + (["tools"] if server.tools else []) + (["vision"] if server.vision else [])
                self._send_json(200, {"capabilities": caps, "details": {"format": "gguf"}})
                return
            if self._misbehave():
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})
                return
            refused = server.refusal(body)
            if refused is not None:
                self._send_json(*refused)
                return
            model = body.get("model") or server.models[0]
            try:
                reply = server.next_reply(body)
            except Exception as exc:  # noqa: BLE001 - surface script errors as HTTP 500
                self._send_json(500, {"error": {"message": f"script failed: {exc}"}})
                return
            if reply.get("tool_calls") and not server.tools_offered(body):
                # the model never saw the tools: it can only write text
                reply = text(reply.get("content") or "I have no tools to look at the image with.")
            if not body.get("stream"):
                self._send_json(200, _completion(server, model, reply))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for chunk in _chunks(server, model, reply):
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler
