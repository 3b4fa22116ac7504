"""Operator scripts: timed presses for a served plant, in the scenario step syntax.

``vcommission serve MODEL --operator-script FILE`` plays a file like::

    steps:
      - hold: 2.0                                  # let the PLC connect
      - pulse: {tag: start_pb.pressed, for: 0.5}   # press Start
      - wait: {until: light_green, timeout: 5}
      - hold: 30
      - set: {tag: estop.pressed, value: true}

against the plant as it runs, so a headless session needs no hand-written OPC UA client.
Every scenario step kind works (``hold``, ``pulse``, ``set``, ``wait``, ``spawn``, ``fault``,
``clear``, ...), checked against the model as in a scenario file, every problem located.
The script is a simulator monitor: after each tick it resumes the current step as soon as
the step's condition holds, so a press lasts exactly its ticks, in virtual time, whatever
the wall clock does. A ``wait`` that times out ends the script with its message; the plant
goes on being served.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vcommission.clock import ns_to_s, s_to_ns
from vcommission.config.yamlload import build, load_document
from vcommission.scenario.registry import STEPS
from vcommission.scenario.schema import Step
from vcommission.scenario.steps import Advance, StepFailed, describe_step

__all__ = ["OperatorScript", "ScriptPlayer", "load_operator_script"]


@dataclass(frozen=True)
class OperatorScript:
    """An operator script file: steps in the scenario syntax."""

    steps: list[Step] = field(default_factory=list)


def load_operator_script(path: str | Path, model: object) -> OperatorScript:
    """Load and check ``path`` against ``model`` (a ``Model``).

    Raises:
        ConfigError: with every problem, each located (file, line, YAML path).
    """
    doc = load_document(path)
    script = build(doc, OperatorScript)
    if script is not None:
        # The step kinds' checks look up injected faults in ``.steps`` only.
        scenario = types.SimpleNamespace(steps=script.steps)
        for i, step in enumerate(script.steps):
            problems = STEPS.load(step.action).problems
            if problems is not None:
                for below, message in problems(step.spec, model, scenario):
                    doc.issue(("steps", i, step.action, *below), message)
    doc.raise_if_issues()
    assert script is not None
    return script


class ScriptPlayer:
    """A simulator monitor that plays an operator script on a run (a ``RunContext``).

    ``say`` gets one line per step started, and the reason the script ended early.
    """

    def __init__(self, script: OperatorScript, run: object, say: Callable[[str], None]) -> None:
        self.run = run
        self.say = say
        self.done = False
        self._steps = list(script.steps)
        self._requests = self._play()
        self._request: Advance | None = None
        self._deadline_ns: int | None = None

    def _play(self) -> Iterator[Advance]:
        for index, step in enumerate(self._steps, 1):
            now = ns_to_s(self.run.sim.now_ns)  # type: ignore[attr-defined]
            self.say(f"operator script {index}/{len(self._steps)} at t={now:.2f} s: "
                     f"{describe_step(step)}")  # fmt: skip
            yield from STEPS.load(step.action).run(step.spec, self.run)

    def start(self) -> None:
        """Run the script up to its first wait (before the first tick)."""
        self._advance()

    def __call__(self, now_ns: int, changed: object) -> None:
        if self.done or self._request is None:
            return
        expired = self._deadline_ns is not None and now_ns >= self._deadline_ns
        if expired or self._request.done():
            self._advance()

    def _advance(self) -> None:
        try:
            request = next(self._requests)
        except StopIteration:
            self._finish("operator script done")
            return
        except StepFailed as failed:
            self._finish(f"operator script stopped: {failed.result.message}")
            return
        self._request = request
        now = self.run.sim.now_ns  # type: ignore[attr-defined]
        self._deadline_ns = None if request.limit_s is None else now + s_to_ns(request.limit_s)
        if request.done():  # nothing to wait for: go on in this tick
            self._advance()

    def _finish(self, message: str) -> None:
        self.done = True
        self._request = None
        now = ns_to_s(self.run.sim.now_ns)  # type: ignore[attr-defined]
        self.say(f"{message} at t={now:.2f} s")
