"""The live trace: each tool call as it starts, model loading progress, and each
call's outcome; plus the view of one call's artifact (its images and its JSON)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Label, ListItem, ListView, ProgressBar, Static

from lensmith.agent.events import ModelLoading, ToolCalled
from lensmith.agent.trace import ToolCallRecord, TurnTrace
from lensmith.tui.format import artifact_image_ids, call_outcome, call_title, record_json, short
from lensmith.tui.widgets.images import image_widget

ImageResolver = Callable[[str], Path | None]


class CallItem(ListItem):
    """One tool call: ``tool(args)`` while it runs, then its outcome and duration."""

    def __init__(self, turn_id: str, call_id: str, tool: str, args: dict, number: int) -> None:
        super().__init__(classes="call -running")
        self.turn_id = turn_id
        self.call_id = call_id
        self.tool = tool
        self.args = args
        self.number = number
        self.record: ToolCallRecord | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"[{self.number}] {call_title(self.tool, self.args)}", classes="call-title")
        outcome = call_outcome(self.record) if self.record is not None else "[dim]running…[/dim]"
        yield Static(outcome, classes="call-outcome")

    def on_mount(self) -> None:
        if self.record is not None:
            self.call_after_refresh(self.finish, self.record)

    def finish(self, record: ToolCallRecord) -> None:
        """Show the outcome (now, or when mounted: a fast call can end before it is drawn)."""
        self.record = record
        self.remove_class("-running")
        self.add_class("-error" if record.error else "-done")
        for outcome in self.query(".call-outcome").results(Static):
            outcome.update(call_outcome(record))


class ProgressItem(ListItem):
    """A model loading (or another long step) with its progress."""

    def __init__(self, source: str) -> None:
        super().__init__(classes="progress", disabled=True)
        self.source = source
        self.last: ModelLoading | None = None

    def compose(self) -> ComposeResult:
        yield Label(self._label(), classes="progress-label")
        yield ProgressBar(total=None, show_eta=False, classes="progress-bar")

    def on_mount(self) -> None:
        self.call_after_refresh(self._apply)

    def _label(self) -> str:
        if self.last is None:
            return escape(self.source)
        done = self.last.fraction is not None and self.last.fraction >= 1.0
        mark = "[green]✓[/green]" if done else "[dim]⟳[/dim]"
        return f"{mark} {escape(self.last.source)}: {escape(short(self.last.message, 80))}"

    def update_from(self, event: ModelLoading) -> None:
        """Show the latest progress (now, or once mounted)."""
        self.last = event
        self._apply()

    def _apply(self) -> None:
        event = self.last
        if event is None:
            return
        if event.fraction is not None and event.fraction >= 1.0:
            self.add_class("-done")
        for label in self.query(".progress-label").results(Label):
            label.update(self._label())
        for bar in self.query(ProgressBar).results():
            if event.fraction is not None:
                bar.update(total=1.0, progress=max(0.0, min(1.0, event.fraction)))


class CallList(ListView):
    """The calls; focusing it highlights the newest call, so Enter opens something."""

    def on_focus(self) -> None:
        if self.index is None:
            calls = [i for i, child in enumerate(self.children) if isinstance(child, CallItem)]
            if calls:
                self.index = calls[-1]


class TracePanel(Vertical):
    """Calls of the current (or last) turn, in the order they started."""

    class CallChosen(Message):
        def __init__(self, item: CallItem, open_full: bool) -> None:
            super().__init__()
            self.item = item
            self.open_full = open_full

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._progress: dict[str, ProgressItem] = {}

    def compose(self) -> ComposeResult:
        yield Static("[b]trace[/b] [dim]no turn yet[/dim]", id="trace-title")
        yield CallList(id="calls")

    @property
    def calls(self) -> ListView:
        return self.query_one("#calls", ListView)

    def call_items(self) -> list[CallItem]:
        return list(self.query(CallItem))

    def begin(self, title: str) -> None:
        self.query_one("#trace-title", Static).update(f"[b]trace[/b] {escape(title)}")
        self.calls.clear()
        self._progress = {}

    def call_started(self, event: ToolCalled) -> CallItem:
        item = CallItem(event.turn_id, event.call_id, event.tool, event.args, len(self.call_items()) + 1)
        self.calls.append(item)
        self.calls.scroll_end(animate=False)
        return item

    def call_finished(self, turn_id: str, record: ToolCallRecord) -> CallItem:
        for item in self.call_items():
            if item.call_id == record.call_id and item.record is None:
                item.finish(record)
                return item
        # a call we never saw start (a replayed trace): add it finished
        item = CallItem(turn_id, record.call_id, record.tool, record.args, len(self.call_items()) + 1)
        item.finish(record)
        self.calls.append(item)
        return item

    def progress(self, event: ModelLoading) -> None:
        item = self._progress.get(event.source)
        if item is None:
            item = ProgressItem(event.source)
            self._progress[event.source] = item
            self.calls.append(item)
        item.update_from(event)

    def show_trace(self, trace: TurnTrace, title: str) -> None:
        self.begin(title)
        for record in trace.calls:
            self.call_finished(trace.turn_id, record)

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        if isinstance(event.item, CallItem):
            self.post_message(self.CallChosen(event.item, open_full=False))

    def on_list_view_selected(self, event: ListView.Selected) -> None:
        if isinstance(event.item, CallItem):
            self.post_message(self.CallChosen(event.item, open_full=True))


PLACEHOLDER = "[dim]select a tool call in the trace to see its artifact[/dim]"


class ArtifactView(VerticalScroll):
    """A call's artifact: a header (call, outcome, method), its images (the result
    first) and the raw record as JSON. ``parts`` picks which of the three it shows."""

    def __init__(
        self,
        renderer: str = "auto",
        max_images: int | None = None,
        parts: tuple[str, ...] = ("header", "images", "json"),
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.renderer = renderer
        self.max_images = max_images
        self.parts = parts
        self.record: ToolCallRecord | None = None

    def compose(self) -> ComposeResult:
        yield Static(PLACEHOLDER, classes="artifact-header")

    def reset(self) -> None:
        self.record = None
        self.remove_children()
        self.mount(Static(PLACEHOLDER, classes="artifact-header"))

    def show(self, record: ToolCallRecord | None, resolve: ImageResolver, *, tool: str = "", args: dict | None = None) -> None:
        self.record = record
        self.remove_children()
        if record is None:
            self.mount(Static(f"{call_title(tool, args or {})}\n[dim]running…[/dim]", classes="artifact-header"))
            return
        widgets: list[Widget] = []
        if "header" in self.parts:
            widgets.append(Static(artifact_header(record), classes="artifact-header"))
        if "images" in self.parts:
            ids = artifact_image_ids(record.artifact)
            for image_id in ids[: self.max_images] if self.max_images is not None else ids:
                widgets.append(Static(f"[dim]{escape(image_id)}[/dim]", classes="image-caption"))
                widgets.append(image_widget(resolve(image_id), self.renderer, classes="artifact-image"))
            if not ids:
                widgets.append(Static("[dim](this call produced no image)[/dim]", classes="image-caption"))
        if "json" in self.parts:
            syntax = Syntax(record_json(record), "json", theme="ansi_dark", word_wrap=True)
            widgets.append(Static(syntax, classes="artifact-json"))
        self.mount_all(widgets)
        self.scroll_home(animate=False)
        # an image measured before its column had a width keeps a one-row height: measure again
        self.call_after_refresh(self._relayout_images)

    def _relayout_images(self) -> None:
        for image in self.query(".artifact-image"):
            image.refresh(layout=True)


def artifact_header(record: ToolCallRecord) -> str:
    art = record.artifact
    header = call_title(record.tool, record.args) + "\n" + call_outcome(record)
    if art is not None:
        header += f"\n[dim]method: {escape(art.method)} ({art.method_kind})"
        if art.model:
            header += f" · model: {escape(short(art.model, 60))}"
        header += "[/dim]"
        if art.note:
            header += f"\n[$warning]{escape(art.note)}[/]"
    return header
