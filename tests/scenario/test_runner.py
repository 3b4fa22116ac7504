"""The runner and the suite: verdicts, errors kept apart, determinism, crashes, the CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ROOT, run_cli
from tests.helpers import SORTING_LINE as MODEL
from tests.helpers import write_scenario as scenario_file
from vcommission.scenario import runner
from vcommission.scenario.loader import load_scenarios
from vcommission.scenario.results import Verdict
from vcommission.scenario.runner import run_scenario
from vcommission.scenario.suite import run_suite
from vcommission.scenario.trace import Trace, first_divergence

IDLE = Path(__file__).with_name("programs") / "idle.st"

SORTING = f"""
name: sorting for a while
requirements: [R3]
model: {MODEL}
duration: 12
steps:
  - hold: 0.3
  - pulse: {{tag: start_pb.pressed, for: 0.2}}
checks:
  - interlock: {{never: {{all: [{{tag: pusher_extend}}, {{tag: conveyor_run}}]}}}}
"""


def test_a_wait_that_times_out_fails_with_evidence(tmp_path):
    text = SORTING.replace(
        "  - pulse: {tag: start_pb.pressed, for: 0.2}",
        "  - wait: {until: {tag: conveyor_run}, timeout: 1.5}",
    )
    (scenario,) = load_scenarios(scenario_file(tmp_path, text))
    result = run_scenario(scenario)
    assert result.verdict is Verdict.FAILED
    wait = result.checks[0]
    assert wait.kind == "wait" and wait.verdict is Verdict.FAILED
    assert "conveyor_run = TRUE" in wait.message and "1.5 s" in wait.message
    assert wait.evidence is not None and wait.evidence.tags == ["conveyor_run"]
    assert wait.evidence.time_s == pytest.approx(1.8)
    # The interlock still gave its own verdict: nothing is lost when a step fails (vacuous:
    # the belt never ran, so its guarded situation never arose).
    assert result.checks[1].verdict is Verdict.VACUOUS


def test_a_plc_runtime_fault_fails_the_scenario_with_its_line(tmp_path):
    program = tmp_path / "divide.st"
    program.write_text(
        "PROGRAM Main\nVAR go AT %IX0.0 : BOOL; d : INT; x : INT; END_VAR\n"
        "IF go THEN\n  x := 10 / d;\nEND_IF;\nEND_PROGRAM\n"
    )
    (scenario,) = load_scenarios(scenario_file(tmp_path, SORTING), plc=program)
    result = run_scenario(scenario)
    assert result.verdict is Verdict.FAILED
    assert result.checks[0].kind == "plc"
    assert f"{program}:4" in result.checks[0].message
    assert "division by zero" in result.checks[0].message


def test_steps_longer_than_the_duration_run_to_their_end(tmp_path):
    text = SORTING.replace("duration: 12", "duration: 0.4")
    (scenario,) = load_scenarios(scenario_file(tmp_path, text))
    result = run_scenario(scenario)
    # Nothing failed; in 0.5 s no box reaches the pusher, so the interlock is vacuous.
    assert result.verdict is Verdict.VACUOUS, result.error
    assert result.virtual_s == pytest.approx(0.5)  # the hold and the pulse, past 0.4 s


def test_an_end_condition_never_reached_fails(tmp_path):
    text = SORTING.replace("duration: 12", "duration: 3\nend: {tag: light_red}")
    (scenario,) = load_scenarios(scenario_file(tmp_path, text))
    result = run_scenario(scenario)
    assert result.verdict is Verdict.FAILED
    assert result.checks[0].kind == "end" and "light_red = TRUE" in result.checks[0].message
    assert result.virtual_s == pytest.approx(3.0)


def test_an_end_condition_without_a_duration_is_waited_for_at_most_the_bound(tmp_path, monkeypatch):
    # The bound made small here: the real one (an hour of virtual time) costs 30 s of CPU.
    monkeypatch.setattr(runner, "MAX_END_WAIT_S", 2.0)
    text = SORTING.replace("duration: 12", "end: {tag: light_red}")
    (scenario,) = load_scenarios(scenario_file(tmp_path, text))
    result = run_scenario(scenario)
    assert result.verdict is Verdict.FAILED
    end = result.checks[0]
    assert end.kind == "end" and "within 2 s (no duration given" in end.message
    assert result.virtual_s == pytest.approx(2.5)  # the steps (0.5 s), then at most 2 s


def test_same_scenario_gives_identical_traces_in_one_process_and_across_workers(tmp_path):
    (scenario,) = load_scenarios(scenario_file(tmp_path, SORTING))
    here = [run_scenario(scenario, trace_dir=tmp_path / f"here{i}") for i in range(2)]
    twins = [dataclasses.replace(scenario, params={"copy": i}) for i in range(2)]
    there = run_suite(twins, jobs=2, trace_dir=tmp_path / "workers")
    traces = [Trace.load(r.trace_file) for r in here + there]
    assert len(traces[0].changes) > 50 and traces[0].parts, "too little happened to compare"
    for other in traces[1:]:
        assert first_divergence(traces[0], other) is None
        assert other.changes == traces[0].changes and other.parts == traces[0].parts
    different = run_scenario(dataclasses.replace(scenario, seed=7), trace_dir=tmp_path / "s7")
    divergence = first_divergence(traces[0], Trace.load(different.trace_file))
    assert divergence is not None and divergence.time_ns > 0


def test_one_scenario_run_against_two_programs_keeps_both_traces(tmp_path):
    """Traces are named after their scenario: a second run of one name in the same suite
    (the reference and a faulty program, say) must not overwrite the first's evidence."""
    path = scenario_file(tmp_path, SORTING)
    reference = load_scenarios(path)
    idle = load_scenarios(path, plc=IDLE)
    results = run_suite([*reference, *idle], jobs=2, trace_dir=tmp_path / "traces")
    files = [Path(r.trace_file) for r in results]
    assert [f.name for f in files] == ["sorting_for_a_while.npz", "sorting_for_a_while-2.npz"]
    traces = [Trace.load(f) for f in files]
    assert traces[0].meta["program"].endswith("sorting.st")
    assert traces[1].meta["program"].endswith("idle.st")
    assert first_divergence(traces[0], traces[1]) is not None
    # The same suite in one process names them alike.
    here = run_suite([*reference, *idle], jobs=1, trace_dir=tmp_path / "here")
    assert [Path(r.trace_file).name for r in here] == [f.name for f in files]


