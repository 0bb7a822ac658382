"""The runner end to end with scripted planners whose errors are known in advance,
so every expected score is known exactly; resuming; reports; compare; the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from typer.testing import CliRunner

from lensmith.agent.config import Settings
from lensmith.agent.trace import TurnTrace
from lensmith.evals.dataset import Case
from lensmith.evals.photos import photo_path, photos
from lensmith.evals.pope import pope_dataset
from lensmith.evals.runner import RunExists, agent_asker, read_rows, run_dataset
from lensmith.evals.sources import Item
from lensmith.evals.suites import tools_dataset


def _agent(planner, tools=()):
    from lensmith.agent.loop import Agent
    from lensmith.tools.registry import Registry

    settings = Settings()
    settings.memory.enabled = False
    return Agent(settings=settings, planner=planner, registry=Registry(list(tools)), memory=False)


def _question(messages) -> str:
    for message in messages:
        if isinstance(message, HumanMessage):
            content = message.content
            return content if isinstance(content, str) else content[0]["text"]
    return ""


def test_pope_runner_with_a_scripted_planner(tmp_path):
    from lensmith.agent.planners.scripted import ScriptedChatModel

    # Two images: one with a cat, one with a bus and people. The scripted planner says
    # "Yes" to any question about a cat and "No" to everything else (no tools).
    items = [
        Item(id="catimg", path=str(photo_path(photos()["chelsea"], tmp_path)), objects={"cat": 1}),
        Item(id="busimg", path=str(photo_path(photos()["bus"], tmp_path)), objects={"bus": 1, "person": 4}),
    ]
    dataset = pope_dataset(items, per_image=1, settings=("popular", "random"))
    # the set's objects: cat, bus, person. Per setting: catimg: +cat, −(person or bus);
    # busimg: +(bus or person), −cat (the only one of the set's objects it lacks)
    negatives = [(c.metadata["image"], c.expected["object"]) for c in dataset.cases if c.expected["label"] == "no"]
    assert sorted(negatives) == [("busimg", "cat"), ("busimg", "cat"), ("catimg", "person"), ("catimg", "person")] or (
        sorted(negatives)[:2] == [("busimg", "cat"), ("busimg", "cat")] and ("catimg", "person") in negatives
    )

    def script(messages, tools):
        return AIMessage("Yes, there is." if " cat " in _question(messages) else "No, there is not.")

    planner = ScriptedChatModel(function=script)
    ask = agent_asker(_agent(planner), tmp_path / "sessions")
    metrics = run_dataset(dataset, ask, tmp_path / "run", planner="scripted")
    # each setting: TP = cat on catimg, FN = bus/person on busimg, FP = cat on busimg, TN = the other on catimg
    for setting in ("popular", "random"):
        m = {k.split("/", 2)[2]: v for k, v in metrics.items() if k.startswith(f"photo/{setting}/")}
        assert (m["tp"], m["fn"], m["fp"], m["tn"]) == (1, 1, 1, 1)
        for key in ("accuracy", "precision", "recall", "yes_ratio"):
            assert m[key]["value"] == 0.5 and m[key]["low"] < 0.5 < m[key]["high"]
        assert m["accuracy"]["n"] == 4 and m["precision"]["n"] == 2 and m["accuracy"]["method"] == "wilson"
        assert m["f1"]["value"] == 0.5
    # no tools ran: every answer is without tool evidence, none blamed on the detector
    faith = metrics["photo/faithfulness"]
    assert faith["no_tool_evidence"] == 8 and faith["tools_wrong"]["n"] == 0 and faith["wrong_without_tool_evidence"] == 4
    assert metrics["photo/per_class"]["cat"]["yes_n"] == 1 and metrics["photo/per_class"]["cat"]["no_n"] == 1
    assert metrics["cases"] == 8 and metrics["errors"] == 0
    run = tmp_path / "run"
    assert len(read_rows(run)) == 8
    traces = [TurnTrace.model_validate_json(line) for line in (run / "traces.jsonl").read_text().splitlines()]
    assert len(traces) == 8 and all(t.planner == "scripted" for t in traces)
    report = (run / "report.md").read_text()
    assert "| photo/popular | 4 (2) | 0.500 [" in report and "Smoke test, not a benchmark" in report
    assert "what the tools got wrong" in report
    assert (run / "metrics.png").stat().st_size > 1000
    assert json.loads((run / "metrics.json").read_text())["photo/popular/f1"]["value"] == 0.5


@pytest.mark.slow
def test_tools_runner_with_planted_errors(tmp_path):
    from lensmith.agent.planners.scripted import ScriptedChatModel, call
    from lensmith.agent.prompts import GROUNDING_MARKER
    from lensmith.tools.detect import DetectTool

    chelsea = photo_path(photos()["chelsea"], tmp_path)
    tasks = {
        "tasks": [
            {"id": "count", "image": "chelsea", "question": "How many cats are there?", "tools": ["detect"],
             "constraints": [{"tool": "detect", "arg": "image", "op": "image"},
                             {"tool": "detect", "arg": "classes", "op": "contains", "value": "cat"}],
             "reference": {"count": 1, "object": "cat"}},
            {"id": "read", "image": "chelsea", "question": "What does the sign say?", "tools": ["read_text"],
             "constraints": [{"tool": "read_text", "arg": "image", "op": "image"}], "reference": {"text": "EXIT"}},
        ]
    }  # fmt: skip
    task_file = tmp_path / "tasks.json"
    task_file.write_text(json.dumps(tasks))
    items = [Item(id="chelsea", path=str(chelsea), objects={"cat": 1})]
    dataset = tools_dataset(items, task_file)

    def script(messages, tools):
        last = messages[-1]
        question = _question(messages)
        if "cats" in question:
            if isinstance(last, HumanMessage) and not str(last.content).startswith(GROUNDING_MARKER):
                image = re.search(r"img:[0-9a-f]{8}", json.dumps([m.content for m in messages], default=str)).group(0)
                return call("detect", {"image": image, "classes": ["cat"]})
            return AIMessage("There are two cats.")  # planted: wrong, and stubborn on revision
        return AIMessage("The sign says 'EXIT'.")  # planted: answers without reading

    ask = agent_asker(_agent(ScriptedChatModel(function=script), [DetectTool()]), tmp_path / "sessions")
    metrics = run_dataset(dataset, ask, tmp_path / "run")
    rows = {r["name"]: r["scores"] for r in read_rows(tmp_path / "run")}
    assert rows["tools-count"]["tool_selection"] is True
    assert rows["tools-count"]["argument_accuracy"] == 1.0
    assert rows["tools-count"]["answer_correct"] is False
    assert rows["tools-count"]["contradicted"] == 1 and rows["tools-count"]["revised"] is True
    assert rows["tools-read"]["tool_selection"] is False and rows["tools-read"]["argument_accuracy"] == 0.0
    assert rows["tools-read"]["answer_correct"] is True and rows["tools-read"]["unverified"] == 1
    assert metrics["tool_selection_accuracy"] == 0.5
    assert metrics["tool_f1"] == 0.5
    assert metrics["argument_accuracy"] == 0.5
    assert metrics["answer_accuracy"] == 0.5
    assert metrics["grounded_share"] == 0.0
    assert metrics["revised_share"] == 0.5


def test_resume_skips_finished_cases_and_refuses_to_overwrite(tmp_path):
    cases = [Case(name=f"c{i}", question="Is there a cat in the image?", expected={"label": "yes"}, metadata={"setting": "random"}) for i in range(5)]  # fmt: skip
    dataset = pope_dataset([], settings=("random",))
    dataset.cases = cases
    asked: list[str] = []

    def ask(case):
        asked.append(case.name)
        return TurnTrace(session_id="s", turn_id=case.name, question=case.question, answer="Yes.")

    run = tmp_path / "run"
    run_dataset(dataset, ask, run, limit=2)
    assert asked == ["c0", "c1"]
    with pytest.raises(RunExists):
        run_dataset(dataset, ask, run)
    metrics = run_dataset(dataset, ask, run, resume=True)
    assert asked == ["c0", "c1", "c2", "c3", "c4"]
    assert metrics["photo/random/n"] == 5 and metrics["photo/random/accuracy"]["value"] == 1.0
    # a half-written last line (the process was killed) is skipped, not fatal
    with (run / "cases.jsonl").open("a") as fh:
        fh.write('{"name": "c9", "trunc')
    assert len(read_rows(run)) == 5


def test_failing_cases_are_recorded_and_scored_wrong(tmp_path):
    dataset = pope_dataset([], settings=("random",))
    dataset.cases = [Case(name="c0", question="q", expected={"label": "yes"}, metadata={"setting": "random"})]

    def ask(case):
        raise RuntimeError("planner server down")

    metrics = run_dataset(dataset, ask, tmp_path / "run", jobs=2)
    assert metrics["errors"] == 1 and metrics["photo/random/accuracy"]["value"] == 0.0
    assert "planner server down" in read_rows(tmp_path / "run")[0]["error"]


def _scripted_run(run, right: set[int], n: int = 40):
    cases = [Case(name=f"c{i}", question="Is there a cat in the image?", expected={"label": "yes"},
                  metadata={"setting": "random", "source": "photo", "image": f"img{i}"}) for i in range(n)]  # fmt: skip
    dataset = pope_dataset([], settings=("random",))
    dataset.cases = cases

    def ask(case):
        answer = "Yes." if int(case.name[1:]) in right else "No."
        return TurnTrace(session_id="s", turn_id=case.name, question=case.question, answer=answer)

    run_dataset(dataset, ask, run, planner=f"planner-{run.name}")


def test_compare_says_better_or_within_noise(tmp_path):
    from lensmith.cli import app
    from lensmith.evals.report import compare_cases

    _scripted_run(tmp_path / "a", set(range(20)))  # right on 20 of 40
    _scripted_run(tmp_path / "b", set(range(38)))  # right on those 20 and 18 more
    _scripted_run(tmp_path / "c", set(range(1, 21)))  # 20 right, one swapped: noise
    better = compare_cases(tmp_path / "a", tmp_path / "b")
    assert len(better) == 1 and better[0]["group"] == "photo/random" and better[0]["n"] == 40
    assert better[0]["b_minus_a"]["value"] == pytest.approx(0.45) and better[0]["b_minus_a"]["low"] > 0
    assert better[0]["mcnemar"]["only_b"] == 18 and better[0]["mcnemar"]["p_value"] < 0.001
    assert better[0]["verdict"] == "B better"
    assert compare_cases(tmp_path / "a", tmp_path / "c")[0]["verdict"] == "within noise"
    result = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert "B better" in result.output and "photo/random/f1" in result.output and "planner-b" in result.output
    as_json = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "c"), "--json"])
    assert json.loads(as_json.output)["paired"][0]["verdict"] == "within noise"
    missing = CliRunner().invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "no metrics.json" in missing.output


def test_eval_runs_give_the_planner_no_file_names(tmp_path):
    """A file called clock.png must not tell a model planner there is a clock."""
    import shutil

    from lensmith.agent.planners.scripted import ScriptedChatModel
    from lensmith.evals.runner import eval_settings

    named = tmp_path / "clock.png"
    shutil.copy(photo_path(photos()["chelsea"], tmp_path / "cache"), named)
    seen: list[str] = []

    def script(messages, tools):
        seen.append(json.dumps([m.content for m in messages], default=str))
        return AIMessage("No.")

    from lensmith.agent.loop import Agent
    from lensmith.tools.registry import Registry

    agent = Agent(settings=eval_settings(Settings()), planner=ScriptedChatModel(function=script), registry=Registry([]), memory=False)
    trace = agent_asker(agent, tmp_path / "sessions")(Case(name="x", question="Is there a cat in the image?", images=[str(named)]))
    assert trace.ok and seen and re.search(r"img:[0-9a-f]{8}", seen[0])  # the image is there, by id
    assert not any("clock" in text for text in seen)
    plain = Agent(settings=Settings(), planner=ScriptedChatModel(function=script), registry=Registry([]), memory=False)
    agent_asker(plain, tmp_path / "sessions2")(Case(name="y", question="Is there a cat?", images=[str(named)]))
    assert "clock.png" in seen[-1]  # outside evals the name is shown (labelled untrusted): the test can fail


def test_pope_cli_needs_files_that_exist(tmp_path):
    from lensmith.cli import app

    result = CliRunner().invoke(app, ["eval", "pope", "--pope-file", str(tmp_path / "coco_pope_random.json")])
    assert result.exit_code == 1 and "POPE question file not found" in result.output
    (tmp_path / "coco_pope_random.json").write_text("")
    result = CliRunner().invoke(app, ["eval", "pope", "--pope-file", str(tmp_path / "coco_pope_random.json")], env={"LENSMITH_COCO_IMAGES": ""})
    assert result.exit_code == 1 and "COCO val2014 images not given" in result.output


@pytest.mark.slow
def test_eval_cli_runs_offline_with_the_heuristic_planner(tmp_path):
    from lensmith.cli import app

    out = tmp_path / "pope"
    result = CliRunner().invoke(app, ["eval", "pope", "--planner", "heuristic", "--scenes", "0", "--limit", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_rows(out)
    assert len(rows) == 3 and all(r["tools"] == ["detect"] for r in rows)
    assert Path(out / "report.md").exists() and "heuristic" in (out / "run.json").read_text()
    again = CliRunner().invoke(app, ["eval", "pope", "--planner", "heuristic", "--scenes", "0", "--limit", "4", "--out", str(out), "--resume"])
    assert again.exit_code == 0, again.output
    assert len(read_rows(out)) == 4


def test_eval_cli_refuses_unknown_settings_and_word_handlings():
    from lensmith.cli import app

    result = CliRunner().invoke(app, ["eval", "pope", "--setting", "sideways"])
    assert result.exit_code == 1 and "unknown --setting sideways" in result.output and "detector-confusion" in result.output
    result = CliRunner().invoke(app, ["eval", "chair", "--chair-words", "nltk"])
    assert result.exit_code == 1 and "choose lensmith or published" in result.output
