"""The agent loop: plan → tool calls → observations → answer → grounding check.

Built on LangChain's ``create_agent`` (a LangGraph graph) with an async SQLite
checkpointer, so a conversation survives a restart. A middleware turns each tool
call into typed events with timings, enforces the step budget and cancellation.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from lensmith.agent.config import Settings, load_settings
from lensmith.agent.events import (
    AnswerDrafted,
    Event,
    GroundingChecked,
    MemoryRecalled,
    ModelLoading,
    ToolCalled,
    ToolFinished,
    TurnCancelled,
    TurnFailed,
    TurnFinished,
    TurnStarted,
)
from lensmith.agent.planners import PlannerChoice, choose_planner
from lensmith.agent.prompts import GROUNDING_MARKER, SYSTEM_PROMPT, describe_images, describe_memory
from lensmith.agent.sessions import Session, SessionBusy, SessionManager
from lensmith.agent.toolset import build_registry
from lensmith.agent.trace import Recalled, ToolCallRecord, TurnTrace, Verdict
from lensmith.runtime import paths
from lensmith.runtime.access import ImagePolicy
from lensmith.runtime.artifacts import Artifact, parse_artifact
from lensmith.runtime.databases import ensure_sound
from lensmith.runtime.errors import ImageError
from lensmith.runtime.images import StoredImage, use_store
from lensmith.runtime.progress import Progress, progress_to
from lensmith.tools.registry import Registry, is_memory_tool

log = logging.getLogger("lensmith.agent")

MAX_QUESTION_CHARS = 20_000
MAX_IMAGES_PER_TURN = 16
PLANNER_IMAGE_SIDE = 1024
# a planner's reply beyond this is cut before it is checkpointed, saved or rendered
MAX_ANSWER_CHARS = 20_000
MAX_ARG_CHARS = 2_000  # each string argument of a tool call, as recorded in the trace
SESSION_WAIT_S = 2.0  # how long a second turn on a busy session waits before saying so

EventSink = Callable[[Event], None]


class TurnCancelledError(Exception):
    pass


class PlannerError(RuntimeError):
    """The planner failed (server down, timeout, model crash); the conversation is kept."""


class _Turn:
    """Mutable state of one running turn, shared with the middleware."""

    def __init__(self, trace: TurnTrace, emit: EventSink, cancel: threading.Event, max_steps: int) -> None:
        self.trace = trace
        self.emit = emit
        self.cancel = cancel
        self.max_steps = max_steps
        self.model_calls = 0
        self.recall: Future[tuple[Any, list[Recalled]]] | None = None  # (memory, recalled), see _start_background

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise TurnCancelledError()

    def ids(self) -> dict[str, Any]:
        return {"session_id": self.trace.session_id, "turn_id": self.trace.turn_id}


class _EventsMiddleware(AgentMiddleware):
    """Times each tool call, emits ToolCalled/ToolFinished, keeps the step budget."""

    def __init__(self, turn: _Turn) -> None:
        super().__init__()
        self.turn = turn

    def _budget_spent(self) -> AIMessage | None:
        self.turn.check_cancel()
        if self.turn.model_calls >= self.turn.max_steps:
            done = "; ".join(f"{c.tool}: {c.summary or c.error}" for c in self.turn.trace.calls)
            return AIMessage(
                content=f"I stopped after {self.turn.max_steps} planning steps (the step budget) "
                f"before finishing. What the tools found so far: {done or 'nothing yet'}."
            )
        self.turn.model_calls += 1
        return None

    def wrap_model_call(self, request: Any, handler: Any) -> Any:
        return self._budget_spent() or _bounded_reply(handler(request))

    async def awrap_model_call(self, request: Any, handler: Any) -> Any:
        return self._budget_spent() or _bounded_reply(await handler(request))

    def _started(self, request: Any) -> tuple[dict[str, Any], float]:
        self.turn.check_cancel()
        call = request.tool_call
        self.turn.emit(
            ToolCalled(call_id=call["id"], tool=call["name"], args=_bounded_args(call.get("args")),
                       step=self.turn.model_calls, **self.turn.ids())
        )
        return call, time.perf_counter()

    def _finished(self, call: dict[str, Any], started: float, result: Any) -> Any:
        elapsed = time.perf_counter() - started
        if isinstance(result, ToolMessage):
            text = str(result.text)  # LangChain joins the text blocks
            record = ToolCallRecord(
                call_id=call["id"],
                tool=call["name"],
                args=_bounded_args(call.get("args")),
                summary=text if result.status != "error" else "",
                artifact=result.artifact if isinstance(result.artifact, Artifact) else parse_artifact(result.artifact),
                error=text if result.status == "error" else None,
                duration_s=round(elapsed, 4),
                step=self.turn.model_calls,
            )
            self.turn.trace.calls.append(record)
            self.turn.emit(ToolFinished(record=record, **self.turn.ids()))
        return result

    def wrap_tool_call(self, request: Any, handler: Any) -> Any:
        call, started = self._started(request)
        return self._finished(call, started, handler(request))

    async def awrap_tool_call(self, request: Any, handler: Any) -> Any:
        call, started = self._started(request)
        return self._finished(call, started, await handler(request))


class Agent:
    """One planner, one tool registry, optional memory; many sessions."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        planner: BaseChatModel | PlannerChoice | str | None = None,
        registry: Registry | None = None,
        memory: Any = None,
        sessions: SessionManager | None = None,
        origin: str = "CLI",
    ) -> None:
        """``origin``: who asks (CLI, TUI, ...), recorded with what goes into memory."""
        self.settings = settings or load_settings()
        self.origin = origin
        self.settings.apply()
        self.sessions = sessions or SessionManager(memory=lambda: self.memory)
        self._registry = registry
        if isinstance(planner, str):  # a backend name: "heuristic", "openai", "transformers", "auto"
            self.settings.planner = type(self.settings.planner).model_validate(
                {**self.settings.planner.model_dump(), "backend": planner}
            )
            planner = None
        if isinstance(planner, BaseChatModel):
            planner = PlannerChoice(planner, getattr(planner, "_llm_type", "custom"), "given by the caller")
        self._planner: PlannerChoice | None = planner
        self._memory = memory  # None: open lazily when enabled; False: no memory
        self._lock = threading.Lock()

    # ---- lazily built parts ------------------------------------------------------
    @property
    def registry(self) -> Registry:
        with self._lock:
            if self._registry is None:
                self._registry = build_registry(self.settings)
            return self._registry

    @property
    def planner(self) -> PlannerChoice:
        with self._lock:
            if self._planner is None:
                self._planner = choose_planner(self.settings.planner, device=self.settings.device)
            return self._planner

    @property
    def memory(self) -> Any:
        if self._memory is False or not self.settings.memory.enabled:
            return None
        with self._lock:
            if self._memory is None:
                try:
                    from lensmith.memory import open_memory

                    # a damaged embedded store is moved aside by open_memory, and the user told
                    self._memory = open_memory(paths.memory_dir(), url=self.settings.memory.chroma_url)
                except Exception as exc:  # noqa: BLE001 - memory is a help, never a blocker
                    log.warning("memory unavailable: %s", exc)
                    self._memory = False
                    return None
            return self._memory

    # ---- running turns -----------------------------------------------------------
    def ask(
        self,
        question: str,
        images: Sequence[str | Path] = (),
        *,
        session: Session | None = None,
        on_event: EventSink | None = None,
        cancel: threading.Event | None = None,
    ) -> TurnTrace:
        """Run one turn to the end and return its trace (errors are in ``trace.error``)."""
        coro = self._run_turn(question, images, session, on_event or (lambda _e: None), cancel or threading.Event())
        try:
            asyncio.get_running_loop()
            inside_loop = True
        except RuntimeError:
            inside_loop = False
        if not inside_loop:
            return _run_sync(coro)
        result: list[TurnTrace] = []
        thread = threading.Thread(target=lambda: result.append(_run_sync(coro)))
        thread.start()
        thread.join()
        return result[0]

    async def astream(
        self,
        question: str,
        images: Sequence[str | Path] = (),
        *,
        session: Session | None = None,
        cancel: threading.Event | None = None,
    ) -> AsyncIterator[Event]:
        """The turn's events as they happen."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event | None] = asyncio.Queue()

        def emit(event: Event) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, event)

        task = asyncio.create_task(self._run_turn(question, images, session, emit, cancel or threading.Event()))
        task.add_done_callback(lambda _t: loop.call_soon_threadsafe(queue.put_nowait, None))
        while (event := await queue.get()) is not None:
            yield event
        await task

    stream = astream  # the public name: ``async for event in agent.stream(question, images)``

    async def ask_async(
        self,
        question: str,
        images: Sequence[str | Path] = (),
        *,
        session: Session | None = None,
        on_event: EventSink | None = None,
        cancel: threading.Event | None = None,
    ) -> TurnTrace:
        """:meth:`ask` for async code: the turn runs on the caller's event loop."""
        return await self._run_turn(question, images, session, on_event or (lambda _e: None), cancel or threading.Event())

    def iter_events(self, question: str, images: Sequence[str | Path] = (), **kwargs: Any) -> Iterator[Event]:
        """Synchronous event iterator (runs the turn in a thread)."""
        import queue as queue_mod

        events: queue_mod.Queue[Event | None] = queue_mod.Queue()
        def run() -> None:
            try:
                self.ask(question, images, on_event=events.put, **kwargs)
            finally:
                events.put(None)

        thread = threading.Thread(target=run)
        thread.start()
        while (event := events.get()) is not None:
            yield event
        thread.join()

    async def _run_turn(
        self,
        question: str,
        images: Sequence[str | Path],
        session: Session | None,
        emit: EventSink,
        cancel: threading.Event,
    ) -> TurnTrace:
        session = session or self.sessions.new()
        trace = TurnTrace(session_id=session.id, turn_id=uuid.uuid4().hex[:12], question=question)
        turn = _Turn(trace, emit, cancel, self.settings.max_steps)
        try:
            with session.running(wait_s=SESSION_WAIT_S):
                return await self._run_locked_turn(session, turn, images, emit)
        except SessionBusy as exc:  # the other turn owns the session's record: nothing is appended
            trace.error = str(exc)
            emit(TurnFailed(error=trace.error, trace=trace, **turn.ids()))
            return trace

    async def _run_locked_turn(
        self, session: Session, turn: _Turn, images: Sequence[str | Path], emit: EventSink
    ) -> TurnTrace:
        trace, question = turn.trace, turn.trace.question
        started = time.perf_counter()
        try:
            stored = self._load_inputs(question, images, session, trace)
            choice = self.planner
            trace.planner, trace.planner_note = choice.name, choice.reason
            emit(TurnStarted(question=question, images=trace.images, planner=choice.name,
                             planner_note=choice.reason, **turn.ids()))
            self._start_background(turn, session, stored, choice)
            own_policy, session.store.policy = session.store.policy, self.tool_policy()
            try:
                await self._plan_and_answer(turn, session, stored, choice)
            finally:
                session.store.policy = own_policy
            emit(TurnFinished(trace=trace, **turn.ids()))
        except (TurnCancelledError, asyncio.CancelledError, KeyboardInterrupt):
            trace.cancelled = True
            trace.error = None
            emit(TurnCancelled(trace=trace, **turn.ids()))
        except Exception as exc:  # noqa: BLE001 - any failure ends the turn, never the session
            trace.error = _describe_failure(exc, self.settings)
            if not isinstance(exc, ImageError | ValueError | PlannerError):
                log.warning("turn failed", exc_info=True)
            emit(TurnFailed(error=trace.error, trace=trace, **turn.ids()))
        finally:
            trace.duration_s = round(time.perf_counter() - started, 3)
            session.append_turn(trace)
        return trace

    def _load_inputs(
        self, question: str, images: Sequence[str | Path], session: Session, trace: TurnTrace
    ) -> list[StoredImage]:
        if not question.strip():
            raise ValueError("The question is empty.")
        if len(question) > MAX_QUESTION_CHARS:
            raise ValueError(
                f"The question is too long ({len(question):,} characters; the limit is {MAX_QUESTION_CHARS:,})."
            )
        if len(images) > MAX_IMAGES_PER_TURN:
            raise ValueError(f"Too many images in one turn ({len(images)}; the limit is {MAX_IMAGES_PER_TURN}).")
        # the local user may name any file of theirs; the planner's own tool calls may not
        stored = [session.store.get(str(ref), policy=ImagePolicy.local_user()) for ref in images]
        trace.images = [s.id for s in stored]
        return stored

    def tool_policy(self) -> ImagePolicy:
        """What image references a planner's tool calls may use besides ids of the session."""
        access = self.settings.access
        return ImagePolicy.shared(access.allow_dirs, urls=access.allow_urls)

    async def _plan_and_answer(
        self, turn: _Turn, session: Session, stored: list[StoredImage], choice: PlannerChoice
    ) -> None:
        trace = turn.trace
        if turn.recall is not None:
            memory, trace.recalled = await asyncio.wrap_future(turn.recall)
        else:
            memory = self.memory
            trace.recalled = self._recall(memory, trace.question, session.id) if memory is not None else []
        if trace.recalled:
            turn.emit(MemoryRecalled(items=trace.recalled, **turn.ids()))
        message = self._human_message(trace.question, stored, trace.recalled, send_pixels=not choice.heuristic)

        def on_progress(event: Progress) -> None:
            turn.emit(ModelLoading(source=event.source, message=event.message, fraction=event.fraction, **turn.ids()))

        earlier_turns = [t.calls for t in session.turns()]
        # with memory off, so are the tools that read and write it
        tools = [t for t in self.registry.tools() if memory is not None or not is_memory_tool(t)]
        with use_store(session.store), _use_memory(memory, session.id, self.origin), progress_to(on_progress):
            async with _checkpointer() as saver:
                graph = create_agent(
                    choice.model,
                    tools=tools,
                    system_prompt=SYSTEM_PROMPT,
                    middleware=[_EventsMiddleware(turn)],
                    checkpointer=saver,
                )
                config = {"configurable": {"thread_id": session.id}, "recursion_limit": 4 * self.settings.max_steps + 10}
                await _close_dangling_calls(graph, config)
                answer = await _invoke(graph, {"messages": [message]}, config, turn)
                trace.drafts.append(answer)
                turn.emit(AnswerDrafted(text=answer, revision=0, **turn.ids()))
                verdicts = _check(answer, trace, earlier_turns)
                revised = False
                request = _revision_request(verdicts)
                if request:
                    turn.model_calls = min(turn.model_calls, turn.max_steps - 1)  # one revision always fits
                    answer = await _invoke(
                        graph, {"messages": [HumanMessage(f"{GROUNDING_MARKER} {request}")]}, config, turn
                    )
                    trace.drafts.append(answer)
                    turn.emit(AnswerDrafted(text=answer, revision=1, **turn.ids()))
                    verdicts = _check(answer, trace, earlier_turns)
                    revised = True
        trace.answer = answer
        trace.verdicts = verdicts
        refused = getattr(choice.model, "images_refused", None)
        if refused:  # said where the answer is shown, not only in the log
            trace.planner_note += f"; text only: the server refused image parts ({refused[:120]})"
        turn.emit(GroundingChecked(verdicts=verdicts, revised=revised, **turn.ids()))
        trace.artifacts = _artifact_files(session, trace.calls)
        if memory is not None:
            self._remember_turn(memory, session, trace, stored)

    def _human_message(
        self, question: str, stored: list[StoredImage], recalled: list[Recalled], *, send_pixels: bool
    ) -> HumanMessage:
        blocks: list[dict[str, Any]] = [{"type": "text", "text": question}]
        if stored:
            blocks.append({"type": "text", "text": describe_images(stored, names=self.settings.planner.show_file_names)})
        if recalled:
            blocks.append({"type": "text", "text": describe_memory(recalled)})
        if send_pixels:
            for image in stored:
                blocks.append({"type": "text", "text": f"{image.id}:"})
                blocks.append({"type": "image", "base64": _jpeg_b64(image), "mime_type": "image/jpeg"})
        return HumanMessage(content=blocks)  # type: ignore[arg-type]

    def _start_background(self, turn: _Turn, session: Session, stored: list[StoredImage], choice: PlannerChoice) -> None:
        """Start, each in its own thread, what the turn will wait for: opening memory and
        recalling from it (which loads nothing when memory holds no turns or facts), and
        loading the models of the tools the first planning step will call. Model loads and
        predictions release the GIL, so on two cores these overlap instead of adding up.

        Only the rule-based planner's first step is known in advance (a cheap, deterministic
        function of the question), so only its tools are warmed; a warm-up that fails is
        left to the real call to report."""

        def recall() -> tuple[Any, list[Recalled]]:
            memory = self.memory
            if memory is None:
                return None, []
            uses_recall = getattr(choice.model, "uses_recall", None) if choice.heuristic else None
            if uses_recall is not None and not uses_recall(turn.trace.question):
                return memory, []
            return memory, self._recall(memory, turn.trace.question, session.id)

        turn.recall = _in_thread(recall, "lensmith-recall")
        if choice.heuristic and stored:
            question = turn.trace.question

            def on_progress(event: Progress) -> None:
                turn.emit(ModelLoading(source=event.source, message=event.message, fraction=event.fraction,
                                       **turn.ids()))

            def warm_up() -> None:
                tools = {t.name: t for t in self.registry.tools()}

                def warm(name: str) -> None:
                    setup = getattr(tools.get(name), "ensure_setup", None)
                    if setup is not None:
                        with progress_to(on_progress):
                            setup()

                # the planner's own first step needs its sentence encoder loaded before it
                # can name its tools; the detector is the first tool of nearly every question
                # about a photo, so its load starts now, beside the encoder's, not after it
                early = _in_thread(lambda: warm(EARLY_TOOL), "lensmith-warm-detect") if EARLY_TOOL in tools else None
                reply = choice.model.bind_tools(list(tools.values())).invoke(
                    [self._human_message(question, stored, [], send_pixels=False)]
                )
                for name in dict.fromkeys(c["name"] for c in getattr(reply, "tool_calls", [])):
                    if name != EARLY_TOOL or early is None:
                        warm(name)

            _in_thread(warm_up, "lensmith-warm-up")

    def _recall(self, memory: Any, question: str, session_id: str) -> list[Recalled]:
        try:
            items = memory.recall(question, k=self.settings.memory.recall_k, session_id=session_id)
        except Exception as exc:  # noqa: BLE001
            log.warning("memory recall failed: %s", exc)
            return []
        return [Recalled.model_validate(item) for item in items]

    def _remember_turn(self, memory: Any, session: Session, trace: TurnTrace, stored: list[StoredImage]) -> None:
        try:
            memory.add_turn(
                session_id=session.id, turn_id=trace.turn_id, question=trace.question, answer=trace.answer,
                image_ids=trace.images, image_paths=[s.source for s in stored], origin=self.origin,
                from_memory=bool(trace.recalled) and not trace.calls,
            )
            for image in stored:
                seen = [c.artifact for c in trace.calls if c.artifact is not None and c.artifact.image == image.id]
                if seen and image.origin == "input" and Path(image.source).exists():
                    memory.note_image(image.source, seen)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not store the turn in memory: %s", exc)


