"""Sessions: a folder under ``$LENSMITH_HOME/sessions/<id>`` holding the session's
image store, its artifacts and its turn traces. The planner's side of the
conversation lives in the checkpointer under the same id, and its turns in memory.

:class:`SessionManager` owns all three: it creates, lists and deletes a session's
folder, checkpoint thread and memory turns together."""

from __future__ import annotations

import contextlib
import logging
import secrets
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from pydantic import BaseModel

from lensmith.agent.trace import TurnTrace
from lensmith.runtime import paths
from lensmith.runtime.images import ImageStore

log = logging.getLogger(__name__)


class SessionNotFound(LookupError):
    pass


class SessionBusy(RuntimeError):
    """Another turn (in this process or another) is running on the session."""


class SessionInfo(BaseModel):
    id: str
    title: str = ""
    created: float
    updated: float
    turns: int = 0


class Session:
    def __init__(self, folder: Path, info: SessionInfo) -> None:
        self.folder = folder
        self.info = info
        self.store = ImageStore(folder / "images")

    @property
    def id(self) -> str:
        return self.info.id

    def turns(self) -> list[TurnTrace]:
        path = self.folder / "turns.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            try:
                out.append(TurnTrace.model_validate_json(line))
            except ValueError:
                continue  # a line cut short by a crash loses only itself
        return out

    @contextlib.contextmanager
    def running(self, wait_s: float = 0.0) -> Iterator[None]:
        """Hold the session for one turn. A second turn on the same session, from this
        process or another (``lensmith ask -s`` twice), waits up to ``wait_s`` and then
        gets :class:`SessionBusy`, so no turn count is lost and the checkpoint thread
        never forks."""
        lock = FileLock(str(self.folder / ".turn.lock"), timeout=wait_s, thread_local=False)
        try:
            lock.acquire()
        except Timeout:
            raise SessionBusy(
                f"Session {self.id} is busy with another turn; wait for it to finish, or start a new session."
            ) from None
        try:
            yield
        finally:
            lock.release()

    def append_turn(self, trace: TurnTrace) -> None:
        with (self.folder / "turns.jsonl").open("a") as fh:
            fh.write(trace.to_json() + "\n")
        try:  # another process may have run turns since this one opened the session
            saved = SessionInfo.model_validate_json((self.folder / "session.json").read_text())
            self.info.turns = max(self.info.turns, saved.turns)
        except (OSError, ValueError):
            pass
        self.info.updated = time.time()
        self.info.turns += 1
        if not self.info.title:
            self.info.title = trace.question[:60]
        self._save()

    def _save(self) -> None:
        tmp = self.folder / "session.json.tmp"
        tmp.write_text(self.info.model_dump_json(indent=1))
        tmp.replace(self.folder / "session.json")


class SessionManager:
    def __init__(
        self, root: Path | None = None, *, checkpoints: Path | None = None,
        memory: Callable[[], Any] | None = None,
    ) -> None:
        """``memory``: returns the memory store whose turns belong to these sessions (or
        None when memory is off); called only when a session is deleted."""
        self.root = root or paths.sessions_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        self.checkpoints = checkpoints or paths.checkpoints_db()
        self._memory = memory

    def new(self, title: str = "") -> Session:
        now = time.time()
        sid = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + "-" + secrets.token_hex(2)
        folder = self.root / sid
        folder.mkdir(parents=True)
        session = Session(folder, SessionInfo(id=sid, title=title, created=now, updated=now))
        session._save()
        return session

    def open(self, session_id: str) -> Session:
        """Open by id or unique id prefix; ``latest`` opens the most recent."""
        if session_id == "latest":
            infos = self.list()
            if not infos:
                raise SessionNotFound("There are no sessions yet.")
            session_id = infos[0].id
        matches = [p for p in self.root.iterdir() if p.name.startswith(session_id) and (p / "session.json").exists()]
        exact = [p for p in matches if p.name == session_id]
        if exact:
            matches = exact
        if len(matches) != 1:
            known = ", ".join(i.id for i in self.list()[:10]) or "none"
            what = "No session" if not matches else "Several sessions match"
            raise SessionNotFound(f"{what} {session_id!r}. Recent sessions: {known}")
        folder = matches[0]
        info = SessionInfo.model_validate_json((folder / "session.json").read_text())
        return Session(folder, info)

    def list(self) -> list[SessionInfo]:
        infos = []
        for meta in self.root.glob("*/session.json"):
            try:
                infos.append(SessionInfo.model_validate_json(meta.read_text()))
            except ValueError:
                continue
        return sorted(infos, key=lambda i: i.updated, reverse=True)

    def delete(self, session_id: str) -> str:
        """Remove the session's folder, its checkpoint thread and its memory turns."""
        session = self.open(session_id)
        self._delete_thread(session.id)
        store = self._memory() if self._memory is not None else None
        if store is not None:
            store.forget_session(session.id)
        shutil.rmtree(session.folder)
        return session.id

    def _delete_thread(self, thread_id: str) -> None:
        if not self.checkpoints.exists():
            return
        from langgraph.checkpoint.sqlite import SqliteSaver

        with sqlite3.connect(self.checkpoints) as conn:
            SqliteSaver(conn).delete_thread(thread_id)
