"""Robots: a URDF arm as a plant component, with its kinematics, motion profiles and jobs.

* :mod:`~vcommission.plant.robot.kinematics`: URDF parsing, FK, damped-least-squares IK
  (pure numpy, so loading a model never imports the physics engine);
* :mod:`~vcommission.plant.robot.trajectory`: synchronised trapezoidal PTP, LIN paths and
  the online path follower (pure Python);
* :mod:`~vcommission.plant.robot.params`: what the model YAML says (teach points, pallets,
  jobs, limits);
* :mod:`~vcommission.plant.robot.arm`: the ``robot`` component and its external-automatic
  PLC interface;
* ``urdf/``: robots shipped with vcommission (``gantry.urdf``).
"""

from __future__ import annotations

from vcommission.plant.robot.arm import BUNDLED_URDF, FaultCode, Robot, resolve_urdf
from vcommission.plant.robot.params import (
    JobSpec,
    JointLimitSpec,
    PalletSpec,
    PointSpec,
    RobotParams,
    StepSpec,
)

__all__ = [
    "BUNDLED_URDF",
    "FaultCode",
    "JobSpec",
    "JointLimitSpec",
    "PalletSpec",
    "PointSpec",
    "Robot",
    "RobotParams",
    "StepSpec",
    "resolve_urdf",
]
