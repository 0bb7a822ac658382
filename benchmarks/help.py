"""`lensmith --help` against a bare typer app with the same commands, whole processes.

    .venv/bin/python benchmarks/help.py [--runs 10]

bare: a one-file typer app (plain click help, like lensmith's) with lensmith's top-level command
names and one-line helps, each command taking one argument; also the interpreter alone
(``python -c pass``), the floor under both. Runs alternate; medians.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE_APP = '''
import typer
app = typer.Typer(name="bare", help="A bare app.", no_args_is_help=True, rich_markup_mode=None)
@app.callback()
def root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log more.")) -> None: ...
for name in {names!r}:
    def command(arg: str = typer.Argument(..., help="An argument.")) -> None: ...
    app.command(name=name, short_help=f"Does {{name}}.")(command)
app()
'''


def _timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, {platform.platform()}; "
          f"load average at start {os.getloadavg()[0]:.2f}", flush=True)
    lensmith = str(Path(sys.executable).with_name("lensmith"))
    listing = subprocess.run([lensmith, "--help"], capture_output=True, text=True, timeout=120).stdout
    section = listing.split("Commands:", 1)[-1].splitlines()
    names = [line.split()[0] for line in section if line.startswith("  ") and line.split()]
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as fh:
        fh.write(BARE_APP.format(names=names or ["ask"]))
        bare = fh.name
    try:
        runs: dict[str, list[float]] = {"python -c pass": [], f"bare typer app ({len(names)} commands) --help": [],
                                        "lensmith --help": []}
        for _ in range(args.runs):
            runs["python -c pass"].append(_timed([sys.executable, "-c", "pass"]))
            runs[f"bare typer app ({len(names)} commands) --help"].append(_timed([sys.executable, bare, "--help"]))
            runs["lensmith --help"].append(_timed([lensmith, "--help"]))
        base = statistics.median(runs[f"bare typer app ({len(names)} commands) --help"])
        print(f"\n{args.runs} runs each (seconds, whole process):")
        for name, values in runs.items():
            med = statistics.median(values)
            print(f"  {name:<40} median {med:5.3f} s  min {min(values):5.3f} s  {med / base:4.2f}× bare typer")
        print(f"load average at end {os.getloadavg()[0]:.2f}")
    finally:
        os.unlink(bare)


if __name__ == "__main__":
    main()
