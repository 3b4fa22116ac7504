"""What every reporter says at the end of a run: counts per verdict and requirement verdicts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vcommission.scenario.results import CheckResult, ScenarioResult, Verdict

__all__ = ["Summary", "requirement_key", "requirement_verdicts", "requirements_of"]


def requirement_key(requirement: str) -> list[int | str]:
    """Sort key that puts ``R2`` before ``R10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", requirement)]


def requirements_of(result: ScenarioResult, check: CheckResult) -> list[str]:
    """The requirements a check's verdict counts for.

    A check tagged with a requirement counts for that one, if the scenario declares it (or
    declares none). An untagged check, and the runner's own results (a ``wait`` that timed
    out, an end condition never reached, the PLC stopping), judge the whole run, so they
    count for every requirement the scenario declares; so does a check tagged with one the
    scenario does not declare, so that its verdict never drops out of the table.
    """
    declared = result.requirements
    if check.requirement is not None and (not declared or check.requirement in declared):
        return [check.requirement]
    return list(declared)


def requirement_verdicts(results: list[ScenarioResult]) -> dict[str, Verdict]:
    """Requirement id -> the worst verdict of the checks that count for it, in id order.

    A scenario that could not run (a harness error: its checks gave no verdict, or not all)
    is an error for every requirement it declares.
    """
    verdicts: dict[str, list[Verdict]] = {}
    for result in results:
        for requirement in result.requirements:
            verdicts.setdefault(requirement, [])
        if result.error is not None or not result.checks:
            for requirement in result.requirements:
                verdicts[requirement].append(result.verdict)
        for check in result.checks:
            for requirement in requirements_of(result, check):
                verdicts.setdefault(requirement, []).append(check.verdict)
    return {
        requirement: Verdict.worst(verdicts[requirement])
        for requirement in sorted(verdicts, key=requirement_key)
    }


@dataclass
class Summary:
    """Counts and requirement verdicts of a finished run."""

    #: Scenarios per verdict; every verdict is present, so reports always show them all
    #: (``vacuous`` too: a zero there says the run proved what it claims).
    counts: dict[Verdict, int]
    #: Requirement id -> the worst verdict of the checks that count for it, in id order
    #: (see :func:`requirement_verdicts`).
    requirements: dict[str, Verdict] = field(default_factory=dict)
    wall_s: float = 0.0
    #: Scenarios a signal stopped or kept from running (each also counted as an error).
    interrupted: int = 0
    #: Scenarios that ran (advanced virtual time): not files that did not load, not ones a
    #: signal kept from starting. A run where none did has no rate to show.
    ran: int = 0

    @classmethod
    def of(cls, results: list[ScenarioResult], wall_s: float) -> Summary:
        counts = {verdict: 0 for verdict in Verdict}
        for result in results:
            counts[result.verdict] += 1
        return cls(
            counts=counts,
            requirements=requirement_verdicts(results),
            wall_s=wall_s,
            interrupted=sum(1 for result in results if result.interrupted),
            ran=sum(1 for result in results if result.virtual_s > 0),
        )

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def verdict(self) -> Verdict:
        """The run's verdict: the worst of its scenarios' (an empty run passes)."""
        return Verdict.worst([v for v, n in self.counts.items() if n])

    @property
    def per_minute(self) -> float:
        """Scenarios finished per wall-clock minute (0 for a run that took no time)."""
        return self.total * 60.0 / self.wall_s if self.wall_s > 0 else 0.0
