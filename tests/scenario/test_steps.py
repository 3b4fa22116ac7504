"""Step kinds: the built-in ones are registered in order, and ``pulse`` restores what was set."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcommission.scenario.harness import Harness
from vcommission.scenario.loader import load_scenarios
from vcommission.scenario.registry import STEPS
from vcommission.scenario.results import Verdict
from vcommission.scenario.runner import run_scenario
from vcommission.scenario.schema import Step

MODEL = Path(__file__).resolve().parents[2] / "plant_models" / "sorting_line"


def test_the_built_in_step_kinds_are_registered_in_the_files_order():
    assert STEPS.names()[:9] == [
        "hold",
        "until",
        "set",
        "pulse",
        "wait",
        "spawn",
        "remove",
        "fault",
        "clear",
    ]


def test_a_step_reads_like_one_field_per_action():
    step = Step(hold=0.5)
    assert step.action == "hold" and step.spec == 0.5
    assert step.hold == 0.5 and step.pulse is None
    with pytest.raises(AttributeError):
        _ = step.no_such_action


@pytest.mark.parametrize("value", ["true", "false"])
def test_a_pulse_right_after_a_set_restores_the_value_set(tmp_path, value):
    # Regression: the set is only staged when the pulse starts; the pulse used to restore
    # the working value from before the set (FALSE), losing the set.
    other = "false" if value == "true" else "true"
    text = f"""
name: set then pulse
model: {MODEL}
duration: 1
steps:
  - set: {{tag: estop.pressed, value: {value}}}
  - pulse: {{tag: estop.pressed, value: {other}, for: 0.2}}
  - hold: 0.3
checks:
  - final_state: {{tags: {{estop.pressed: {value}}}}}
"""
    path = tmp_path / "set_pulse.yaml"
    path.write_text(text)
    (scenario,) = load_scenarios(path)
    result = run_scenario(scenario)
    assert result.verdict is Verdict.PASSED, [c.message for c in result.checks]


def test_the_harness_pulse_is_the_scenario_step():
    with Harness(MODEL) as line:
        line.set("estop.pressed", True)
        line.pulse("estop.pressed", 0.2, False)
        line.run_for(0.1)
        assert line.plant.image["estop.pressed"] is True
        # A plain press still returns the button to released.
        line.pulse("start_pb.pressed", 0.1)
        line.run_for(0.1)
        assert line.plant.image["start_pb.pressed"] is False
