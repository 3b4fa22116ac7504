"""Simulator tick order, controllers, clock modes and real-time pacing."""

from __future__ import annotations

import asyncio
import time

import pytest

import vcommission.clock
from tests.helpers import SORTING_LINE
from vcommission.clock import ClockMode, RealTimePacer, ns_to_s, s_to_ns
from vcommission.config.model import load_model
from vcommission.errors import SignalError
from vcommission.plant.plant import Plant
from vcommission.simulator import ChangeRecorder, Simulator


@pytest.fixture(scope="module")
def model():
    return load_model(SORTING_LINE)


@pytest.fixture
def plant(model):
    with Plant(model) as plant:
        yield plant


def test_time_is_integer_nanoseconds():
    assert s_to_ns(0.01) == 10_000_000
    assert s_to_ns(3.0) == 3 * 10**9
    assert ns_to_s(1_500_000_000) == 1.5


def test_a_staged_write_is_latched_and_committed_in_the_next_tick(plant):
    sim = Simulator(plant)
    recorder = ChangeRecorder(plant.image)
    sim.monitors.append(recorder)
    sim.step()
    sim.image.stage("conveyor_run", True)
    assert plant.image["conveyor_run"] is False
    sim.step()
    assert plant.image["conveyor_run"] is True
    assert recorder.edges("conveyor_run") == [(2 * sim.tick_ns, True)]
    # The belt ramps from the tick the command was latched in.
    assert 0 < plant.image["speed_actual"] <= 2000 * 0.01 + 1


def test_operator_press_shows_on_the_contact_after_one_tick(plant):
    sim = Simulator(plant)
    sim.operate("stop_pb.pressed", True)
    sim.step()
    assert plant.image["stop_pb_nc"] is False
    sim.operate("estop.pressed", True)
    sim.step()
    assert plant.image["estop_ok"] is False


class EchoController:
    """Copies pe_entry to light_amber, the way a one-rung PLC program would."""

    def __init__(self) -> None:
        self.scans: list[int] = []

    def scan(self, now_ns, image):
        self.scans.append(now_ns)
        return {"light_amber": image["pe_entry"], "conveyor_run": True, "infeed_enable": True}


def test_controller_is_scanned_at_its_period_and_its_outputs_lag_one_tick(plant):
    sim = Simulator(plant)
    controller = EchoController()
    sim.add_controller(controller, period_s=0.02)
    recorder = ChangeRecorder(plant.image)
    sim.monitors.append(recorder)
    sim.run_for(6)
    assert controller.scans[:3] == [10_000_000, 30_000_000, 50_000_000]
    assert all(
        b - a == 20_000_000 for a, b in zip(controller.scans, controller.scans[1:], strict=False)
    )
    entry = recorder.edges("pe_entry")
    amber = recorder.edges("light_amber")
    assert entry and len(amber) == len(entry)
    for (t_in, v_in), (t_out, v_out) in zip(entry, amber, strict=True):
        assert v_in == v_out
        # Seen at the next scan (up to one period), written, latched one tick later.
        assert sim.tick_ns <= t_out - t_in <= 20_000_000 + sim.tick_ns


def test_run_until_times_out_in_virtual_time(plant):
    sim = Simulator(plant)
    assert sim.run_until(lambda: plant.image["pe_entry"], timeout_s=1.0) is False
    assert sim.now_ns == s_to_ns(1.0)


def test_fast_mode_never_reads_the_wall_clock(plant, monkeypatch):
    def forbidden(*_args):
        raise AssertionError("wall clock read in fast mode")

    for name in ("time", "monotonic", "monotonic_ns", "perf_counter", "time_ns", "sleep"):
        monkeypatch.setattr(time, name, forbidden)
    sim = Simulator(plant, ClockMode.FAST)
    sim.image.stage("conveyor_run", True)
    sim.image.stage("infeed_enable", True)
    sim.run_for(2)
    assert len(plant.parts) == 1


