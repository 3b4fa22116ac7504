"""Scenarios in Python: the same plant, PLC, faults and checks as a YAML scenario, by hand.

::

    with Harness("plant_models/sorting_line") as line:
        line.check({"interlock": {"never": {"all": [{"tag": "pusher_extend"},
                                                     {"tag": "conveyor_run"}]}}})
        line.pulse("start_pb.pressed")
        line.run_for(30)
        line.assert_checks()

Checks and faults are given as the YAML mappings a scenario file would hold (loaded with
the same strict loader, so a typo is a located error) or as their spec dataclasses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from vcommission.config.model import load_model
from vcommission.config.yamlload import build, load_document
from vcommission.plc import compile_program, model_program
from vcommission.scenario.context import RunContext, plc_stopped
from vcommission.scenario.results import CheckResult, Verdict
from vcommission.scenario.schema import CheckSpec, ConditionSpec, FaultSpec
from vcommission.scenario.trace import TraceRecorder
from vcommission.session import SessionBuilder

__all__ = ["Harness"]


def _spec(value: Any, cls: type, what: str) -> Any:
    if isinstance(value, cls):
        return value
    doc = load_document(f"<{what}>", yaml.safe_dump(value, sort_keys=False))
    spec = build(doc, cls)
    doc.raise_if_issues()
    return spec


class Harness:
    """A plant with its PLC in lockstep, a recorder, and checks and faults on demand."""

    def __init__(
        self,
        model: str | Path,
        program: str | Path | None = None,
        seed: int | None = None,
    ) -> None:
        self.model = load_model(model)
        self.program = compile_program(program or model_program(model), self.model)
        session = SessionBuilder(self.model, seed=seed).plc(self.program)
        # No scenario file behind a Python scenario.
        self.run = RunContext(None, session.recorder(TraceRecorder).build())
        self.plant, self.sim, self.recorder = self.run.plant, self.run.sim, self.run.recorder
        self.plc, self.link = self.run.plc, self.run.link
        self._checks: list[Any] = []

    # -- time and the operator

    def run_for(self, seconds: float) -> None:
        self.sim.run_for(seconds)

    def pulse(self, tag: str, seconds: float = 0.2, value: Any = True) -> None:
        """Hold ``tag`` at ``value`` for ``seconds``, then restore it (press a button).

        The scenario step ``pulse``, run here: the same value is restored in both.
        """
        from vcommission.scenario.schema import PulseSpec
        from vcommission.scenario.steps import drive, pulse

        drive(pulse(PulseSpec(tag, seconds, value), self.run), self.sim)

    def set(self, tag: str, value: Any) -> None:
        self.sim.operate(tag, value)

    def wait(self, condition: dict[str, Any] | ConditionSpec, timeout: float) -> bool:
        """Run until ``condition`` holds; False if ``timeout`` seconds passed first."""
        latch = self.run.latch(_spec(condition, ConditionSpec, "condition"))
        self.sim.run_until(lambda: latch.reached, timeout)
        latch.close()
        return latch.reached

    # -- faults and checks

    def fault(self, spec: dict[str, Any] | FaultSpec, seconds: float | None = None) -> Any:
        """Inject a fault now; cleared after ``seconds`` if given, else by ``.clear(run)``."""
        from vcommission.scenario.faults import make_fault

        fault = make_fault(_spec(spec, FaultSpec, "fault"), self.run)
        self.run.inject(fault, seconds)
        return fault

    def check(self, spec: dict[str, Any] | CheckSpec) -> Any:
        """Start a check now; its verdict comes from :meth:`results`."""
        from vcommission.scenario.checks import make_check

        check = make_check(_spec(spec, CheckSpec, "check"), self.run)
        check.start(self.run)
        self._checks.append(check)
        return check

    def results(self) -> list[CheckResult]:
        """Every check's verdict so far (a PLC runtime fault is a failed result too).

        As in a scenario file, each injected fault adds a result of kind ``fault``: passed
        once it acted, vacuous while it has not.
        """
        from vcommission.scenario.runner import fault_result
        from vcommission.scenario.steps import spawn_results

        results = [check.finish(self.run) for check in self._checks]
        results += [fault_result(fault) for fault in self.run.injected]
        results += spawn_results(self.run)
        stopped = plc_stopped(self.plc)
        if stopped is not None:
            results.insert(0, stopped)
        return results

    def assert_checks(self) -> None:
        """Raise AssertionError listing every check that did not pass, with its evidence.

        A vacuous check (it held, but never met the situation it judges) did not pass
        either: a test that proved nothing must not look green.
        """
        failed = [r for r in self.results() if r.verdict is not Verdict.PASSED]
        if failed:
            lines = []
            for result in failed:
                lines.append(f"{result.verdict.value.upper()} {result.name}: {result.message}")
                if result.vacuity and result.vacuity not in result.message:
                    lines.append(f"  not exercised: {result.vacuity}")
                if result.evidence is not None:
                    lines += result.evidence.lines()
            raise AssertionError("\n".join(lines))

    def close(self) -> None:
        self.run.session.close()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
