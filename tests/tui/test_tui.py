"""The terminal UI driven through Textual's Pilot against the real agent loop with a
scripted planner and small real tools: attaching, asking, the live trace, artifacts,
cancelling, resuming after a restart, bad input, settings, sessions, the palette."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from PIL import Image, ImageDraw
from pydantic import BaseModel, Field
from textual import events
from textual_image._terminal import CellSize, get_cell_size

# a fixed cell size before textual-image asks the terminal: the same output everywhere
get_cell_size._result = CellSize(10, 20)  # type: ignore[attr-defined]

from support.tools import BlockingTool  # noqa: E402

from lensmith.agent.config import Settings, load_settings  # noqa: E402
from lensmith.agent.loop import Agent  # noqa: E402
from lensmith.agent.planners.scripted import ScriptedChatModel, call  # noqa: E402
from lensmith.runtime.artifacts import Detection  # noqa: E402
from lensmith.runtime.progress import report  # noqa: E402
from lensmith.tools import DetectArtifact, LensmithTool, current_store  # noqa: E402
from lensmith.tools.registry import Registry  # noqa: E402
from lensmith.tui.app import LensmithApp  # noqa: E402
from lensmith.tui.screens import ArtifactScreen, HelpScreen, SessionsScreen, SettingsScreen  # noqa: E402
from lensmith.tui.widgets import AnswerBlock, CallItem, Notice, ProgressItem, UserTurn  # noqa: E402
from lensmith.tui.widgets.images import RENDERERS  # noqa: E402

SIZE = (140, 45)


class BoxArgs(BaseModel):
    image: str = Field(description="Image id")
    classes: list[str] = Field(default_factory=list)


class BoxTool(LensmithTool):
    """A detector stand-in: one fixed 'cat' box, drawn on a new annotated image."""

    name: str = "detect"
    description: str = "Find objects (test tool: always one cat)."
    args_schema: type[BaseModel] = BoxArgs

    def run_tool(self, image: str, classes: list[str] | None = None) -> tuple[str, DetectArtifact]:
        store = current_store()
        meta = store.get(image)
        report("fake-yolo", "loading fake-yolo", 0.5)
        picture = store.pil(meta.id).copy()
        ImageDraw.Draw(picture).rectangle([4, 4, 40, 30], outline=(255, 0, 0), width=3)
        annotated = store.add_artifact(picture, parent=meta.id, label="detect boxes")
        report("fake-yolo", "loaded fake-yolo", 1.0)
        artifact = DetectArtifact(
            tool=self.name, image=meta.id, method="fixed-box", method_kind="measurement", images=[annotated.id],
            detections=[Detection(label="cat", score=0.9, box=[4, 4, 40, 30])], queried=classes or [],
        )
        return "1 × cat (0.90)", artifact


class BrokenTool(LensmithTool):
    name: str = "read_text"
    description: str = "Read text (test tool that always fails)."
    args_schema: type[BaseModel] = BoxArgs

    def run_tool(self, image: str, classes: list[str] | None = None) -> tuple[str, DetectArtifact]:
        raise RuntimeError("the OCR model crashed")


def _ids(message) -> list[str]:
    return re.findall(r"img:[0-9a-f]{8}", str(message.content))


def detect_then(answer: str, tool: str = "detect"):
    """A planner script: call ``tool`` on the attached image, then say ``answer``."""

    def script(messages, tools):
        last = messages[-1]
        if isinstance(last, HumanMessage) and not str(last.content).startswith("[grounding"):
            ids = _ids(last)
            if ids:
                return call(tool, {"image": ids[0], "classes": ["cat"]})
            return "No image was attached, so I cannot look."
        if isinstance(last, ToolMessage):
            return answer
        return answer  # a grounding revision request: keep the answer

    return script


@pytest.fixture
def cat_png(tmp_path) -> Path:
    path = tmp_path / "cat.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).save(path)
    return path


def make_app(script, *tools, **kwargs) -> tuple[LensmithApp, ScriptedChatModel]:
    model = ScriptedChatModel(function=script)
    agent = Agent(Settings(device="cpu"), planner=model, registry=Registry(tools or [BoxTool()]), memory=False)
    return LensmithApp(agent, image_renderer="halfcell", **kwargs), model


async def wait_idle(app: LensmithApp, pilot, timeout: float = 20.0) -> None:
    """Until the running turn has ended (its last event handled)."""
    for _ in range(int(timeout / 0.05)):
        await pilot.pause(0.05)
        if not app.running:
            await pilot.pause()
            return
    raise AssertionError("the turn did not end")


async def wait_for(pilot, predicate, timeout: float = 20.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


async def type_and_enter(pilot, app: LensmithApp, text: str) -> None:
    app.prompt.value = text
    app.prompt.focus()
    await pilot.press("enter")
    await pilot.pause()


async def ask_about(pilot, app: LensmithApp, image: Path, question: str) -> None:
    """Attach an image, ask about it, and wait for the turn to end."""
    await type_and_enter(pilot, app, f"/image {image}")
    await type_and_enter(pilot, app, question)
    await wait_idle(app, pilot)


def notices(app: LensmithApp) -> list[str]:
    return [str(n.render()) for n in app.query(Notice)]


async def test_attach_ask_watch_the_trace_and_open_the_artifact(cat_png):
    app, model = make_app(detect_then("There is one cat."))
    async with app.run_test(size=SIZE) as pilot:
        await type_and_enter(pilot, app, f"/image {cat_png}")
        assert app.attachments == [cat_png]
        await type_and_enter(pilot, app, "how many cats?")
        assert app.attachments == []  # handed to the turn
        await wait_idle(app, pilot)

        [turn] = app.query(UserTurn)
        assert turn.question == "how many cats?"
        assert [caption for _, caption in turn.images] == ["cat.png"]
        assert isinstance(turn.query_one(".thumb-image"), RENDERERS["halfcell"])

        [item] = app.query(CallItem)
        assert item.tool == "detect" and item.record is not None
        assert "1 × cat (0.90)" in str(item.query_one(".call-outcome").render())
        progress = app.query(ProgressItem)
        assert progress and "loaded fake-yolo" in str(progress.first().query_one(".progress-label").render())

        [answer] = app.query(AnswerBlock)
        assert answer.trace is not None and answer.trace.answer == "There is one cat."
        assert "scripted" in str(answer.query_one(".planner").render())
        evidence = str(answer.query_one(".evidence").render())
        assert "[1] detect" in evidence and "1 × cat" in evidence
        # the planner saw the image id the UI attached
        assert set(_ids(model.seen[0][-1])) == set(answer.trace.images)

        # the side panel already shows the newest call's artifact; Enter opens it full screen
        side = app.query_one("#artifact")
        assert side.record is not None and side.record.call_id == item.call_id
        app.trace_panel.calls.focus()
        app.trace_panel.calls.index = 0
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ArtifactScreen)
        annotated = answer.trace.calls[0].artifact.images[0]
        captions = [str(s.render()) for s in screen.query(".image-caption")]
        assert annotated in captions[0]  # the annotated image first, then the input
        assert len(screen.query(".artifact-image")) == 2
        json_text = screen.query_one(".artifact-json").content.code
        assert "detections" in json_text and "fixed-box" in json_text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ArtifactScreen)


@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
async def test_cancel_a_running_turn_keeps_the_conversation(cat_png, key):
    blocker = BlockingTool()

    def script(messages, tools):
        last = messages[-1]
        if isinstance(last, HumanMessage) and _ids(last):
            return call("slow_scan", {"image": _ids(last)[0]})
        return "Second answer, after the cancelled one."

    app, model = make_app(script, blocker)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await type_and_enter(pilot, app, f"/image {cat_png}")
            await type_and_enter(pilot, app, "scan it slowly")
            await wait_for(pilot, lambda: blocker.started.is_set() and app.query(CallItem))
            assert app.running
            assert "running" in app.status.state or "slow_scan" in app.status.state
            await pilot.press(key)
            await wait_idle(app, pilot)
            [answer] = app.query(AnswerBlock)
            assert answer.trace is not None and answer.trace.cancelled
            assert answer.has_class("-cancelled")
            assert any("cancelled" in n for n in notices(app))
            blocker.release.set()

            await type_and_enter(pilot, app, "and now?")
            await wait_idle(app, pilot)
            answers = list(app.query(AnswerBlock))
            assert len(answers) == 2 and answers[1].trace.answer == "Second answer, after the cancelled one."
            assert [t.question for t in app.session.turns()] == ["scan it slowly", "and now?"]
            # the planner's side of the conversation carried over the cancelled turn
            assert any("scan it slowly" in str(m.content) for m in model.seen[-1])
    finally:
        blocker.release.set()


async def test_resume_a_session_after_restarting_the_app(cat_png):
    app, _ = make_app(detect_then("There is one cat."))
    async with app.run_test(size=SIZE) as pilot:
        await ask_about(pilot, app, cat_png, "how many cats?")
        session_id = app.session.id
        first_trace = next(iter(app.traces.values()))
        await pilot.press("ctrl+q")

    app2, model2 = make_app(detect_then("Still one cat."), session_id=session_id)
    async with app2.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app2.session is not None and app2.query(AnswerBlock))
        await pilot.pause()
        assert app2.status.session == session_id
        [turn] = app2.query(UserTurn)
        assert turn.question == "how many cats?" and turn.images[0][0] is not None
        [answer] = app2.query(AnswerBlock)
        assert answer.trace.answer == "There is one cat."
        [item] = app2.query(CallItem)
        assert item.record is not None and item.record.call_id == first_trace.calls[0].call_id
        assert any("Resumed session" in n for n in notices(app2))

        # the evidence link of the old answer still opens its artifact
        await app2.run_action(f"open_call({first_trace.turn_id!r},{first_trace.calls[0].call_id!r})")
        await pilot.pause()
        assert isinstance(app2.screen, ArtifactScreen)
        await pilot.press("escape")

        await type_and_enter(pilot, app2, "and now?")
        await wait_idle(app2, pilot)
        assert len(app2.query(AnswerBlock)) == 2
        # the planner got the earlier turn back from the checkpointer
        assert any("how many cats?" in str(m.content) for m in model2.seen[0])


async def test_bad_images_are_messages_and_the_session_goes_on(cat_png, tmp_path):
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("this is not a picture")
    app, _ = make_app(detect_then("There is one cat."))
    async with app.run_test(size=SIZE) as pilot:
        await type_and_enter(pilot, app, f"/image {tmp_path / 'missing.png'}")
        await type_and_enter(pilot, app, f"/image {not_image}")
        await type_and_enter(pilot, app, f"/image {tmp_path}")
        texts = notices(app)
        assert any("Image not found" in t and "missing.png" in t for t in texts)
        assert any("Not an image" in t and "notes.jpg" in t for t in texts)
        assert any("folder" in t for t in texts)
        assert app.attachments == []
        await ask_about(pilot, app, cat_png, "how many cats?")
        assert app.query(AnswerBlock).last().trace.answer == "There is one cat."


async def test_a_failing_tool_and_a_planner_that_is_down(cat_png):
    def script(messages, tools):
        last = messages[-1]
        if isinstance(last, HumanMessage) and "server" in str(last.content):
            raise ConnectionError("Connection refused: http://localhost:8000/v1")
        if isinstance(last, HumanMessage) and _ids(last):
            return call("read_text", {"image": _ids(last)[0]})
        return "I could not read any text: the OCR tool failed."

    app, _ = make_app(script, BrokenTool())
    async with app.run_test(size=SIZE) as pilot:
        await ask_about(pilot, app, cat_png, "what does it say?")
        [item] = app.query(CallItem)
        assert item.has_class("-error")
        assert "OCR model crashed" in str(item.query_one(".call-outcome").render())
        assert "the OCR tool failed" in app.query(AnswerBlock).last().trace.answer

        await type_and_enter(pilot, app, "is the server up?")
        await wait_idle(app, pilot)
        failed = app.query(AnswerBlock).last()
        assert failed.has_class("-failed")
        assert "could not be reached" in str(failed.query_one(".answer-text").render())

        await ask_about(pilot, app, cat_png, "try reading again")
        assert len(app.query(AnswerBlock)) == 3 and not app.query(AnswerBlock).last().has_class("-failed")


async def test_unsupported_claims_are_marked_and_link_to_their_evidence(cat_png):
    app, _ = make_app(detect_then("There are two cats."))
    async with app.run_test(size=SIZE) as pilot:
        await ask_about(pilot, app, cat_png, "how many cats?")
        answer = app.query(AnswerBlock).last()
        trace = answer.trace
        bad = [v for v in trace.verdicts if v.status != "supported"]
        assert bad, trace.verdicts  # the grounding checker caught the wrong count
        verdicts = answer.query_one(".verdicts")
        text = str(verdicts.render())
        assert "contradicted" in text and "two cats" in text
        await app.run_action(f"open_call({trace.turn_id!r},{bad[0].evidence[0]!r})")
        await pilot.pause()
        assert isinstance(app.screen, ArtifactScreen)
        assert app.screen.record.call_id == bad[0].evidence[0]


async def test_pasting_or_dropping_an_image_path_attaches_it(cat_png, tmp_path):
    spaced = tmp_path / "my cat.png"
    spaced.write_bytes(cat_png.read_bytes())
    app, _ = make_app(detect_then("ok"))
    async with app.run_test(size=SIZE) as pilot:
        app.prompt.focus()
        app.prompt.post_message(events.Paste(f"'{spaced}'"))
        await pilot.pause()
        app.prompt.post_message(events.Paste(f"file://{cat_png}"))
        await pilot.pause()
        assert app.attachments == [spaced, cat_png]
        assert app.prompt.value == ""
        app.prompt.post_message(events.Paste("just some words"))
        await pilot.pause()
        assert app.prompt.value == "just some words" and len(app.attachments) == 2
        app.prompt.value = ""
        # a path typed (or pasted as a whole line) and submitted also attaches
        await type_and_enter(pilot, app, str(cat_png))
        assert app.attachments == [spaced, cat_png] and not app.query(AnswerBlock)
        await app.run_action("detach(0)")
        assert app.attachments == [cat_png]


async def test_image_paths_complete_as_you_type(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "kitten.jpg").write_bytes(b"x")
    (tmp_path / "photos" / "notes.txt").write_text("x")
    app, _ = make_app(detect_then("ok"))
    async with app.run_test(size=SIZE) as pilot:
        app.prompt.focus()
        await pilot.press(*"/im")
        await pilot.pause(0.2)
        await pilot.press("right")
        assert app.prompt.value == "/image "
        await pilot.press(*f"{tmp_path}/pho")
        await pilot.pause(0.2)
        await pilot.press("right")
        assert app.prompt.value == f"/image {tmp_path}/photos/"
        await pilot.press("k")
        await pilot.pause(0.2)
        await pilot.press("right")
        assert app.prompt.value == f"/image {tmp_path}/photos/kitten.jpg"


async def test_sessions_screen_lists_opens_starts_and_deletes(cat_png):
    app, _ = make_app(detect_then("There is one cat."))
    async with app.run_test(size=SIZE) as pilot:
        await ask_about(pilot, app, cat_png, "how many cats?")
        first = app.session.id
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.session is None and not app.query(AnswerBlock) and app.status.session == "new"
        await type_and_enter(pilot, app, "hello?")
        await wait_idle(app, pilot)
        second = app.session.id
        assert second != first

        await pilot.press("ctrl+r")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SessionsScreen)
        table = screen.query_one("#sessions-table")
        assert table.row_count == 2
        table.move_cursor(row=table.get_row_index(first))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.session is not None and app.session.id == first)
        await pilot.pause()
        assert [t.question for t in app.query(UserTurn)] == ["how many cats?"]

        await app.run_action("sessions")
        await pilot.pause()
        table = app.screen.query_one("#sessions-table")
        table.move_cursor(row=table.get_row_index(second))
        await pilot.press("d")
        assert second in [s.id for s in app.agent.sessions.list()]  # asks first
        await pilot.press("d")
        await pilot.pause()
        assert [s.id for s in app.agent.sessions.list()] == [first]
        assert app.screen.query_one("#sessions-table").row_count == 1
        await pilot.press("escape")


async def test_settings_screen_saves_to_the_config(lensmith_home):
    app, _ = make_app(detect_then("ok"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f2")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        screen.query_one("#backend").value = "openai"
        screen.query_one("#base_url").value = "http://gpu-host:8000/v1"
        screen.query_one("#openai_model").value = "Qwen/Qwen2-VL-7B-Instruct"
        screen.query_one("#device").value = "cuda:1"
        await pilot.click("#save")
        await pilot.pause()
        assert not isinstance(app.screen, SettingsScreen)
        assert app.status.device == "cuda:1"  # the injected agent is kept; the footer follows
    saved = load_settings(lensmith_home / "config.toml")
    assert saved.planner.backend == "openai"
    assert saved.planner.base_url == "http://gpu-host:8000/v1"
    assert saved.planner.openai_model == "Qwen/Qwen2-VL-7B-Instruct"
    assert saved.device == "cuda:1"


async def test_help_palette_and_search_without_memory():
    app, _ = make_app(detect_then("ok"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()

        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Settings")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, SettingsScreen)
        await pilot.press("escape")
        await pilot.pause()

        await type_and_enter(pilot, app, "/search red car")
        await wait_for(pilot, lambda: any("unavailable" in n for n in notices(app)))
        await type_and_enter(pilot, app, "/frobnicate")
        assert any("Unknown command" in n for n in notices(app))


@pytest.mark.slow
async def test_search_finds_an_earlier_turn_in_memory(cat_png):
    from lensmith.memory import open_memory

    memory = open_memory(ephemeral=True)
    model = ScriptedChatModel(function=detect_then("There is one cat on the sofa."))
    agent = Agent(Settings(device="cpu"), planner=model, registry=Registry([BoxTool()]), memory=memory)
    app = LensmithApp(agent, image_renderer="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_enter(pilot, app, f"/image {cat_png}")
        await type_and_enter(pilot, app, "how many cats?")
        await wait_idle(app, pilot, timeout=60)
        await type_and_enter(pilot, app, "/search cat on the sofa")
        await wait_for(pilot, lambda: any("result(s)" in n or "Nothing" in n for n in notices(app)), timeout=60)
        found = next(n for n in notices(app) if "memory" in n)
        assert "cat on the sofa" in found and "turn" in found


@pytest.mark.slow
async def test_real_yolo_with_the_heuristic_planner_on_a_real_photo():
    """The shipped detector (YOLO11n int8 OpenVINO) on ultralytics' bus.jpg."""
    pytest.importorskip("ultralytics")
    from lensmith.runtime.weights import status
    from lensmith.tools.detect import DetectTool

    found = status("yolo11n")
    if isinstance(found, Exception):
        pytest.skip(f"no YOLO weights here: {found}")
    import ultralytics

    bus = Path(ultralytics.__file__).parent / "assets" / "bus.jpg"
    agent = Agent(Settings(device="cpu", planner={"backend": "heuristic"}), registry=Registry([DetectTool()]), memory=False)
    app = LensmithApp(agent, image_renderer="halfcell")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_enter(pilot, app, f"/image {bus}")
        await type_and_enter(pilot, app, "how many people are there?")
        await wait_idle(app, pilot, timeout=120)
        answer = app.query(AnswerBlock).last()
        trace = answer.trace
        assert trace.error is None, trace.error
        assert trace.planner == "heuristic"
        planner_line = str(answer.query_one(".planner").render())
        assert "heuristic" in planner_line and "rule-based" in planner_line
        assert app.status.heuristic
        [item] = app.query(CallItem)
        assert item.tool == "detect" and "person" in item.record.summary
        assert item.record.artifact.method_kind == "model"
        counts = item.record.artifact.counts()
        assert counts.get("person", 0) >= 3
        # the annotated image is a real file in the session and is drawn
        annotated = item.record.artifact.images[0]
        assert app.image_path(annotated).is_file()
        await app.run_action(f"open_call({trace.turn_id!r},{item.call_id!r})")
        await pilot.pause()
        assert isinstance(app.screen, ArtifactScreen)
        assert len(app.screen.query(".artifact-image")) >= 1


def test_chat_command_is_registered():
    from typer.testing import CliRunner

    from lensmith.cli import app

    result = CliRunner().invoke(app, ["chat", "--help"])
    assert result.exit_code == 0
    assert "--session" in result.output and "--planner" in result.output and "--device" in result.output


def test_cli_rejects_an_unknown_session():
    from typer.testing import CliRunner

    from lensmith.cli import app

    result = CliRunner().invoke(app, ["chat", "--session", "nope"])
    assert result.exit_code == 1
    assert "No session" in result.output



@pytest.mark.parametrize(("command", "screen"), [("/help", "HelpScreen"), ("/sessions", "SessionsScreen"), ("/settings", "SettingsScreen")])
async def test_slash_commands_open_their_screens(command, screen):
    app, _ = make_app(lambda m, t: "ok")
    async with app.run_test(size=(120, 40)) as pilot:
        await type_and_enter(pilot, app, command)
        await wait_for(pilot, lambda: type(app.screen).__name__ == screen)
