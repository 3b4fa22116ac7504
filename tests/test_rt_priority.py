"""Real-time priority of the pacing thread: taken while pacing, given back, never inherited."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from tests.helpers import SORTING_LINE
from vcommission.clock import ClockMode, RealTimePacer
from vcommission.config.model import load_model
from vcommission.plant.plant import Plant
from vcommission.simulator import Simulator

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setscheduler"), reason="Linux scheduler policies"
)


def _policy(pid: int = 0) -> int:
    return os.sched_getscheduler(pid) & ~os.SCHED_RESET_ON_FORK


def _in_thread(work):
    """Run ``work()`` in a fresh thread (the scheduler policy is per thread); its result."""
    box: dict[str, object] = {}

    def main() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:  # handed to the test's thread
            box["error"] = exc

    thread = threading.Thread(target=main)
    thread.start()
    thread.join(60)
    if "error" in box:
        raise box["error"]
    return box["result"]


@pytest.fixture(scope="module")
def fifo_allowed():
    def probe() -> bool:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        except PermissionError:
            return False
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        return True

    if not _in_thread(probe):
        pytest.skip("this user may not use SCHED_FIFO (not root, no CAP_SYS_NICE or rtprio)")


@pytest.fixture(scope="module")
def model():
    return load_model(SORTING_LINE)


def test_the_pacing_thread_runs_on_sched_fifo_while_it_paces_and_normally_after(
    fifo_allowed, model
):
    def run():
        seen = []
        with Plant(model) as plant:
            sim = Simulator(plant, ClockMode.REALTIME, speed=5.0, rt_priority=7)
            sim.monitors.append(
                lambda now, changed: seen.append((_policy(), os.sched_getparam(0).sched_priority))
            )
            before = _policy()
            sim.run_for(0.1)
            return before, seen, _policy(), sim.pacer.priority

    before, seen, after, status = _in_thread(run)
    assert before == os.SCHED_OTHER
    assert seen and set(seen) == {(os.SCHED_FIFO, 7)}
    assert after == os.SCHED_OTHER
    assert status == "normal"


def test_threads_and_processes_started_by_the_pacing_thread_start_normal(fifo_allowed):
    def run():
        pacer = RealTimePacer(rt_priority=5)
        assert pacer.take_priority() == "SCHED_FIFO 5"
        mine = _policy()
        child_thread = _in_thread(_policy)
        # The OPC UA child and chromium are processes started this way.
        child_process = subprocess.run(
            [sys.executable, "-c", "import os; print(os.sched_getscheduler(0))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        pacer.release_priority()
        return mine, child_thread, int(child_process)

    mine, child_thread, child_process = _in_thread(run)
    assert mine == os.SCHED_FIFO
    assert child_thread == os.SCHED_OTHER
    assert child_process == os.SCHED_OTHER


def test_a_pacer_a_second_behind_gives_its_priority_back(fifo_allowed):
    now = [0]

    def clock() -> int:
        now[0] += 300_000_000  # every read 0.3 s later: no tick is ever on time
        return now[0]

    def run():
        pacer = RealTimePacer(rt_priority=5, clock=clock)
        pacer.start(0)
        held = _policy()
        for tick in range(10):
            pacer.wait_until(tick * 10_000_000)
        return held, _policy(), pacer.priority, pacer.late_ticks

    held, after, status, late = _in_thread(run)
    assert held == os.SCHED_FIFO
    assert after == os.SCHED_OTHER
    assert "no time left to sleep" in status
    assert late == 10  # still paced and counted, at normal priority


@pytest.mark.realtime
def test_a_pacer_too_fast_to_sleep_between_ticks_gives_its_priority_back(fifo_allowed):
    """``--speed 20`` of 10 ms ticks: 0.5 ms a tick, always inside the early wake-up, so
    the thread only spins; it must not do so at a priority nothing else can preempt."""

    def run():
        pacer = RealTimePacer(speed=20.0, rt_priority=5)
        pacer.start(0)
        policies = []
        for tick in range(3000):  # 1.5 s of wall time
            pacer.wait_until(tick * 10_000_000)
            if tick % 500 == 0:
                policies.append(_policy())
        return policies, pacer.priority

    policies, status = _in_thread(run)
    assert policies[0] == os.SCHED_FIFO
    assert policies[-1] == os.SCHED_OTHER
    assert "no time left to sleep" in status


@pytest.mark.realtime
def test_a_pacer_that_keeps_time_keeps_its_priority(fifo_allowed):
    def run():
        pacer = RealTimePacer(speed=2.0, rt_priority=5)
        pacer.start(0)
        for tick in range(260):  # 1.3 s of wall time, 5 ms a tick: each sleeps about 3 ms
            pacer.wait_until(tick * 10_000_000)
        held = _policy()
        pacer.release_priority()
        return held, pacer.late_ticks

    held, late = _in_thread(run)
    assert held == os.SCHED_FIFO
    # Most ticks on time (the host may still steal the cores for a few: CI saw 4 of 260).
    assert late < 26


def test_no_rt_priority_leaves_the_scheduler_alone(model):
    def run():
        with Plant(model) as plant:
            sim = Simulator(plant, ClockMode.REALTIME, speed=10.0)
            policies = []
            sim.monitors.append(lambda now, changed: policies.append(_policy()))
            sim.run_for(0.05)
            return set(policies), sim.pacer.priority

    policies, status = _in_thread(run)
    assert policies == {os.SCHED_OTHER}
    assert status == "normal"


def test_a_refused_priority_says_why_and_the_pacer_runs_on(monkeypatch):
    # As root the kernel never refuses; an ordinary user's refusal is this error.
    def refuse(*_args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    pacer = RealTimePacer(speed=10.0, rt_priority=10)
    pacer.start(0)
    pacer.wait_until(10_000_000)
    assert pacer.priority.startswith("normal (real-time priority refused: Operation not")
    assert "CAP_SYS_NICE" in pacer.priority
    assert pacer.ticks == 1


@pytest.mark.parametrize("value", [-1, 100])
def test_rt_priority_outside_1_to_99_is_refused(value):
    with pytest.raises(ValueError, match="rt_priority"):
        RealTimePacer(rt_priority=value)
