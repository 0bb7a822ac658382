"""``lensmith chat``: the conversation, a live trace of the tool calls, and the
artifacts they produced, on top of the agent's event stream.

The agent runs in a thread worker; its events come back as messages, so a model
loading or a slow tool never freezes the screen. Escape cancels the running turn.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.markup import escape
from textual.message import Message
from textual.widgets import Footer, Header

from lensmith.agent.config import Settings, load_settings, save_settings
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
from lensmith.agent.trace import ToolCallRecord, TurnTrace
from lensmith.tui.commands import LensmithCommands
from lensmith.tui.format import check_image, pasted_image_paths, short
from lensmith.tui.screens import ArtifactScreen, HelpScreen, SessionsScreen, SettingsScreen
from lensmith.tui.search import search_memory
from lensmith.tui.widgets import (
    AnswerBlock,
    ArtifactView,
    AttachmentBar,
    CallItem,
    ChatLog,
    PromptInput,
    StatusBar,
    TracePanel,
    default_renderer,
)
from lensmith.tui.widgets.images import auto_renderer_name

log = logging.getLogger("lensmith.tui")


class AgentEvent(Message):
    """An event of the running turn, handed over from the worker thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class AgentReady(Message):
    def __init__(self, planner: str, heuristic: bool, device: str) -> None:
        super().__init__()
        self.planner = planner
        self.heuristic = heuristic
        self.device = device


class LensmithApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "lensmith"
    SUB_TITLE = "ask about your images"
    COMMANDS = App.COMMANDS | {LensmithCommands}
    BINDINGS = [
        Binding("escape", "cancel_turn", "Cancel turn"),
        Binding("ctrl+c", "cancel_turn", "Cancel turn", show=False, priority=True),
        Binding("ctrl+o", "attach", "Attach"),
        Binding("ctrl+t", "toggle_trace", "Trace"),
        Binding("ctrl+r", "sessions", "Sessions"),
        Binding("ctrl+n", "new_session", "New"),
        Binding("f1", "help", "Help"),
        Binding("f2", "settings", "Settings"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        agent: Any = None,
        *,
        settings: Settings | None = None,
        session_id: str | None = None,
        images: list[str | Path] | tuple[str | Path, ...] = (),
        image_renderer: str | None = None,
        save_to: Path | None = None,
    ) -> None:
        super().__init__()
        self.agent = agent
        self._owns_agent = agent is None
        self.settings = settings or (agent.settings if agent is not None else load_settings())
        self.renderer = image_renderer or default_renderer()
        self._settings_path = save_to
        self._initial_session = session_id
        self._initial_images = [Path(str(p)).expanduser() for p in images]
        self.session: Any = None
        self.attachments: list[Path] = []
        self.traces: dict[str, TurnTrace] = {}
        self._live: dict[tuple[str, str], ToolCallRecord] = {}
        self._agent_ready = threading.Event()
        self._cancel: threading.Event | None = None
        self._answer: AnswerBlock | None = None
        self.running = False
        self.turn_count = 0

    # ---- layout ------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="chat-pane"):
                yield ChatLog(self.renderer, id="chat")
                yield AttachmentBar(id="attachments")
                yield PromptInput(id="prompt")
            with Vertical(id="side-pane"):
                yield TracePanel(id="trace")
                yield ArtifactView(self.renderer, max_images=1, id="artifact")
        yield StatusBar(id="status")
        yield Footer()

    @property
    def chat(self) -> ChatLog:
        return self.query_one("#chat", ChatLog)

    @property
    def trace_panel(self) -> TracePanel:
        return self.query_one("#trace", TracePanel)

    @property
    def status(self) -> StatusBar:
        return self.query_one("#status", StatusBar)

    @property
    def prompt(self) -> PromptInput:
        return self.query_one("#prompt", PromptInput)

    def on_mount(self) -> None:
        self.query_one(AttachmentBar).set_paths([])
        self.status.device = self.settings.device
        self.status.session = self._initial_session or "new"
        self.prompt.focus()
        for path in self._initial_images:
            self.attach(path)
        self._start_agent(self._initial_session)

    # ---- the agent, built off the UI thread ----------------------------------------
    @work(thread=True, group="agent", exit_on_error=False)
    def _start_agent(self, session_id: str | None) -> None:
        try:
            if self.agent is None:
                from lensmith.agent.loop import Agent

                self.agent = Agent(settings=self.settings, origin="TUI")
            choice = self.agent.planner
            planner, heuristic = choice.name, bool(choice.heuristic)
        except Exception as exc:  # noqa: BLE001 - shown in the conversation; the app goes on
            log.warning("agent start failed", exc_info=True)
            planner, heuristic = f"unavailable: {exc}", False
            self.call_from_thread(self.chat.add_notice, f"[$error]Planner unavailable:[/] {escape(str(exc))}", "error")
        finally:
            self._agent_ready.set()
        self.post_message(AgentReady(planner, heuristic, _device_label(self.settings.device)))
        if session_id:
            self._load_session(session_id)

    def on_agent_ready(self, message: AgentReady) -> None:
        self.status.planner = message.planner
        self.status.heuristic = message.heuristic
        self.status.device = message.device
        self.sub_title = f"planner: {message.planner}"

    def _session_for_turn(self) -> Any:
        if self.session is None:
            self.session = self.agent.sessions.new()
            self.call_from_thread(setattr, self.status, "session", self.session.id)
        return self.session

    # ---- sessions ------------------------------------------------------------------
    def _load_session(self, session_id: str) -> None:
        """Open a session and redraw its history (runs in a worker thread)."""
        try:
            session = self.agent.sessions.open(session_id)
            turns = session.turns()
        except Exception as exc:  # noqa: BLE001
            self.call_from_thread(self.chat.add_notice, f"[$error]Cannot open session:[/] {escape(str(exc))}", "error")
            return
        self.call_from_thread(self._show_session, session, turns)

    def _show_session(self, session: Any, turns: list[TurnTrace]) -> None:
        self.session = session
        self.status.session = session.id
        self.traces = {t.turn_id: t for t in turns}
        self._live.clear()
        self.chat.remove_children()
        self.turn_count = len(turns)
        for trace in turns:
            self.chat.add_history(trace, [self._image_entry(i) for i in trace.images])
        if turns:
            self.trace_panel.show_trace(turns[-1], f"turn {len(turns)} (resumed)")
            if turns[-1].calls:
                self.query_one("#artifact", ArtifactView).show(turns[-1].calls[-1], self.image_path)
            self.chat.add_notice(f"Resumed session [b]{escape(session.id)}[/b] · {len(turns)} turn(s).")
        else:
            self.chat.add_notice(f"Opened session [b]{escape(session.id)}[/b] (no turns yet).")

    def _image_entry(self, image_id: str) -> tuple[Path | None, str]:
        path = self.image_path(image_id)
        caption = image_id
        if self.session is not None and image_id in self.session.store:
            source = self.session.store.get(image_id).source
            caption = Path(source).name if source not in ("bytes", "pixels") else image_id
        return path, caption

    def image_path(self, image_id: str) -> Path | None:
        """The file behind an image id of the current session, when there is one."""
        if self.session is not None:
            try:
                return self.session.store.file(image_id)
            except Exception:  # noqa: BLE001 - a missing file shows as a notice, not a crash
                return None
        path = Path(image_id)
        return path if path.is_file() else None

    def new_session(self) -> None:
        self.session = None
        self.traces.clear()
        self._live.clear()
        self.turn_count = 0
        self.chat.remove_children()
        self.trace_panel.begin("no turn yet")
        self.query_one("#artifact", ArtifactView).reset()
        self.status.session = "new"
        self.chat.add_notice("New session: it is saved when you ask the first question.")

    # ---- attachments ---------------------------------------------------------------
    def attach(self, path: Path) -> bool:
        problem = check_image(path)
        if problem:
            self.chat.add_notice(f"[$error]Cannot attach:[/] {escape(problem)}", "error")
            return False
        if path not in self.attachments:
            self.attachments.append(path)
        self.query_one(AttachmentBar).set_paths(self.attachments)
        return True

    def action_detach(self, index: int) -> None:
        if 0 <= index < len(self.attachments):
            self.attachments.pop(index)
            self.query_one(AttachmentBar).set_paths(self.attachments)

    def on_prompt_input_images_pasted(self, message: PromptInput.ImagesPasted) -> None:
        for path in message.paths:
            self.attach(path)

    # ---- the prompt ----------------------------------------------------------------
    @on(PromptInput.Submitted, "#prompt")
    def submitted(self, event: PromptInput.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        self.prompt.clear()
        if text.startswith("/"):
            self.run_command(text)
        elif pasted := pasted_image_paths(text):
            for path in pasted:
                self.attach(path)
        else:
            self.ask(text)

    def run_command(self, text: str) -> None:
        name, _, rest = text.partition(" ")
        rest = rest.strip()
        if name == "/image":
            if not rest:
                self.chat.add_notice("Usage: /image PATH [PATH…]", "error")
            for path in _split_paths(rest):
                self.attach(path)
        elif name == "/search":
            if rest:
                self._search(rest)
            else:
                self.chat.add_notice("Usage: /search TEXT", "error")
        elif name in ("/sessions", "/new", "/settings", "/help", "/quit"):
            self.call_later(self.run_action, {"/new": "new_session"}.get(name, name[1:]))
        elif name == "/clear":
            self.action_clear_attachments()
        else:
            self.chat.add_notice(f"Unknown command {escape(name)}. Try /help.", "error")

    def ask(self, question: str) -> None:
        if self.running:
            self.notify("A turn is running; esc cancels it.", severity="warning")
            return
        images = list(self.attachments)
        self.attachments.clear()
        self.query_one(AttachmentBar).set_paths([])
        self.chat.add_user_turn(question, [(p, p.name) for p in images])
        self._answer = self.chat.add_answer()
        self.turn_count += 1
        self.trace_panel.begin(f"turn {self.turn_count}")
        self._cancel = threading.Event()
        self._set_running(True, "starting…" if not self._agent_ready.is_set() else "planning…")
        self._run_turn(question, images, self._cancel)

    @work(thread=True, group="turn", exit_on_error=False)
    def _run_turn(self, question: str, images: list[Path], cancel: threading.Event) -> None:
        self._agent_ready.wait()
        try:
            if self.agent is None:
                raise RuntimeError("the agent could not start (see above)")
            session = self._session_for_turn()
            self.agent.ask(
                question,
                [str(p) for p in images],
                session=session,
                on_event=lambda ev: self.post_message(AgentEvent(ev)),
                cancel=cancel,
            )
        except Exception as exc:  # noqa: BLE001 - the conversation goes on
            log.warning("turn crashed", exc_info=True)
            self.call_from_thread(self._turn_crashed, f"{type(exc).__name__}: {exc}")

    def _turn_crashed(self, error: str) -> None:
        if self._answer is not None:
            self._answer.remove()
            self._answer = None
        self.chat.add_notice(f"[$error]The turn failed:[/] {escape(error)}", "error")
        self._set_running(False)

    def _set_running(self, running: bool, state: str = "idle") -> None:
        self.running = running
        self.status.state = state if running else "idle"
        self.refresh_bindings()

    # ---- events from the running turn ------------------------------------------------
    def on_agent_event(self, message: AgentEvent) -> None:
        event = message.event
        answer = self._answer
        if isinstance(event, TurnStarted):
            if answer is not None:
                answer.set_planner(event.planner, event.planner_note)
        elif isinstance(event, MemoryRecalled):
            if answer is not None:
                answer.set_recalled(event.items)
        elif isinstance(event, ModelLoading):
            self.trace_panel.progress(event)
            self.status.state = f"{event.source}: {short(event.message, 40)}"
        elif isinstance(event, ToolCalled):
            self.trace_panel.call_started(event)
            self.status.state = f"running {event.tool}…"
        elif isinstance(event, ToolFinished):
            self._live[(event.turn_id, event.record.call_id)] = event.record
            item = self.trace_panel.call_finished(event.turn_id, event.record)
            highlighted = self.trace_panel.calls.highlighted_child
            if highlighted is None or highlighted is item:
                self.call_after_refresh(self._show_artifact, item)  # the newest result, unless one is picked
            self.status.state = "planning…"
        elif isinstance(event, AnswerDrafted):
            if answer is not None:
                answer.set_draft(event.text, event.revision)
            self.status.state = "checking the answer…"
        elif isinstance(event, GroundingChecked):
            pass  # the verdicts arrive with the final trace
        elif isinstance(event, TurnFinished | TurnFailed | TurnCancelled):
            self._turn_ended(event.trace)

    def _turn_ended(self, trace: TurnTrace) -> None:
        self.traces[trace.turn_id] = trace
        if self._answer is not None:
            self._answer.finish(trace)
            self._answer = None
        if trace.cancelled:
            self.chat.add_notice("Turn cancelled. The conversation is kept; ask again when ready.", "warning")
        self._set_running(False)
        self.call_after_refresh(self.chat.scroll_end, animate=False)

    # ---- artifacts -----------------------------------------------------------------
    def find_record(self, turn_id: str, call_id: str) -> ToolCallRecord | None:
        trace = self.traces.get(turn_id)
        if trace is not None:
            for record in trace.calls:
                if record.call_id == call_id:
                    return record
        return self._live.get((turn_id, call_id))

    def _show_artifact(self, item: CallItem) -> None:
        self.query_one("#artifact", ArtifactView).show(item.record, self.image_path, tool=item.tool, args=item.args)

    def on_trace_panel_call_chosen(self, message: TracePanel.CallChosen) -> None:
        self._show_artifact(message.item)
        if message.open_full and message.item.record is not None:
            self.push_screen(ArtifactScreen(message.item.record, self.image_path, self.renderer))

    def action_open_call(self, turn_id: str, call_id: str) -> None:
        record = self.find_record(turn_id, call_id)
        if record is None:
            self.notify(f"No record of call {call_id}", severity="warning")
            return
        self.push_screen(ArtifactScreen(record, self.image_path, self.renderer))

    def action_open_selected(self) -> None:
        item = self.trace_panel.calls.highlighted_child
        if isinstance(item, CallItem) and item.record is not None:
            self.push_screen(ArtifactScreen(item.record, self.image_path, self.renderer))
        else:
            self.notify("Highlight a finished call in the trace first.")

    # ---- memory search -------------------------------------------------------------
    @work(thread=True, group="search", exit_on_error=False)
    def _search(self, query: str) -> None:
        self._agent_ready.wait()
        memory = getattr(self.agent, "memory", None) if self.agent is not None else None
        markup, kind = search_memory(memory, query)
        self.call_from_thread(self.chat.add_notice, markup, kind)

    # ---- actions -------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_turn":
            return self.running
        return True

    def action_cancel_turn(self) -> None:
        if self._cancel is not None and self.running:
            self._cancel.set()
            self.status.state = "cancelling…"

    def action_attach(self) -> None:
        self.prompt.value = "/image "
        self.prompt.cursor_position = len(self.prompt.value)
        self.prompt.focus()

    def action_search(self) -> None:
        self.prompt.value = "/search "
        self.prompt.cursor_position = len(self.prompt.value)
        self.prompt.focus()

    def action_clear_attachments(self) -> None:
        self.attachments.clear()
        self.query_one(AttachmentBar).set_paths([])

    def action_toggle_trace(self) -> None:
        pane = self.query_one("#side-pane")
        pane.display = not pane.display

    def action_help(self) -> None:
        note = f"auto (here: {auto_renderer_name()})" if self.renderer == "auto" else self.renderer
        self.push_screen(HelpScreen(note))

    def action_new_session(self) -> None:
        if self.running:
            self.notify("A turn is running; cancel it first (esc).", severity="warning")
            return
        self.new_session()

    def action_sessions(self) -> None:
        if self.agent is None:
            self.notify("The agent is still starting.")
            return
        manager = self.agent.sessions

        def delete(session_id: str) -> None:
            manager.delete(session_id)
            if self.session is not None and self.session.id == session_id:
                self.new_session()

        def chosen(result: tuple[str, str] | None) -> None:
            if result is None:
                return
            if self.running:
                self.notify("A turn is running; cancel it first (esc).", severity="warning")
            elif result[0] == "new":
                self.new_session()
            else:
                self._open_session(result[1])

        current = self.session.id if self.session is not None else None
        self.push_screen(SessionsScreen(manager.list, delete, current), chosen)

    @work(thread=True, group="agent", exit_on_error=False)
    def _open_session(self, session_id: str) -> None:
        self._load_session(session_id)

    def action_settings(self) -> None:
        def saved(settings: Settings | None) -> None:
            if settings is None:
                return
            path = save_settings(settings, self._settings_path)
            self.settings = settings
            self.chat.add_notice(f"Settings saved to {escape(str(path))}.")
            if self._owns_agent and not self.running:
                self.agent = None
                self._agent_ready.clear()
                self.status.planner = "restarting…"
                self._start_agent(None)  # the open session stays open: sessions outlive agents
            else:
                self.status.device = _device_label(settings.device)

        self.push_screen(SettingsScreen(self.settings), saved)

    async def action_quit(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        self.exit()


def _split_paths(text: str) -> list[Path]:
    """``/image`` arguments: one path with spaces, or several (quoted as a shell would)."""
    import shlex

    whole = Path(text.strip("'\"")).expanduser()
    if whole.exists():
        return [whole]
    try:
        return [Path(token).expanduser() for token in shlex.split(text)]
    except ValueError:
        return [whole]


def _device_label(device: str) -> str:
    if device != "auto":
        return device
    try:
        from lensmith.runtime.device import pick_device

        return f"auto → {pick_device('auto')}"
    except Exception:  # noqa: BLE001
        return "auto"