# ---- helpers ----------------------------------------------------------------------
EARLY_TOOL = "detect"


def _in_thread(work: Callable[[], Any], name: str) -> Future[Any]:
    """Run ``work`` in a daemon thread (a cancelled turn does not wait for it)."""
    future: Future[Any] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on it
            log.debug("%s failed: %s", name, exc)
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def _run_sync(coro: Any) -> Any:
    """Like ``asyncio.run``, but a cancelled turn returns at once instead of waiting
    for a tool still running in a worker thread (its result is discarded)."""
    from concurrent.futures import ThreadPoolExecutor

    loop = asyncio.new_event_loop()
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lensmith-tool")
    loop.set_default_executor(executor)
    try:
        return loop.run_until_complete(coro)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


@contextlib.asynccontextmanager
async def _checkpointer() -> AsyncIterator[Any]:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = paths.checkpoints_db()
    # a damaged checkpoint file is moved aside (and the user told), so it blocks no session
    ensure_sound(path, "checkpoint database")
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        yield saver


@contextlib.contextmanager
def _use_memory(memory: Any, session_id: str, origin: str) -> Iterator[None]:
    if memory is None:
        yield
        return
    from lensmith.memory import use_memory

    with use_memory(memory, session_id=session_id, origin=origin):
        yield


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[… cut: the reply was {len(text):,} characters, over the {limit:,} limit]"