def test_reset_returns_to_power_on(plant):
    sim = Simulator(plant)
    sim.image.stage("conveyor_run", True)
    sim.image.stage("infeed_enable", True)
    sim.run_for(4)
    assert len(plant.parts) == 2 and plant.image["speed_actual"] == 400
    sim.reset()
    assert sim.now_ns == 0 and len(plant.parts) == 0
    assert plant.image["speed_actual"] == 0 and plant.image["conveyor_run"] is False
    assert plant.image["pusher_retracted"] is True and plant.image["estop_ok"] is True


@pytest.mark.realtime
def test_realtime_mode_paces_at_the_speed_factor(plant):
    sim = Simulator(plant, ClockMode.REALTIME, speed=4.0)
    started = time.monotonic()
    sim.run_for(0.4)
    # Paced: 0.4 s of virtual time at 4x cannot take less than 0.1 s of wall time.
    assert time.monotonic() - started >= 0.1 - 0.01
    assert sim.pacer is not None and len(sim.pacer.lateness_ns) == 40


@pytest.mark.realtime
def test_realtime_mode_records_late_ticks_as_overruns(plant):
    sim = Simulator(plant, ClockMode.REALTIME, speed=1.0)

    def stall(now_ns, changed):
        if now_ns == 5 * sim.tick_ns:
            time.sleep(0.05)  # a stalled tick, e.g. a slow monitor

    sim.monitors.append(stall)
    sim.run_for(0.2)
    overruns = sim.pacer.overruns
    assert overruns and overruns[0].tick_ns == 5 * sim.tick_ns
    assert overruns[0].late_ns >= 30_000_000
    # Not caught up by skipping: every tick still ran.
    assert sim.ticks == 20


def test_pacer_rejects_bad_speed():
    with pytest.raises(ValueError, match="speed"):
        RealTimePacer(0)


@pytest.mark.realtime
def test_run_async_beside_other_tasks(plant):
    sim = Simulator(plant, ClockMode.REALTIME, speed=10.0)
    ticks_seen = []

    async def other():
        while sim.now_ns < s_to_ns(0.3):
            ticks_seen.append(sim.ticks)
            await asyncio.sleep(0.005)

    async def main():
        await asyncio.gather(sim.run_async(0.3), other())

    asyncio.run(main())
    assert sim.now_ns == s_to_ns(0.3)
    assert len(set(ticks_seen)) > 3  # the other task ran while the plant was paced


@pytest.mark.realtime
def test_realtime_pacing_restarts_after_a_reset_and_after_a_pause(plant):
    sim = Simulator(plant, ClockMode.REALTIME, speed=4.0)
    sim.run_for(0.2)
    time.sleep(0.2)  # idle between runs, e.g. a scenario runner doing its bookkeeping
    started = time.monotonic()
    sim.run_for(0.2)
    assert time.monotonic() - started >= 0.05 - 0.01  # paced, not caught up in a burst
    # Had the pacer kept its old anchor, the first tick after the pause would be late by the
    # whole 200 ms pause. A loaded CI machine may still make a tick a few ms late, so the
    # bound sits between scheduler noise and the pause.
    assert _worst_lateness_ns(sim.pacer) < 50_000_000
    sim.reset()
    started = time.monotonic()
    sim.run_for(0.2)
    assert time.monotonic() - started >= 0.05 - 0.01
    assert _worst_lateness_ns(sim.pacer) < 50_000_000


def _worst_lateness_ns(pacer):
    return max((overrun.late_ns for overrun in pacer.overruns), default=0)


def test_run_async_in_fast_mode_does_not_read_the_wall_clock(plant, monkeypatch):
    # The event loop reads its own clock; vcommission reads the wall clock only through
    # vcommission.clock (the pacer), which must stay untouched in fast mode.
    class NoClock:
        def __getattr__(self, name):
            raise AssertionError(f"wall clock read in fast mode: time.{name}")

    monkeypatch.setattr(vcommission.clock, "time", NoClock())
    sim = Simulator(plant, ClockMode.FAST)
    asyncio.run(sim.run_async(1.0))
    assert sim.now_ns == s_to_ns(1.0)


def test_operate_refuses_sensor_signals(plant):
    sim = Simulator(plant)
    with pytest.raises(SignalError, match="not writable"):
        sim.operate("pe_entry", True)
    sim.operate("belt.reverse", True)  # an unwired input: internal, writable by scenarios
