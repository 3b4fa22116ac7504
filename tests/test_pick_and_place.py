"""The robot cell ``plant_models/pick_and_place``: its suite passes, and catches each bug.

The reference suite ``scenarios/pick_and_place/`` must pass with ``plc/pick_and_place.st``.
Every program in ``plc/faulty/`` is a copy of it with one deliberate bug; each is run against
the scenarios of the requirement it breaks, and the suite must fail it on a check of that
requirement (and only that requirement), with evidence naming the tags and the time. The
wrong-order program (the place job started before the clear job) must fail on
``no_collision``, naming the robot link, the fixture it drove through and the time, with a
snapshot PNG beside the trace.

All runs (the good suite and every faulty case) go through one :func:`run_suite` call with
two workers, shared by the module.
"""

from __future__ import annotations

import dataclasses
import json
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
from tests.helpers import PLANT_MODELS, ROOT, run_cli
from vcommission.scenario.loader import load_scenarios
from vcommission.scenario.requirements import load_requirements
from vcommission.scenario.results import ScenarioResult, Verdict
from vcommission.scenario.runner import run_scenario
from vcommission.scenario.suite import run_suite
from vcommission.scenario.trace import Trace, first_divergence

pytestmark = pytest.mark.xdist_group("pick_and_place_suite")

CELL = PLANT_MODELS / "pick_and_place"
PROGRAM = CELL / "plc" / "pick_and_place.st"
FAULTY = CELL / "plc" / "faulty"
SUITE = ROOT / "scenarios" / "pick_and_place"
REQUIREMENTS = load_requirements(SUITE / "requirements.yaml").ids
GOOD = PROGRAM.name
#: The scenario the wrong-order program is caught in, and the fixture it drives through.
WRONG_ORDER = "pp8_place_before_clear.st"
NOMINAL = "pp2_nominal_cycle.yaml"
POST = "fixtures.camera_post"
ROBOT_CHECK = "the robot links never touch the cell or a part"


BUGS = [
    Bug(
        "pp1_start_in_manual.st",
        "PP1",
        ("pp1_start_refused.yaml",),
        "no start with the key at MANUAL, the door open, the curtain broken or stop held",
        ("mode_auto", "light_green"),
    ),
    Bug(
        "pp2_override_50.st",
        "PP2",
        (NOMINAL,),
        "every part in the tray within 5 s of reaching the pick position",
        ("part_present",),
    ),
    Bug(
        "pp3_door_ignored.st",
        "PP3",
        ("pp3_door_opened_mid_move.yaml",),
        "the PLC drops motion enable and stops the belt within 100 ms of the door opening",
        ("door_closed", "rob_move_enable", "conveyor_run"),
    ),
    Bug(
        "pp4_curtain_keeps_belt.st",
        "PP4",
        ("pp4_light_curtain_broken.yaml",),
        "belt, infeed and motion enable off within 100 ms of the curtain breaking",
        ("curtain_clear", "conveyor_run", "infeed_enable", "rob_move_enable"),
    ),
    Bug(
        "pp5_no_drop_check.st",
        "PP5",
        ("pp5_vacuum_lost_mid_move.yaml",),
        "losing the part stops the robot and lights red within 100 ms",
        ("vacuum_ok", "light_red", "rob_move_enable"),
    ),
    Bug(
        "pp6_tray_overfill.st",
        "PP6",
        ("pp6_tray_full.yaml",),
        "the cell stops with amber within 3 s of the fourth part in the tray",
        ("tray.count", "conveyor_run", "light_green", "light_amber"),
    ),
    Bug(
        "pp7_estop_keeps_drives.st",
        "PP7",
        ("pp7_estop_mid_move.yaml",),
        "e-stop switches the drives off, stops belt and infeed and lights red within one scan",
        ("estop_ok", "rob_drives_on"),
    ),
    Bug(WRONG_ORDER, "PP8", (NOMINAL,), ROBOT_CHECK, ()),
]


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, str], list[ScenarioResult]]:
    """(program, scenario file name) -> its results, all in one suite run."""
    return suite_runs(SUITE, FAULTY, GOOD, BUGS)


