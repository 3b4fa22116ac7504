"""The composition root (vcommission.session) and the wiring bugs it removed, one test each."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, SORTING_LINE, SORTING_ST, SORTING_SUITE, run_cli
from vcommission.adapters.inprocess import InProcessLink
from vcommission.config.model import load_model
from vcommission.errors import VcommissionError
from vcommission.plant.plant import Plant
from vcommission.plc import compile_program
from vcommission.scenario.loader import load_scenarios
from vcommission.scenario.results import Verdict
from vcommission.scenario.runner import WorkerCache, run_scenario
from vcommission.scenario.schema import Scenario
from vcommission.scenario.trace import TraceRecorder
from vcommission.session import ServerProtocol, SessionBuilder
from vcommission.simulator import ChangeRecorder
from vcommission.watchdog import WatchdogConfig

MODEL = SORTING_LINE
SUITE = SORTING_SUITE


@pytest.fixture(scope="module")
def model():
    return load_model(MODEL)


@pytest.fixture(scope="module")
def program(model):
    return compile_program(SORTING_ST, model)


def _press_start(sim) -> None:
    sim.operate("start_pb.pressed", True)
    sim.run_for(0.2)
    sim.operate("start_pb.pressed", False)
    sim.run_for(0.3)


# ---- the builder ---------------------------------------------------------------------------


def test_a_built_session_scans_its_plc_over_the_in_process_link_and_records(model, program):
    with SessionBuilder(model, seed=3).plc(program).recorder(TraceRecorder).build() as session:
        assert isinstance(session.link, InProcessLink) and session.link.plc is session.plc
        assert isinstance(session.recorder, TraceRecorder)
        assert session.plant.seed == 3 and session.owns_plant
        _press_start(session.sim)
        assert session.plant.image["conveyor_run"] is True
        assert session.link.delivered == 50  # one scan every 10 ms, from the first tick on
        assert any(
            session.plant.image.table.signals[i].name == "conveyor_run"
            for _, i, _ in session.recorder.changes
        )
    assert session.plant.world is None  # the session made the plant, so it closed it


def test_a_kept_plant_is_not_closed_with_the_session(model):
    with Plant(model) as plant:
        with SessionBuilder(model, plant).build() as session:
            assert type(session.recorder) is ChangeRecorder and not session.owns_plant
        assert plant.world is not None


def test_a_session_may_keep_no_record(model):
    with SessionBuilder(model).recorder(None).build() as session:
        assert session.recorder is None
        session.sim.run_for(0.1)  # nothing records the changes of a long-running served plant
        assert session.sim.monitors == []


def test_the_watchdog_is_attached_only_when_a_plc_talks_to_the_plant(model, program):
    with SessionBuilder(model).build() as bare:
        assert bare.watchdog is None
    with SessionBuilder(model).plc(program).build() as in_process:
        assert in_process.watchdog is not None
        assert in_process.watchdog in in_process.sim.monitors
    with SessionBuilder(model).plc(program).watchdog(None).build() as switched_off:
        assert switched_off.watchdog is None
    with SessionBuilder(model).plc(program).watchdog(WatchdogConfig(0.0)).build() as zero:
        assert zero.watchdog is None
    served = SessionBuilder(model).serve(ServerProtocol.MODBUS).build()
    assert served.watchdog is not None
    served.close()


def test_the_watchdog_acts_while_an_in_process_plc_link_is_down(model, program):
    """The fault docs promise the model's watchdog during link faults in scenarios too."""
    with SessionBuilder(model).plc(program).build() as session:
        sim, link, watchdog = session.sim, session.link, session.watchdog
        _press_start(sim)
        sim.run_for(2.0)  # a steady PLC writes nothing new, and still keeps the watchdog fed
        assert session.plant.image["conveyor_run"] is True and not watchdog.events
        link.up = False
        sim.run_for(1.5)
        assert watchdog.tripped and session.plant.image["conveyor_run"] is False
        link.up = True
        session.plc.resend_outputs()
        sim.run_for(0.1)
        assert [e.kind for e in watchdog.events] == ["tripped", "resumed"]
        assert session.plant.image["conveyor_run"] is True


