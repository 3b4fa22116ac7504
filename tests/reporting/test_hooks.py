"""The hook catalogue: every reporter hears every hook, in order, whatever the others do."""

from __future__ import annotations

import pytest

from tests.reporting.conftest import scenario_for
from vcommission.reporting import Hooks, Reporter


class Recorder(Reporter):
    def __init__(self, calls: list[tuple[str, ...]], tag: str, fail_in: str = "") -> None:
        self.calls, self.tag, self.fail_in = calls, tag, fail_in

    def _note(self, *what: str) -> None:
        self.calls.append((self.tag, *what))
        if what[0] == self.fail_in:
            raise RuntimeError(f"{self.tag} broke")

    def run_start(self, scenarios):
        self._note("run_start", str(len(scenarios)))

    def scenario_start(self, scenario):
        self._note("scenario_start", scenario.name)

    def check_result(self, scenario, result, check):
        self._note("check_result", scenario.name, check.name)

    def scenario_finish(self, scenario, result):
        self._note("scenario_finish", result.name)

    def run_finish(self, results, wall_s):
        self._note("run_finish", str(len(results)))


def test_suite_events_map_to_hooks(results):
    calls: list[tuple[str, ...]] = []
    scenarios = [scenario_for(r) for r in results[:2]]
    hooks = Hooks([Recorder(calls, "a")])
    events = hooks.suite_events(scenarios)
    # Parallel workers finish out of order: the index says which scenario it was.
    events.started(1, scenarios[1])
    events.started(0, scenarios[0])
    events.finished(1, results[1])
    events.finished(0, results[0])
    jam = results[1].name
    assert calls == [
        ("a", "scenario_start", jam),
        ("a", "scenario_start", "nominal sorting"),
        ("a", "check_result", jam, "belt stops"),
        ("a", "check_result", jam, "no push <while> running & 'busy'"),
        ("a", "scenario_finish", jam),
        ("a", "check_result", "nominal sorting", "cycle"),
        ("a", "check_result", "nominal sorting", "rate"),
        ("a", "scenario_finish", "nominal sorting"),
    ]


def test_base_reporter_ignores_everything(results):
    hooks = Hooks([Reporter()])
    scenario = scenario_for(results[0])
    hooks.run_start([scenario])
    hooks.scenario_start(scenario)
    hooks.scenario_done(scenario, results[0])
    hooks.run_finish(results, 1.0)


def test_a_broken_reporter_does_not_silence_the_others(results):
    calls: list[tuple[str, ...]] = []
    hooks = Hooks([Recorder(calls, "a", fail_in="run_finish"), Recorder(calls, "b")])
    with pytest.raises(RuntimeError, match="a broke"):
        hooks.run_finish(results, 1.0)
    assert calls == [("a", "run_finish", "4"), ("b", "run_finish", "4")]
