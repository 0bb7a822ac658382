"""Data flows one way: cli → tui / evals → agent → memory → tools → runtime. A walk of
every import in the source (top-level and inside functions) fails on any edge the
layering does not allow, and therefore on any cycle between packages."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"cli": "cli", "tui": "tui", "evals": "evals", "agent": "agent",
           "memory": "memory", "tools": "tools", "runtime": "tools"}
# who may import whom (DESIGN.md's table); memory may use the CLIP embedder only
ALLOWED = {
    "cli": {"tui", "evals", "agent", "memory", "tools", "runtime"},
    "tui": {"agent", "memory", "runtime"},
    "evals": {"agent", "tools", "runtime"},
    "agent": {"memory", "tools", "runtime"},
    "memory": {"runtime"},
    "tools": {"runtime"},
    "runtime": set(),
}
EXCEPTIONS = {("memory", "lensmith.tools.clip")}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _edges() -> list[tuple[str, str, str]]:
    edges = []
    for part, folder in FOLDERS.items():
        for path in sorted((ROOT / folder / "lensmith" / part).rglob("*.py")):
            for line, name in _imports(path):
                bits = name.split(".")
                if bits[0] != "lensmith" or len(bits) < 2 or bits[1] not in FOLDERS:
                    continue
                if bits[1] != part:
                    edges.append((part, name, f"{path.relative_to(ROOT)}:{line}"))
    return edges


def test_every_part_has_code_to_walk() -> None:
    for part, folder in FOLDERS.items():
        assert list((ROOT / folder / "lensmith" / part).rglob("*.py")), part


def test_no_import_runs_upward_or_sideways() -> None:
    bad = [
        f"{where}: lensmith.{src} imports {name}"
        for src, name, where in _edges()
        if name.split(".")[1] not in ALLOWED[src]
        and not any(src == s and (name == m or name.startswith(m + ".")) for s, m in EXCEPTIONS)
    ]
    assert not bad, "\n".join(bad)


def test_the_allowed_graph_has_no_cycle() -> None:
    # the rule above is only as good as the table: check the table itself is a DAG
    seen: dict[str, int] = {}

    def visit(node: str, stack: tuple[str, ...]) -> None:
        assert node not in stack, f"cycle: {' → '.join(stack + (node,))}"
        for nxt in ALLOWED[node]:
            visit(nxt, stack + (node,))
        seen[node] = 1

    for node in ALLOWED:
        visit(node, ())


def test_the_walk_sees_a_back_edge(tmp_path: Path, monkeypatch) -> None:
    # the checker can fail: a runtime module importing the agent is reported
    fake = tmp_path / "tools" / "lensmith" / "runtime"
    fake.mkdir(parents=True)
    (fake / "x.py").write_text("def f():\n    from lensmith.agent.loop import Agent\n")
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    monkeypatch.setitem(FOLDERS, "runtime", "tools")
    edges = [e for e in _edges() if e[0] == "runtime"]
    assert edges and edges[0][1].startswith("lensmith.agent.loop")