def _bounded_reply(response: Any) -> Any:
    """Cut an overlong planner reply before it reaches the checkpoint, the trace or a screen."""
    messages = getattr(response, "result", None)
    for message in messages if isinstance(messages, list) else [response]:
        if isinstance(message, AIMessage) and isinstance(message.content, str) and len(message.content) > MAX_ANSWER_CHARS:
            message.content = _cut(message.content, MAX_ANSWER_CHARS)
    return response


def _bounded_args(args: Any) -> dict[str, Any]:
    if not isinstance(args, dict):
        return {}
    return {k: _cut(v, MAX_ARG_CHARS) if isinstance(v, str) else v for k, v in args.items()}


async def _invoke(graph: Any, payload: dict[str, Any], config: dict[str, Any], turn: _Turn) -> str:
    task = asyncio.ensure_future(graph.ainvoke(payload, config))
    while not task.done():
        await asyncio.wait({task}, timeout=0.1)
        if turn.cancel.is_set() and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TurnCancelledError):
                await task
            raise TurnCancelledError()
    try:
        result = task.result()
    except TurnCancelledError:
        raise
    except Exception as exc:
        raise PlannerError(_describe_failure(exc, None)) from exc
    messages: list[BaseMessage] = result.get("messages", [])
    for message in reversed(messages):
        if isinstance(message, AIMessage):
            return _cut(str(message.text).strip(), MAX_ANSWER_CHARS)
    return ""


