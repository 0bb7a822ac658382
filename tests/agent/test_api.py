"""The public Python API: the README's snippet, run as written on a real photo, and
``lensmith.agent`` staying cheap to import."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def fenced(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


def test_readme_snippet_runs_as_written(tmp_path: Path, lensmith_home: Path) -> None:
    from lensmith.cli.samples import write_samples

    section = readme_section("Python API")
    snippet = fenced(section, "python")[0]
    shown = fenced(section, "text")[0].splitlines()
    write_samples(tmp_path / "lensmith-samples")
    (tmp_path / "snippet.py").write_text(snippet)

    done = subprocess.run(
        [sys.executable, "snippet.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = done.stdout.splitlines()
    # the same lines the README shows: the answer, the tool call behind it, the events
    assert printed[0] == shown[0] and "4 people" in printed[0]
    assert printed[1].startswith("detect({'image': 'img:c02019c4'") and "× person" in printed[1]
    events = printed[2:-1]
    assert events == shown[2:-1]
    assert events[0] == "turn_started" and events[-1] == "turn_finished"
    assert printed[-1] == printed[0]  # the awaited turn answers the same question the same way


def test_import_is_cheap_and_names_resolve() -> None:
    code = (
        "import sys, lensmith.agent as api\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('langchain', 'langgraph', 'torch', 'transformers')]\n"
        "assert not heavy, heavy\n"
        "from lensmith.agent import Agent, TurnTrace, Event, Settings\n"
        "assert Agent.__module__ == 'lensmith.agent.loop' and callable(Agent.ask) and callable(Agent.stream)\n"
        "assert set(api.__all__) <= set(dir(api))\n"
        "try:\n"
        "    api.NoSuchName\n"
        "except AttributeError as exc:\n"
        "    assert 'NoSuchName' in str(exc)\n"
        "else:\n"
        "    raise SystemExit('no AttributeError')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_bad_planner_name_is_refused(lensmith_home: Path) -> None:
    import pytest
    from pydantic import ValidationError

    from lensmith.agent import Agent

    with pytest.raises(ValidationError, match="backend"):
        Agent(planner="bogus", memory=False)
