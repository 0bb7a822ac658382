"""Deferred writes and the counts file: an empty memory is known empty without Chroma or
MiniLM, a turn is journaled and written by the next reader, nothing is lost or doubled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from lensmith.memory import open_memory
from lensmith.memory.deferred import Journal
from lensmith.memory.store import FACTS, TURNS
from lensmith.runtime.artifacts import DetectArtifact, Detection

_PROBE = """
import sys
from lensmith.memory import open_memory
store = open_memory(sys.argv[1])
print(store.may_hold("turns", "facts"), store.recall("where is the spare key?", session_id="now"))
{extra}
from lensmith.runtime.base import loaded_models
print("chromadb" in sys.modules, any(key.startswith("minilm") for key in loaded_models()))
"""


def _probe(path: Path, extra: str = "") -> list[str]:
    out = subprocess.run([sys.executable, "-c", _PROBE.format(extra=extra), str(path)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()


def test_an_empty_memory_recalls_nothing_without_loading_chroma_or_minilm(tmp_path: Path) -> None:
    lines = _probe(tmp_path / "mem", extra=(
        "store.add_turn(session_id='s1', turn_id='t1', question='where is the spare key?', "
        "answer='Under the blue flower pot.', image_ids=[], image_paths=[])"
    ))
    assert lines == ["False []", "False False"]  # recalled nothing, loaded neither, and journaled the turn
    assert Journal(tmp_path / "mem", TURNS).pending()
    # the next process's recall writes the journaled turn into Chroma and finds it
    lines = _probe(tmp_path / "mem")
    assert lines[0].startswith("True [{") and "blue flower pot" in lines[0]
    assert lines[1] == "True True"
    assert not Journal(tmp_path / "mem", TURNS).pending()
    counts = json.loads((tmp_path / "mem" / "counts.json").read_text())
    assert counts[TURNS] == 1


@pytest.mark.slow
def test_journaled_turns_and_photos_are_written_once_and_forgotten_with_everything(tmp_path: Path) -> None:
    store = open_memory(tmp_path / "mem")
    assert not store.may_hold(TURNS, FACTS)
    for _ in range(2):  # the same turn twice: one entry
        store.add_turn(session_id="s1", turn_id="t1", question="how many cats?", answer="Two cats.",
                       image_ids=[], image_paths=[])
    photo = tmp_path / "cat.png"
    Image.new("RGB", (32, 32), (200, 120, 40)).save(photo)
    changed = tmp_path / "changed.png"
    Image.new("RGB", (32, 32), (0, 0, 0)).save(changed)
    cats = DetectArtifact(tool="detect", method="yolo", detections=[Detection(label="cat", score=0.9, box=[0, 0, 5, 5])])
    store.note_image(str(photo), [cats])
    store.note_image(str(changed), [cats])
    Image.new("RGB", (32, 32), (255, 255, 255)).save(changed)  # new bytes after the tools looked
    assert store.may_hold(TURNS)

    assert store.counts()[TURNS] == 1
    entries = {Path(m["path"]).name: m for m in store.image_entries()}
    assert list(entries) == ["cat.png"]  # the changed photo's stale look is dropped
    assert json.loads(entries["cat.png"]["label_counts"]) == {"cat": 1}
    assert [r["text"] for r in store.recall("cats", session_id="s2", min_score=-1)] == ["Q: how many cats?\nA: Two cats."]

    store.add_turn(session_id="s3", turn_id="t1", question="q", answer="a", image_ids=[], image_paths=[])
    store.forget_all()  # pending writes are forgotten too
    assert not store.may_hold(TURNS, FACTS)
    assert store.counts() == {"turns": 0, "facts": 0, "image_texts": 0, "images": 0}


def test_an_append_racing_a_flush_lands_in_the_next_journal(tmp_path: Path) -> None:
    journal = Journal(tmp_path, "turns")
    journal.append({"n": 1})
    with journal.take() as records:
        journal.append({"n": 2})  # arrives while the first batch is being written
        assert records == [{"n": 1}]
    with journal.take() as records:
        assert records == [{"n": 2}]
    assert not journal.pending()
