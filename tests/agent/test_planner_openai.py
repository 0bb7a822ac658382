"""The OpenAI-compatible planner against a real local HTTP server (real socket, real
client): answers, tool-call round trips, images on the wire, and clear failures."""

from __future__ import annotations

import base64
import importlib.util
import io
import re
import time
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from PIL import Image
from support.openai_server import FakeOpenAIServer, free_port, text, tool_call, tool_then_answer
from support.tools import ImageSizeTool

from lensmith.agent.config import PlannerSettings
from lensmith.agent.planners import choose_planner
from lensmith.agent.planners.openai_compat import (
    OpenAICompatPlanner,
    PlannerConnectionError,
    PlannerHTTPError,
    PlannerTimeoutError,
    make_openai_planner,
    probe,
)
from lensmith.tools.registry import Registry


@tool
def detect(image: str, classes: list[str]) -> str:
    """Detect objects of the given classes in an image."""
    return "2 × person (0.91, 0.88)"


def png_b64() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def with_image(question: str) -> HumanMessage:
    return HumanMessage(
        content=[
            {"type": "text", "text": question},
            {"type": "image", "base64": png_b64(), "mime_type": "image/png"},
        ]
    )


def settings_for(url: str, **overrides) -> PlannerSettings:
    return PlannerSettings(**{"backend": "openai", "base_url": url, "timeout_s": 5.0, **overrides})


@pytest.fixture
def server():
    with FakeOpenAIServer() as running:
        yield running


def test_plain_answer(server: FakeOpenAIServer) -> None:
    server.script = [text("It is a red square.")]
    planner = make_openai_planner(settings_for(server.url))
    assert isinstance(planner, OpenAICompatPlanner)
    assert planner.model_name == "fake-vlm"  # found through GET /models
    reply = planner.invoke([SystemMessage("Be brief."), HumanMessage("What is it?")])
    assert isinstance(reply, AIMessage)
    assert reply.content == "It is a red square." and reply.tool_calls == []
    body = server.chat_requests[-1]
    assert body["model"] == "fake-vlm"
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["max_tokens"] == 512 and body["temperature"] == 0.0
    headers = server.requests[-1].headers
    assert headers.get("authorization") == "Bearer not-needed"


def test_configured_model_and_key_are_sent(server: FakeOpenAIServer) -> None:
    server.script = [text("ok")]
    planner = make_openai_planner(settings_for(server.url, openai_model="qwen2-vl", api_key="sk-local"))
    planner.invoke("hi")
    assert server.chat_requests[-1]["model"] == "qwen2-vl"
    assert server.requests[-1].headers.get("authorization") == "Bearer sk-local"
    # a configured model needs no GET /models
    assert all(r.method == "POST" for r in server.requests)


def test_tool_call_round_trip_with_images_on_the_wire(server: FakeOpenAIServer) -> None:
    server.script = tool_then_answer(
        "detect", {"image": "img:3fa2c9e1", "classes": ["person"]}, lambda result: f"detect says: {result}"
    )
    planner = make_openai_planner(settings_for(server.url)).bind_tools([detect])
    question = with_image("How many people? img:3fa2c9e1")
    first = planner.invoke([question])
    assert first.tool_calls[0]["name"] == "detect"
    assert first.tool_calls[0]["args"] == {"image": "img:3fa2c9e1", "classes": ["person"]}

    result = ToolMessage(detect.invoke(first.tool_calls[0]["args"]), tool_call_id=first.tool_calls[0]["id"], name="detect")
    final = planner.invoke([question, first, result])
    assert final.content == "detect says: 2 × person (0.91, 0.88)"

    request = server.chat_requests[0]
    parts = request["messages"][0]["content"]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert len(urls) == 1 and urls[0].startswith("data:image/png;base64,")
    decoded = Image.open(io.BytesIO(base64.b64decode(urls[0].split(",", 1)[1])))
    assert decoded.size == (8, 6)
    schema = request["tools"][0]["function"]
    assert schema["name"] == "detect" and schema["parameters"]["required"] == ["image", "classes"]
    # the second request carries the assistant's call and the tool's result
    followup = server.chat_requests[1]["messages"]
    assert followup[1]["tool_calls"][0]["function"]["name"] == "detect"
    assert followup[2] == {
        "role": "tool",
        "content": "2 × person (0.91, 0.88)",
        "tool_call_id": first.tool_calls[0]["id"],
    }


