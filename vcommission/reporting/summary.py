"""What every reporter says at the end of a run: counts per verdict and requirement verdicts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vcommission.scenario.results import ScenarioResult, Verdict

__all__ = ["Summary", "requirement_key"]


def requirement_key(requirement: str) -> list[int | str]:
    """Sort key that puts ``R2`` before ``R10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", requirement)]


@dataclass
class Summary:
    """Counts and requirement verdicts of a finished run."""

    #: Scenarios per verdict; every verdict is present, so reports always show all three.
    counts: dict[Verdict, int]
    #: Requirement id -> the worst verdict of the scenarios that verify it, in id order.
    requirements: dict[str, Verdict] = field(default_factory=dict)
    wall_s: float = 0.0

    @classmethod
    def of(cls, results: list[ScenarioResult], wall_s: float) -> Summary:
        counts = {verdict: 0 for verdict in Verdict}
        verdicts: dict[str, list[Verdict]] = {}
        for result in results:
            counts[result.verdict] += 1
            for requirement in result.requirements:
                verdicts.setdefault(requirement, []).append(result.verdict)
        requirements = {
            requirement: Verdict.worst(verdicts[requirement])
            for requirement in sorted(verdicts, key=requirement_key)
        }
        return cls(counts=counts, requirements=requirements, wall_s=wall_s)

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