@pytest.mark.wire
async def test_servers_start_in_order_and_stop_in_reverse(model):
    session = SessionBuilder(model).serve("modbus").serve("opcua").through_proxy().build()
    with session:
        async with session:
            (modbus, ua) = [server for _, server in session.served()]
            assert [p for p, _ in session.served()] == [ServerProtocol.MODBUS, ServerProtocol.OPCUA]
            assert modbus.on_commit in session.sim.listeners
            assert ua.on_commit in session.sim.listeners
            assert session.proxy is not None and session.proxy.target[1] == modbus.port
            # A client through the proxy reaches the Modbus server.
            _reader, writer = await asyncio.open_connection("127.0.0.1", session.proxy.port)
            writer.close()
        assert session.sim.listeners == [] and session.servers == [] and session.proxy is None


@pytest.mark.wire
async def test_a_server_that_cannot_start_undoes_the_ones_before_it(model):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        session = SessionBuilder(model).serve("opcua").serve("modbus", port=port).build()
        with session:
            with pytest.raises((OSError, VcommissionError)):
                await session.start()
            assert session.servers == [] and session.sim.listeners == []


# ---- bugs of wiring spread over several places ---------------------------------------------


def test_a_plant_reset_forgets_the_plc_writes_of_the_run_before(model):
    with Plant(model) as plant:
        plant.image.stage("conveyor_run", True)
        assert plant.image.plc_writes == 1
        plant.reset()
        assert plant.image.plc_writes == 0


#: The built-in PLC over Modbus: the words after ``python -m vcommission`` in a command.
PLC_WORDS = f'plc, {SORTING_ST}, --modbus, "{{url}}", --model, {MODEL}'