def test_streaming_tool_call(server: FakeOpenAIServer) -> None:
    server.script = [tool_call("detect", {"image": "img:1", "classes": ["bus"]})]
    planner = make_openai_planner(settings_for(server.url)).bind_tools([detect])
    chunks = list(planner.stream([HumanMessage("find the bus in img:1")]))
    merged = chunks[0]
    for chunk in chunks[1:]:
        merged = merged + chunk
    assert merged.tool_calls[0]["args"] == {"image": "img:1", "classes": ["bus"]}
    assert server.chat_requests[-1]["stream"] is True


async def test_async_invoke(server: FakeOpenAIServer) -> None:
    server.script = [text("async ok")]
    planner = make_openai_planner(settings_for(server.url))
    reply = await planner.ainvoke("hi")
    assert reply.content == "async ok"


def test_dead_server_fails_fast_naming_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    planner = make_openai_planner(settings_for(url, openai_model="m"))
    started = time.perf_counter()
    with pytest.raises(PlannerConnectionError) as err:
        planner.invoke("hi")
    assert time.perf_counter() - started < 3  # no retry loop
    assert url in str(err.value) and "connection refused" in str(err.value)
    assert isinstance(err.value, ConnectionError) and err.value.url == url


def test_dead_server_without_a_model_name_fails_on_first_use() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    planner = make_openai_planner(settings_for(url))  # nothing to list yet: deferred
    assert planner.discover_model
    with pytest.raises(PlannerConnectionError, match="connection refused") as err:
        planner.invoke("hi")
    assert f"{url}/models" in str(err.value)


def test_server_that_comes_up_late_is_used() -> None:
    port = free_port()
    planner = make_openai_planner(settings_for(f"http://127.0.0.1:{port}/v1"))
    with FakeOpenAIServer(port=port, models=["late-vlm"], script=[text("up now")]) as late:
        assert planner.invoke("hi").content == "up now"
        assert planner.model_name == "late-vlm"
        assert late.chat_requests[-1]["model"] == "late-vlm"


def test_timeout_is_a_clear_error() -> None:
    with FakeOpenAIServer(mode="hang", hang_s=10) as hanging:
        planner = make_openai_planner(settings_for(hanging.url, openai_model="m", timeout_s=0.5))
        started = time.perf_counter()
        with pytest.raises(PlannerTimeoutError) as err:
            planner.invoke("hi")
        elapsed = time.perf_counter() - started
    assert 0.4 < elapsed < 3
    assert hanging.url in str(err.value) and "0.5 s" in str(err.value) and "timed out" in str(err.value)
    assert isinstance(err.value, TimeoutError)


def test_http_500_is_a_clear_error() -> None:
    with FakeOpenAIServer(mode="500") as broken:
        planner = make_openai_planner(settings_for(broken.url, openai_model="m"))
        with pytest.raises(PlannerHTTPError) as err:
            planner.invoke("hi")
    assert err.value.status == 500
    assert broken.url in str(err.value) and "HTTP 500" in str(err.value)
    assert len(broken.chat_requests) == 1  # no retries


def test_probe_results() -> None:
    with FakeOpenAIServer(models=["qwen2-vl-7b", "llava"]) as up:
        assert probe(settings_for(up.url)) == (True, f"server at {up.url} serves qwen2-vl-7b")
        assert probe(settings_for(up.url + "/", openai_model="llava")) == (True, f"server at {up.url} serves llava")
        ok, why = probe(settings_for(up.url, openai_model="missing"))
        assert not ok and "does not serve missing" in why
    assert probe(settings_for(f"http://127.0.0.1:{free_port()}/v1")) == (False, "connection refused")
    with FakeOpenAIServer(mode="500") as broken:
        assert probe(settings_for(broken.url)) == (False, "HTTP 500")
    with FakeOpenAIServer(mode="hang", hang_s=10) as hanging:
        started = time.perf_counter()
        assert probe(settings_for(hanging.url)) == (False, "timed out after 2 s")
        assert time.perf_counter() - started < 4
    with FakeOpenAIServer(models=[]) as empty:
        ok, why = probe(settings_for(empty.url))
        assert not ok and "serves no models" in why
    assert probe(PlannerSettings()) == (False, "no planner.base_url set")


