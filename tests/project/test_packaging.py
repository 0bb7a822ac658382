"""The installed lensmith is this checkout, under one namespace: its packages, its entry
points, its command; a built wheel holds every module and nothing outside ``lensmith``."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# part of the namespace -> the repository folder that holds it
PARTS = {
    "cli": "cli", "tui": "tui", "evals": "evals", "agent": "agent",
    "memory": "memory", "tools": "tools", "runtime": "tools",
}
BUILTIN_TOOLS = {
    "detect": "lensmith.tools.detect:DetectTool",
    "read_text": "lensmith.tools.ocr:ReadTextTool",
    "colour": "lensmith.tools.colour:ColourTool",
    "segment": "lensmith.tools.segment:SegmentTool",
    "edit": "lensmith.tools.edit:EditTool",
    "retrieve": "lensmith.memory.retrieve_tool:RetrieveTool",
    "remember": "lensmith.memory.retrieve_tool:RememberTool",
}


def console_script() -> Path:
    return Path(sys.executable).parent / "lensmith"


def source_modules() -> set[str]:
    """Every file that must ship, as a path inside the wheel (lensmith/...)."""
    found = set()
    for folder in set(PARTS.values()):
        base = ROOT / folder
        for path in (base / "lensmith").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                found.add(path.relative_to(base).as_posix())
    return found


@pytest.mark.parametrize("part", sorted(PARTS))
def test_parts_come_from_this_checkout(part: str) -> None:
    module = importlib.import_module(f"lensmith.{part}")
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().is_relative_to(ROOT / PARTS[part] / "lensmith" / part), module.__file__


def test_no_generic_top_level_names_are_installed() -> None:
    owned = {name for name, dists in metadata.packages_distributions().items() if "lensmith" in dists}
    assert owned == {"lensmith"}, owned


def test_metadata_declares_the_command_and_the_builtin_tools() -> None:
    dist = metadata.distribution("lensmith")
    scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
    assert scripts["lensmith"] == "lensmith.cli:main"
    tools = {ep.name: ep.value for ep in dist.entry_points if ep.group == "lensmith.tools"}
    assert BUILTIN_TOOLS.items() <= tools.items()
    seen = {ep.name: ep.value for ep in metadata.entry_points(group="lensmith.tools") if ep.dist and ep.dist.name == "lensmith"}
    assert BUILTIN_TOOLS.items() <= seen.items()


@pytest.mark.parametrize("name", sorted(BUILTIN_TOOLS))
def test_builtin_entry_points_resolve(name: str) -> None:
    from langchain_core.tools import BaseTool

    (ep,) = [ep for ep in metadata.entry_points(group="lensmith.tools", name=name) if ep.dist and ep.dist.name == "lensmith"]
    target = ep.load()  # imports only: building a tool may look for weights
    assert isinstance(target, type) and issubclass(target, BaseTool)
    assert Path(sys.modules[target.__module__].__file__ or "").resolve().is_relative_to(ROOT)


def test_version_and_help_through_typer() -> None:
    from typer.testing import CliRunner

    from lensmith.cli import app

    runner = CliRunner()
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0, version.output
    assert version.stdout.strip() == f"lensmith {metadata.version('lensmith')}"
    shown = runner.invoke(app, ["--help"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    for command in ("ask", "tools", "models"):
        assert command in shown.stdout


def test_the_real_console_script_beside_a_users_own_tools_module(tmp_path: Path) -> None:
    script = console_script()
    assert script.exists(), f"no console script at {script}; run ./setup.sh"
    # the case that broke with generic names: the user's folder has its own tools.py / agent.py
    (tmp_path / "tools.py").write_text("raise SystemExit('the user tools.py was imported')\n")
    (tmp_path / "agent.py").write_text("raise SystemExit('the user agent.py was imported')\n")
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"lensmith {metadata.version('lensmith')}"
    loop = subprocess.run(
        [sys.executable, "-c", "from lensmith.agent.loop import Agent; import tools, agent"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )
    # lensmith imports fine; `import tools` then finds the user's module, as it should
    assert "the user tools.py was imported" in loop.stderr, loop.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    (path,) = out.glob("lensmith-*.whl")
    return path


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_only_lensmith(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"lensmith"}, tops
    assert not any(n == "lensmith/__init__.py" for n in names), "lensmith must stay a namespace package"
    missing = source_modules() - set(names)
    assert not missing, f"in the source tree but not in the wheel: {sorted(missing)}"


@pytest.mark.slow
def test_the_wheel_in_a_fresh_venv_installs_only_lensmith(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    before = set(os.listdir(site))
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
        capture_output=True, text=True, timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    added = set(os.listdir(site)) - before
    assert {a for a in added if not a.endswith(".dist-info")} == {"lensmith"}, added
    # the dependencies come from this venv; a .pth line adds a path without running its .pth files,
    # so the checkout's editable finder stays out and the wheel's copy is what imports
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (tmp_path / "tools.py").write_text("raise SystemExit('the user tools.py was imported')\n")
    run = subprocess.run(
        [str(py), "-c", "import lensmith.agent.loop as m, lensmith.cli; print(m.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert Path(run.stdout.strip()).is_relative_to(site), run.stdout
