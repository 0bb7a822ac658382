"""The app's other screens: help, settings, sessions and the full artifact viewer."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Markdown, Select, Static, Switch

from lensmith.agent.config import Settings
from lensmith.agent.sessions import SessionInfo
from lensmith.agent.trace import ToolCallRecord
from lensmith.tui.widgets.trace import ArtifactView

HELP = """\
# lensmith chat

Ask a question about one or more images. The planner calls vision tools; each call
appears in the **trace** panel as it starts and when it ends. Under each answer you
see its **evidence** (the calls it rests on) and the **grounding** verdicts: claims
the tools did not support are marked and link to the calls they were checked against.

## Keys

| key | action |
|---|---|
| enter | send the question (or run a `/command`) |
| → (right arrow) | accept the suggested completion (commands, paths) |
| esc / ctrl+c | cancel the running turn (the conversation is kept) |
| ctrl+o | attach an image (`/image ` in the prompt) |
| ctrl+t | show or hide the trace panel |
| ctrl+r | sessions: open, start, delete |
| ctrl+n | new session |
| f1 | this help |
| f2 | settings |
| ctrl+p | command palette |
| tab | move between prompt, trace and conversation |
| enter on a trace call | open its artifact full screen |
| ctrl+q | quit |

## Commands

| command | what it does |
|---|---|
| `/image PATH…` | attach images to the next question (several allowed) |
| `/search TEXT` | search memory: past turns, facts, indexed images |
| `/sessions` | list, resume, delete sessions |
| `/new` | start a new session |
| `/clear` | drop the pending attachments |
| `/settings`, `/help`, `/quit` | as named |

Pasting or dropping an image file's path into the prompt attaches it.
Images on the command line (`lensmith chat photo.jpg`) are attached to the first question.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,f1", "dismiss", "Close")]

    def __init__(self, renderer_note: str = "") -> None:
        super().__init__()
        self.renderer_note = renderer_note

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body", classes="dialog"):
            yield Markdown(HELP + (f"\nImages are drawn with: **{self.renderer_note}**.\n" if self.renderer_note else ""))
            yield Static("[dim]esc closes[/dim]")


class ArtifactScreen(ModalScreen[None]):
    """One tool call full screen: every image it produced, and its JSON."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close")]

    def __init__(self, record: ToolCallRecord, resolve: Callable[[str], Path | None], renderer: str) -> None:
        super().__init__()
        self.record = record
        self.resolve = resolve
        self.renderer = renderer

    def compose(self) -> ComposeResult:
        with Vertical(id="artifact-dialog", classes="dialog"):
            with Horizontal(id="artifact-split"):
                yield ArtifactView(self.renderer, parts=("header", "images"), id="artifact-images")
                yield ArtifactView(self.renderer, parts=("json",), id="artifact-json")
            yield Static("[dim]esc closes · tab switches between the images and the JSON[/dim]")

    def on_mount(self) -> None:
        for view in self.query(ArtifactView):
            view.show(self.record, self.resolve)
        self.query_one("#artifact-images", ArtifactView).focus()


PLANNER_BACKENDS = [
    ("auto: best available", "auto"),
    ("heuristic: rules, no model", "heuristic"),
    ("transformers: local LLaVA-style model", "transformers"),
    ("openai: OpenAI-compatible server", "openai"),
]


class SettingsScreen(ModalScreen[Settings | None]):
    """Planner backend, server URL, model ids, device and memory; saved to config.toml."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        p = self.settings.planner
        with VerticalScroll(id="settings-body", classes="dialog"):
            yield Static("[b]Settings[/b] [dim]saved to config.toml; apply to the next turn[/dim]")
            yield Label("Planner backend")
            yield Select(PLANNER_BACKENDS, value=p.backend, allow_blank=False, id="backend")
            yield Label("OpenAI-compatible server URL (vLLM, SGLang, Ollama, llama.cpp)")
            yield Input(p.base_url or "", placeholder="http://localhost:8000/v1", id="base_url")
            yield Label("Server model id")
            yield Input(p.openai_model or "", placeholder="e.g. Qwen/Qwen2-VL-7B-Instruct", id="openai_model")
            yield Label("API key (if the server wants one)")
            yield Input(p.api_key or "", password=True, id="api_key")
            yield Label("Local planner model (transformers id or folder)")
            yield Input(p.model or "", placeholder="e.g. llava-hf/llava-1.5-7b-hf", id="model")
            yield Label("Device (auto, cpu, cuda, cuda:1, mps)")
            yield Input(self.settings.device, id="device")
            with Horizontal(classes="switch-row"):
                yield Switch(self.settings.memory.enabled, id="memory")
                yield Label("Memory (recall past turns, /search)")
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def _value(self, widget_id: str) -> str | None:
        return self.query_one(f"#{widget_id}", Input).value.strip() or None

    def edited(self) -> Settings:
        settings = self.settings.model_copy(deep=True)
        p = settings.planner
        p.backend = self.query_one("#backend", Select).value  # type: ignore[assignment]
        p.base_url = self._value("base_url")
        p.openai_model = self._value("openai_model")
        p.api_key = self._value("api_key")
        p.model = self._value("model")
        settings.device = self._value("device") or "auto"
        settings.memory.enabled = self.query_one("#memory", Switch).value
        return Settings.model_validate(settings.model_dump())

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        try:
            settings = self.edited()
        except ValueError as exc:
            self.notify(str(exc), severity="error", title="Invalid settings")
            return
        self.dismiss(settings)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def format_time(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


class SessionsScreen(ModalScreen[tuple[str, str] | None]):
    """Sessions, newest first. Returns ``("open", id)`` or ``("new", "")``."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("n", "new", "New"),
        Binding("d,delete", "delete", "Delete"),
    ]

    def __init__(self, sessions: Callable[[], list[SessionInfo]], delete: Callable[[str], None], current: str | None) -> None:
        super().__init__()
        self._sessions = sessions
        self._delete = delete
        self.current = current
        self._armed: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="sessions-body", classes="dialog"):
            yield Static("[b]Sessions[/b] [dim]enter opens · n new · d deletes (twice to confirm) · esc closes[/dim]")
            yield DataTable(id="sessions-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("", "session", "title", "turns", "updated")
        self.refresh_rows()
        table.focus()

    def refresh_rows(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        infos = self._sessions()
        for info in infos:
            mark = "●" if info.id == self.current else ""
            table.add_row(mark, info.id, info.title or "(no turns yet)", str(info.turns), format_time(info.updated), key=info.id)
        if not infos:
            table.add_row("", "", "no sessions yet: n starts one", "", "", key="")

    def _selected(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return key or None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        session_id = self._selected()
        if session_id:
            self.dismiss(("open", session_id))

    def action_new(self) -> None:
        self.dismiss(("new", ""))

    def action_delete(self) -> None:
        session_id = self._selected()
        if not session_id:
            return
        if self._armed != session_id:
            self._armed = session_id
            self.notify(f"Press d again to delete {session_id}", severity="warning")
            return
        self._armed = None
        self._delete(session_id)
        self.notify(f"Deleted {session_id}")
        self.refresh_rows()
