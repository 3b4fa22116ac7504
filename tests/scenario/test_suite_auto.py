"""Automatic jobs (``run_suite(jobs=None)``): this process starts at once, workers when worth it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading

import pytest

from tests.faulty_suites import stored_digests
from tests.helpers import ROOT, write_scenario
from tests.helpers import SORTING_LINE as MODEL
from vcommission.scenario import suite
from vcommission.scenario.loader import load_scenarios
from vcommission.scenario.results import Verdict
from vcommission.scenario.suite import SuiteEvents, run_suite

SHORT = f"""
name: short sorting run
model: {MODEL}
duration: 2
steps:
  - hold: 0.3
  - pulse: {{tag: start_pb.pressed, for: 0.2}}
checks:
  - interlock: {{never: {{tag: light_red}}, during: {{tag: conveyor_run}}}}
"""


@pytest.mark.parametrize("start_s", [1e9, 0.0], ids=["no-worker-worth-it", "workers-at-once"])
def test_automatic_jobs_run_every_scenario_once_in_suite_order(
    tmp_path, monkeypatch, start_s: float
) -> None:
    """With start-up never worth it the suite runs here only; free start-up spawns workers
    at once, and the two sides (here from the back, workers from the front) meet."""
    monkeypatch.setattr(suite, "_WORKER_START_S", start_s)
    # Spawned workers: forked ones start at once, whatever the start-up estimate.
    monkeypatch.setattr(suite, "worker_start_method", lambda: "spawn")
    monkeypatch.setattr(suite, "default_jobs", lambda: 2)
    (scenario,) = load_scenarios(write_scenario(tmp_path, SHORT))
    copies = [dataclasses.replace(scenario, params={"copy": i}) for i in range(4)]
    started: list[int] = []
    started_here: list[int] = []  # by this process's own (main) thread
    finished: list[int] = []

    def start(index: int, scenario: object) -> None:
        started.append(index)
        if threading.current_thread() is threading.main_thread():
            started_here.append(index)

    events = SuiteEvents(started=start, finished=lambda i, r: finished.append(i))
    results = run_suite(copies, None, events=events)
    assert [r.params["copy"] for r in results] == [0, 1, 2, 3]
    assert [r.verdict for r in results] == [Verdict.PASSED] * 4
    assert sorted(started) == sorted(finished) == [0, 1, 2, 3]
    # This process always begins with the last scenario (a worker may be handed the first
    # one before or after that: the dispatcher thread races this one).
    assert started_here[0] == 3
    if start_s > 1:
        assert started == [3, 2, 1, 0]


FORKED = """
import json, sys
from pathlib import Path

from tests.faulty_suites import good_scenarios, trace_digest
from tests.helpers import SORTING_SUITE
from vcommission.scenario import suite

scenarios = good_scenarios(SORTING_SUITE)
pool = suite._Pool(scenarios, 2, sys.argv[1], suite.SuiteEvents())
results = pool.run()
digests, cases = {}, {}
for scenario, result in zip(scenarios, results, strict=True):
    name = Path(scenario.file).name
    case = cases[name] = cases.get(name, -1) + 1
    digests[f"sorting.st/{name}/{case}"] = trace_digest(result.trace_file)
print(json.dumps({"methods": pool.start_methods, "digests": digests}))
"""


def test_workers_forked_from_a_single_threaded_process_record_the_stored_traces(
    tmp_path,
) -> None:
    """A fresh command-line process forks its workers (no import to wait for); what they
    record is bit-identical to the stored digests of spawned and in-process runs."""
    run = subprocess.run(
        [sys.executable, "-c", FORKED, str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["methods"] == ["fork", "fork"]
    stored = stored_digests("sorting_line")
    good = {key: digest for key, digest in stored.items() if key.startswith("sorting.st/")}
    assert len(good) >= 26
    assert answer["digests"] == good


def test_a_process_with_threads_spawns_its_workers() -> None:
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert suite.worker_start_method() == "spawn"
    finally:
        release.set()
        other.join()
