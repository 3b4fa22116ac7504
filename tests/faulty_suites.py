"""A reference suite and its faulty programs, run together: what both bundled suites' tests share.

Each bundled model ships a reference program, a suite that must pass with it, and faulty
programs (one deliberate bug each) that the suite must catch on the right requirement's check.
:func:`suite_runs` runs the good suite and every faulty case in one :func:`run_suite` call with
two workers, so worker start-up is paid once per test module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vcommission.scenario.collect import collect
from vcommission.scenario.loader import Scenario, load_scenarios
from vcommission.scenario.results import CheckResult, ScenarioResult, Verdict
from vcommission.scenario.suite import run_suite

#: Checks the runner adds itself (a wait that timed out, ...): they carry no requirement.
RUNNER_KINDS = {"wait", "end", "plc"}


@dataclass(frozen=True)
class Bug:
    """A faulty program and how the suite must catch it."""

    program: str
    #: The requirement it breaks: every failed check must carry this id.
    requirement: str
    #: Scenario files run against it; at least one must fail.
    scenarios: tuple[str, ...]
    #: Name of the check that must fail, and tags its evidence must name.
    check: str
    tags: tuple[str, ...]
    #: Scenario files among ``scenarios`` that must still pass completely.
    passing: tuple[str, ...] = ()


def good_scenarios(suite: Path) -> list[Scenario]:
    found = collect([suite])  # with their ids checked against the suite's requirements.yaml
    assert not found.broken, found.broken
    return found.scenarios


def suite_runs(
    suite: Path, faulty: Path, good: str, bugs: list[Bug]
) -> dict[tuple[str, str], list[ScenarioResult]]:
    """(program, scenario file name) -> its results (one per matrix case), all in one suite."""
    keys: list[tuple[str, str]] = []
    scenarios: list[Scenario] = []
    for scenario in good_scenarios(suite):
        keys.append((good, Path(scenario.file).name))
        scenarios.append(scenario)
    for bug in bugs:
        for name in bug.scenarios:
            for scenario in load_scenarios(suite / name, plc=faulty / bug.program):
                keys.append((bug.program, name))
                scenarios.append(scenario)
    grouped: dict[tuple[str, str], list[ScenarioResult]] = {}
    for key, result in zip(keys, run_suite(scenarios, jobs=2), strict=True):
        grouped.setdefault(key, []).append(result)
    return grouped


def describe_results(results: list[ScenarioResult]) -> str:
    """Every result and its checks, one line each: what an assertion message shows."""
    lines = []
    for result in results:
        lines.append(f"{result.verdict.value}: {result.name} {result.error or ''}")
        lines += [
            f"  {c.verdict.value} [{c.requirement}] {c.name}: {c.message}" for c in result.checks
        ]
    return "\n".join(lines)


def failed_checks(results: list[ScenarioResult]) -> list[CheckResult]:
    return [c for r in results for c in r.checks if c.verdict is not Verdict.PASSED]
