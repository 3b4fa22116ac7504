"""Benchmark: real-time factor of a robot arm doing PTP and LIN moves, harness against bare physics.

A ``robot`` (xarm6 from pybullet_data by default, or any arm given with ``--urdf``) runs two
jobs back to back through its handshake, a PTP out and a PTP + LIN back, driven by a scripted
PLC in-process (:class:`HandshakeScript`) in ``fast`` mode. The *harness* figure is the full
simulator: handshake, job sequencer, path follower, FK for the TCP speed, process image, the
articulated body driven every substep. The *bare* figure steps the same arm in a world of its
own with physics only: the joint trajectory the harness produced, replayed with the same two
calls per substep (reset joints, velocity motors) and ``stepSimulation``: what the motion costs
pybullet itself. Repetitions alternate bare and harness so machine noise hits both alike; the
figures are medians and the ratio harness/bare is computed from this run only.

Usage: ``python3 tools/bench/robot.py [--seconds 20] [--repeat 5] [--urdf xarm/xarm6_robot.urdf]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Measure this checkout, whatever an editable install elsewhere points at.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vcommission.config.model import load_model
from vcommission.plant.plant import Plant
from vcommission.plant.world import World
from vcommission.simulator import Simulator

MODEL = """\
name: robot_bench
physics: {{tick: 0.01, substeps: 2}}
components:
  arm:
    kind: robot
    urdf: {urdf}
    points:
      home: {{joints: {home}}}
      a: {{xyz: [0.35, 0.25, 0.25]}}
      b: {{xyz: [0.35, -0.25, 0.30]}}
    jobs:
      1: {{steps: [{{ptp: a}}, {{ptp: b}}]}}
      2: {{steps: [{{lin: a}}, {{ptp: home}}]}}
"""

HOMES = {
    "xarm/xarm6_robot.urdf": "[0, -20, -60, 0, 80, 0]",
    "kuka_iiwa/model.urdf": "[0, 30, 0, -60, 0, 60, 0]",
    "franka_panda/panda.urdf": "[0, -20, 0, -120, 0, 100, 45]",
}


class HandshakeScript:
    """A PLC in Python: runs jobs 1 and 2 in turn through the external-automatic handshake."""

    def __init__(self) -> None:
        self.next = 1
        self.phase = "number"
        #: Jobs completed.
        self.jobs = 0

    def __call__(self, sim: Simulator) -> None:
        image = sim.plant.image

        def get(port: str):
            return image[f"arm.{port}"]

        def put(port: str, value) -> None:
            sim.operate(f"arm.{port}", value)

        put("drives_on", True)
        put("move_enable", True)
        if self.phase == "number" and get("pgno_req"):
            put("pgno", self.next)
            self.phase = "strobe"
        elif self.phase == "strobe":
            put("pgno_valid", True)
            if not get("pgno_req"):
                put("pgno_valid", False)
                self.phase = "start"
        elif self.phase == "start":
            put("ext_start", get("rob_rdy"))
            if get("appl_run"):
                put("ext_start", False)
                self.phase = "run"
        elif self.phase == "run" and not get("appl_run") and get("job_done") == self.next:
            self.next = 3 - self.next
            self.phase = "number"
            self.jobs += 1


def _harness_window(sim: Simulator, script: HandshakeScript, ticks: int) -> tuple[float, list]:
    """Wall seconds of ``ticks`` full simulator ticks; the arm's commanded state per tick."""
    robot = sim.plant.component("arm")
    arm = robot.arm
    trajectory = []  # references only: recording costs next to nothing
    started = time.perf_counter()
    for _ in range(ticks):
        script(sim)
        start = robot.q  # replaced, never modified, by the robot's update
        sim.step()
        trajectory.append((start, arm.velocity))
    return time.perf_counter() - started, trajectory


def _bare_window(urdf_path: str, base, joints: list[int], trajectory: list, substeps: int) -> float:
    """Wall seconds to step the arm alone along ``trajectory`` with physics only."""
    from vcommission.plant.bullet import pybullet

    with World() as world:
        body = world.add_urdf(urdf_path, base)
        sim_joints = list(joints)
        cid = world.cid
        step = world.config.step_s
        forces = [1e9] * len(sim_joints)
        started = time.perf_counter()
        for start, velocity in trajectory:
            position = start.tolist()
            for _ in range(substeps):
                pybullet.resetJointStatesMultiDof(
                    body,
                    sim_joints,
                    [[q] for q in position],
                    [[v] for v in velocity],
                    physicsClientId=cid,
                )
                pybullet.setJointMotorControlArray(
                    body,
                    sim_joints,
                    pybullet.VELOCITY_CONTROL,
                    targetVelocities=velocity,
                    forces=forces,
                    physicsClientId=cid,
                )
                pybullet.stepSimulation(physicsClientId=cid)
                position = [q + v * step for q, v in zip(position, velocity, strict=True)]
        return time.perf_counter() - started


def measure(urdf: str, seconds: float, repeat: int) -> dict[str, float]:
    home = HOMES.get(urdf, "[0, 0, 0, 0]")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "model.yaml").write_text(MODEL.format(urdf=urdf, home=home))
        model = load_model(folder)
    with Plant(model) as plant:
        sim = Simulator(plant)
        script = HandshakeScript()
        robot = plant.component("arm")
        ticks = round(seconds / model.physics.tick)
        harness, bare = [], []
        trajectory: list = []
        for _ in range(repeat):
            elapsed, trajectory = _harness_window(sim, script, ticks)
            harness.append(seconds / elapsed)
            replay = _bare_window(
                robot.urdf_path,
                robot.params.base,
                robot.arm.joints,
                trajectory,
                model.physics.substeps,
            )
            bare.append(seconds / replay)
        moving = sum(1 for _, v in trajectory if any(v))
        return {
            "harness": statistics.median(harness),
            "bare": statistics.median(bare),
            "moving": moving / max(len(trajectory), 1),
            "jobs": robot.done_pgno and script.jobs,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="virtual s per window")
    parser.add_argument("--repeat", type=int, default=5, help="alternating windows")
    parser.add_argument("--urdf", default="xarm/xarm6_robot.urdf")
    args = parser.parse_args(argv)
    result = measure(args.urdf, args.seconds, args.repeat)
    ratio = result["harness"] / result["bare"]
    print(f"{'arm':28} {'jobs':>5} {'moving':>7} {'harness RTF':>12} {'bare RTF':>9} {'ratio':>6}")
    print(
        f"{args.urdf:28} {result['jobs']:>5} {result['moving']:>6.0%} {result['harness']:>11.1f}x "
        f"{result['bare']:>8.1f}x {ratio:>6.2f}"
    )
    print(
        "harness: the full simulator with the robot's handshake, jobs and FK, fast mode;\n"
        "bare: the same arm in its own world, the harness's joint trajectory replayed with\n"
        "physics only (the same reset + motor calls per substep). Same run, alternating."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