def test_traces_are_bit_identical_to_the_stored_digests(
    runs: dict[tuple[str, str], list[ScenarioResult]],
) -> None:
    """Per-tick optimisations must not change what any run of the suite recorded."""
    assert run_digests(runs) == stored_digests("pick_and_place")


# ---- the suite as written ---------------------------------------------------------------------


def test_every_requirement_is_checked_and_every_scenario_checks_collisions() -> None:
    scenarios = good_scenarios(SUITE)
    assert len({s.file for s in scenarios}) >= 6
    covered = set()
    for scenario in scenarios:
        spec = scenario.spec
        assert spec.description.strip(), f"{scenario.file}: no description"
        for check in spec.checks:
            assert check.requirement in spec.requirements, (scenario.file, check.name)
            covered.add(check.requirement)
        kinds = {check.kind for check in spec.checks}
        assert "no_collision" in kinds, f"{scenario.file}: no collision check of the arm"
    assert covered == set(REQUIREMENTS)


def test_the_suite_passes_with_the_reference_program(runs: dict) -> None:
    results = [r for (program, _), rs in runs.items() if program == GOOD for r in rs]
    failed = [r for r in results if r.verdict is not Verdict.PASSED]
    assert not failed, describe_results(failed)
    assert all(r.virtual_s > 0 and r.checks for r in results)


def test_every_faulty_program_is_registered_and_documents_what_it_breaks() -> None:
    programs = sorted(p.name for p in FAULTY.glob("*.st"))
    assert programs == sorted(bug.program for bug in BUGS)
    for bug in BUGS:
        header = (FAULTY / bug.program).read_text().split("*)", 1)[0]
        assert re.search(rf"BREAKS\s+{bug.requirement}\b", header), bug.program
        assert "BUG" in header and "CAUGHT" in header, bug.program


@pytest.mark.parametrize("bug", BUGS, ids=[bug.program for bug in BUGS])
def test_the_suite_catches_the_bug_on_its_requirements_check(runs: dict, bug: Bug) -> None:
    results = [r for name in bug.scenarios for r in runs[(bug.program, name)]]
    report = describe_results(results)
    assert all(r.verdict is not Verdict.ERROR for r in results), report
    assert any(r.verdict is Verdict.FAILED for r in results), report
    failed = failed_checks(results)
    assert {c.requirement for c in failed if c.kind not in RUNNER_KINDS} == {bug.requirement}, (
        report
    )
    caught = [c for c in failed if c.name == bug.check]
    assert caught, f"{bug.check!r} did not fail:\n{report}"
    for check in caught:
        evidence = check.evidence
        assert evidence is not None, report
        assert set(bug.tags) <= set(evidence.tags), (evidence.tags, report)
        assert evidence.time_s > 0
        assert "t=" in check.message, "the message says when"


def test_the_wrong_job_order_is_caught_on_no_collision_naming_link_fixture_and_time(
    runs: dict,
) -> None:
    (result,) = runs[(WRONG_ORDER, NOMINAL)]
    (check,) = [c for c in result.checks if c.name == ROBOT_CHECK]
    assert check.verdict is Verdict.FAILED, describe_results([result])
    # "robot:link6 and fixtures.camera_post interpenetrated by 0.1 mm at t=7.630 s ..."
    assert re.search(r"robot(\.links)?:link\d", check.message), check.message
    assert POST in check.message, check.message
    assert re.search(r"t=\d+\.\d+ s", check.message), check.message
    # With the reference program the same scenario passes the same check.
    (good,) = runs[(GOOD, NOMINAL)]
    assert [c.verdict for c in good.checks if c.name == ROBOT_CHECK] == [Verdict.PASSED]


def test_the_cell_runs_identically_twice_in_one_process_and_in_a_worker(tmp_path) -> None:
    """Same model, scenario, seed and program: the same trace (the robot's IK caches too)."""
    (scenario,) = load_scenarios(SUITE / "pp7_estop_mid_move.yaml")
    here = [run_scenario(scenario, trace_dir=tmp_path / f"here{i}") for i in range(2)]
    twin = dataclasses.replace(scenario, params={"copy": 1})
    (there,) = run_suite([twin], jobs=2, trace_dir=tmp_path / "worker")
    traces = [Trace.load(r.trace_file) for r in [*here, there]]
    assert len(traces[0].changes) > 100 and traces[0].parts, "too little happened to compare"
    for other in traces[1:]:
        assert first_divergence(traces[0], other) is None
        assert other.changes == traces[0].changes and other.parts == traces[0].parts