def _external(
    tmp_path: Path,
    name: str,
    command: str,
    *,
    duration: float,
    extra: str = "",
    conveyor_runs: bool = False,
) -> Scenario:
    """A scenario whose PLC is ``command`` (YAML flow-list words) over Modbus, loaded."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(
        f"name: {name}\nmodel: {MODEL}\nduration: {duration}\n"
        f"plc:\n  external:\n    link: modbus\n    command: [{sys.executable}, {command}]\n"
        f"{extra}"
        f"checks:\n  - final_state: {{tags: {{conveyor_run: {str(conveyor_runs).lower()}}}}}\n"
    )
    (scenario,) = load_scenarios(path)
    return scenario


def _never_connects(tmp_path: Path, name: str) -> Scenario:
    sleeps = '-c, "import time; time.sleep(5)"'
    return _external(tmp_path, name, sleeps, duration=1, extra="    connect_timeout: 0.3\n")


@pytest.mark.realtime
@pytest.mark.wire
def test_every_scenario_of_a_worker_waits_for_its_own_external_plc(tmp_path):
    """A worker keeps its plant between scenarios: the second must not inherit the first's
    PLC writes (it did: time started at once and a PLC that never connects passed)."""
    cache = WorkerCache()
    try:
        for name in ("first", "second", "third"):
            if name == "second":
                # One that a PLC does write to, in between.
                writer = _external(
                    tmp_path, "writer", f"-m, vcommission, {PLC_WORDS}", duration=0.5
                )
                # Vacuous, not failed: nothing moves, so conveyor_run = FALSE proves no work.
                assert run_scenario(writer, cache).verdict is Verdict.VACUOUS
            result = run_scenario(_never_connects(tmp_path, name), cache)
            assert result.verdict is Verdict.ERROR, (name, result.checks)
            assert "did not write within 0.3 s" in (result.error or "")
    finally:
        cache.close()


@pytest.mark.realtime
@pytest.mark.wire
def test_a_plc_that_writes_much_to_stderr_is_not_blocked_by_its_pipe(tmp_path):
    """A pipe nobody reads fills at 64 KiB: a chatty PLC then hangs before its first write."""
    chatty = (
        "import os, sys; sys.stderr.write('x' * 1_000_000); sys.stderr.flush(); "
        "os.execv(sys.executable, [sys.executable, '-m', 'vcommission', *sys.argv[1:]])"
    )
    scenario = _external(
        tmp_path,
        "chatty",
        f'-c, "{chatty}", {PLC_WORDS}',
        duration=1.2,
        extra=(
            "    connect_timeout: 5\n"
            "steps:\n  - hold: 0.3\n  - pulse: {tag: start_pb.pressed, for: 0.2}\n"
        ),
        conveyor_runs=True,
    )
    result = run_scenario(scenario)
    assert result.verdict is Verdict.PASSED, (result.error, [c.message for c in result.checks])


@pytest.mark.wire
def test_a_plc_that_exits_before_writing_is_reported_with_its_stderr(tmp_path):
    dies = "-c, \"import sys; sys.exit('no licence for this PLC')\""
    scenario = _external(tmp_path, "dies", dies, duration=1)
    result = run_scenario(scenario)
    assert result.verdict is Verdict.ERROR
    assert "exited with code 1 before it wrote" in (result.error or "")
    assert "no licence for this PLC" in (result.error or "")


@pytest.mark.realtime
@pytest.mark.wire
def test_an_external_plc_that_crashes_mid_run_fails_with_its_stderr(tmp_path):
    crashes = (
        "import subprocess, sys; subprocess.run([sys.executable, '-m', 'vcommission', "
        "*sys.argv[1:]]); sys.exit('licence expired')"
    )
    words = f'-c, "{crashes}", {PLC_WORDS}, --duration, "0.4"'
    scenario = _external(tmp_path, "crash", words, duration=1.5)
    result = run_scenario(scenario)
    assert result.verdict is Verdict.FAILED, result.error
    first = result.checks[0]
    assert (first.name, first.kind, first.verdict) == ("PLC running", "plc", Verdict.FAILED)
    assert "exited with code 1 during the run" in first.message
    assert "licence expired" in first.message


@pytest.mark.realtime
def test_a_real_time_result_says_how_well_the_plant_kept_time(tmp_path):
    path = tmp_path / "rt.yaml"
    path.write_text(
        f"name: rt\nmodel: {MODEL}\nclock: realtime\nspeed: 4\nduration: 1\n"
        "checks:\n  - final_state: {tags: {conveyor_run: false}}\n"
    )
    (scenario,) = load_scenarios(path)
    result = run_scenario(scenario)
    # Nothing failed; with no PLC moving anything the end state is vacuous.
    assert result.verdict is Verdict.VACUOUS
    pacing = result.pacing
    assert pacing["ticks"] == 100  # 1 s of 10 ms ticks, every one paced
    assert 0 <= pacing["late_ticks"] <= pacing["ticks"]
    assert 0 <= pacing["lateness_p99_ms"] <= pacing["lateness_max_ms"]
    assert json.loads(json.dumps(result.to_json()))["pacing"] == pacing


def test_a_virtual_time_result_has_no_pacing(tmp_path):
    path = tmp_path / "fast.yaml"
    path.write_text(
        f"name: fast\nmodel: {MODEL}\nduration: 1\n"
        "checks:\n  - final_state: {tags: {conveyor_run: false}}\n"
    )
    (scenario,) = load_scenarios(path)
    assert run_scenario(scenario).pacing == {}


# ---- the README's over-the-wire recipe -----------------------------------------------------

#: Bundled scenarios short enough to run in real time here, run as one suite (the second
#: reuses the first one's plant, where the PLC write count used to survive the reset).
OVER_THE_WIRE = ("r1_start.yaml", "r1_start_inhibited.yaml")


@pytest.mark.realtime
@pytest.mark.wire
def test_the_over_the_wire_recipe_gives_the_in_process_verdicts_in_one_run(tmp_path):
    """The README's recipe, bundled scenarios and sorting.st over Modbus, in ONE ``run`` with
    one worker (so every scenario after the first reuses the worker's plant). It failed the
    second and later scenarios while the plant kept the first one's PLC write count."""
    link = "modbus"
    command = (
        f"[{sys.executable}, -m, vcommission, plc, {SORTING_ST}, --{link}, "
        f'"{{url}}", --model, {MODEL}]'
    )
    for name in OVER_THE_WIRE:
        text = (SUITE / name).read_text().replace("../../plant_models/sorting_line", str(MODEL))
        assert "\nplc:" not in text
        text += f"plc:\n  external: {{link: {link}, command: {command}}}\n"
        (tmp_path / name).write_text(text)
    wire = run_cli(
        "run", str(tmp_path), "-j", "1", "--allow-commands", "--json", str(tmp_path / "wire.json")
    )
    local = run_cli(
        "run", *(str(SUITE / n) for n in OVER_THE_WIRE), "--json", str(tmp_path / "local.json")
    )
    assert local.returncode == 0, local.stdout
    verdicts = {}
    for which in ("wire", "local"):
        report = json.loads((tmp_path / f"{which}.json").read_text())
        verdicts[which] = {
            s["name"]: (s["verdict"], [c["verdict"] for c in s["checks"]])
            for s in report["scenarios"]
        }
    assert verdicts["wire"] == verdicts["local"], wire.stdout
    assert wire.returncode == 0


def test_reports_show_a_late_plant_beside_its_verdict(tmp_path):
    from rich.console import Console

    from vcommission.reporting.console import ConsoleReporter
    from vcommission.reporting.junit import junit_xml
    from vcommission.scenario.results import ScenarioResult

    pacing = {"ticks": 400, "late_ticks": 37, "lateness_p99_ms": 4.5, "lateness_max_ms": 12.0}
    late = ScenarioResult("late", "late.yaml", Verdict.FAILED, pacing=pacing)
    on_time = ScenarioResult(
        "on time", "ok.yaml", Verdict.PASSED, pacing={**pacing, "late_ticks": 0}
    )
    console = ConsoleReporter(Console(file=io.StringIO()))
    shown = [line.plain for line in console.scenario_lines(late)]
    assert "  real time: 37 of 400 ticks late (p99 4.5 ms, max 12 ms)" in shown
    assert not any("real time" in line.plain for line in console.scenario_lines(on_time))
    xml = junit_xml([late], 1.0)
    assert '<property name="pacing.late_ticks" value="37"' in xml


@pytest.mark.realtime
@pytest.mark.wire
def test_the_readme_session_example_runs(tmp_path):
    """The Architecture section's SessionBuilder example, as written (on a free port)."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```python\nimport asyncio\n") + len("```python\n")
    code = readme[start : readme.index("```", start)]
    assert "SessionBuilder" in code and "port=5020" in code
    script = tmp_path / "example.py"
    script.write_text(code.replace("port=5020", "port=0"))
    done = subprocess.run(
        [sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.wire
def test_an_external_plc_command_runs_in_the_scenario_files_directory(tmp_path, monkeypatch):
    """Relative paths in a command resolve from the scenario file, as `model:` does (they
    resolved from the shell's directory, and the PLC failed with only a timeout)."""
    (tmp_path / "plc_here.py").write_text(
        "import os, sys\nprint('started in', os.getcwd(), file=sys.stderr)\nsys.exit(3)\n"
    )
    scenario = _external(tmp_path, "relative", "plc_here.py", duration=1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = run_scenario(scenario)
    assert result.verdict is Verdict.ERROR
    # It ran (a missing script would exit 2 with "can't open file"), from the scenario's folder.
    assert "exited with code 3 before it wrote" in (result.error or "")
    assert f"started in {tmp_path}" in (result.error or "")
