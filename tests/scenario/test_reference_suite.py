"""The reference suite ``scenarios/sorting_line/``: passes with sorting.st, catches each bug.

Every program in ``plant_models/sorting_line/plc/faulty/`` is a copy of ``sorting.st`` with
one deliberate bug. Each is run against the scenarios of the requirement it breaks; the
suite must fail on a check of that requirement, with evidence naming the tags and the
time, while the checks of the other requirements in those scenarios still pass.

All runs (the good suite and every faulty case) go through one :func:`run_suite` call
with two workers, shared by the module: worker start-up is paid once.
"""

from __future__ import annotations

import re

import pytest

from tests.faulty_suites import (
    RUNNER_KINDS,
    Bug,
    describe_results,
    failed_checks,
    good_scenarios,
    run_digests,
    stored_digests,
    suite_runs,
)
from tests.helpers import SORTING_LINE
from tests.helpers import SORTING_SUITE as SUITE
from vcommission.scenario.requirements import load_requirements
from vcommission.scenario.results import ScenarioResult, Verdict

# One xdist worker runs the whole module: the `runs` fixture (every scenario with every
# program, about half a minute) then runs once, not once per worker.
pytestmark = pytest.mark.xdist_group("reference_suite")

FAULTY = SORTING_LINE / "plc" / "faulty"
#: The suite's requirements (R1-R9 of the specification, R10 and R11 written down for the FAT).
REQUIREMENTS = load_requirements(SUITE / "requirements.yaml").ids
#: Key of the good program's runs in the shared results.
GOOD = "sorting.st"


BUGS = [
    Bug(
        "r1_start_delay.st",
        "R1",
        ("r1_start.yaml",),
        "belt, infeed and green lamp on within 100 ms of the start press",
        ("start_pb", "conveyor_run", "infeed_enable", "light_green"),
    ),
    Bug(
        "r2_stop_keeps_pushing.st",
        "R2",
        ("r2_stop_during_push.yaml",),
        "stop press turns belt and infeed off, amber on, pusher valve off within 100 ms",
        ("stop_pb_nc", "pusher_extend"),
    ),
    Bug(
        "r3_pushes_small.st",
        "R3",
        ("r3_sort_close_pattern.yaml",),
        "every box in the bin for its height",
        ("pe_entry", "bin_tall.count", "bin_small.count"),
    ),
    Bug(
        "r4_push_while_running.st",
        "R4",
        ("r4_interlock.yaml",),
        "pusher never extended while the belt runs",
        ("pusher_extend", "conveyor_run"),
    ),
    Bug(
        "r6_no_reset_after_estop.st",
        "R6",
        ("r6_estop_during_push.yaml",),
        "the red lamp goes out only at a reset press",
        ("light_red", "reset_pb"),
    ),
    Bug(
        "r7_no_exit_jam.st",
        "R7",
        ("r7_jam_exit.yaml", "r7_jam_pusher.yaml"),
        "beam blocked 4 s with the belt running faults the line within 50 ms",
        ("pe_exit", "conveyor_run", "light_red"),
        passing=("r7_jam_pusher.yaml",),
    ),
    Bug(
        "r8_no_extend_timeout.st",
        "R8",
        ("r8_pusher_slow.yaml",),
        "pusher_extend off and red within 2 s of pusher_extend",
        ("pusher_extend", "light_red"),
    ),
    Bug(
        "r9_speed_300.st",
        "R9",
        ("r9_speed.yaml",),
        "speed setpoint 400 mm/s while running",
        ("conveyor_run", "speed_sp"),
    ),
]


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, str], list[ScenarioResult]]:
    """(program, scenario file name) -> its results, all in one suite run."""
    return suite_runs(SUITE, FAULTY, GOOD, BUGS)


def test_traces_are_bit_identical_to_the_stored_digests(
    runs: dict[tuple[str, str], list[ScenarioResult]],
) -> None:
    """Per-tick optimisations must not change what any run of the suite recorded."""
    assert run_digests(runs) == stored_digests("sorting_line")


# ---- the suite as written ---------------------------------------------------------------------


def test_every_requirement_has_a_scenario_and_checks_are_labelled_consistently() -> None:
    scenarios = good_scenarios(SUITE)
    assert len({s.file for s in scenarios}) >= 9
    covered = set()
    for scenario in scenarios:
        spec = scenario.spec
        assert spec.description.strip(), f"{scenario.file}: no description"
        for check in spec.checks:
            assert check.name, f"{scenario.file}: every check needs a readable name"
            assert check.requirement in spec.requirements, (
                f"{scenario.file}: check {check.name!r} verifies {check.requirement}, "
                f"not among the scenario's requirements {spec.requirements}"
            )
            covered.add(check.requirement)
    assert covered == set(REQUIREMENTS)
    assert list(REQUIREMENTS) == [f"R{n}" for n in range(1, 14)]
    assert any(s.params.get("seed") is not None for s in scenarios), "no seed matrix"


def test_the_suite_passes_with_sorting_st(runs: dict) -> None:
    results = [r for (program, _), rs in runs.items() if program == GOOD for r in rs]
    failed = [r for r in results if r.verdict is not Verdict.PASSED]
    assert not failed, describe_results(failed)
    assert all(r.virtual_s > 0 and r.checks for r in results)


# ---- the faulty programs ----------------------------------------------------------------------


def test_every_faulty_program_is_registered_and_documents_what_it_breaks() -> None:
    programs = sorted(p.name for p in FAULTY.glob("*.st"))
    assert programs == sorted(bug.program for bug in BUGS)
    assert len(programs) >= 5
    for bug in BUGS:
        header = (FAULTY / bug.program).read_text().split("*)", 1)[0]
        assert re.search(rf"BREAKS\s+{bug.requirement}\b", header), bug.program
        assert "BUG" in header and "CAUGHT" in header, bug.program


@pytest.mark.parametrize("bug", BUGS, ids=[bug.program for bug in BUGS])
def test_the_suite_catches_the_bug_on_the_right_check(runs: dict, bug: Bug) -> None:
    results = [r for name in bug.scenarios for r in runs[(bug.program, name)]]
    report = describe_results(results)
    assert all(r.verdict is not Verdict.ERROR for r in results), report
    assert any(r.verdict is Verdict.FAILED for r in results), report

    # Only checks of the broken requirement fail (a runner wait may time out with them);
    # the other requirements' checks in these scenarios still pass.
    failed = failed_checks(results)
    assert {c.requirement for c in failed if c.kind not in RUNNER_KINDS} == {bug.requirement}, (
        report
    )
    assert all(c.requirement is not None or c.kind in RUNNER_KINDS for c in failed), report

    caught = [c for c in failed if c.name == bug.check]
    assert caught, f"{bug.check!r} did not fail:\n{report}"
    for check in caught:
        evidence = check.evidence
        assert evidence is not None, report
        assert set(bug.tags) <= set(evidence.tags), (evidence.tags, report)
        assert evidence.time_s > 0
        assert "t=" in check.message, "the message says when"
        assert {tag for _, tag, _ in evidence.window} >= set(bug.tags)

    for name in bug.passing:
        assert all(r.verdict is Verdict.PASSED for r in runs[(bug.program, name)]), report
