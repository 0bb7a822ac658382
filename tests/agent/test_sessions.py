"""The session owner: a session's folder, checkpoint thread and memory turns are
created, listed and deleted together."""

from __future__ import annotations

import sqlite3

import numpy as np
from PIL import Image
from support.tools import MeanColourTool

from lensmith.agent.config import Settings
from lensmith.agent.loop import Agent
from lensmith.agent.planners.scripted import ScriptedChatModel
from lensmith.memory import open_memory
from lensmith.runtime import paths
from lensmith.tools.registry import Registry


def _thread_rows(thread_id: str) -> int:
    with sqlite3.connect(paths.checkpoints_db()) as conn:
        return conn.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (thread_id,)).fetchone()[0]


def test_deleting_a_session_removes_its_folder_checkpoint_rows_and_memory_turns(tmp_path) -> None:
    photo = tmp_path / "red.png"
    Image.fromarray(np.full((20, 30, 3), (200, 10, 10), np.uint8)).save(photo)
    memory = open_memory(ephemeral=True)
    agent = Agent(Settings(), planner=ScriptedChatModel(replies=["It is red.", "Still red."]),
                  registry=Registry([MeanColourTool()]), memory=memory)
    keep = agent.ask("what colour?", [photo])
    gone = agent.ask("and now?", [photo])
    assert _thread_rows(gone.session_id) > 0 and _thread_rows(keep.session_id) > 0
    assert {sid for sid, *_ in memory.sessions()} >= {keep.session_id, gone.session_id}

    agent.sessions.delete(gone.session_id)

    assert _thread_rows(gone.session_id) == 0
    assert not (paths.sessions_dir() / gone.session_id).exists()
    assert gone.session_id not in {sid for sid, *_ in memory.sessions()}
    assert gone.session_id not in {info.id for info in agent.sessions.list()}
    # the other session is untouched
    assert _thread_rows(keep.session_id) > 0
    assert keep.session_id in {sid for sid, *_ in memory.sessions()}
    assert agent.sessions.open(keep.session_id).turns()[0].answer == "It is red."
