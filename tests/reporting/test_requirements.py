"""Requirement verdicts: the worst of the checks that count for each requirement.

Regression: a requirement's verdict used to be the worst of the scenarios declaring it, so
a program whose only failure is an R3 check was reported R4 FAILED as well.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from vcommission.reporting import ConsoleReporter, Summary
from vcommission.reporting.json_report import json_report
from vcommission.reporting.summary import requirement_verdicts
from vcommission.scenario.loader import load_scenarios
from vcommission.scenario.results import CheckResult, ScenarioResult, Verdict
from vcommission.scenario.runner import run_scenario

ROOT = Path(__file__).resolve().parents[2]
CLOSE_PATTERN = ROOT / "scenarios" / "sorting_line" / "r3_sort_close_pattern.yaml"
R3_BUG = ROOT / "plant_models" / "sorting_line" / "plc" / "faulty" / "r3_pushes_small.st"

P, F, E = Verdict.PASSED, Verdict.FAILED, Verdict.ERROR


def _result(requirements: list[str], *checks: tuple[str | None, Verdict], **kw) -> ScenarioResult:
    results = [CheckResult(f"c{i}", "k", v, "", requirement=r) for i, (r, v) in enumerate(checks)]
    verdict = Verdict.worst([c.verdict for c in results] + ([E] if kw.get("error") else []))
    return ScenarioResult("s", "s.yaml", verdict, requirements, results, **kw)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        # A failed R3 check fails R3 only, though the scenario declares R3 and R4.
        ([_result(["R3", "R4"], ("R3", F), ("R4", P))], {"R3": F, "R4": P}),
        # Untagged checks (and the runner's own wait/end/PLC results) judge the whole run.
        ([_result(["R3", "R4"], (None, F), ("R4", P))], {"R3": F, "R4": F}),
        # A scenario that could not run is an error for every requirement it declares.
        ([_result(["R1", "R2"], error="worker died")], {"R1": E, "R2": E}),
        # Tagged checks of a scenario declaring nothing still count for their requirement.
        ([_result([], ("R5", F), (None, P))], {"R5": F}),
        # A tag the scenario does not declare counts for what it declares, never dropped.
        ([_result(["R1"], ("R9", F))], {"R1": F}),
        # Across scenarios, the worst wins; ids sort R2 before R10.
        (
            [_result(["R10"], ("R10", P)), _result(["R2", "R10"], ("R10", E), ("R2", P))],
            {"R2": P, "R10": E},
        ),
    ],
)
def test_requirement_verdicts(results, expected):
    verdicts = requirement_verdicts(results)
    assert verdicts == expected
    assert list(verdicts) == list(expected)


@pytest.fixture(scope="module")
def r3_bug_result() -> ScenarioResult:
    (scenario,) = load_scenarios(CLOSE_PATTERN, plc=R3_BUG)
    return run_scenario(scenario)


def test_a_program_failing_only_r3_fails_r3_and_passes_r4(r3_bug_result):
    result = r3_bug_result
    assert result.verdict is Verdict.FAILED and result.requirements == ["R3", "R4"]
    failed = {c.requirement for c in result.checks if c.verdict is not Verdict.PASSED}
    assert failed == {"R3"}, [(c.name, c.verdict, c.message) for c in result.checks]
    assert Summary.of([result], 1.0).requirements == {"R3": F, "R4": P}


def test_console_and_json_report_the_requirement_verdicts_of_the_checks(r3_bug_result):
    document = json.loads(json_report([r3_bug_result], 1.0))
    assert document["summary"]["requirements"] == {"R3": "failed", "R4": "passed"}
    out = io.StringIO()
    ConsoleReporter(Console(file=out, width=120)).run_finish([r3_bug_result], 1.0)
    text = out.getvalue()
    assert "requirement R3  FAILED" in text and "requirement R4  PASSED" in text
