"""Benchmark: suite start-up, automatic jobs against one process and a fixed pool.

Two figures, each a ratio of walls measured in this run, alternating, quiet and then beside
a CPU-bound load process this script starts (one busy Python loop per ``--load`` process):

* **cold CLI**: ``python -m vcommission run scenarios/sorting_line`` in a fresh process, the
  default options (automatic jobs: this process starts at once, workers join when the suite
  has work for them) against ``-j 1`` (and ``-j 2``, the fixed pool of spawned workers).
  Target: default wall <= ``-j 1`` wall, quiet and loaded.
* **8 x 60 s**: eight copies of a 60 s nominal scenario on the sorting line through
  :func:`~vcommission.scenario.suite.run_suite` in this process, ``jobs=1`` against
  ``jobs=None`` (automatic, two runners on two cores) and ``jobs=2``, start-up included
  (the whole call). Target: speed-up of automatic jobs >= 1.6x.

Every figure line carries the 1-minute load average when it was taken: the machine is
shared, so only the ratios mean something.

Usage: ``python3 tools/bench/startup.py [--rounds 1] [--load 1] [--skip-cli]``
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vcommission.scenario.loader import load_scenarios  # noqa: E402
from vcommission.scenario.results import Verdict  # noqa: E402
from vcommission.scenario.suite import run_suite  # noqa: E402

SCENARIO = """\
name: bench sorting line 60 s nominal
model: {model}
duration: 60
steps:
  - hold: 0.5
  - pulse: {{tag: start_pb.pressed, for: 0.2}}
checks:
  - name: pusher never extended while the belt runs
    interlock:
      never: {{all: [{{tag: pusher_extend}}, {{tag: conveyor_run}}]}}
"""


def _load() -> float:
    return os.getloadavg()[0]


def _cli(jobs: int | None) -> float:
    command = [sys.executable, "-m", "vcommission", "run", str(ROOT / "scenarios/sorting_line")]
    if jobs is not None:
        command += ["-j", str(jobs)]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-2000:]}")
    return wall


def _suite(scenarios: list, jobs: int | None) -> float:
    started = time.perf_counter()
    results = run_suite(scenarios, jobs=jobs)
    wall = time.perf_counter() - started
    bad = [r.name for r in results if r.verdict is not Verdict.PASSED]
    if bad:
        raise SystemExit(f"jobs={jobs}: not passed: {bad}")
    return wall


def _rounds(label: str, runs: dict[str, object], rounds: int) -> dict[str, float]:
    walls: dict[str, list[float]] = {name: [] for name in runs}
    loads: list[float] = []
    for _ in range(rounds):
        for name, run in runs.items():
            loads.append(_load())
            walls[name].append(run())  # type: ignore[operator]
    medians = {name: statistics.median(w) for name, w in walls.items()}
    base = medians["-j 1"]
    cells = "  ".join(f"{name} {w:6.2f} s ({base / w:4.2f}x)" for name, w in medians.items())
    print(f"{label:34} {cells}   load {min(loads):.1f}-{max(loads):.1f}")
    return medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds per figure")
    parser.add_argument("--load", type=int, default=1, help="CPU-bound load processes")
    parser.add_argument("--skip-cli", action="store_true", help="only the 8 x 60 s figure")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "nominal.yaml"
        path.write_text(SCENARIO.format(model=ROOT / "plant_models/sorting_line"))
        (scenario,) = load_scenarios(path)
        copies = [dataclasses.replace(scenario, params={"copy": i}) for i in range(8)]
        figures = {
            "cold CLI, scenarios/sorting_line": {
                "-j 1": lambda: _cli(1),
                "default": lambda: _cli(None),
                "-j 2": lambda: _cli(2),
            },
            "8 x 60 s, run_suite": {
                "-j 1": lambda: _suite(copies, 1),
                "default": lambda: _suite(copies, None),
                "-j 2": lambda: _suite(copies, 2),
            },
        }
        if args.skip_cli:
            del figures["cold CLI, scenarios/sorting_line"]
        print("ratios are -j 1 wall / this wall (speed-up); figures are medians")
        for condition in ("quiet", "loaded"):
            hogs = []
            if condition == "loaded":
                busy = "while True: pass"
                hogs = [subprocess.Popen([sys.executable, "-c", busy]) for _ in range(args.load)]
            try:
                for label, runs in figures.items():
                    _rounds(f"{label} [{condition}]", runs, args.rounds)
            finally:
                for hog in hogs:  # only the processes this script started, by their handle
                    hog.kill()
                    hog.wait()
    print(
        "targets: cold CLI default <= -j 1 (speed-up >= 1.00x), quiet and loaded; "
        "8 x 60 s default speed-up >= 1.6x (2 cores)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
