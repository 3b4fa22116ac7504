"""Hand-made results covering every verdict, for the reporter tests."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from vcommission.scenario.results import CheckResult, Evidence, ScenarioResult, Verdict

#: A matrix case name with every character XML and rich markup treat specially.
NASTY = "jam \"exit\" <A&B> [seed=2, belt='slow']"


def make_results() -> list[ScenarioResult]:
    passed = ScenarioResult(
        name="nominal sorting",
        file="scenarios/sorting_line/nominal.yaml",
        verdict=Verdict.PASSED,
        requirements=["R1", "R10"],
        checks=[
            CheckResult(
                "cycle",
                "cycle_time",
                Verdict.PASSED,
                "max 3.100 s <= 4 s",
                requirement="R1",
                figures={"max_s": 3.1, "mean_s": 2.5},
            ),
            CheckResult(
                "rate", "throughput", Verdict.PASSED, "31.0 parts/min", figures={"per_minute": 31.0}
            ),
        ],
        virtual_s=60.0,
        wall_s=1.25,
    )
    failed = ScenarioResult(
        name=NASTY,
        file="scenarios/sorting_line/jam.yaml",
        verdict=Verdict.FAILED,
        requirements=["R4"],
        checks=[
            CheckResult(
                "belt stops", "reaction", Verdict.PASSED, "0.120 s", figures={"max_s": 0.12}
            ),
            CheckResult(
                "no push <while> running & 'busy'",
                "interlock",
                Verdict.FAILED,
                "pusher extended while belt ran\nsecond line",
                requirement="R4",
                figures={"violations": 1},
                evidence=Evidence(
                    time_s=12.5,
                    tags=["pusher.extended", "belt.run"],
                    window=[(11.5, "pusher.extended", False), (12.5, "pusher.extended", True)],
                ),
            ),
        ],
        seed=2,
        params={"seed": 2, "belt": "slow"},
        virtual_s=20.0,
        wall_s=0.5,
        trace_file="traces/jam.npz",
    )
    check_error = ScenarioResult(
        name="e-stop during push",
        file="scenarios/sorting_line/estop.yaml",
        verdict=Verdict.ERROR,
        requirements=["R4", "R7"],
        checks=[CheckResult("wait ready", "wait", Verdict.ERROR, "tag 'ready' vanished")],
        virtual_s=3.0,
        wall_s=0.2,
    )
    harness_error = ScenarioResult(
        name="belt slip",
        file="scenarios/sorting_line/slip.yaml",
        verdict=Verdict.ERROR,
        requirements=["R9"],
        error="the worker process running it died (exit code -9)\n\x1b[31mtrace\x00back\x1b[0m",
    )
    return [passed, failed, check_error, harness_error]


def scenario_for(result: ScenarioResult) -> SimpleNamespace:
    """A stand-in for a loaded Scenario with the attributes reporters read."""
    return SimpleNamespace(
        name=result.name,
        file=result.file,
        id=f"{result.file}::{result.name}",
        spec=SimpleNamespace(requirements=list(result.requirements)),
        params=dict(result.params),
    )


@pytest.fixture
def results() -> list[ScenarioResult]:
    return make_results()
