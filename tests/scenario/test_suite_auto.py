"""Automatic jobs (``run_suite(jobs=None)``): this process starts at once, workers when worth it."""

from __future__ import annotations

import dataclasses

import pytest

from tests.helpers import SORTING_LINE as MODEL
from tests.helpers import write_scenario
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
    monkeypatch.setattr(suite, "default_jobs", lambda: 2)
    (scenario,) = load_scenarios(write_scenario(tmp_path, SHORT))
    copies = [dataclasses.replace(scenario, params={"copy": i}) for i in range(4)]
    started: list[int] = []
    finished: list[int] = []
    events = SuiteEvents(
        started=lambda i, s: started.append(i), finished=lambda i, r: finished.append(i)
    )
    results = run_suite(copies, None, events=events)
    assert [r.params["copy"] for r in results] == [0, 1, 2, 3]
    assert [r.verdict for r in results] == [Verdict.PASSED] * 4
    assert sorted(started) == sorted(finished) == [0, 1, 2, 3]
    # This process always begins with the last scenario.
    assert started[0] == 3
    if start_s > 1:
        assert started == [3, 2, 1, 0]
