"""The hook catalogue: the moments of a run that reporters hear about.

Every output format is a :class:`Reporter` subclass overriding the hooks it needs;
:class:`Hooks` calls each reporter in turn, so the runner talks to one object and never
to a particular format (pytest's ``hookspec.py`` plays the same part).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from vcommission.scenario.results import CheckResult, ScenarioResult

if TYPE_CHECKING:
    from vcommission.reporting.run_info import RunInfo
    from vcommission.scenario.schema import Scenario
    from vcommission.scenario.suite import SuiteEvents

__all__ = ["Hooks", "Reporter"]

log = logging.getLogger(__name__)


class Reporter:
    """Base class of reporters: every hook does nothing until a subclass overrides it."""

    def run_info(self, info: RunInfo) -> None:
        """Called once, before :meth:`run_start`, with what the run records at run level.

        The date, the options, the requirements and the ids no check covers
        (:class:`~vcommission.reporting.run_info.RunInfo`).
        """

    def run_start(self, scenarios: list[Scenario]) -> None:
        """Called once, before any scenario runs, with every scenario collected."""

    def scenario_start(self, scenario: Scenario) -> None:
        """Called when a worker starts ``scenario`` (in parallel runs, several are running)."""

    def check_result(self, scenario: Scenario, result: ScenarioResult, check: CheckResult) -> None:
        """Called for each check of a finished scenario, before :meth:`scenario_finish`."""

    def scenario_finish(self, scenario: Scenario, result: ScenarioResult) -> None:
        """Called when ``scenario`` has its verdict."""

    def run_finish(self, results: list[ScenarioResult], wall_s: float) -> None:
        """Called once with every result, in suite order, and the run's wall-clock seconds."""


class Hooks:
    """Calls every reporter for each hook, in the order the reporters were given."""

    def __init__(self, reporters: Iterable[Reporter]) -> None:
        self.reporters = list(reporters)

    def _call(self, hook: Callable[[Reporter], None], name: str) -> None:
        # One broken reporter must not cost the others their output (a console glitch
        # should not leave CI without its JUnit file), so all run before the first error
        # is raised.
        first: BaseException | None = None
        for reporter in self.reporters:
            try:
                hook(reporter)
            except Exception as exc:
                if first is None:
                    first = exc
                else:  # only the first is raised; the others would vanish unlogged
                    log.error("reporter %s failed in %s: %s", type(reporter).__name__, name, exc)
        if first is not None:
            raise first

    def run_info(self, info: RunInfo) -> None:
        self._call(lambda r: r.run_info(info), "run_info")

    def run_start(self, scenarios: list[Scenario]) -> None:
        self._call(lambda r: r.run_start(scenarios), "run_start")

    def scenario_start(self, scenario: Scenario) -> None:
        self._call(lambda r: r.scenario_start(scenario), "scenario_start")

    def check_result(self, scenario: Scenario, result: ScenarioResult, check: CheckResult) -> None:
        self._call(lambda r: r.check_result(scenario, result, check), "check_result")

    def scenario_finish(self, scenario: Scenario, result: ScenarioResult) -> None:
        self._call(lambda r: r.scenario_finish(scenario, result), "scenario_finish")

    def run_finish(self, results: list[ScenarioResult], wall_s: float) -> None:
        self._call(lambda r: r.run_finish(results, wall_s), "run_finish")

    def scenario_done(self, scenario: Scenario, result: ScenarioResult) -> None:
        """Fire ``check_result`` for each of the result's checks, then ``scenario_finish``."""
        for check in result.checks:
            self.check_result(scenario, result, check)
        self.scenario_finish(scenario, result)

    def suite_events(self, scenarios: list[Scenario]) -> SuiteEvents:
        """Callbacks for :func:`~vcommission.scenario.suite.run_suite` that fire these hooks.

        ``scenarios`` must be the list given to ``run_suite``: its events carry indices.
        """
        # Imported here: reporters need only results, and the suite module brings the
        # runner and its worker machinery; importing it late also keeps reporting free of
        # an import cycle should the runner come to use the hooks itself.
        from vcommission.scenario.suite import SuiteEvents

        return SuiteEvents(
            started=lambda index, scenario: self.scenario_start(scenario),
            finished=lambda index, result: self.scenario_done(scenarios[index], result),
        )
