"""Widgets of the lensmith terminal UI."""

from lensmith.tui.widgets.chat import AnswerBlock, ChatLog, Notice, Thumbnail, UserTurn
from lensmith.tui.widgets.images import RENDERERS, default_renderer, image_widget
from lensmith.tui.widgets.prompt import AttachmentBar, PromptInput, PromptSuggester, complete_path
from lensmith.tui.widgets.status import StatusBar
from lensmith.tui.widgets.trace import ArtifactView, CallItem, ProgressItem, TracePanel

__all__ = [
    "RENDERERS",
    "AnswerBlock",
    "ArtifactView",
    "AttachmentBar",
    "CallItem",
    "ChatLog",
    "Notice",
    "ProgressItem",
    "PromptInput",
    "PromptSuggester",
    "StatusBar",
    "Thumbnail",
    "TracePanel",
    "UserTurn",
    "complete_path",
    "default_renderer",
    "image_widget",
]