@pytest.mark.parametrize(
    "names, stems",
    [
        (["a", "b"], [None, None]),
        (["a", "a", "a"], [None, "a-2", "a-3"]),
        (["a", "a-2", "a"], [None, None, "a-3"]),  # never a name another scenario has
    ],
)
def test_trace_stems_are_unique_in_suite_order(tmp_path, names, stems):
    (scenario,) = load_scenarios(scenario_file(tmp_path, SORTING))
    named = [
        dataclasses.replace(scenario, spec=dataclasses.replace(scenario.spec, name=name))
        for name in names
    ]
    assert [s.trace_stem for s in runner.with_trace_stems(named)] == stems


class _CrashOnArrival:
    """Unpickling this in a worker kills the worker, as a segfault in a native library would."""

    def __reduce__(self):
        return (os._exit, (7,))

    def __repr__(self) -> str:
        return "crash"


def test_a_crashed_worker_is_an_error_and_the_rest_of_the_suite_completes(tmp_path):
    (scenario,) = load_scenarios(scenario_file(tmp_path, SORTING))
    crashing = dataclasses.replace(scenario, params={"x": _CrashOnArrival()})
    suite = [scenario, crashing, scenario, scenario]
    results = run_suite(suite, jobs=2)
    assert [r.verdict for r in results] == [
        Verdict.PASSED,
        Verdict.ERROR,
        Verdict.PASSED,
        Verdict.PASSED,
    ]
    assert "worker process running it died (exit code 7)" in (results[1].error or "")


# ---- the command line ---------------------------------------------------------------------------


#: The command's mark on stderr, which the runner quotes when a PLC exits before writing.
RAN = "import sys; sys.stderr.write('ran-marker')"
COMMAND = f"""
name: a scenario that starts a program
model: {MODEL}
duration: 1
plc: {{external: {{link: modbus, command: [{sys.executable}, -c, "{RAN}"]}}}}
checks:
  - interlock: {{never: {{tag: light_red}}}}
"""


