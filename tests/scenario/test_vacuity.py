"""No vacuous verdicts: checks say whether they were exercised, faults whether they acted.

A program that never starts the line (``programs/idle.st``: every output off, amber on)
must fail every bundled scenario under strict mode; without it, the scenarios whose checks
all hold for an idle line are *vacuous*, never passed. Each check kind's not-exercised case,
each built-in fault kind's acted / never-acted case, the ``fault_acted`` condition, strict
against non-strict verdicts and exit codes, and how the console, JUnit XML, JSON and the
pytest plugin show a vacuous check are pinned here, on real runs.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from rich.console import Console

from tests.helpers import SORTING_LINE, SORTING_ST, SORTING_SUITE, run_cli, write_scenario
from tests.scenario.test_checks import PUSH_WHILE_RUNNING, checked, press_start
from tests.sorting_script import SortingScript
from vcommission.config.model import load_model
from vcommission.errors import ConfigError
from vcommission.plant.plant import Plant
from vcommission.reporting.console import ConsoleReporter
from vcommission.reporting.junit import junit_xml
from vcommission.reporting.summary import Summary
from vcommission.scenario.checks import make_check
from vcommission.scenario.collect import find_scenario_files
from vcommission.scenario.context import RunContext
from vcommission.scenario.loader import load_scenarios
from vcommission.scenario.results import CheckResult, ScenarioResult, Verdict
from vcommission.scenario.runner import run_scenario
from vcommission.scenario.schema import (
    CheckSpec,
    ConditionSpec,
    CycleTimeSpec,
    FinalStateSpec,
    InterlockSpec,
    NoCollisionSpec,
    NoMissortSpec,
    PartsArrivedSpec,
    ReactionSpec,
    SequenceSpec,
    ThroughputSpec,
)
from vcommission.scenario.suite import run_suite

pytestmark = pytest.mark.xdist_group("vacuity")

C = ConditionSpec
IDLE = Path(__file__).with_name("programs") / "idle.st"
JUNIT_XSD = Path(__file__).parents[1] / "reporting" / "junit-10.xsd"
#: The bundled scenarios that an idle line passed before checks reported vacuity.
IDLE_PASSED_BEFORE = {
    "sensor chatter on pe_tall",
    "R3 sort the infeed mix [seed=1]",
    "R3 sort the infeed mix [seed=2]",
    "R3 sort the infeed mix [seed=4]",
}


def _report(results: list[ScenarioResult]) -> str:
    return "\n".join(
        f"{r.verdict.value}: {r.name}\n"
        + "\n".join(f"  {c.verdict.value} {c.name}: {c.message}" for c in r.checks)
        for r in results
    )


# ---- the bundled suite with a program that never starts the line ------------------------------


@pytest.fixture(scope="module")
def idle_runs() -> dict[bool, list[ScenarioResult]]:
    """strict -> every bundled scenario run with idle.st."""
    scenarios = [
        s for path in find_scenario_files([SORTING_SUITE]) for s in load_scenarios(path, IDLE)
    ]
    return {strict: run_suite(scenarios, jobs=2, strict=strict) for strict in (True, False)}


def test_an_idle_line_fails_every_bundled_scenario_under_strict(idle_runs):
    results = idle_runs[True]
    assert len(results) >= 17
    assert all(r.verdict is Verdict.FAILED for r in results), _report(results)
    # Nothing is left vacuous under strict: it became failed, still marked not exercised.
    checks = [c for r in results for c in r.checks]
    assert not [c for c in checks if c.verdict is Verdict.VACUOUS]
    assert any(c.verdict is Verdict.FAILED and not c.exercised for c in checks)


def test_without_strict_an_idle_line_passes_nothing(idle_runs):
    results = {r.name: r for r in idle_runs[False]}
    assert not [r for r in results.values() if r.verdict is Verdict.PASSED], _report(
        list(results.values())
    )
    for name in IDLE_PASSED_BEFORE:
        result = results[name]
        # These now state their work, so they fail on it even without strict...
        (failed,) = [c for c in result.checks if c.verdict is Verdict.FAILED]
        assert failed.kind == "parts_arrived" and not failed.exercised, _report([result])
        assert "0 parts arrived in the sinks" in failed.message
        # ...and every check that held for the idle line says it was not exercised.
        vacuous = {c.kind for c in result.checks if c.verdict is Verdict.VACUOUS}
        # The three reasons the issue names: no_missort over zero parts, nothing spawned,
        # the red lamp never lighting; and the supply_empty fault never acted.
        assert {"no_missort", "final_state", "interlock", "fault"} <= vacuous
        assert all(c.vacuity for c in result.checks if c.verdict is Verdict.VACUOUS)


def test_the_reference_program_exercises_every_bundled_check_under_strict():
    scenarios = [s for path in find_scenario_files([SORTING_SUITE]) for s in load_scenarios(path)]
    results = run_suite(scenarios, jobs=2, strict=True)
    assert all(r.verdict is Verdict.PASSED for r in results), _report(results)
    for scenario, result in zip(scenarios, results, strict=True):
        for check in result.checks:
            assert check.exercised and check.vacuity is None, (result.name, check.name)
            assert check.criterion, (result.name, check.name)
        faults = [c for c in result.checks if c.kind == "fault"]
        injected = [s.fault.name for s in scenario.spec.steps if s.action == "fault"]
        assert [c.name for c in faults] == [f"fault {name}" for name in injected]
        assert all(c.figures["acted_s"] >= 0 for c in faults)


# ---- a scenario that never extends the pusher -------------------------------------------------

NO_PUSH = f"""
name: small boxes only
requirements: [R4]
model: {SORTING_LINE}
duration: 14
steps:
  - fault: {{kind: actuator_stuck, id: infeed_off, tag: infeed_enable, value: false}}
  - spawn: {{variant: small, count: 2, interval: 2}}
  - hold: 0.3
  - pulse: {{tag: start_pb.pressed, for: 0.2}}