def test_choose_planner_auto_uses_a_live_server_and_skips_a_dead_one() -> None:
    with FakeOpenAIServer(models=["fake-vlm"]) as up:
        choice = choose_planner(PlannerSettings(base_url=up.url))
        assert isinstance(choice.model, OpenAICompatPlanner) and not choice.heuristic
        assert choice.reason == f"auto: server at {up.url} serves fake-vlm"
    dead = f"http://127.0.0.1:{free_port()}/v1"
    choice = choose_planner(PlannerSettings(base_url=dead))
    assert choice.heuristic and f"{dead} not usable (connection refused)" in choice.reason


# -- a whole turn through the agent loop, with the fake server as the planner ----------

BUS = Path(importlib.util.find_spec("ultralytics").submodule_search_locations[0]) / "assets" / "bus.jpg"


def size_script(body: dict) -> dict:
    """Ask for the attached image's size, then answer with the tool's result."""
    messages = body["messages"]
    results = [m for m in messages if m["role"] == "tool"]
    if results:
        return text(f"The image measures {results[-1]['content']} (image_size).")
    last_user = next(m for m in reversed(messages) if m["role"] == "user")
    parts = last_user["content"] if isinstance(last_user["content"], list) else [{"type": "text", "text": last_user["content"]}]
    ids = re.findall(r"img:[0-9a-f]{8}", " ".join(p.get("text", "") for p in parts if p["type"] == "text"))
    return tool_call("image_size", {"image": ids[0]})


def make_agent(url: str):
    from lensmith.agent.config import MemorySettings, Settings
    from lensmith.agent.loop import Agent

    settings = Settings(
        planner=PlannerSettings(backend="openai", base_url=url, timeout_s=5.0),
        memory=MemorySettings(enabled=False),
    )
    return Agent(settings=settings, registry=Registry([ImageSizeTool()]), memory=False)


@pytest.mark.skipif(importlib.util.find_spec("lensmith.agent.loop") is None, reason="agent.loop not written yet")
def test_whole_turn_through_the_agent(server: FakeOpenAIServer) -> None:
    server.script = size_script
    agent = make_agent(server.url)
    session = agent.sessions.new()
    events = []
    trace = agent.ask("How big is this photo?", [str(BUS)], session=session, on_event=events.append)

    assert trace.error is None, trace.error
    assert trace.planner.startswith("openai:") and server.url in trace.planner
    assert [c.tool for c in trace.calls] == ["image_size"]
    assert trace.answer == "The image measures 810×1080 pixels (image_size)."
    kinds = [e.type for e in events]
    assert kinds[0] == "turn_started" and kinds[-1] == "turn_finished"
    assert "tool_called" in kinds and "tool_finished" in kinds
    # the pixels went out as a data URL, with the tool schema beside them
    first = server.chat_requests[0]
    user_parts = next(m for m in first["messages"] if m["role"] == "user")["content"]
    urls = [p["image_url"]["url"] for p in user_parts if p["type"] == "image_url"]
    assert len(urls) == 1 and urls[0].startswith("data:image/jpeg;base64,")
    assert [t["function"]["name"] for t in first["tools"]] == ["image_size"]
    assert first["messages"][0]["role"] == "system" and "lensmith" in first["messages"][0]["content"]


@pytest.mark.skipif(importlib.util.find_spec("lensmith.agent.loop") is None, reason="agent.loop not written yet")
def test_dead_server_fails_the_turn_and_the_session_goes_on() -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    agent = make_agent(url)
    session = agent.sessions.new()
    events = []
    failed = agent.ask("How big is this photo?", [str(BUS)], session=session, on_event=events.append)

    assert failed.error is not None
    assert url in failed.error and "connection refused" in failed.error
    assert events[-1].type == "turn_failed" and events[-1].error == failed.error
    assert failed.answer == ""

    with FakeOpenAIServer(port=port, script=size_script) as back:
        again = agent.ask("And now?", [str(BUS)], session=session)
        assert again.error is None, again.error
        assert again.answer == "The image measures 810×1080 pixels (image_size)."
        assert len(back.chat_requests) == 2
    assert [t.turn_id for t in session.turns()] == [failed.turn_id, again.turn_id]


