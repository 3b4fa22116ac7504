"""Interrupting ``vcommission run``: reports never lie, and no worker outlives its parent.

``vcommission run`` runs as a real process with real spawned workers; it is stopped with
SIGINT (Ctrl-C), SIGTERM or SIGKILL at moments drawn from a seeded generator (before any
result, after the first, later). Afterwards a report is either absent or true: every
scenario is accounted for, finished ones as they finished, the others as interrupted errors,
and the run is never "passed"; and no process of the run is left, found by a marker in
their environment.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import ROOT
from vcommission.scenario.collect import collect

SUITE = ROOT / "scenarios" / "sorting_line"
#: Bound on every wait: the suite itself takes under a minute even on a loaded machine.
TIMEOUT_S = 120.0


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose environment holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def no_process_left(marker: str) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not processes_with(marker):
            return True
        time.sleep(0.1)
    return False


def start_run(tmp_path: Path, jobs: int, marker: str) -> subprocess.Popen[str]:
    env = {**os.environ, "VC_INTERRUPT_TEST": marker}
    return subprocess.Popen(
        [sys.executable, "-m", "vcommission", "run", str(SUITE), "-j", str(jobs),
         "--json", str(tmp_path / "run.json"), "--junit", str(tmp_path / "run.xml")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for_results(process: subprocess.Popen[str], count: int) -> list[str]:
    """Read the console until ``count`` scenario verdict lines came (piped: plain lines)."""
    assert process.stdout is not None
    lines: list[str] = []
    verdicts = 0
    while verdicts < count:
        line = process.stdout.readline()
        assert line, "the run ended before it was interrupted: " + process.stderr.read()
        lines.append(line)
        verdicts += line.startswith(("PASSED", "FAILED", "ERROR"))
    return lines


def communicate_or_dump(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Wait for the run to end; if it hangs, fail with every thread's stack (SIGUSR1)."""
    try:
        return process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)  # faulthandler in vcommission.cli.main
        time.sleep(2)
        process.kill()
        _, err = process.communicate()
        raise AssertionError(f"the run did not end after the signal:\n{err[-6000:]}") from None


def assert_report_is_true(tmp_path: Path, signum: int) -> None:
    document = json.loads((tmp_path / "run.json").read_text())
    summary, scenarios = document["summary"], document["scenarios"]
    assert summary["interrupted"] is True and summary["verdict"] != "passed"
    collected = collect([SUITE], None, None, None).scenarios
    assert summary["scenarios"] == len(scenarios) == len(collected)  # every one accounted for
    stopped = [s for s in scenarios if s["interrupted"]]
    assert stopped and all(s["verdict"] == "error" for s in stopped)
    assert all(signal.Signals(signum).name in s["error"] for s in stopped)
    finished = [s for s in scenarios if not s["interrupted"]]
    # What finished keeps its real verdict (the reference program passes them all).
    assert all(s["verdict"] == "passed" for s in finished), [s["name"] for s in finished]
    junit = ET.parse(tmp_path / "run.xml").getroot()
    assert int(junit.get("errors")) >= len(stopped)


@pytest.mark.parametrize(
    ("signum", "jobs", "after_results"),
    [
        (signal.SIGINT, 2, 1),
        (signal.SIGTERM, 2, 1),
        (signal.SIGINT, 1, 2),
        (signal.SIGTERM, 2, 0),  # while the workers are still starting
    ],
)
def test_an_interrupted_run_reports_what_ran_and_leaves_no_process(
    tmp_path, signum, jobs, after_results
):
    marker = uuid.uuid4().hex
    process = start_run(tmp_path, jobs, marker)
    try:
        if after_results:
            wait_for_results(process, after_results)
        else:
            # Once the workers are being spawned, before any result (a signal before the
            # interpreter has even started vcommission kills it the default way).
            deadline = time.monotonic() + TIMEOUT_S
            while len(processes_with(marker)) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(random.Random(int(signum)).uniform(0.0, 0.3))
        process.send_signal(signum)
        out, err = communicate_or_dump(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signum, err
    assert "Traceback" not in err
    if after_results or (tmp_path / "run.json").exists():
        # Before the suite began (still collecting) there is nothing to report; after,
        # there must be a report, and it must be true.
        assert "INTERRUPTED" in out
        assert_report_is_true(tmp_path, signum)
    else:
        assert not (tmp_path / "run.xml").exists()
    assert no_process_left(marker)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_killed_parent_takes_its_workers_with_it_and_leaves_no_false_report(tmp_path, seed):
    marker = uuid.uuid4().hex
    process = start_run(tmp_path, 2, marker)
    try:
        wait_for_results(process, random.Random(seed).randint(1, 3))
        assert len(processes_with(marker)) >= 2  # the parent and its workers
        process.kill()
        process.wait(timeout=TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
    assert no_process_left(marker)
    # SIGKILL leaves no time to write: the report is absent (never half a file, never green).
    assert not (tmp_path / "run.json").exists() and not (tmp_path / "run.xml").exists()