async def _close_dangling_calls(graph: Any, config: dict[str, Any]) -> None:
    """A cancelled turn can leave tool calls without results; close them so the
    conversation stays valid for planners that check (OpenAI's API does)."""
    state = await graph.aget_state(config)
    messages: list[BaseMessage] = (state.values or {}).get("messages", []) if state else []
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    missing = [
        ToolMessage(content="Cancelled by the user before this tool returned.", tool_call_id=call["id"], status="error")
        for m in messages
        if isinstance(m, AIMessage)
        for call in m.tool_calls
        if call["id"] not in answered
    ]
    if missing:
        await graph.aupdate_state(config, {"messages": missing}, as_node="tools")


def _check(answer: str, trace: TurnTrace, earlier: list[list[ToolCallRecord]]) -> list[Verdict]:
    """Hold the answer against this turn's evidence (a follow-up with no tool call of its
    own: the latest turn that measured), about the images this turn attached."""
    try:
        from lensmith.agent.grounding import check_answer, turn_evidence
    except ImportError:
        return []
    calls = turn_evidence(trace.calls, earlier)
    return check_answer(answer, calls, images=trace.images or None)


def _revision_request(verdicts: list[Verdict]) -> str | None:
    try:
        from lensmith.agent.grounding import revision_request
    except ImportError:
        return None
    return revision_request(verdicts)


