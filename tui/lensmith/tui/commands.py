"""Command palette entries (ctrl+p) for each of the app's actions."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (title, help, action name on the app)
ACTIONS = (
    ("Attach image…", "Put /image in the prompt; complete the path with →", "attach"),
    ("Cancel turn", "Stop the running turn; the conversation is kept", "cancel_turn"),
    ("New session", "Start a fresh conversation", "new_session"),
    ("Sessions…", "List, resume or delete sessions", "sessions"),
    ("Search memory…", "Put /search in the prompt", "search"),
    ("Settings…", "Planner backend, server URL, model ids, device", "settings"),
    ("Toggle trace panel", "Show or hide the tool-call trace", "toggle_trace"),
    ("Open selected artifact", "Full view of the highlighted tool call", "open_selected"),
    ("Clear attachments", "Drop the images waiting for the next question", "clear_attachments"),
    ("Help", "Keys and commands", "help"),
)


class LensmithCommands(Provider):
    """One entry per lensmith action."""

    async def _run(self, action: str) -> None:
        await self.app.run_action(action)

    async def discover(self) -> Hits:
        for title, help_text, action in ACTIONS:
            yield DiscoveryHit(title, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in ACTIONS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self._run, action), help=help_text)