# ---- the command line ---------------------------------------------------------------------------


def test_the_wrong_order_run_writes_a_snapshot_of_the_contact_beside_the_trace(tmp_path) -> None:
    traces = tmp_path / "traces"
    out = tmp_path / "results.json"
    result = run_cli(
        "run",
        str(SUITE / NOMINAL),
        "--plc",
        str(FAULTY / WRONG_ORDER),
        "--trace-dir",
        str(traces),
        "--json",
        str(out),
        "-j",
        "1",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    (scenario,) = json.loads(out.read_text())["scenarios"]
    (check,) = [c for c in scenario["checks"] if c["name"] == ROBOT_CHECK]
    assert check["verdict"] == "failed"
    pngs = sorted(traces.rglob("*.png"))
    assert pngs, sorted(str(p) for p in traces.rglob("*"))
    assert any(str(png.name) in json.dumps(check) for png in pngs), check
    assert all(png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for png in pngs)


def test_io_list_prints_the_cells_contract() -> None:
    result = run_cli("io-list", str(CELL))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for tag in ("rob_ext_start", "rob_pgno", "rob_rdy", "door_lock", "curtain_clear", "vacuum_ok"):
        assert tag in text, tag
    assert "%QX1.0" in text and "%QW0" in text  # rob_ext_start, rob_pgno


def test_demo_runs_the_cell_with_its_program() -> None:
    result = run_cli("demo", "--model", str(CELL), "--duration", "20")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK:" in result.stdout, result.stdout
    assert re.search(r"tray: [1-9]\d* part", result.stdout), result.stdout


@pytest.mark.realtime
@pytest.mark.wire
@pytest.mark.parametrize("link", ["modbus", "opcua"])
def test_the_cell_places_a_part_over_the_wire(tmp_path, link):
    """`serve` + `vcommission plc` as separate processes: the soft PLC drives the arm through
    the handshake and the vacuum gripper picks and places a part, over Modbus TCP or OPC UA.
    The operator script presses start once the PLC is up and waits for the tray to count one."""
    import signal
    import subprocess
    import sys

    from tests.helpers import ROOT, free_port, operator_script_output

    script = tmp_path / "operate.yaml"
    script.write_text(
        "steps:\n"
        "  - wait: {until: {tag: light_amber}, timeout: 30}\n"  # the PLC is up: stopped, ready
        "  - hold: 0.5\n"
        "  - pulse: {tag: start_pb.pressed, for: 0.3}\n"
        "  - wait: {until: {tag: tray.count, ge: 1}, timeout: 40}\n"
    )
    port = free_port()
    where = {"modbus": ("--modbus", f"127.0.0.1:{port}", "--opcua", "off"),
             "opcua": ("--opcua", f"127.0.0.1:{port}", "--modbus", "off")}[link]  # fmt: skip
    serve = subprocess.Popen(
        [sys.executable, "-m", "vcommission", "serve", "plant_models/pick_and_place", *where,
         "--duration", "90", "--operator-script", str(script)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    plc = None
    try:
        first = serve.stdout.readline()
        assert "listening" in first, first + serve.stderr.read()
        target = (
            ["--modbus", f"127.0.0.1:{port}"]
            if link == "modbus"
            else ["--opcua", first.split()[-1]]
        )
        plc = subprocess.Popen(
            [sys.executable, "-m", "vcommission", "plc",
             "plant_models/pick_and_place/plc/pick_and_place.st", *target,
             "--model", "plant_models/pick_and_place", "--duration", "85"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        text = operator_script_output(serve, 90)
    finally:
        if plc is not None:
            plc.kill()
            plc.wait()
        serve.send_signal(signal.SIGTERM)
        serve.communicate(timeout=20)
    assert "operator script done" in text, text
