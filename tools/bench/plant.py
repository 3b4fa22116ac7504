"""Benchmark: real-time factor of the sorting line in ``fast`` mode, against bare pybullet.

Two loads, each measured the same way:

* **nominal**: the bundled sorting line driven by the scripted actuators
  (:class:`tests.sorting_script.SortingScript`) at the maximum infeed rate, with at most 10
  boxes in flight;
* **stress**: the same line with a raised end stop at the belt end and bins that keep every
  box, filled until 50 boxes are in the world: a queue of boxes held against the end stop
  while the belt keeps running under them, the rest in the bins.

For each load the world is snapshotted at the start of the measured window. The *bare* figure
steps the same bodies from that snapshot with nothing but the physics step (the same solver
settings and the same transport surfaces, no components, sensors, process image or script),
the *harness* figure runs the full simulator from the same snapshot. Repetitions alternate
bare and harness so that machine noise hits both alike; the printed figures are medians, and
the ratio harness/bare is computed from figures measured in this run only.

Usage: ``python3 tools/bench/plant.py [--seconds 20] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# Measure this checkout, whatever an editable install elsewhere points at.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.sorting_script import SortingScript
from vcommission.clock import s_to_ns
from vcommission.config.model import load_model
from vcommission.demo import BUNDLED_MODEL
from vcommission.plant.bullet import new_client, pybullet
from vcommission.plant.plant import Plant
from vcommission.simulator import Simulator

END_STOP = "  end_stop: {kind: obstacle, position: [3.98, 0.0, 0.95], size: [0.04, 0.6, 0.3]}\n"


def stress_model(folder: Path) -> Path:
    """The sorting line with an end stop and bins that keep their boxes, for the stress load."""
    text = (BUNDLED_MODEL / "model.yaml").read_text()
    text = text.replace("  bin_tall:\n", END_STOP + "  bin_tall:\n")
    # Bins that keep every box need room for 30+ of them: bigger and on the floor, so that a
    # pile never reaches up to the belt (which would keep the whole pile awake).
    text = text.replace(
        "    position: [2.5, 0.62, 0.2]\n    size: [0.8, 0.7, 0.45]\n",
        "    position: [2.5, 0.8, 0.0]\n    size: [1.2, 1.06, 0.5]\n    remove_after: null\n",
    )
    text = text.replace(
        "    position: [4.42, 0.0, 0.2]\n    size: [0.7, 0.8, 0.45]\n",
        "    position: [4.62, 0.0, 0.0]\n    size: [1.1, 1.2, 0.5]\n    remove_after: null\n",
    )
    text = text.replace("    interval: 3.0\n", "    interval: 0.6\n")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.yaml").write_text(text)
    return folder


def _nominal(sim: Simulator) -> None:
    sim.add_controller(SortingScript())
    sim.run_for(30)  # the line is full: boxes at the pusher, in the bins and on the belt


def _stress(sim: Simulator) -> None:
    """Fill the bins with the end stop down, then raise it and queue until 50 boxes exist."""
    script = SortingScript()
    sim.add_controller(script)
    sim.operate("end_stop.raised", False)
    sim.run_until(lambda: sum(p.destination is not None for p in sim.plant.parts.parts) >= 32)
    sim.operate("end_stop.raised", True)
    sim.run_until(lambda: len(sim.plant.parts) >= 50, timeout_s=120)
    script.infeed = False
    sim.run_for(2)


def _bare_window(sim: Simulator, ticks: int) -> float:
    """Wall seconds to step the world's bodies ``ticks`` times with physics only."""
    world = sim.plant.world
    moving = [k for k in world.kinematic if not k.surface]
    held = [(k, k.position, k.velocity) for k in moving]
    for k in moving:
        k.velocity = (0.0, 0.0, 0.0)  # hold pusher plates and stoppers where they are
    started = time.perf_counter()
    for _ in range(ticks):
        world.step()
    elapsed = time.perf_counter() - started
    for k, position, velocity in held:
        k.position, k.velocity = position, velocity
    return elapsed


def _naive_window(sim: Simulator, seconds: float) -> float:
    """Wall seconds for default pybullet to step a copy of the world's bodies ``seconds``.

    The copy is what a first attempt would build: default multibodies, pybullet's default
    240 Hz step and solver, belts and plates as plain static boxes.
    """
    source = sim.plant.world
    client = new_client()
    try:
        client.setGravity(0.0, 0.0, -source.config.gravity)
        driven = {k.body for k in source.kinematic}
        client.createMultiBody(0.0, client.createCollisionShape(pybullet.GEOM_PLANE))
        for body, (half_extents, mass) in source.boxes.items():
            position, orientation = source.pose(body)
            client.createMultiBody(
                0.0 if body in driven else mass,
                client.createCollisionShape(pybullet.GEOM_BOX, halfExtents=list(half_extents)),
                basePosition=position,
                baseOrientation=orientation,
            )
        steps = round(seconds * 240)
        started = time.perf_counter()
        for _ in range(steps):
            client.stepSimulation()
        return time.perf_counter() - started
    finally:
        client.disconnect()


def measure(model_dir: Path, prepare, seconds: float, repeat: int) -> dict[str, float]:
    """Median RTFs of harness and bare over ``repeat`` alternating windows of ``seconds``."""
    model = load_model(model_dir)
    with Plant(model) as plant:
        sim = Simulator(plant)
        prepare(sim)
        ticks = s_to_ns(seconds) // sim.tick_ns
        world = plant.world
        in_world = len(plant.parts.alive)
        harness, bare = [], []
        naive = seconds / _naive_window(sim, seconds)
        for _ in range(repeat):
            snapshot = world.save_state()
            bare.append(seconds / _bare_window(sim, ticks))
            world.restore_state(snapshot)
            started = time.perf_counter()
            for _ in range(ticks):
                sim.step()
            harness.append(seconds / (time.perf_counter() - started))
            # Later windows start where this one ended; new parts are fine for the harness,
            # and the bare window always steps exactly the bodies present at its start.
            world.client.removeState(snapshot)
        return {
            "parts": in_world,
            "harness": statistics.median(harness),
            "bare": statistics.median(bare),
            "naive": naive,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="virtual s per window")
    parser.add_argument("--repeat", type=int, default=5, help="alternating windows")
    args = parser.parse_args(argv)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        loads = {
            "nominal": (BUNDLED_MODEL, _nominal, 50.0),
            "stress": (stress_model(Path(tmp) / "stress"), _stress, 20.0),
        }
        print(
            f"{'load':8} {'parts':>5} {'harness RTF':>12} {'bare RTF':>9} {'ratio':>6} "
            f"{'target':>7}        {'naive RTF':>9} {'harness/naive':>13}"
        )
        failed = False
        for name, (model_dir, prepare, target) in loads.items():
            result = measure(model_dir, prepare, args.seconds, args.repeat)
            ratio = result["harness"] / result["bare"]
            ok = result["harness"] >= target and ratio >= 0.8
            failed |= not ok
            harness, bare, naive = result["harness"], result["bare"], result["naive"]
            verdict = "ok" if ok else "MISSED"
            print(
                f"{name:8} {result['parts']:>5} {harness:>11.1f}x {bare:>8.1f}x {ratio:>6.2f} "
                f"{'>=' + format(target, '.0f') + 'x':>7} {verdict:6} "
                f"{naive:>8.1f}x {harness / naive:>13.2f}"
            )
    print(
        "targets: harness RTF >= target and harness/bare >= 0.80 (2-core machine).\n"
        "bare: the same bodies and solver settings stepped with physics only;\n"
        "naive: the same bodies as default pybullet multibodies at 240 Hz, belts static."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
