"""The OpenAI-compatible planner against a real llama-cpp-python server.

Marked ``llamacpp`` and skipped unless ``llama_cpp`` is installed (it builds from
source: about 20 minutes on 2 cores, so CI does not) and ``$LENSMITH_TEST_GGUF``
names a GGUF chat model. The server runs as a user would start it, on loopback, with
``--chat_format chatml-function-calling``, which renders no tools without
``tool_choice``, answers HTTP 500 to ``content: null`` and, for a text-only model,
prints image parts as text (a context overflow).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from support.openai_server import free_port

pytestmark = [
    pytest.mark.llamacpp,
    pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python is not installed"),
    pytest.mark.skipif(not os.environ.get("LENSMITH_TEST_GGUF"), reason="set LENSMITH_TEST_GGUF to a GGUF chat model"),
]

BUS = Path(importlib.util.find_spec("ultralytics").submodule_search_locations[0]) / "assets" / "bus.jpg"


@pytest.fixture(scope="module")
def llama_server():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", os.environ["LENSMITH_TEST_GGUF"],
         "--chat_format", "chatml-function-calling", "--n_ctx", "4096", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
            assert process.poll() is None, "the llama-cpp-python server exited"
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_whole_turns_against_llama_cpp_python(llama_server: str) -> None:
    from lensmith.agent.config import MemorySettings, PlannerSettings, Settings
    from lensmith.agent.loop import Agent

    settings = Settings(
        planner=PlannerSettings(backend="openai", base_url=llama_server, timeout_s=300, max_new_tokens=256),
        memory=MemorySettings(enabled=False),
    )
    agent = Agent(settings=settings, memory=False)
    session = agent.sessions.new()
    traces = [agent.ask("How many people are in this photo?", [str(BUS)], session=session) for _ in range(3)]
    # the server's refusals are handled: no HTTP 500 (null content), no lost tools, no closed loop
    for trace in traces:
        assert trace.error is None, trace.error
        assert trace.answer
    assert any(trace.calls for trace in traces)  # the tools reached the model (tool_choice sent)
    planner = agent.planner.model
    assert planner.images_refused is None or "context" in planner.images_refused
