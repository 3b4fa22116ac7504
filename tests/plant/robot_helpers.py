"""Helpers for the robot tests: model snippets and a PLC-side driver of the handshake."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

Rig = Any  # tests.plant.conftest.Rig (conftest modules are not imported by name)

#: A gantry cell: three teach points, two jobs, a user output, a pallet.
GANTRY = """
physics: {{tick: {tick}}}
components:
  arm:
    kind: robot
    urdf: gantry.urdf
    stop_time: {stop_time}
    outputs: [clamp]
    inputs: [part_ok]
    points:
      home: {{joints: [0, 0, 0, 0]}}
      far: {{joints: [0.6, 0.2, 0.3, 0]}}
      above: {{xyz: [-0.4, -0.3, 0.9]}}
    pallets:
      tray: {{first: [0.2, -0.2, 0.7], count: [3, 2], pitch: [0.1, 0.15], index: tray_place}}
    jobs:
      1: {{name: far, steps: [{{ptp: far}}]}}
      2: {{name: back, steps: [{{ptp: home}}]}}
      3: {{name: to_above, steps: [{{ptp: above}}]}}
      8: {{name: line, steps: [{{lin: above, offset: [0.8, 0.6, -0.2]}}]}}
      4: {{name: io, steps: [{{set: clamp}}, {{wait: 0.2}}, {{wait_for: part_ok}},
                             {{set: clamp, value: false}}]}}
      5: {{name: tray, steps: [{{ptp: tray}}, {{lin: tray, offset: [0, 0, 0.1]}}]}}
      6: {{name: slow, steps: [{{ptp: far, speed: 50}}]}}
      7: {{name: timeout, steps: [{{wait_for: part_ok, timeout: 0.3}}]}}
"""


def gantry(rig, tick: float = 0.01, stop_time: float = 0.3, extra: str = "") -> Rig:
    return rig(GANTRY.format(tick=tick, stop_time=stop_time) + extra)


@dataclass
class Plc:
    """Drives a robot's handshake the way a PLC program would, one tick at a time."""

    rig: Rig
    robot: str = "arm"

    def __getitem__(self, port: str):
        return self.rig.plant.image[f"{self.robot}.{port}"]

    def set(self, port: str, value) -> None:
        self.rig.sim.operate(f"{self.robot}.{port}", value)

    def tick(self, n: int = 1) -> None:
        for _ in range(n):
            self.rig.sim.step()

    def pulse(self, port: str) -> None:
        self.set(port, True)
        self.tick()
        self.set(port, False)
        self.tick()

    def power_up(self) -> None:
        self.set("drives_on", True)
        self.set("move_enable", True)
        self.tick()

    def select(self, pgno: int) -> None:
        self.set("pgno", pgno)
        self.pulse("pgno_valid")

    def start(self, pgno: int) -> None:
        """Select ``pgno`` and pulse ext_start (the job is running after this)."""
        self.select(pgno)
        self.set("ext_start", True)
        self.tick()
        self.set("ext_start", False)

    def run_job(self, pgno: int, timeout_s: float = 10.0) -> float:
        """Start ``pgno`` and wait for it to finish; virtual seconds from start to done."""
        self.start(pgno)
        start = self.rig.sim.now_ns
        self.rig.run_until(lambda: not self["appl_run"], timeout_s)
        return (self.rig.sim.now_ns - start) * 1e-9

    @property
    def component(self):
        return self.rig.plant.component(self.robot)

    def joints(self) -> np.ndarray:
        return self.component.joint_positions

    def world_joints(self) -> np.ndarray:
        """Joint positions as pybullet has them after the tick (the physical arm)."""
        robot = self.component
        world = self.rig.world
        return np.array(
            [
                world.client.getJointState(robot.body, j)[0]
                for j in robot.arm.joints  # type: ignore[union-attr]
            ]
        )