def _artifact_files(session: Session, calls: list[ToolCallRecord]) -> list[str]:
    files = []
    for call in calls:
        if call.artifact is None:
            continue
        for image_id in call.artifact.images:
            try:
                files.append(str(session.store.file(image_id)))
            except ImageError:
                continue
        files.extend(call.artifact.files)
    return files


def _jpeg_b64(image: StoredImage) -> str:
    """A downscaled JPEG of the image for planners that look at pixels."""
    from PIL import Image

    if not image.path:
        raise ImageError(f"No pixels on disk for {image.id}")
    with Image.open(image.path) as source:
        picture = source.convert("RGB")
    picture.thumbnail((PLANNER_IMAGE_SIDE, PLANNER_IMAGE_SIDE))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=90)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _describe_failure(exc: BaseException, settings: Settings | None) -> str:
    if isinstance(exc, PlannerError | ImageError | ValueError):
        return str(exc)
    timeouts: tuple[type[BaseException], ...] = (TimeoutError,)
    unreachable: tuple[type[BaseException], ...] = (ConnectionError,)
    try:
        import openai

        timeouts += (openai.APITimeoutError,)
        unreachable += (openai.APIConnectionError,)
    except ImportError:
        pass
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, timeouts):
        return f"The planner timed out ({text}). The conversation is kept; try again, or raise planner.timeout_s."
    if isinstance(exc, unreachable):
        return f"The planner server could not be reached ({text}). The conversation is kept; try again when it is up."
    return f"The turn failed: {text}"
