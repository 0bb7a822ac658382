"""The conversation: the user's turns with thumbnails, the answers with the planner
that gave them, their evidence and their grounding verdicts, and notices."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.markup import escape
from textual.widgets import Static

from lensmith.agent.trace import Recalled, TurnTrace
from lensmith.tui.format import evidence_lines, planner_line, short, verdict_lines
from lensmith.tui.widgets.images import image_widget


class Thumbnail(Vertical):
    """A small picture of an attached image with its name under it."""

    def __init__(self, path: Path | None, caption: str, renderer: str) -> None:
        super().__init__(classes="thumbnail")
        self.path = path
        self.caption = caption
        self.renderer = renderer

    def compose(self) -> ComposeResult:
        yield image_widget(self.path, self.renderer, max_side=256, classes="thumb-image")
        yield Static(escape(short(self.caption, 18)), classes="thumb-caption")


class UserTurn(Vertical):
    def __init__(
        self, question: str, images: list[tuple[Path | None, str]], renderer: str = "auto"
    ) -> None:
        super().__init__(classes="user-turn")
        self.question = question
        self.images = images
        self.renderer = renderer

    def compose(self) -> ComposeResult:
        yield Static(f"[b]you[/b]  {escape(self.question)}", classes="question")
        if self.images:
            with Horizontal(classes="thumbnails"):
                for path, caption in self.images:
                    yield Thumbnail(path, caption, self.renderer)


class AnswerBlock(Vertical):
    """One answer. While the turn runs it shows what is known so far (the planner,
    recalled memory, drafts); :meth:`finish` redraws it from the final trace."""

    def __init__(self, turn_id: str = "") -> None:
        super().__init__(classes="answer -pending")
        self.turn_id = turn_id
        self.trace: TurnTrace | None = None

    def compose(self) -> ComposeResult:
        yield Static("planner: …", classes="planner")
        yield Static("", classes="recalled")
        yield Static("[dim]working…[/dim]", classes="answer-text")
        yield Static("", classes="evidence")
        yield Static("", classes="verdicts")

    def _set(self, part: str, markup: str) -> None:
        widget = self.query_one(f".{part}", Static)
        widget.update(markup)
        widget.display = bool(markup)

    def on_mount(self) -> None:
        for part in ("recalled", "evidence", "verdicts"):
            self.query_one(f".{part}", Static).display = False
        if self.trace is not None:
            self._render_trace(self.trace)

    def set_planner(self, planner: str, note: str) -> None:
        self._set("planner", planner_line(planner, note))

    def set_recalled(self, items: list[Recalled]) -> None:
        if items:
            lines = [f"[dim]↺ recalled ({i.kind}): {escape(short(i.text, 90))}[/dim]" for i in items]
            self._set("recalled", "\n".join(lines))

    def set_draft(self, text: str, revision: int) -> None:
        label = "draft" if revision == 0 else f"revision {revision}"
        self._set("answer-text", f"[dim]({label})[/dim] {escape(text)}")

    def finish(self, trace: TurnTrace) -> None:
        self.trace = trace
        self.turn_id = trace.turn_id
        if self.is_mounted:
            self._render_trace(trace)

    def _render_trace(self, trace: TurnTrace) -> None:
        self.remove_class("-pending")
        self.set_planner(trace.planner, trace.planner_note)
        self.set_recalled(trace.recalled)
        if trace.cancelled:
            self.add_class("-cancelled")
            text = "[$warning]turn cancelled[/]"
            if trace.answer:
                text += f" — {escape(trace.answer)}"
        elif trace.error:
            self.add_class("-failed")
            text = f"[$error]✗ {escape(trace.error)}[/]"
        else:
            text = escape(trace.answer) if trace.answer else "[dim](no answer)[/dim]"
        self._set("answer-text", text)
        evidence = evidence_lines(trace)
        self._set("evidence", "[dim]evidence[/dim]\n" + "\n".join(evidence) if evidence else "")
        self._set("verdicts", "\n".join(verdict_lines(trace)))


class Notice(Static):
    """A line from lensmith itself: an error, a cancelled turn, search results."""

    def __init__(self, markup: str, kind: str = "info") -> None:
        super().__init__(markup, classes=f"notice -{kind}")


class ChatLog(VerticalScroll):
    """The scrolling conversation; new blocks are appended and scrolled into view."""

    def __init__(self, renderer: str = "auto", **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.renderer = renderer

    def add_user_turn(self, question: str, images: list[tuple[Path | None, str]]) -> UserTurn:
        turn = UserTurn(question, images, self.renderer)
        self._append(turn)
        return turn

    def add_answer(self, trace: TurnTrace | None = None) -> AnswerBlock:
        block = AnswerBlock(trace.turn_id if trace else "")
        if trace is not None:
            block.trace = trace
        self._append(block)
        return block

    def add_notice(self, markup: str, kind: str = "info") -> Notice:
        notice = Notice(markup, kind)
        self._append(notice)
        return notice

    def add_history(self, trace: TurnTrace, images: list[tuple[Path | None, str]]) -> None:
        self.add_user_turn(trace.question, images)
        self.add_answer(trace)

    def _append(self, widget: Static | Vertical) -> None:
        self.mount(widget)
        self.call_after_refresh(self.scroll_end, animate=False)
