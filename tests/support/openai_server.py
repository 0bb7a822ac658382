"""A small real HTTP server speaking the OpenAI chat-completions protocol.

It listens on a free port of 127.0.0.1 in a background thread, answers
``GET /v1/models`` and ``POST /v1/chat/completions`` (plain JSON or SSE when the
request asks to stream), records every request it receives, and replies from a
script: a list of replies played in order, or a function of the request body.

Modes: ``"ok"``; ``"hang"`` (accept, then say nothing until ``hang_s`` passes or the
server stops: drives client timeouts); ``"500"`` (every request fails with HTTP 500).
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = dict[str, Any]  # {"content": str | None, "tool_calls": [{"name", "arguments"}]}
Script = Callable[[dict[str, Any]], Reply] | list[Reply]


def text(content: str) -> Reply:
    return {"content": content, "tool_calls": []}


def tool_call(name: str, arguments: dict[str, Any], content: str | None = None) -> Reply:
    return {"content": content, "tool_calls": [{"name": name, "arguments": arguments}]}


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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    mode: str = "ok"  # "ok" | "hang" | "500"
    hang_s: float = 30.0
    port: int = 0
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

    def wait_or_stop(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _completion(model: str, reply: Reply) -> dict[str, Any]:
    calls = [
        {
            "id": f"call_{uuid.uuid4().hex[:10]}",
            "type": "function",
            "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
        }
        for c in reply.get("tool_calls", [])
    ]
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("content")}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _chunks(model: str, reply: Reply) -> list[dict[str, Any]]:
    """The same reply as streaming deltas, the way vLLM sends them."""
    full = _completion(model, reply)
    message = full["choices"][0]["message"]
    base = {"id": full["id"], "object": "chat.completion.chunk", "created": full["created"], "model": model}
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    if message.get("content"):
        deltas.append({"content": message["content"]})
    for index, call in enumerate(message.get("tool_calls", [])):
        deltas.append({"tool_calls": [{"index": index, **call}]})
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
            return False

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._record(None)
            if self._misbehave():
                return
            if self.path.rstrip("/").endswith("/models"):
                data = [{"id": m, "object": "model", "owned_by": "fake"} for m in server.models]
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
            if self._misbehave():
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send_json(404, {"error": {"message": f"no route {self.path}"}})
                return
            model = body.get("model") or server.models[0]
            try:
                reply = server.next_reply(body)
            except Exception as exc:  # noqa: BLE001 - surface script errors as HTTP 500
                self._send_json(500, {"error": {"message": f"script failed: {exc}"}})
                return
            if not body.get("stream"):
                self._send_json(200, _completion(model, reply))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for chunk in _chunks(model, reply):
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True

    return Handler