checks:
  - name: pusher never extended while the belt runs
    requirement: R4
    interlock:
      never: {{all: [{{tag: pusher_extend}}, {{tag: conveyor_run}}]}}
  - name: both boxes in bin_small
    requirement: R4
    final_state: {{bins: {{bin_small: {{small: 2}}}}}}
"""


@pytest.mark.parametrize("strict", [False, True])
def test_an_interlock_never_approached_is_vacuous_with_its_conjunct_coverage(tmp_path, strict):
    (scenario,) = load_scenarios(write_scenario(tmp_path, NO_PUSH))
    result = run_scenario(scenario, strict=strict)
    interlock, final, fault = result.checks
    assert final.verdict is Verdict.PASSED and fault.verdict is Verdict.PASSED
    assert interlock.exercised is False
    assert interlock.verdict is (Verdict.FAILED if strict else Verdict.VACUOUS)
    assert result.verdict is interlock.verdict
    pusher, belt = interlock.conjuncts
    assert pusher == {"condition": "pusher_extend = TRUE", "seen_true": False, "first_true_s": None}
    assert belt["condition"] == "conveyor_run = TRUE" and belt["seen_true"] is True
    assert belt["first_true_s"] == pytest.approx(0.32)  # start_pb at 0.31 s, the belt 10 ms on
    assert "pusher_extend = TRUE never TRUE" in interlock.vacuity
    assert "guarded situation never arose" in interlock.vacuity
    assert interlock.criterion.startswith("(pusher_extend = TRUE AND conveyor_run = TRUE) never")
    assert interlock.tags == ["pusher_extend", "conveyor_run"]
    if strict:
        assert interlock.message.startswith("not exercised (strict): pusher_extend")


# ---- each check kind's not-exercised case -----------------------------------------------------


@pytest.fixture(scope="module")
def model():
    return load_model(SORTING_LINE)


@pytest.fixture
def run(model):
    with Plant(model) as plant:
        yield RunContext.start(None, model, plant, None)


def _one(run: RunContext, seconds: float, **kind) -> CheckResult:
    (result,) = checked(run, seconds, CheckSpec(**kind))
    return result


def _vacuous(result: CheckResult, *words: str) -> None:
    assert result.verdict is Verdict.VACUOUS, result.message
    assert not result.exercised
    for word in words:
        assert word in result.vacuity, result.vacuity


def test_reaction_without_triggers(run):
    spec = ReactionSpec(C(rising="start_pb"), C(tag="conveyor_run"), 0.1, min_triggers=0)
    result = _one(run, 1, reaction=spec)
    _vacuous(result, "rising start_pb never happened", "no reaction was timed")
    assert result.criterion == "conveyor_run = TRUE within 0.1 s of each rising start_pb"
    assert result.tags == ["start_pb", "conveyor_run"]


def test_reaction_that_needs_a_trigger_fails_still_not_exercised(run):
    spec = ReactionSpec(C(rising="start_pb"), C(tag="conveyor_run"), 0.1)
    result = _one(run, 1, reaction=spec)
    assert result.verdict is Verdict.FAILED and not result.exercised
    assert "at least 1 trigger" in result.criterion


def test_sequence_never_begun(run):
    spec = SequenceSpec([C(rising="start_pb"), C(rising="conveyor_run")])
    result = _one(run, 1, sequence=spec)
    assert result.verdict is Verdict.FAILED and not result.exercised
    assert "the sequence never began" in result.vacuity


def test_sequence_begun_but_not_finished_is_exercised(run):
    spec = SequenceSpec([C(rising="start_pb"), C(rising="conveyor_run")])
    check = make_check(CheckSpec(sequence=spec), run)
    check.start(run)
    press_start(run)  # nobody starts the belt: event 2 never comes
    result = check.finish(run)
    assert result.verdict is Verdict.FAILED and result.exercised and result.vacuity is None
    assert "event 2 (rising conveyor_run) never happened" in result.message


def test_cycle_time_over_zero_cycles(run):
    spec = CycleTimeSpec(start="spawned", end="bin_tall", max=20, min_count=0)
    result = _one(run, 1, cycle_time=spec)
    _vacuous(result, "no cycle measured")
    assert result.criterion == "spawned -> bin_tall per part: max 20 s"


def test_throughput_over_zero_parts(run):
    result = _one(run, 1, throughput=ThroughputSpec(min=0))
    _vacuous(result, "no part arrived in any sink")
    assert result.criterion == "at least 0 parts per minute into any sink from t=0 s to the end"


def test_no_missort_over_zero_parts_and_over_one_variant_only(run):
    spec = NoMissortSpec({"tall": "bin_tall", "small": "bin_small"})
    result = _one(run, 1, no_missort=spec)
    _vacuous(result, "no tall or small part arrived", "never judged")
    run.sim.add_controller(SortingScript())
    (tall_only,) = checked(run, 7, CheckSpec(no_missort=spec))  # the first box is tall
    assert tall_only.figures["parts"] == 1
    _vacuous(tall_only, "no small part arrived", "small -> bin_small never judged")


def test_no_missort_with_both_variants_judged_is_exercised(run):
    spec = NoMissortSpec({"tall": "bin_tall", "small": "bin_small"})
    run.sim.add_controller(SortingScript())
    (result,) = checked(run, 18, CheckSpec(no_missort=spec))
    assert result.verdict is Verdict.PASSED and result.exercised, result.message


def test_final_state_on_a_line_where_nothing_happened(run):
    spec = FinalStateSpec(tags={"conveyor_run": False}, max_in_flight=0)
    result = _one(run, 1, final_state=spec)
    _vacuous(result, "none of conveyor_run ever changed", "no part was spawned")
    assert result.criterion == (
        "at the end of the run: conveyor_run = FALSE; at most 0 parts still on the line"
    )
    nothing = _one(run, 0.1, final_state=FinalStateSpec())
    _vacuous(nothing, "states nothing")


def test_final_state_whose_tag_changed_is_exercised(run):
    check = make_check(CheckSpec(final_state=FinalStateSpec(tags={"start_pb": False})), run)
    check.start(run)
    press_start(run)  # TRUE for 0.2 s, then back to FALSE: the end state was left once
    run.sim.run_for(0.1)
    result = check.finish(run)
    assert result.verdict is Verdict.PASSED and result.exercised, result.vacuity


def test_parts_arrived_without_parts_fails_not_exercised(run):
    result = _one(run, 1, parts_arrived=PartsArrivedSpec(min=1))
    assert result.verdict is Verdict.FAILED and not result.exercised
    assert "no work was done" in result.vacuity
    assert result.criterion == "at least 1 parts arrive in a sink during the run"


def test_no_collision_when_nothing_moved(run):
    spec = NoCollisionSpec(between=["pusher"], and_=["parts"], margin=0.001)
    result = _one(run, 1, no_collision=spec)
    _vacuous(result, "no body of pusher vs parts moved")
    assert "at least 1 mm apart" in result.criterion


def test_no_collision_with_parts_alive_is_exercised(run):
    spec = NoCollisionSpec(between=["pusher"], and_=["parts"], margin=0.001)
    run.sim.add_controller(SortingScript())
    result = _one(run, 3, no_collision=spec)
    assert result.verdict is Verdict.PASSED and result.exercised, result.message


def test_interlock_with_a_single_condition_needs_during(run):
    alone = _one(run, 1, interlock=InterlockSpec(never=C(tag="light_red")))
    _vacuous(alone, "light_red = TRUE never TRUE")
    assert alone.conjuncts == [
        {"condition": "light_red = TRUE", "seen_true": False, "first_true_s": None}
    ]
    spec = InterlockSpec(never=C(tag="light_red"), during=C(tag="start_pb"))
    during = make_check(CheckSpec(interlock=spec), run)
    during.start(run)
    press_start(run)
    result = during.finish(run)
    assert result.verdict is Verdict.PASSED and result.exercised, result.vacuity
    assert result.conjuncts == [
        {"condition": "start_pb = TRUE", "seen_true": True, "first_true_s": pytest.approx(1.51)}
    ]
    assert "exercised only if start_pb = TRUE arose" in result.criterion


def test_interlock_always_guards_its_negation(run):
    spec = InterlockSpec(always=C(any=[C(tag="light_amber"), C(tag="estop_ok")]))
    result = _one(run, 1, interlock=spec)
    # estop_ok is TRUE all along: the situation (amber off AND e-stop pressed) never arose.
    assert [c["condition"] for c in result.conjuncts] == [
        "NOT light_amber = TRUE",
        "NOT estop_ok = TRUE",
    ]
    assert result.conjuncts[0]["seen_true"] is True  # no PLC: the amber lamp is off
    _vacuous(result, "NOT estop_ok = TRUE never TRUE")


def test_interlock_after_its_situation_arose_is_exercised(run):
    run.sim.add_controller(SortingScript())
    (result,) = checked(run, 8, CheckSpec(interlock=InterlockSpec(never=PUSH_WHILE_RUNNING)))
    assert result.verdict is Verdict.PASSED and result.exercised
    assert all(c["seen_true"] for c in result.conjuncts)
    assert result.conjuncts[0]["first_true_s"] > result.conjuncts[1]["first_true_s"]


def test_verdict_order():
    worst = Verdict.worst
    assert worst([Verdict.PASSED, Verdict.VACUOUS]) is Verdict.VACUOUS
    assert worst([Verdict.VACUOUS, Verdict.FAILED]) is Verdict.FAILED
    assert worst([Verdict.VACUOUS, Verdict.ERROR, Verdict.FAILED]) is Verdict.ERROR
    assert worst([]) is Verdict.PASSED


# ---- faults shown to act ------------------------------------------------------------------------

FAULT_SCENARIO = """
name: fault {id}
model: {model}
duration: {duration}
steps:
  - hold: 0.3
  - fault: {fault}
  - spawn: {{variant: {variant}}}
{press}
checks:
  - final_state: {{max_in_flight: 10}}