# -- what real servers do (the fake reproduces each; see support/openai_server.py) --------

import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402

import httpx  # noqa: E402
from support.openai_server import bad_tool_call  # noqa: E402

from lensmith.agent.planners import openai_compat  # noqa: E402
from lensmith.agent.planners.openai_compat import (  # noqa: E402
    IMAGE_NOT_SENT,
    MAX_RESPONSE_BYTES,
    PlannerReplyError,
    find_local_servers,
)


def detect_then_answer(body: dict) -> dict:
    """Call detect on the first image id in the request; answer from its result."""
    results = [m for m in body["messages"] if m["role"] == "tool"]
    if results:
        return text(f"detect says: {results[-1]['content']}")
    return tool_call("detect", {"image": "img:3fa2c9e1", "classes": ["person"]})


def round_trip(planner, question: HumanMessage) -> AIMessage:
    first = planner.invoke([question])
    assert first.tool_calls, first
    call = first.tool_calls[0]
    result = ToolMessage(detect.invoke(call["args"]), tool_call_id=call["id"], name=call["name"])
    return planner.invoke([question, first, result])


def raw_chat(url: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/chat/completions", json={"model": "m", **body}, timeout=5)


def test_llama_cpp_python_needs_tool_choice_and_gets_it() -> None:
    with FakeOpenAIServer(flavour="llama-cpp-python", script=detect_then_answer) as server:
        schema = {"type": "function", "function": {"name": "detect", "parameters": {"type": "object"}}}
        # the server's own default: no tool_choice, no tools shown, so no call can come back
        plain = raw_chat(server.url, {"messages": [{"role": "user", "content": "people?"}], "tools": [schema]})
        assert plain.status_code == 200 and "tool_calls" not in plain.json()["choices"][0]["message"]

        planner = make_openai_planner(settings_for(server.url)).bind_tools([detect])
        final = round_trip(planner, HumanMessage("How many people? img:3fa2c9e1"))
        assert final.content == "detect says: 2 × person (0.91, 0.88)"
        first, second = server.chat_requests[-2:]
        assert first["tool_choice"] == "auto" and second["tool_choice"] == "auto"


def test_llama_cpp_python_gets_empty_content_never_null() -> None:
    with FakeOpenAIServer(flavour="llama-cpp-python", script=detect_then_answer) as server:
        refused = raw_chat(server.url, {"messages": [
            {"role": "user", "content": "people?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "detect", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "2 people"},
        ]})
        assert refused.status_code == 500 and refused.json()["error"]["type"] == "internal_server_error"

        planner = make_openai_planner(settings_for(server.url)).bind_tools([detect])
        round_trip(planner, HumanMessage("How many people? img:3fa2c9e1"))
        assistant = next(m for m in server.chat_requests[-1]["messages"] if m["role"] == "assistant")
        assert assistant["content"] == "" and assistant["tool_calls"][0]["function"]["name"] == "detect"
        # text parts go as one string: the chatml template prints a list as its Python repr
        assert all(isinstance(m["content"], str) for m in server.chat_requests[-1]["messages"])


def test_text_only_model_refuses_images_then_gets_text_only(caplog: pytest.LogCaptureFixture) -> None:
    with FakeOpenAIServer(flavour="llama-cpp-python", vision=False, script=[text("a red square"), text("again")]) as server:
        planner = make_openai_planner(settings_for(server.url))
        big = HumanMessage(content=[{"type": "text", "text": "what is it?"},
                                    {"type": "image", "base64": png_b64() * 2000, "mime_type": "image/png"}])
        with caplog.at_level(logging.WARNING, logger="lensmith.agent"):
            reply = planner.invoke([big])
        assert reply.content == "a red square"
        refused, retried = server.chat_requests
        assert any(p["type"] == "image_url" for p in refused["messages"][0]["content"])
        assert retried["messages"][0]["content"] == f"what is it?\n{IMAGE_NOT_SENT}"
        warning = next(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
        assert server.url in warning and "refused the image parts" in warning and "maximum context length" in warning
        assert planner.images_refused and not planner.sends_images
        # from now on: text only, one request per call
        planner.invoke([big])
        assert len(server.chat_requests) == 3
        assert "image_url" not in json.dumps(server.chat_requests[-1])


def test_vision_true_refusal_says_how_to_fix() -> None:
    with FakeOpenAIServer(flavour="llama-server", vision=False) as server:
        planner = make_openai_planner(settings_for(server.url, vision=True))
        with pytest.raises(PlannerHTTPError) as err:
            planner.invoke([with_image("what is it?")])
    message = str(err.value)
    assert err.value.status == 500 and server.url in message
    assert "refused the image parts" in message and "mmproj" in message and "planner.vision = false" in message
    assert len(server.chat_requests) == 1  # no silent retry when images were asked for


def test_vision_false_never_sends_pixels() -> None:
    with FakeOpenAIServer(flavour="vllm", vision=False, script=[text("ok")]) as server:
        planner = make_openai_planner(settings_for(server.url, vision=False))
        assert planner.invoke([with_image("what is it?")]).content == "ok"
    content = server.chat_requests[0]["messages"][0]["content"]
    assert content == f"what is it?\n{IMAGE_NOT_SENT}"


def test_vllm_without_auto_tool_choice_is_a_clear_error() -> None:
    with FakeOpenAIServer(flavour="vllm", tools=False) as server:
        planner = make_openai_planner(settings_for(server.url)).bind_tools([detect])
        with pytest.raises(PlannerHTTPError) as err:
            planner.invoke("How many people in img:3fa2c9e1?")
    assert err.value.status == 400 and "--enable-auto-tool-choice --tool-call-parser" in str(err.value)


def test_vllm_streams_tool_calls_in_pieces_and_refuses_images_for_text_models() -> None:
    with FakeOpenAIServer(flavour="vllm", vision=False, script=detect_then_answer) as server:
        planner = make_openai_planner(settings_for(server.url)).bind_tools([detect])
        merged = None
        for chunk in planner.stream([HumanMessage("How many people? img:3fa2c9e1")]):
            merged = chunk if merged is None else merged + chunk
        assert merged is not None and merged.tool_calls[0]["args"] == {"image": "img:3fa2c9e1", "classes": ["person"]}
        assert merged.tool_calls[0]["id"].startswith("chatcmpl-tool-")
        # a photo for a text-only model: refused (400 "... is not a multimodal model"), asked again without
        reply = planner.invoke([with_image("How many people? img:3fa2c9e1")])
        assert reply.tool_calls and planner.images_refused and "not a multimodal model" in planner.images_refused


def test_ollama_shapes_and_errors() -> None:
    with FakeOpenAIServer(flavour="ollama", models=["qwen3-vl:8b"], script=detect_then_answer) as server:
        planner = make_openai_planner(settings_for(server.url)).bind_tools([detect])
        merged = None
        for chunk in planner.stream([HumanMessage("How many people? img:3fa2c9e1")]):
            merged = chunk if merged is None else merged + chunk
        assert merged is not None and merged.tool_calls[0]["args"] == {"image": "img:3fa2c9e1", "classes": ["person"]}
        final = round_trip(planner, HumanMessage("How many people? img:3fa2c9e1"))
        assert final.content == "detect says: 2 × person (0.91, 0.88)"
    with FakeOpenAIServer(flavour="ollama", models=["gemma3:4b"], tools=False) as server:
        planner = make_openai_planner(settings_for(server.url)).bind_tools([detect])
        with pytest.raises(PlannerHTTPError) as err:
            planner.invoke("How many people in img:3fa2c9e1?")
    assert "does not support tools" in str(err.value) and "ollama show" in str(err.value)


def test_auto_finds_ollama_on_its_port_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    dead = free_port()
    with FakeOpenAIServer(flavour="ollama", models=["llama3.2:3b"], vision=False) as ollama:
        monkeypatch.setattr(openai_compat, "LOCAL_SERVERS", (("Ollama", ollama.port), ("vLLM", dead)))
        found = find_local_servers()
        assert [s.model for s in found] == ["llama3.2:3b", None]
        assert found[1].note == f"no vLLM at 127.0.0.1:{dead} (connection refused)"
        choice = choose_planner(PlannerSettings())
        assert not choice.heuristic and isinstance(choice.model, OpenAICompatPlanner)
        assert choice.reason == f"auto: found Ollama at 127.0.0.1:{ollama.port} serves llama3.2:3b (tools, no vision)"
        assert choice.model.vision is False  # Ollama said so: no pixels are sent
        show = [r for r in ollama.requests if r.path == "/api/show"]
        assert show and show[0].body == {"model": "llama3.2:3b"}


def test_auto_with_nothing_local_says_where_it_looked(monkeypatch: pytest.MonkeyPatch) -> None:
    ports = free_port(), free_port()
    monkeypatch.setattr(openai_compat, "LOCAL_SERVERS", (("Ollama", ports[0]), ("vLLM", ports[1])))
    started = time.perf_counter()
    choice = choose_planner(PlannerSettings())
    assert time.perf_counter() - started < 2
    assert choice.heuristic
    assert f"no Ollama at 127.0.0.1:{ports[0]} (connection refused)" in choice.reason
    assert f"no vLLM at 127.0.0.1:{ports[1]} (connection refused)" in choice.reason
    with FakeOpenAIServer(flavour="ollama", tools=False, models=["gemma3:4b"]) as no_tools:
        monkeypatch.setattr(openai_compat, "LOCAL_SERVERS", (("Ollama", no_tools.port),))
        choice = choose_planner(PlannerSettings())
    assert choice.heuristic and "has no model with tool calling (gemma3:4b)" in choice.reason


def test_a_dripping_server_is_given_up_on_at_the_deadline() -> None:
    with FakeOpenAIServer(mode="drip", drip_s=0.2, hang_s=30) as dripping:
        planner = make_openai_planner(settings_for(dripping.url, openai_model="m", timeout_s=1.5))
        started = time.perf_counter()
        with pytest.raises(PlannerTimeoutError):
            asyncio.run(planner.ainvoke("hi"))
        assert 1.3 < time.perf_counter() - started < 3.5
        started = time.perf_counter()
        with pytest.raises(PlannerTimeoutError):
            planner.invoke("hi")  # the sync path checks the deadline as bytes arrive
        assert time.perf_counter() - started < 3.5


def test_a_huge_reply_is_refused() -> None:
    with FakeOpenAIServer(mode="huge", huge_bytes=50 * 1024 * 1024) as huge:
        planner = make_openai_planner(settings_for(huge.url, openai_model="m", timeout_s=20))
        for call in (lambda: planner.invoke("hi"), lambda: asyncio.run(planner.ainvoke("hi"))):
            started = time.perf_counter()
            with pytest.raises(PlannerReplyError) as err:
                call()
            assert time.perf_counter() - started < 10
            assert f"larger than {MAX_RESPONSE_BYTES // 2**20} MiB" in str(err.value) and huge.url in str(err.value)


def test_a_huge_model_list_is_refused() -> None:
    with FakeOpenAIServer(mode="huge", huge_bytes=20 * 1024 * 1024) as huge:
        started = time.perf_counter()
        ok, why = probe(settings_for(huge.url))
        assert not ok and "not a model list" in why
        assert time.perf_counter() - started < 5


def broken_then_fixed(body: dict) -> dict:
    results = [m for m in body["messages"] if m["role"] == "tool"]
    if not results:
        return bad_tool_call("image_size", '{"image": "img:')  # cut off mid-string
    if results[-1]["content"].startswith("Error:"):
        ids = re.findall(r"img:[0-9a-f]{8}", json.dumps(body["messages"][1]))
        return tool_call("image_size", {"image": ids[0]})
    return text(f"The image measures {results[-1]['content']} (image_size).")


def test_invalid_tool_call_json_goes_back_to_the_planner(server: FakeOpenAIServer) -> None:
    server.script = broken_then_fixed
    agent = make_agent(server.url)
    trace = agent.ask("How big is this photo?", [str(BUS)])
    assert trace.error is None, trace.error
    assert trace.answer == "The image measures 810×1080 pixels (image_size)."
    told = server.chat_requests[1]["messages"]
    bad = next(m for m in told if m["role"] == "assistant")
    assert bad["tool_calls"][0]["function"]["arguments"] == '{"image": "img:'
    error = next(m for m in told if m["role"] == "tool")
    assert error["content"].startswith("Error: image_size(") and "not a JSON object" in error["content"]


def test_tool_calls_that_stay_broken_fail_the_turn_clearly(server: FakeOpenAIServer) -> None:
    server.script = lambda body: bad_tool_call("image_size", "{not json")
    trace = make_agent(server.url).ask("How big is this photo?", [str(BUS)])
    assert trace.answer == "" and trace.error is not None
    assert "unusable tool calls 3 times" in trace.error and server.url in trace.error
    assert len(server.chat_requests) == 3


def test_one_agent_many_turns_sync_and_async(server: FakeOpenAIServer) -> None:
    server.script = size_script
    agent = make_agent(server.url)
    session = agent.sessions.new()
    answers = [agent.ask("How big is this photo?", [str(BUS)], session=session) for _ in range(4)]
    assert [t.error for t in answers] == [None] * 4
    assert {t.answer for t in answers} == {"The image measures 810×1080 pixels (image_size)."}

    async def in_one_loop() -> list:
        first = await agent.ask_async("How big?", [str(BUS)])
        events = [e.type async for e in agent.stream("And now?", [str(BUS)])]
        nested = agent.ask("From sync code inside a loop?", [str(BUS)])  # runs in its own thread and loop
        return [first, events, nested]

    for _ in range(2):  # a second asyncio.run: a fresh loop, the same agent
        first, events, nested = asyncio.run(in_one_loop())
        assert first.error is None and nested.error is None
        assert events[0] == "turn_started" and events[-1] == "turn_finished"


def size_script_without_prefix(body: dict) -> dict:
    """Like a real model: copies the image line, prefix dropped, trailing text kept."""
    reply = size_script(body)
    for call in reply["tool_calls"]:
        image_id = call["arguments"]["image"]
        call["arguments"]["image"] = f"{image_id.removeprefix('img:')} (bus.jpg, 810×1080)"
    return reply


def test_image_ids_as_models_write_them(server: FakeOpenAIServer) -> None:
    server.script = size_script_without_prefix
    agent = make_agent(server.url)
    trace = agent.ask("How big is this photo?", [str(BUS)])
    assert trace.error is None and trace.calls[0].error is None, trace.calls
    assert trace.calls[0].args["image"].endswith("(bus.jpg, 810×1080)")
    assert trace.answer == "The image measures 810×1080 pixels (image_size)."


def test_ids_from_another_session_stay_unknown(server: FakeOpenAIServer) -> None:
    agent = make_agent(server.url)
    server.script = size_script
    first = agent.ask("How big is this photo?", [str(BUS)])
    other_id = first.images[0]

    def use_other(body: dict) -> dict:
        if any(m["role"] == "tool" for m in body["messages"]):
            return text("done")
        return tool_call("image_size", {"image": f"{other_id.removeprefix('img:')} (bus.jpg)"})

    server.script = use_other
    # a new session with a different photo: the first session's id must not resolve here
    other = agent.ask("How big is it?", [str(BUS.with_name("zidane.jpg"))])
    assert other.calls[0].error is not None and other.calls[0].summary == ""
    assert other_id not in other.calls[0].error.replace(f"{other_id.removeprefix('img:')} (bus.jpg)", "")


def test_a_turn_says_when_the_planner_saw_text_only() -> None:
    with FakeOpenAIServer(flavour="llama-cpp-python", vision=False, script=size_script) as server:
        agent = make_agent(server.url)
        trace = agent.ask("How big is this photo?", [str(BUS)])
        assert trace.error is None, trace.error
        assert trace.answer == "The image measures 810×1080 pixels (image_size)."
        assert "text only: the server refused image parts (HTTP 400: This model's maximum context length" in (
            trace.planner_note
        )
        # the next turn sends text from the start: one request per planning step, no refusal
        before = len(server.chat_requests)
        again = agent.ask("And now?", [str(BUS)])
        assert again.error is None and len(server.chat_requests) - before == 2
        assert "image_url" not in json.dumps(server.chat_requests[before:])
