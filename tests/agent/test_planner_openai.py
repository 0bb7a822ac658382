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