def test_a_scenario_command_runs_only_when_the_user_allows_commands(tmp_path):
    path = scenario_file(tmp_path, COMMAND)
    refused = run_cli("run", str(path), "-j", "1")
    assert refused.returncode == 2
    assert f"{path}:5: plc.external.command: runs '{sys.executable}' on this machine" in (
        refused.stderr
    )
    assert "--allow-commands" in refused.stderr
    # Allowed, the command does run (and, exiting before it wrote, is an error verdict).
    allowed = run_cli("run", str(path), "-j", "1", "--allow-commands")
    assert "plc.external.command" not in allowed.stderr and "ran-marker" in allowed.stdout
    env_allowed = subprocess.run(
        [sys.executable, "-m", "vcommission", "run", str(path), "-j", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "VCOMMISSION_ALLOW_COMMANDS": "1"}, check=False,
    )  # fmt: skip
    assert "ran-marker" in env_allowed.stdout


def test_the_pytest_plugin_refuses_a_scenario_command_unless_allowed(tmp_path):
    scenario_file(tmp_path, COMMAND, "s_command.yaml")
    base = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "0"]
    result = subprocess.run(
        [*base, str(tmp_path / "s_command.yaml")], cwd=tmp_path, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0 and "--vc-allow-commands" in result.stdout


def test_run_writes_junit_and_json_and_exits_1_on_a_failed_check(tmp_path):
    good = scenario_file(tmp_path, SORTING, "good.yaml")
    failing = SORTING.replace("name: sorting for a while", "name: impossible").replace(
        "  - interlock:", "  - final_state: {bins: {bin_tall: {tall: 99}}}\n  - interlock:"
    )
    scenario_file(tmp_path, failing, "bad.yaml")
    junit, report = tmp_path / "out.xml", tmp_path / "out.json"
    result = run_cli("run", str(tmp_path), "-j", "2", "--junit", str(junit), "--json", str(report))
    assert result.returncode == 1, result.stderr
    assert "FAILED  impossible" in result.stdout and "PASSED  sorting for a while" in result.stdout
    data = json.loads(report.read_text())
    assert data["summary"]["passed"] == 1 and data["summary"]["failed"] == 1
    assert 'failures="1"' in junit.read_text()
    only_good = run_cli("run", str(good), "-k", "sorting and not impossible")
    assert only_good.returncode == 0, only_good.stdout + only_good.stderr


def test_run_reports_a_broken_file_and_still_runs_the_others(tmp_path):
    scenario_file(tmp_path, SORTING, "good.yaml")
    scenario_file(tmp_path, SORTING.replace("hold: 0.3", "hodl: 0.3"), "broken.yaml")
    report = tmp_path / "out.json"
    result = run_cli("run", str(tmp_path), "--json", str(report))
    assert result.returncode == 2
    assert "broken.yaml:7: steps[0].hodl: unknown key 'hodl' (did you mean 'hold'?)" in (
        result.stderr
    )
    verdicts = sorted(s["verdict"] for s in json.loads(report.read_text())["scenarios"])
    assert verdicts == ["error", "passed"]


@pytest.mark.parametrize(
    ("args", "code"),
    [(["run", "nowhere/"], 3), (["run", ".", "-j", "0"], 3), (["run", "-k", "(", "."], 3)],
)
def test_run_usage_errors(args, code):
    assert run_cli(*args).returncode == code


def test_run_with_nothing_to_collect_exits_4(tmp_path):
    (tmp_path / "model.yaml").write_text("name: not a scenario\n")
    assert run_cli("run", str(tmp_path)).returncode == 4


def test_diff_finds_the_first_divergence(tmp_path):
    path = scenario_file(tmp_path, SORTING)
    for label, seed in (("a", 1), ("b", 1), ("c", 2)):
        out = tmp_path / label
        assert (
            run_cli("run", str(path), "--seed", str(seed), "--trace-dir", str(out)).returncode == 0
        )
    a, b, c = (next((tmp_path / label).glob("*.npz")) for label in "abc")
    same = run_cli("diff", str(a), str(b))
    assert same.returncode == 0 and same.stdout.startswith("identical:")
    differ = run_cli("diff", str(a), str(c))
    assert differ.returncode == 1 and "first divergence at t=" in differ.stdout


EXTERNAL = f"""
name: start over the wire
requirements: [R1]
model: {MODEL}
plc:
  external:
    link: LINK
    command: [{sys.executable}, -m, vcommission, plc, {MODEL}/plc/sorting.st, --LINK, "{{url}}",
              --model, {MODEL}]
duration: 3
steps:
  - hold: 0.5
  - pulse: {{tag: start_pb.pressed, for: 0.2}}
checks:
  - requirement: R1
    reaction:
      trigger: {{rising: start_pb}}
      expect: {{all: [{{tag: conveyor_run}}, {{tag: infeed_enable}}]}}
      within: 0.1
  - final_state: {{tags: {{conveyor_run: true, light_green: true}}}}
"""


@pytest.mark.parametrize("link", ["modbus", "opcua"])
@pytest.mark.realtime
@pytest.mark.wire
def test_an_external_plc_started_by_the_scenario_runs_against_the_served_plant(tmp_path, link):
    (scenario,) = load_scenarios(scenario_file(tmp_path, EXTERNAL.replace("LINK", link)))
    result = run_scenario(scenario)
    assert result.verdict is Verdict.PASSED, [c.message for c in result.checks] + [result.error]
    reaction = result.checks[0]
    # Over the wire the reaction includes the PLC's polling and scan: still within 100 ms.
    assert 0 < reaction.figures["max_reaction_s"] <= 0.1
    assert result.virtual_s == pytest.approx(3.0)
    assert result.coverage == {}


@pytest.mark.realtime
@pytest.mark.wire
def test_an_external_plc_that_never_writes_is_a_harness_error(tmp_path):
    text = f"""
name: a PLC that never connects
model: {MODEL}
plc:
  external:
    link: modbus
    command: [{sys.executable}, -c, "import time; time.sleep(5)"]
    connect_timeout: 0.5
duration: 1
checks:
  - final_state: {{tags: {{conveyor_run: false}}}}
"""
    (scenario,) = load_scenarios(scenario_file(tmp_path, text))
    result = run_scenario(scenario)
    assert result.verdict is Verdict.ERROR
    assert "the external PLC did not write within 0.5 s" in (result.error or "")


def _external(tmp_path: Path, steps: str, checks: str, duration: float) -> Any:
    command = (
        f"[{sys.executable}, -m, vcommission, plc, {MODEL}/plc/sorting.st, --modbus, "
        f'"{{url}}", --model, {MODEL}]'
    )
    text = (
        f"name: link fault\nmodel: {MODEL}\nduration: {duration}\n"
        f"plc: {{external: {{link: modbus, command: {command}}}}}\n"
        f"steps:\n{steps}checks:\n{checks}"
    )
    (scenario,) = load_scenarios(scenario_file(tmp_path, text))
    return run_scenario(scenario)


@pytest.mark.realtime
@pytest.mark.wire
def test_latency_on_the_wire_of_an_external_plc_slows_its_reactions(tmp_path):
    result = _external(
        tmp_path,
        "  - fault: {kind: latency, delay: 0.1}\n  - hold: 0.5\n"
        "  - pulse: {tag: start_pb.pressed, for: 1.0}\n",
        "  - reaction: {trigger: {rising: start_pb}, expect: {tag: conveyor_run}, within: 0.1}\n",
        3.0,
    )
    reaction = result.checks[0]
    assert reaction.verdict is Verdict.FAILED, reaction.message
    # Each of the PLC's requests now waits 0.1 s on the wire, the write of conveyor_run too
    # (and its cycle grows to four of them: a press shorter than that could go unseen).
    assert 0.1 < reaction.figures["max_reaction_s"] <= 1.0, reaction.figures


@pytest.mark.realtime
@pytest.mark.wire
def test_a_lost_connection_of_an_external_plc_loses_a_press_until_it_reconnects(tmp_path):
    result = _external(
        tmp_path,
        "  - fault: {kind: lost_connection, for: 1.2}\n  - hold: 0.3\n"
        "  - pulse: {tag: start_pb.pressed, for: 0.2}\n  - hold: 1.5\n"
        "  - wait: {until: {tag: conveyor_run}, timeout: 0.5}\n",
        "  - final_state: {tags: {conveyor_run: false}}\n",
        3.0,
    )
    # The press fell into the outage: the PLC never saw it, so the wait times out.
    assert result.checks[0].kind == "wait" and result.checks[0].verdict is Verdict.FAILED
    after = _external(
        tmp_path,
        "  - fault: {kind: lost_connection, for: 1.2}\n  - hold: 3\n"
        "  - pulse: {tag: start_pb.pressed, for: 0.2}\n",
        "  - final_state: {tags: {conveyor_run: true}}\n",
        4.0,
    )
    assert after.verdict is Verdict.PASSED, [c.message for c in after.checks] + [after.error]
