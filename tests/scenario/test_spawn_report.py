"""A ``spawn`` step that could not place its parts is reported, never silently dropped.

Real runs of the sorting line with the reference program: the belt left standing (the drop
zone stays occupied by the first part), a run that ends before the next part is due, and a
spawner whose drop zone lies inside the belt.
"""

from __future__ import annotations

import io

from rich.console import Console

from tests.helpers import SORTING_LINE, SORTING_ST, sorting_line_text, write_model
from vcommission.reporting.console import ConsoleReporter
from vcommission.scenario.collect import collect
from vcommission.scenario.results import Verdict
from vcommission.scenario.runner import run_scenario


def _run(folder, steps, model=SORTING_LINE, strict=False, duration=2):
    text = f"""
name: spawn report
model: {model}
plc: {{st: {SORTING_ST}}}
duration: {duration}
steps:
{steps}
checks:
  - interlock:
      never: {{all: [{{tag: pusher_extend}}, {{tag: conveyor_run}}]}}
"""
    path = folder / "spawn.yaml"
    path.write_text(text)
    found = collect([path])
    assert not found.broken, found.broken
    (scenario,) = found.scenarios
    result = run_scenario(scenario, strict=strict)
    spawns = [c for c in result.checks if c.kind == "spawn"]
    return result, spawns


def _console(result) -> str:
    buffer = io.StringIO()
    reporter = ConsoleReporter(Console(file=buffer, width=200))
    for line in reporter.scenario_lines(result):
        reporter.console.print(line)
    return buffer.getvalue()


def test_a_part_kept_back_by_an_occupied_drop_zone_is_reported(tmp_path):
    # The line is never started: the first box stays where it was dropped.
    result, (spawn,) = _run(tmp_path, "  - spawn: {variant: small, count: 2, interval: 0.5}")
    assert spawn.verdict is Verdict.VACUOUS and not spawn.exercised
    assert spawn.name == "spawn: spawn 2 small parts 0.5 s apart"
    assert "1 of 2 placed, 1 never" in spawn.message
    assert "occupied by part 1 from t=0.5" in spawn.message
    assert spawn.figures == {"asked": 2, "placed": 1}
    assert [p["id"] for p in spawn.evidence.parts] == [1]
    assert "spawn 2 small parts" in _console(result) and "occupied by part 1" in _console(result)
    strict, (spawn,) = _run(
        tmp_path, "  - spawn: {variant: small, count: 2, interval: 0.5}", strict=True
    )
    assert spawn.verdict is Verdict.FAILED and strict.verdict is Verdict.FAILED
    assert spawn.message.startswith("not exercised (strict)")


def test_parts_not_due_before_the_end_are_reported(tmp_path):
    steps = (
        "  - pulse: {tag: start_pb.pressed, for: 0.2}\n"
        "  - spawn: {variant: small, count: 3, interval: 5}"
    )
    _, (spawn,) = _run(tmp_path, steps)
    assert "1 of 3 placed, 2 never: the run ended at t=2.000 s" in spawn.message
    assert "before the next was due at t=5." in spawn.message


def test_a_spawn_that_placed_every_part_adds_no_result(tmp_path):
    steps = "  - pulse: {tag: start_pb.pressed, for: 0.2}\n  - spawn: {variant: tall}"
    result, spawns = _run(tmp_path, steps)
    assert spawns == [] and result.error is None


def test_a_drop_zone_inside_the_machine_is_an_error(tmp_path):
    text = sorting_line_text().replace("position: [0.2, 0.0, 0.8]", "position: [0.2, 0.0, 0.7]")
    model = write_model(tmp_path / "low_infeed", text).parent
    result, (spawn,) = _run(tmp_path, "  - spawn: {variant: small}", model=model)
    assert spawn.verdict is Verdict.ERROR and result.verdict is Verdict.ERROR
    assert "0 of 1 placed" in spawn.message
    assert "is inside the machine (belt.surface)" in spawn.message
    assert "no part can be placed there" in _console(result)
