"""PLC communication watchdog: safe state while the PLC is silent, resume when it talks."""

from __future__ import annotations

import pytest

from tests.helpers import SORTING_LINE, run_cli, sorting_line_text, write_model
from vcommission.adapters.inprocess import InProcessLink
from vcommission.config.model import load_model
from vcommission.plant.plant import Plant
from vcommission.simulator import Simulator
from vcommission.watchdog import CommWatchdog, WatchdogConfig


@pytest.fixture
def rig():
    model = load_model(SORTING_LINE)
    with Plant(model) as plant:
        sim = Simulator(plant)
        yield sim, InProcessLink(plant.image)


def test_silent_plc_trips_to_the_safe_state_and_resumes_on_the_next_write(rig):
    sim, plc = rig
    watchdog = CommWatchdog(sim.image, WatchdogConfig(timeout=0.5))
    sim.monitors.append(watchdog)
    sim.run_for(2.0)
    assert not watchdog.tripped  # never armed: no PLC has written yet
    for tag, value in (("conveyor_run", True), ("infeed_enable", True), ("speed_sp", 600)):
        plc.write(tag, value)
    sim.run_for(0.45)
    assert plc.read("conveyor_run") is True and not watchdog.tripped
    sim.run_for(0.2)
    assert watchdog.tripped
    assert [e.kind for e in watchdog.events] == ["tripped"]
    tripped_at = watchdog.events[0].time_ns
    assert 2.5e9 < tripped_at <= 2.5e9 + 0.5e9 + 2 * sim.tick_ns
    sim.step()
    # Actuators off; numeric setpoints keep their value.
    assert plc.read("conveyor_run") is False and plc.read("infeed_enable") is False
    assert plc.read("speed_sp") == 600
    sim.run_for(1.0)
    assert [e.kind for e in watchdog.events] == ["tripped"]  # trips once, not every tick
    plc.write("conveyor_run", True)
    sim.step()
    sim.step()
    assert [e.kind for e in watchdog.events] == ["tripped", "resumed"]
    assert plc.read("conveyor_run") is True and not watchdog.tripped


def test_safe_state_values_from_the_model(rig):
    sim, plc = rig
    watchdog = CommWatchdog(sim.image, WatchdogConfig(0.1, {"light_red": True, "speed_sp": 0}))
    sim.monitors.append(watchdog)
    plc.write("light_green", True)
    sim.run_for(0.3)
    assert plc.read("light_red") is True and plc.read("light_green") is False
    assert plc.read("speed_sp") == 0


def test_timeout_zero_disables(rig):
    sim, plc = rig
    watchdog = CommWatchdog(sim.image, WatchdogConfig(timeout=0))
    sim.monitors.append(watchdog)
    plc.write("conveyor_run", True)
    sim.run_for(3)
    assert not watchdog.tripped and plc.read("conveyor_run") is True


def test_safe_state_must_name_plc_outputs(tmp_path):
    text = sorting_line_text()
    text += "plc_watchdog:\n  timeout: 0.5\n  safe_state: {pe_entry: true, speed_sp: 5000}\n"
    write_model(tmp_path, text)
    result = run_cli("check", str(tmp_path))
    assert result.returncode == 1
    lines = text.splitlines()
    line = len(lines)
    assert (
        f"model.yaml:{line}: plc_watchdog.safe_state.pe_entry: 'pe_entry' is not a PLC output"
        in result.stderr
    )
    assert (
        f"model.yaml:{line}: plc_watchdog.safe_state.speed_sp: 5000 outside range" in result.stderr
    )
