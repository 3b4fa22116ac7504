"""The mutation engine on the bundled sorting line: kills, survivors, equivalence, the score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli as run
from vcommission.errors import VcommissionError
from vcommission.executors import LocalExecutor, Unit
from vcommission.mutation.engine import MutantResult, MutationReport, mutate
from vcommission.mutation.operators import Site
from vcommission.scenario.collect import collect

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "scenarios" / "sorting_line"
PLC = ROOT / "plant_models" / "sorting_line" / "plc"
SORTING = PLC / "sorting.st"


def _scenarios(*files: str):
    return collect([SUITE / f for f in files]).scenarios


def _site(index: int, operator: str) -> Site:
    return Site(index, operator, index + 1, 1, (index + 1, 1), "a", "b")


def test_the_score_leaves_out_what_was_not_compiled_or_not_covered():
    results = [
        MutantResult(_site(0, "ror"), "killed", killed_by="s1", executed_by=["s1"]),
        MutantResult(_site(1, "ror"), "survived", executed_by=["s1", "s2"]),
        MutantResult(_site(2, "lcr"), "timeout", executed_by=["s2"]),
        MutantResult(_site(3, "lcr"), "not_compiled"),
        MutantResult(_site(4, "lcr"), "not_covered"),
        MutantResult(_site(5, "bool"), "plc_fault", killed_by="s2", executed_by=["s2"]),
    ]
    report = MutationReport("p.st", ["s1", "s2"], results, {"s1": ["R1"], "s2": ["R2", "R10"]})
    assert report.score == pytest.approx(100 * 3 / 4)
    assert report.by_operator() == {"bool": 100.0, "lcr": 100.0, "ror": 50.0}
    assert report.by_requirement() == {
        "R1": {"covered": 2, "killed": 1},
        "R2": {"covered": 3, "killed": 1},
        "R10": {"covered": 3, "killed": 1},
    }
    assert [r.site.index for r in report.survivors] == [1]
    assert MutationReport("p.st", [], [MutantResult(_site(0, "ror"), "not_covered")]).score is None


def test_timer_mutants_against_two_scenarios_kill_survive_and_flag_equivalence():
    scenarios = _scenarios("r7_jam_exit.yaml", "r8_pusher_slow.yaml")
    report = mutate(SORTING, scenarios, operators={"timer"}, jobs=2)
    by_change = {
        (r.site.original.split(" :=")[0], r.site.mutated.split()[-1]): r for r in report.results
    }
    jam_doubled = by_change[("T_JAM", "(doubled)")]
    assert jam_doubled.status == "killed"
    assert jam_doubled.killed_by == scenarios[0].name  # the jam comes at 8 s, not 4 s
    assert by_change[("T_STROKE", "(doubled)")].killed_by == scenarios[1].name
    # A 25 ms or 100 ms height filter judges these scenarios' boxes the same: nothing the
    # plant saw changed, so the survivor may be equivalent (for these scenarios).
    for label in ("(halved)", "(doubled)"):
        survivor = by_change[("T_TALL_FILTER", label)]
        assert survivor.status == "survived" and survivor.possibly_equivalent
        assert survivor.executed_by == [s.name for s in scenarios]  # a declaration: all
    # Faulting after 1 s instead of 2 s passes "red within 2 s" but changes the trace.
    stroke_halved = by_change[("T_STROKE", "(halved)")]
    assert stroke_halved.status == "survived" and not stroke_halved.possibly_equivalent


def test_a_suite_that_fails_the_original_cannot_judge_mutants():
    with pytest.raises(VcommissionError, match=r"fails the original r9_speed_300\.st"):
        mutate(PLC / "faulty" / "r9_speed_300.st", _scenarios("r9_speed.yaml"), operators={"trig"})


def test_the_bundled_faulty_programs_are_all_killed_by_the_mutation_machinery():
    """Each faulty program as a work unit of mutate's executor: killed, on its requirement."""
    scenarios = collect([SUITE]).scenarios
    faulty = sorted((PLC / "faulty").glob("*.st"))
    units = []
    for program in faulty:
        requirement = program.stem.split("_")[0].upper()
        mine = [s for s in scenarios if requirement in s.spec.requirements]
        rest = [s for s in scenarios if s not in mine]
        payload = {
            "source": program.read_text(),
            "name": program.name,
            "scenarios": mine + rest,
            "stop_at_kill": True,
        }
        units.append(Unit("vcommission.mutation.engine:run_program", payload, budget_s=300))
    outcomes = LocalExecutor(2).run(units)
    for program, outcome in zip(faulty, outcomes, strict=True):
        assert outcome.status == "done", (program.name, outcome.error)
        last = outcome.value["runs"][-1]
        assert last["verdict"] == "failed", (program.name, last)
        requirement = program.stem.split("_")[0].upper()
        killer = next(s for s in scenarios if s.name == last["scenario"])
        assert requirement in killer.spec.requirements, (program.name, last["scenario"])


def test_mutate_command_lists_survivors_writes_json_and_applies_min_score(tmp_path):
    out = tmp_path / "mutation.json"
    done = run(
        "mutate", str(SORTING), str(SUITE / "r1_start.yaml"), "--operators", "trig",
        "-j", "2", "--json", str(out), "--min-score", "100",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr  # some trig mutants survive R1 alone
    assert "below --min-score 100%" in done.stderr
    data = json.loads(out.read_text())
    assert data["format"] == "vcommission-mutation-1"
    assert data["counts"]["killed"] + data["counts"]["survived"] == len(data["mutants"]) == 4
    survivors = [m for m in data["mutants"] if m["status"] == "survived"]
    assert survivors and f"sorting.st:{survivors[0]['site']['line']}" in done.stdout
    assert "mutation score:" in done.stdout


def test_mutate_rejects_unknown_operators_with_the_list():
    done = run("mutate", str(SORTING), str(SUITE), "--operators", "ror,swap")
    assert done.returncode == 3
    assert "unknown operator(s) swap" in done.stderr and "timer_kind" in done.stderr