"""
PRESS = "  - pulse: {tag: start_pb.pressed, for: 0.2}"

#: (id, fault mapping, press start?, program, acts?): every built-in kind both ways.
FAULTS = [
    ("stuck", "{kind: actuator_stuck, tag: infeed_enable, value: false}", True, "idle", False),
    ("stuck", "{kind: actuator_stuck, tag: infeed_enable, value: false}", True, "st", True),
    ("sensor", "{kind: sensor_stuck, tag: pe_tall, value: false}", True, "idle", False),
    ("sensor", "{kind: sensor_stuck, tag: pe_tall, value: false}", True, "st", True),
    ("chatter", "{kind: sensor_chatter, tag: pe_tall, period: 0.01, probability: 0}", True,
     "st", False),
    ("chatter", "{kind: sensor_chatter, tag: pe_tall, period: 0.01}", True, "idle", True),
    ("wire", "{kind: wire_break, tag: pe_entry}", True, "idle", False),
    ("wire", "{kind: wire_break, tag: pe_entry}", True, "st", True),
    ("slow", "{kind: actuator_slow, component: pusher, factor: 2}", True, "idle", False),
    ("slow", "{kind: actuator_slow, component: pusher, factor: 2}", True, "st", True),
    ("slip", "{kind: belt_slip, component: belt, factor: 0.7}", True, "idle", False),
    ("slip", "{kind: belt_slip, component: belt, factor: 0.7}", True, "st", True),
    ("jam", "{kind: jam, position: [2.72, 0.0, 0.8]}", True, "idle", False),
    ("jam", "{kind: jam, position: [2.72, 0.0, 0.8]}", True, "st", True),
    ("lost", "{kind: lost_connection}", False, "idle", False),
    ("lost", "{kind: lost_connection}", True, "st", True),
    ("late", "{kind: latency, delay: 0.05}", True, "idle", False),
    ("late", "{kind: latency, delay: 0.05}", True, "st", True),
]  # fmt: skip


@pytest.fixture(scope="module")
def fault_runs(tmp_path_factory) -> list[ScenarioResult]:
    folder = tmp_path_factory.mktemp("faults")
    scenarios = []
    for i, (name, fault, press, program, _) in enumerate(FAULTS):
        text = FAULT_SCENARIO.format(
            id=name,
            model=SORTING_LINE,
            duration=9,
            fault=fault,
            press=PRESS if press else "",
            # A tall box is pushed off before the obstacle behind the pusher: jam a small one.
            variant="small" if name == "jam" else "tall",
        )
        path = write_scenario(folder, text, f"{i}.yaml")
        (scenario,) = load_scenarios(path, IDLE if program == "idle" else SORTING_ST)
        scenarios.append(scenario)
    return run_suite(scenarios, jobs=2)


@pytest.mark.parametrize(
    ("index", "case"), list(enumerate(FAULTS)), ids=[f"{c[0]}-{c[3]}" for c in FAULTS]
)
def test_each_fault_kind_records_whether_it_acted(fault_runs, index, case):
    acts = case[-1]
    result = fault_runs[index]
    (fault,) = [c for c in result.checks if c.kind == "fault"]
    assert fault.criterion.startswith(f"fault {fault.name.removeprefix('fault ')} acts: ")
    if acts:
        assert fault.verdict is Verdict.PASSED and fault.exercised, fault.message
        assert 0.3 <= fault.figures["acted_s"] <= 9
        assert fault.message == f"{fault.name} acted at t={fault.figures['acted_s']:.3f} s"
    else:
        assert fault.verdict is Verdict.VACUOUS and not fault.exercised, fault.message
        assert "never acted" in fault.vacuity
        assert result.verdict is Verdict.VACUOUS


FAULT_ACTED = f"""
name: recovery judged after the fault acted
model: {SORTING_LINE}
duration: 14
steps:
  - fault: {{kind: actuator_stuck, id: infeed_off, tag: infeed_enable, value: false}}
  - fault: {{kind: actuator_stuck, id: valve_stuck, tag: pusher_extend, value: false}}
  - spawn: {{variant: tall}}
  - hold: 0.3
  - pulse: {{tag: start_pb.pressed, for: 0.2}}
  - wait: {{until: {{fault_acted: valve_stuck}}, timeout: 8}}
