"""The pytest plugin: scenario files collected as items, and the Python fixtures."""

from __future__ import annotations

import pytest

from tests.helpers import SORTING_LINE as MODEL

pytest_plugins = ["pytester"]

# The inner runs have no pyproject: say what pytest-asyncio would otherwise warn about.
QUIET = ("-o", "asyncio_default_fixture_loop_scope=function")

PASSING = f"""
name: start runs the belt
requirements: [R1]
model: {MODEL}
duration: 2
matrix: {{seed: [1, 2]}}
steps:
  - hold: 0.3
  - pulse: {{tag: start_pb.pressed, for: 0.2}}
checks:
  - requirement: R1
    reaction:
      trigger: {{rising: start_pb}}
      expect: {{tag: conveyor_run}}
      within: 0.1
"""

FAILING = f"""
name: nothing is sorted in 2 s
requirements: [R3]
model: {MODEL}
duration: 2
checks:
  - name: a tall box in its bin
    requirement: R3
    final_state: {{bins: {{bin_tall: {{tall: 1}}}}}}
"""


def test_scenarios_are_items_with_verdicts_and_junit(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", good=PASSING, bad=FAILING, model="name: not a scenario")
    pytester.makefile(".yml", other="just: some yaml")
    junit = pytester.path / "out.xml"
    result = pytester.runpytest(*QUIET, f"--junitxml={junit}")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*FAILED*a tall box in its bin (final_state, R3)*"])
    text = junit.read_text()
    assert 'name="start runs the belt [seed=1]"' in text
    assert 'name="start runs the belt [seed=2]"' in text


def test_scenarios_run_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", good=PASSING, bad=FAILING)
    result = pytester.runpytest_subprocess(*QUIET, "-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=2, failed=1)


def test_k_selects_by_requirement_id(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", good=PASSING, bad=FAILING)
    result = pytester.runpytest(*QUIET, "-k", "R1")
    result.assert_outcomes(passed=2, deselected=1)


def test_a_broken_scenario_file_is_a_located_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", broken=PASSING.replace("within: 0.1", "withn: 0.1"))
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*broken.yaml:*checks[[]0[]].reaction.withn*did you mean*"])


def test_python_scenario_with_the_line_fixture(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"[pytest]\nvcommission_model = {MODEL}\n")
    pytester.makepyfile(
        """
        def test_interlock_holds_while_sorting(line, plc, plant, sim):
            line.check({"interlock": {"never": {"all": [{"tag": "pusher_extend"},
                                                         {"tag": "conveyor_run"}]}}})
            line.pulse("start_pb.pressed")
            line.run_for(15)
            assert plc.fault is None and sim.now_ns > 15e9
            assert plant.image["conveyor_run"] or plant.image["pusher_extend"]
            line.assert_checks()

        def test_a_violated_check_fails_with_evidence(line):
            line.check({"final_state": {"tags": {"conveyor_run": True}}})
            line.run_for(1)
            line.assert_checks()
        """
    )
    result = pytester.runpytest(*QUIET)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*FAILED final_state*conveyor_run*"])
