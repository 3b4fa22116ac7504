"""Benchmark: the pick-and-place cell in lockstep with its ST program, against bare physics.

One plant of ``plant_models/pick_and_place`` driven by ``plc/pick_and_place.st`` (the built-in
soft PLC, scanned every 10 ms tick in lockstep with the plant, as ``vcommission run`` and
``vcommission demo`` run it) at the nominal cycle: the start pressed, the infeed feeding a
part every 6 s, the robot picking, clearing and placing. Each round starts a fresh cell
and, once its first part is placed (the cell is in its cycle; the tray's four positions are
full about 20 s later, and a standing cell is no nominal cycle), lets three contenders take
turns in windows of the same virtual length on that live plant, so machine noise hits all
alike:

* **harness**: the full tick: PLC scan, process image, every component (robot controller
  and kinematics, gripper, safety relay, sensors), physics, trace recorder;
* **harness + collision**: the same with the two ``no_collision`` checks of the suite's
  nominal scenario (``pp2_nominal_cycle.yaml``: robot links and gripper against the cell)
  watching every tick, as a scenario run has them;
* **bare**: the same bodies stepped from a snapshot with physics only (the same solver
  settings, transport surfaces and driven bodies; the arm held where it is, no components,
  PLC, image or monitors), then the snapshot restored so the harness goes on unchanged.

Printed: the median real-time factor of each (virtual seconds per wall second, and per second
of this process's CPU time, which other processes on a shared machine do not inflate), the
ratios measured in this run (harness / bare, collision on / off), and the collision
monitoring's cost per tick. Targets:
harness >= 30x real time; collision monitoring must not halve the RTF (on/off >= 0.5). The
exit status is 1 if a target is missed.

Usage: ``python3 tools/bench/cell.py [--seconds 4] [--windows 7]`` (windows of at most 8 s)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# Measure this checkout, whatever an editable install elsewhere points at.
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vcommission.clock import s_to_ns  # noqa: E402
from vcommission.config.model import load_model  # noqa: E402
from vcommission.plant.plant import Plant  # noqa: E402
from vcommission.plc import compile_program  # noqa: E402
from vcommission.scenario.checks import make_check  # noqa: E402
from vcommission.scenario.context import RunContext  # noqa: E402
from vcommission.scenario.loader import load_scenarios  # noqa: E402

CELL = ROOT / "plant_models" / "pick_and_place"
PROGRAM = CELL / "plc" / "pick_and_place.st"
NOMINAL = ROOT / "scenarios" / "pick_and_place" / "pp2_nominal_cycle.yaml"
TARGET_RTF = 30.0
TARGET_COLLISION_RATIO = 0.5


def _clocks() -> tuple[float, float]:
    """(wall, this process's CPU) seconds: CPU time is what other processes cannot inflate."""
    return time.perf_counter(), time.process_time()


def _bare_window(run: RunContext, ticks: int) -> tuple[float, float]:
    """Wall and CPU seconds to step the world ``ticks`` times with physics only."""
    world = run.plant.world
    assert world is not None
    snapshot = world.save_state()
    moving = [k for k in world.kinematic if not getattr(k, "surface", True)]
    held = [(k, k.position, k.velocity) for k in moving]
    for k in moving:
        k.velocity = (0.0, 0.0, 0.0)  # hold stoppers where they are
    arms = [(a, list(a.position), list(a.velocity)) for a in world.articulated]
    for arm, _, velocity in arms:
        arm.velocity = [0.0] * len(velocity)  # hold the arm where it is
    wall, cpu = _clocks()
    for _ in range(ticks):
        world.step()
    elapsed = (time.perf_counter() - wall, time.process_time() - cpu)
    for k, position, velocity in held:
        k.position, k.velocity = position, velocity
    for arm, position, velocity in arms:
        arm.position, arm.velocity = position, velocity
    world.restore_state(snapshot)
    for arm in world.articulated:
        arm.settle()
    return elapsed


def _harness_window(run: RunContext, seconds: float) -> tuple[float, float]:
    wall, cpu = _clocks()
    run.sim.run_for(seconds)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(seconds: float, windows: int) -> bool:
    """Median RTFs over ``windows`` rounds of the three contenders; True if targets were met."""
    model = load_model(CELL)
    program = compile_program(PROGRAM, model, coverage=False)
    (scenario,) = load_scenarios(NOMINAL)
    collision_specs = [c for c in scenario.spec.checks if c.kind == "no_collision"]
    rtf: dict[str, list[float]] = {"harness": [], "collision": [], "bare": []}
    cpu: dict[str, list[float]] = {name: [] for name in rtf}
    ticks = s_to_ns(seconds) // model.physics.tick_ns

    def record(name: str, elapsed: tuple[float, float]) -> None:
        rtf[name].append(seconds / elapsed[0])
        cpu[name].append(seconds / elapsed[1])

    placed: list[int] = []
    results = []
    for _ in range(windows):
        # A fresh cell each round, measured from its first placed part: four tray positions
        # fill in about 28 s, after which the cell stands (tray full) and would not be the
        # nominal cycle any more.
        with Plant(model) as plant:
            run = RunContext.start(None, model, plant, program)
            sim = run.sim
            sim.run_for(0.3)
            sim.operate("start_pb.pressed", True)
            sim.run_for(0.2)
            sim.operate("start_pb.pressed", False)
            tray = plant.by_name["tray"]
            sim.run_until(lambda tray=tray: len(tray.arrivals) >= 1, timeout_s=20)
            without = run._watchers
            checks = [make_check(spec, run) for spec in collision_specs]
            for check in checks:
                check.start(run)
            with_collision = run._watchers
            run._watchers = without
            first = len(tray.arrivals)
            record("bare", _bare_window(run, ticks))
            record("harness", _harness_window(run, seconds))
            run._watchers = with_collision
            record("collision", _harness_window(run, seconds))
            run._watchers = without
            placed.append(len(tray.arrivals) - first)
            fault = run.plc.fault if run.plc is not None else None
            if fault is not None or run.plant.image["light_amber"]:
                raise SystemExit(f"the cell left its cycle: PLC fault {fault}")
            results = [check.finish(run) for check in checks]
    if sum(placed) < windows:
        raise SystemExit(f"the cell did not run its cycle: placed {placed} in the windows")
    median = {name: statistics.median(values) for name, values in rtf.items()}
    per_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    harness, collision, bare = median["harness"], median["collision"], median["bare"]
    cost_us = (1 / collision - 1 / harness) * model.physics.tick * 1e6
    print(
        f"pick_and_place lockstep with pick_and_place.st, nominal cycle: {windows} rounds (a "
        f"fresh cell each, from its first part placed) of {seconds:g} s virtual per contender; "
        f"{sum(placed)} parts placed in the harness windows"
    )
    print(f"   {'contender':24} {'RTF (median)':>12} {'min':>8} {'max':>8} {'per CPU s':>10}")
    for name, label in (
        ("harness", "harness"),
        ("collision", "harness + no_collision"),
        ("bare", "bare physics"),
    ):
        values = rtf[name]
        print(
            f"   {label:24} {median[name]:>11.1f}x {min(values):>7.1f}x {max(values):>7.1f}x "
            f"{per_cpu[name]:>9.1f}x"
        )
    print(
        f"   harness / bare                 {harness / bare:.2f} "
        f"(per CPU second {per_cpu['harness'] / per_cpu['bare']:.2f})"
    )
    print(
        f"   collision on / off             {collision / harness:.2f} "
        f"(target >= {TARGET_COLLISION_RATIO}: "
        f"{'ok' if collision / harness >= TARGET_COLLISION_RATIO else 'MISSED'}); "
        f"monitoring costs {cost_us:.0f} us a tick"
    )
    print(
        f"   harness RTF {harness:.1f}x (target >= {TARGET_RTF:g}x: "
        f"{'ok' if harness >= TARGET_RTF else 'MISSED'})"
    )
    print("   collision checks: " + "; ".join(f"{r.name}: {r.message}" for r in results))
    return harness >= TARGET_RTF and collision / harness >= TARGET_COLLISION_RATIO


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="virtual s per window (4)")
    parser.add_argument("--windows", type=int, default=7, help="rounds of windows (7)")
    args = parser.parse_args(argv)
    return 0 if measure(args.seconds, args.windows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