checks:
  - name: the red lamp lights after the valve stuck
    reaction:
      trigger: {{fault_acted: valve_stuck}}
      expect: {{tag: light_red}}
      within: 2.05
"""


def test_fault_acted_waits_for_the_fault_and_triggers_checks(tmp_path):
    (scenario,) = load_scenarios(write_scenario(tmp_path, FAULT_ACTED))
    result = run_scenario(scenario, strict=True)
    assert result.verdict is Verdict.PASSED, _report([result])
    reaction, _infeed_off, valve = result.checks
    # The valve acts when the PLC first commands the stroke: the tall box at the pusher.
    assert 5.5 < valve.figures["acted_s"] < 6.5
    assert reaction.figures["triggers"] == 1
    assert "fault valve_stuck acted" in reaction.criterion


def test_fault_acted_times_out_when_the_fault_never_acts(tmp_path):
    (scenario,) = load_scenarios(write_scenario(tmp_path, FAULT_ACTED), IDLE)
    result = run_scenario(scenario)
    wait = result.checks[0]
    assert wait.kind == "wait" and wait.verdict is Verdict.FAILED
    assert "fault valve_stuck acted" in wait.message
    assert result.verdict is Verdict.FAILED


def test_fault_acted_names_an_injected_fault(tmp_path):
    text = FAULT_ACTED.replace(
        "{fault_acted: valve_stuck}, timeout", "{fault_acted: valve}, timeout"
    )
    with pytest.raises(ConfigError) as caught:
        load_scenarios(write_scenario(tmp_path, text))
    message = str(caught.value)
    assert "steps[5].wait.until.fault_acted" in message or "steps.5.wait" in message, message
    assert "no fault named 'valve' is injected (infeed_off, valve_stuck)" in message
    assert ":11:" in message or "line 11" in message, message


# ---- strict against non-strict: verdicts, exit codes, reports ---------------------------------

INTERLOCK = "pusher never extended while the belt runs"


def test_cli_exit_codes_strict_and_not(tmp_path):
    path = write_scenario(tmp_path, NO_PUSH)
    junit = tmp_path / "out.xml"
    loose = run_cli("run", str(path), "--junit", str(junit), "--json", str(tmp_path / "r.json"))
    assert loose.returncode == 5, loose.stdout + loose.stderr
    assert loose.stdout.splitlines()[1].startswith("VACUOUS  small boxes only")
    assert "  VACUOUS pusher never extended while the belt runs (interlock, R4): held" in (
        loose.stdout
    )
    assert "    not exercised: pusher_extend = TRUE never TRUE from t=0.000 s" in loose.stdout
    assert "requirement R4  VACUOUS" in loose.stdout
    assert "1 scenario: 0 passed, 0 failed, 0 error, 1 vacuous" in loose.stdout
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["summary"]["vacuous"] == 1
    check = document["scenarios"][0]["checks"][0]
    assert check["verdict"] == "vacuous" and check["exercised"] is False
    assert check["conjuncts"][0] == {
        "condition": "pusher_extend = TRUE",
        "seen_true": False,
        "first_true_s": None,
    }
    case = (
        ET.parse(junit)
        .getroot()
        .find(".//testcase[@name='pusher never extended while the belt runs']")
    )
    skipped = case.find("skipped")
    assert skipped is not None and skipped.get("type") == "vacuous"
    assert skipped.get("message").startswith("vacuous: pusher_extend = TRUE never TRUE")
    assert case.find("failure") is None
    xmlschema.XMLSchema(JUNIT_XSD).validate(str(junit))

    strict = run_cli("run", str(path), "--strict", "--junit", str(junit))
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "  FAILED pusher never extended while the belt runs (interlock, R4): not exercised" in (
        strict.stdout
    )
    case = (
        ET.parse(junit)
        .getroot()
        .find(".//testcase[@name='pusher never extended while the belt runs']")
    )
    assert case.find("failure") is not None and case.find("skipped") is None
    xmlschema.XMLSchema(JUNIT_XSD).validate(str(junit))


def test_junit_and_console_of_a_vacuous_check_without_a_process():
    vacuous = CheckResult(
        "no fault",
        "interlock",
        Verdict.VACUOUS,
        "held on every tick",
        "R3",
        exercised=False,
        vacuity="conveyor_run = TRUE never TRUE: the during situation never arose",
    )
    result = ScenarioResult("idle", "s.yaml", Verdict.VACUOUS, ["R3"], [vacuous])
    root = ET.fromstring(junit_xml([result], 1.0).split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite.get("skipped") == "1" and suite.get("failures") == "0"
    assert root.get("failures") == "0"
    console = Console(record=True, width=200, force_terminal=False)
    reporter = ConsoleReporter(console)
    lines = [line.plain for line in reporter.scenario_lines(result)]
    assert lines[0].startswith("VACUOUS  idle  R3")
    assert lines[2] == "  VACUOUS no fault (interlock, R3): held on every tick"
    assert lines[3] == (
        "    not exercised: conveyor_run = TRUE never TRUE: the during situation never arose"
    )
    summary = Summary.of([result], 1.0)
    assert summary.requirements == {"R3": Verdict.VACUOUS}
    assert summary.counts[Verdict.VACUOUS] == 1 and summary.verdict is Verdict.VACUOUS


pytest_plugins = ["pytester"]


def test_pytest_plugin_skips_vacuous_and_fails_it_under_vc_strict(pytester: pytest.Pytester):
    pytester.makefile(".yaml", nopush=NO_PUSH)
    quiet = ("-o", "asyncio_default_fixture_loop_scope=function")
    loose = pytester.runpytest(*quiet, "-rs")
    loose.assert_outcomes(skipped=1)
    loose.stdout.fnmatch_lines(["*vacuous*pusher never extended while the belt runs*"])
    strict = pytester.runpytest(*quiet, "--vc-strict")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(
        [
            "*FAILED pusher never extended while the belt runs (interlock, R4):",
            "*not exercised (strict): pusher_extend = TRUE never TRUE*",
        ]
    )
