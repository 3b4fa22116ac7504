"""The ``robot`` component: a URDF arm, its controller's jobs, and an external-automatic interface.

The PLC never moves a joint: it talks to the robot controller through a handshake modelled on
KUKA's "Automatic External" interface (the README's robot section has the timing diagram).

Inputs (PLC -> robot): ``drives_on`` (level), ``move_enable`` (level; FALSE stops on the path,
TRUE resumes), ``ext_start`` (rising edge: start the latched program, or resume an interrupted
one), ``pgno`` (INT) with ``pgno_valid`` (rising edge latches ``pgno``), ``conf_mess`` (rising
edge acknowledges a fault), ``override`` (INT %, power-on 100).

Outputs (robot -> PLC): ``peri_rdy`` (drives on), ``rob_rdy`` (ready for ``ext_start``: drives
on, no fault, no safety stop, no job running or the job interrupted), ``pgno_req`` (ready and
no program number latched), ``appl_run`` (a job is active, also while paused or interrupted),
``in_home``, ``job_done`` (program number of the last completed job, 0 at power-on),
``stopmess`` with ``fault_code``, ``moving``, ``tcp_speed`` (mm/s), ``safety_stop``, ``reduced``.

A job is *interrupted* by a protective stop (the arm brakes along its path and is at rest
within ``stop_time``) or by ``drives_on`` going FALSE (the arm stops at once). An interrupted
job continues on the next ``ext_start`` edge, or is abandoned by a ``pgno_valid`` edge, which
latches a new program. A fault (see :class:`FaultCode`) aborts the job; ``stopmess`` stays TRUE
until ``conf_mess``.

Motion runs in virtual time (:mod:`vcommission.plant.robot.trajectory`); the arm is driven
kinematically (:class:`~vcommission.plant.world.ArticulatedBody`), so parts it meets are
pushed and collision checks see the links where the controller puts them. The numpy
kinematics plan (load-time checks, LIN samples, PTP speed probes); once the arm is built, the
flange pose it offers as a :class:`~vcommission.plant.capabilities.Mount` and the TCP speed
it reports come from pybullet's own forward kinematics of the links.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from vcommission.errors import ConfigError
from vcommission.plant import capabilities
from vcommission.plant.component import Component, TickContext
from vcommission.plant.geometry import yaw_quaternion
from vcommission.plant.robot.kinematics import (
    Chain,
    UrdfError,
    load_chain,
    matrix_quaternion,
    pose_matrix,
    rotation_error,
    rpy_matrix,
    slerp_matrix,
)
from vcommission.plant.robot.params import (
    PalletSpec,
    PointSpec,
    RobotParams,
    StepKind,
    StepSpec,
)
from vcommission.plant.robot.trajectory import PathFollower, interpolate
from vcommission.signals import SignalType, is_identifier

if TYPE_CHECKING:
    from vcommission.plant.world import ArticulatedBody, World

__all__ = ["BUNDLED_URDF", "FaultCode", "Robot", "resolve_urdf"]

#: Folder of the URDFs shipped with vcommission (the gantry).
BUNDLED_URDF = Path(__file__).resolve().parent / "urdf"

#: Ports every robot has, in declaration order (user I/O and pallet indices come after).
STANDARD_INPUTS = (
    "drives_on",
    "move_enable",
    "ext_start",
    "pgno",
    "pgno_valid",
    "conf_mess",
    "override",
)
STANDARD_OUTPUTS = (
    "peri_rdy",
    "rob_rdy",
    "pgno_req",
    "appl_run",
    "in_home",
    "job_done",
    "stopmess",
    "fault_code",
    "moving",
    "tcp_speed",
    "safety_stop",
    "reduced",
)

_DOWN = (180.0, 0.0, 0.0)  # default rpy: the tool pointing straight down
_LIN_STEP_M = 0.02  # LIN paths are solved by IK at most this far apart
_LIN_STEP_RAD = math.radians(5.0)
_LIN_MAX_SAMPLES = 200
_STEPS_PER_TICK = 16  # instant steps (grip, set, satisfied waits) run within one tick
_PTP_PROBES = 33  # TCP samples along a PTP path, for its reduced-speed limit


class FaultCode(IntEnum):
    """``fault_code`` values (``stopmess`` TRUE while one is active, until ``conf_mess``)."""

    #: No fault.
    NONE = 0
    #: A LIN path passes a pose the arm cannot reach (or only by a configuration flip).
    UNREACHABLE = 1
    #: A LIN path needs a joint beyond its position limits.
    JOINT_LIMIT = 2
    #: The pallet index input selects no place of the pallet (1..places).
    PALLET_INDEX = 3
    #: ``pgno`` latched by ``pgno_valid`` has no job.
    UNKNOWN_PROGRAM = 4
    #: A ``wait_for`` step with a ``timeout`` waited too long (e.g. no part gripped).
    WAIT_TIMEOUT = 5


@runtime_checkable
class _Tool(Protocol):
    """What a job needs of its tool (``capabilities.Tool`` once it exists)."""

    def actuate(self, source: str, on: bool) -> None: ...

    def gripping(self) -> bool: ...


Tool: type = getattr(capabilities, "Tool", _Tool)


def resolve_urdf(urdf: str, base_dir: str | None) -> str | None:
    """The URDF file for ``urdf``: model-relative, else bundled, else in pybullet_data."""
    if os.path.isabs(urdf):
        return urdf if os.path.isfile(urdf) else None
    candidates = []
    if base_dir is not None:
        candidates.append(os.path.join(base_dir, urdf))
    candidates.append(str(BUNDLED_URDF / urdf))
    # Found without importing it: loading a model must not load the physics engine.
    spec = importlib.util.find_spec("pybullet_data")
    if spec is not None and spec.submodule_search_locations:
        candidates.append(os.path.join(next(iter(spec.submodule_search_locations)), urdf))
    return next((os.path.abspath(c) for c in candidates if os.path.isfile(c)), None)


@dataclass
class _Target:
    """Where a motion goes: joint values and the TCP's world pose there."""

    q: np.ndarray
    pose: np.ndarray


@dataclass
class _Segment:
    """One motion being executed: a path ``q(s)``, its nominal speed and acceleration."""

    #: Joint samples along the path, equally spaced in s (2 for PTP: a straight line).
    samples: list[list[float]]
    #: Path speed (1/s) and acceleration (1/s^2) at 100 % override.
    v: float
    a: float
    #: Largest TCP travel per unit of s, metres (for the reduced speed limit).
    k_tcp: float

    def __post_init__(self) -> None:
        self._start = np.array(self.samples[0])
        self._delta = np.array(self.samples[-1]) - self._start

    def q_at(self, s: float) -> np.ndarray:
        if len(self.samples) == 2:  # PTP: a straight line in joint space
            return self._start + s * self._delta
        return np.array(interpolate(self.samples, s))


@dataclass
class _Job:
    pgno: int
    steps: list[StepSpec]
    index: int = 0
    #: When the current step started, ns (waits and timeouts).
    started_ns: int = 0
    segment: _Segment | None = None


class Robot(Component):
    """An industrial robot: URDF arm, teach points, pallets, jobs, external-automatic I/O.

    Ports: see the module docstring; plus one BOOL input per name in ``inputs``, one BOOL
    output per name in ``outputs``, and one INT input per pallet (its ``index``).

    Bodies: ``links`` (moving: the arm's multibody). Capabilities:
    :class:`~vcommission.plant.capabilities.Mount` (the flange) and
    :class:`~vcommission.plant.capabilities.SafetyStoppable`.
    """

    kind = "robot"
    Params = RobotParams

    def __init__(self, name: str, params: RobotParams, **kwargs: Any) -> None:
        super().__init__(name, params, **kwargs)
        p = self.params
        path = resolve_urdf(p.urdf, self.base_dir)
        if path is None:
            raise ConfigError(
                f"URDF {p.urdf!r} not found (looked beside the model, in the bundled "
                "robots and in pybullet_data)",
                path=("urdf",),
            )
        try:
            self.chain: Chain = load_chain(path, p.flange)
        except UrdfError as exc:
            where = ("flange",) if p.flange and "flange" in str(exc) else ("urdf",)
            raise ConfigError(f"URDF {p.urdf!r}: {exc}", path=where) from None
        self.urdf_path = path
        self._limits()
        self._home_tolerance = np.where(
            self.unit == 1.0, p.home_tolerance / 1000.0, math.radians(p.home_tolerance)
        )
        self._declare_ports()
        self.tool: Any = None
        self.home_q: np.ndarray | None = None
        #: Per point / pallet place: where it is (resolved in connect).
        self.targets: dict[str, _Target] = {}
        self.pallet_targets: dict[str, list[_Target]] = {}
        #: (pgno, step index) -> target(s) of motion steps with an offset.
        self._offset_targets: dict[tuple[int, int], list[_Target]] = {}
        self._fk_key = self._tcp_key = b""
        self._fk = self._tcp_T = np.eye(4)
        self._fk_cache: dict[bytes, np.ndarray] = {}
        self._lin_failed_at = np.zeros(3)
        self._lin_cache: dict[bytes, tuple[list[np.ndarray] | FaultCode, np.ndarray]] = {}
        self._no_tip = not any(p.tcp)
        self.base_T = pose_matrix(np.array(p.base), rpy_matrix(0.0, 0.0, math.radians(p.yaw)))
        self.tip_T = pose_matrix(np.array(p.tcp))
        self.q = self._power_on_q()
        self._protective: set[str] = set()
        self._reduced: set[str] = set()
        self.arm: ArticulatedBody | None = None
        self._world: World | None = None
        self.body = -1
        self.flange_link = -1
        self._connected = False
        self._reset_state()

    # -- set-up -------------------------------------------------------------------------------

    def _limits(self) -> None:
        p = self.params
        chain = self.chain
        names = [j.name for j in chain.joints]
        for joint_name in p.limits:
            if joint_name not in names:
                other = " (it is not on the arm's chain)" if joint_name in chain.all_joints else ""
                raise ConfigError(
                    f"unknown joint {joint_name!r}{other}; the arm's joints: {', '.join(names)}",
                    path=("limits", joint_name),
                )
        lower, upper, vmax, amax = [], [], [], []
        self.units = []  # per axis: factor from YAML units (deg or m) to SI
        for j in chain.joints:
            unit = 1.0 if j.prismatic else math.pi / 180.0
            self.units.append(unit)
            o = p.limits.get(j.name)
            lo = j.lower if o is None or o.lower is None else o.lower * unit
            hi = j.upper if o is None or o.upper is None else o.upper * unit
            v = j.velocity if o is None or o.velocity is None else o.velocity * unit
            if not math.isfinite(v):
                v = 1.0  # URDF without a velocity limit: 1 rad/s or 1 m/s
            a = 2.0 * v if o is None or o.acceleration is None else o.acceleration * unit
            if lo > hi:
                raise ConfigError(
                    f"lower limit above upper limit for {j.name!r}", path=("limits", j.name)
                )
            lower.append(lo)
            upper.append(hi)
            vmax.append(v)
            amax.append(a)
        self.lower, self.upper = np.array(lower), np.array(upper)
        self.vmax, self.amax = np.array(vmax), np.array(amax)
        self.unit = np.array(self.units)

    def _declare_ports(self) -> None:
        b, i = SignalType.BOOL, SignalType.INT
        d = self.declare_input
        self.drives_on = d("drives_on", b, description="drives on (level)")
        self.move_enable = d("move_enable", b, description="motion enabled (level)")
        self.ext_start = d("ext_start", b, description="start/resume program (rising edge)")
        self.pgno = d("pgno", i, description="program number")
        self.pgno_valid = d("pgno_valid", b, description="latch pgno (rising edge)")
        self.conf_mess = d("conf_mess", b, description="acknowledge fault (rising edge)")
        self.override = d("override", i, default=100, unit="%", description="speed override")
        o = self.declare_output
        self.peri_rdy = o("peri_rdy", b, description="drives on")
        self.rob_rdy = o("rob_rdy", b, description="ready for ext_start")
        self.pgno_req = o("pgno_req", b, description="program number requested")
        self.appl_run = o("appl_run", b, description="job active")
        self.in_home = o("in_home", b, description="at the home point")
        self.job_done = o("job_done", i, description="program number of the last job done")
        self.stopmess = o("stopmess", b, description="fault active (acknowledge: conf_mess)")
        self.fault_code = o("fault_code", i, description="fault code (0: none)")
        self.moving = o("moving", b, description="arm in motion")
        self.tcp_speed = o("tcp_speed", SignalType.REAL, unit="mm/s", description="TCP speed")
        self.safety_stop = o("safety_stop", b, description="protective stop active")
        self.reduced = o("reduced", b, description="safely reduced speed active")
        p = self.params
        self.user_inputs = {}
        self.user_outputs = {}
        for kind, names in (("inputs", p.inputs), ("outputs", p.outputs)):
            for k, port_name in enumerate(names):
                self._check_port_name(port_name, (kind, k))
                if kind == "inputs":
                    self.user_inputs[port_name] = d(port_name, b, description="user input")
                else:
                    self.user_outputs[port_name] = o(port_name, b, description="user output")
        self.pallet_inputs = {}
        for pallet_name, pallet in p.pallets.items():
            self._check_port_name(pallet.index, ("pallets", pallet_name, "index"))
            self.pallet_inputs[pallet_name] = d(
                pallet.index, i, default=1, description=f"place on pallet {pallet_name} (1..)"
            )

    def _check_port_name(self, port_name: str, path: tuple) -> None:
        if not is_identifier(port_name):
            raise ConfigError(f"{port_name!r} must be an identifier", path=path)
        if port_name in self.ports:
            raise ConfigError(f"port {port_name!r} exists already", path=path)

    def _power_on_q(self) -> np.ndarray:
        if self.home_q is not None:
            return self.home_q.copy()
        return np.clip(np.zeros(self.chain.dof), self.lower, self.upper)

    def _reset_state(self) -> None:
        self.fault = FaultCode.NONE
        self.job: _Job | None = None
        self.interrupted = False
        self.latched: int | None = None
        self.done_pgno = 0
        self.follower = PathFollower()
        self._stop_decel: float | None = None
        self._interrupted_ns = 0
        self._prev = {"ext_start": False, "pgno_valid": False, "conf_mess": False}
        self._user_values = {name: False for name in self.user_outputs}
        self._speed_mm_s = 0.0
        self._moved = False
        self._tcp_position = self._tcp_fk()
        self._home_q_seen: np.ndarray | None = None
        self._home = False

    # -- connect: frames, teach points, jobs -----------------------------------------------

    def connect(self, peers: Mapping[str, Component]) -> None:
        self._connected = True
        p = self.params
        if p.tool is not None:
            tool = peers.get(p.tool)
            if tool is None:
                raise ConfigError(f"no component {p.tool!r} to use as the tool", path=("tool",))
            if not isinstance(tool, Tool):
                raise ConfigError(
                    f"{p.tool!r} ({tool.kind}) is not a tool (needs actuate() and gripping())",
                    path=("tool",),
                )
            self.tool = tool
        home = p.home if p.home is not None else ("home" if "home" in p.points else None)
        if p.home is not None and p.home not in p.points:
            raise ConfigError(f"no teach point {p.home!r}", path=("home",))
        self.targets = {}
        self.home_q = None
        order = sorted(p.points, key=lambda n: n != home)  # home first: it seeds the others
        for point_name in order:
            target = self._resolve_point(point_name, p.points[point_name], peers)
            self.targets[point_name] = target
            if point_name == home:
                self.home_q = target.q
        self.pallet_targets = {
            pallet_name: self._resolve_pallet(pallet_name, pallet, peers)
            for pallet_name, pallet in p.pallets.items()
        }
        self._check_jobs(peers)
        self.q = self._power_on_q()
        self._tcp_position = self._tcp_fk()

    def _frame(self, frame: str, peers: Mapping[str, Component], path: tuple) -> np.ndarray:
        if frame == "base":
            return self.base_T
        if frame == "world":
            return np.eye(4)
        peer = peers.get(frame)
        if peer is None:
            raise ConfigError(f"frame {frame!r}: write base, world or a component name", path=path)
        pose = component_frame(peer)
        if pose is None:
            raise ConfigError(
                f"frame {frame!r}: component {frame!r} ({peer.kind}) has no position to "
                "use as a frame",
                path=path,
            )
        return pose

    def _seeds(self, extra: list[float] | None = None) -> list[np.ndarray]:
        seeds = []
        if extra is not None:
            seeds.append(self._from_yaml(extra))
        if self.home_q is not None:
            seeds.append(self.home_q)
        mid = np.where(
            np.isfinite(self.lower) & np.isfinite(self.upper), (self.lower + self.upper) / 2, 0.0
        )
        seeds.append(mid)
        # A fixed set of spread-out starts: deterministic, and enough for 6/7-axis arms to
        # find a configuration when the first guesses sit near a singularity.
        rng = np.random.default_rng(20261202)
        lo = np.where(np.isfinite(self.lower), self.lower, -math.pi)
        hi = np.where(np.isfinite(self.upper), self.upper, math.pi)
        for _ in range(6):
            seeds.append(lo + (hi - lo) * (0.2 + 0.6 * rng.random(self.chain.dof)))
        return seeds

    def _from_yaml(self, joints: list[float]) -> np.ndarray:
        return np.array(joints, dtype=float) * self.unit

    def _solve(
        self, pose_world: np.ndarray, seeds: list[np.ndarray], path: tuple, what: str
    ) -> np.ndarray:
        target = np.linalg.inv(self.base_T) @ pose_world
        result = self.chain.ik(target, seeds, tip=self.tip_T, lower=self.lower, upper=self.upper)
        if result.ok:
            return result.q
        free = self.chain.ik(
            target, seeds, tip=self.tip_T, lower=self.lower - 10.0, upper=self.upper + 10.0
        )
        x, y, z = (round(float(c), 4) for c in pose_world[:3, 3])
        if free.ok:
            names = [
                j.name
                for j, q in zip(self.chain.joints, free.q, strict=True)
                if not j.lower - 1e-9 <= q <= j.upper + 1e-9
            ]
            raise ConfigError(
                f"{what} at [{x}, {y}, {z}] (world) is reachable only beyond the limits of "
                f"{', '.join(names) or 'the joints'}",
                path=path,
            )
        raise ConfigError(
            f"{what} at [{x}, {y}, {z}] (world) is not reachable: "
            f"{result.position_error * 1000:.1f} mm, "
            f"{math.degrees(result.orientation_error):.1f} deg away at best",
            path=path,
        )

    def _cartesian(
        self, xyz: tuple, rpy: tuple | None, frame: np.ndarray, offset: tuple | None
    ) -> np.ndarray:
        roll, pitch, yaw = (math.radians(a) for a in (rpy if rpy is not None else _DOWN))
        local = pose_matrix(np.array(xyz, dtype=float), rpy_matrix(roll, pitch, yaw))
        if offset is not None:
            local[:3, 3] += np.array(offset)
        return frame @ local

    def _resolve_point(
        self,
        point_name: str,
        point: PointSpec,
        peers: Mapping[str, Component],
        offset: tuple | None = None,
        path: tuple | None = None,
    ) -> _Target:
        path = path or ("points", point_name)
        what = f"teach point {point_name!r}" + (f" with offset {list(offset)}" if offset else "")
        if point.joints is not None:
            if len(point.joints) != self.chain.dof:
                raise ConfigError(
                    f"{len(point.joints)} joint values for {self.chain.dof} axes "
                    f"({', '.join(j.name for j in self.chain.joints)})",
                    path=(*path, "joints"),
                )
            q = self._from_yaml(point.joints)
            for k, (j, value) in enumerate(zip(self.chain.joints, q, strict=True)):
                if not self.lower[k] - 1e-9 <= value <= self.upper[k] + 1e-9:
                    u = "m" if j.prismatic else "deg"
                    raise ConfigError(
                        f"joint {j.name} = {point.joints[k]} {u} is outside its limits "
                        f"[{self.lower[k] / self.unit[k]:.4g}, {self.upper[k] / self.unit[k]:.4g}]",
                        path=(*path, "joints", k),
                    )
            pose = self.tcp_pose(q)
            if offset is None:
                return _Target(q, pose)
            shifted = pose.copy()
            shifted[:3, 3] += self.base_T[:3, :3] @ np.array(offset)
            return _Target(self._solve(shifted, [q, *self._seeds()], path, what), shifted)
        frame = self._frame(point.frame, peers, (*path, "frame"))
        assert point.xyz is not None
        pose = self._cartesian(point.xyz, point.rpy, frame, offset)
        return _Target(self._solve(pose, self._seeds(point.seed), path, what), pose)

    def _resolve_pallet(
        self,
        pallet_name: str,
        pallet: PalletSpec,
        peers: Mapping[str, Component],
        offset: tuple | None = None,
        path: tuple | None = None,
    ) -> list[_Target]:
        path = path or ("pallets", pallet_name)
        frame = self._frame(pallet.frame, peers, (*path, "frame"))
        targets = []
        previous: list[np.ndarray] = []
        for n in range(1, pallet.size + 1):
            pose = self._cartesian(pallet.place(n), pallet.rpy, frame, offset)
            what = f"place {n} of pallet {pallet_name!r}" + (
                f" with offset {list(offset)}" if offset else ""
            )
            q = self._solve(pose, previous + self._seeds(), path, what)
            previous = [q]  # neighbouring places in the same arm configuration
            targets.append(_Target(q, pose))
        return targets

    def _check_jobs(self, peers: Mapping[str, Component]) -> None:
        p = self.params
        self._offset_targets = {}
        known = [*p.points, *p.pallets]
        for pgno, job in p.jobs.items():
            # Where the arm is before each step, as far as the job itself says (one entry per
            # pallet place); unknown at the start: wherever the previous job left it.
            before: list[tuple[np.ndarray, np.ndarray]] | None = None
            for k, step in enumerate(job.steps):
                path = ("jobs", str(pgno), "steps", k)
                kind = step.kind
                if kind in (StepKind.PTP, StepKind.LIN):
                    target = step.target
                    assert target is not None
                    if target not in known:
                        raise ConfigError(
                            f"no teach point or pallet {target!r} (known: "
                            f"{', '.join(known) or 'none'})",
                            path=(*path, kind.value),
                        )
                    if step.offset is not None:
                        self._offset_targets[(pgno, k)] = (
                            self._resolve_pallet(
                                target, p.pallets[target], peers, step.offset, path
                            )
                            if target in p.pallets
                            else [
                                self._resolve_point(
                                    target, p.points[target], peers, step.offset, path
                                )
                            ]
                        )
                    ends = self._offset_targets.get((pgno, k)) or (
                        self.pallet_targets[target]
                        if target in p.pallets
                        else [self.targets[target]]
                    )
                    if kind is StepKind.PTP or before is None:
                        before = [(t.q, t.pose) for t in ends]
                    else:
                        before = self._check_line(before, ends, (*path, "lin"), target)
                elif kind is StepKind.GRIP and self.tool is None:
                    raise ConfigError("a grip step needs a 'tool'", path=(*path, "grip"))
                elif kind is StepKind.WAIT_FOR:
                    name = step.wait_for
                    if name in ("gripped", "released"):
                        if self.tool is None:
                            raise ConfigError(
                                f"wait_for {name} needs a 'tool'", path=(*path, "wait_for")
                            )
                    elif name not in self.user_inputs:
                        raise ConfigError(
                            f"wait_for {name!r}: write gripped, released or one of the "
                            f"robot's inputs ({', '.join(self.user_inputs) or 'none declared'})",
                            path=(*path, "wait_for"),
                        )
                elif kind is StepKind.SET and step.set_ not in self.user_outputs:
                    raise ConfigError(
                        f"set {step.set_!r}: not one of the robot's outputs "
                        f"({', '.join(self.user_outputs) or 'none declared'})",
                        path=(*path, "set"),
                    )

    def _check_line(
        self,
        starts: list[tuple[np.ndarray, np.ndarray]],
        ends: list[_Target],
        path: tuple,
        target: str,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Solve a job's LIN from each known start (pallet places pair up); where it ends."""
        if len(starts) == len(ends):
            pairs = list(zip(starts, ends, strict=True))
        else:
            pairs = [(a, b) for a in starts for b in ends][:64]
        out = []
        for n, ((q, pose), end) in enumerate(pairs, start=1):
            samples = self._lin_samples(q, pose, end.pose)
            if isinstance(samples, FaultCode):
                x, y, z = (round(float(c), 4) for c in self._lin_failed_at)
                place = f" (place {n})" if len(pairs) > 1 else ""
                why = (
                    "needs a joint beyond its limits"
                    if samples is FaultCode.JOINT_LIMIT
                    else "passes a pose the arm cannot reach"
                )
                raise ConfigError(
                    f"the line to {target!r}{place} {why} at [{x}, {y}, {z}] (world); "
                    "move there with ptp, or add a point on the way",
                    path=path,
                )
            out.append((samples[-1], end.pose))
        return out

    # -- build ----------------------------------------------------------------------------------

    def build(self, world: World) -> None:
        super().build(world)
        if not self._connected:
            # Built without a model (a unit test, the component checker): teach points in the
            # base or world frame still resolve; one naming a component raises here.
            self.connect({self.name: self})
        p = self.params
        orientation = yaw_quaternion(math.radians(p.yaw))
        body = world.add_urdf(self.urdf_path, tuple(p.base), orientation)
        indices = world.joint_indices(body)
        self.body = body
        self.flange_link = (
            indices[self.chain.flange_joint] if self.chain.flange_joint is not None else -1
        )
        self.arm = world.drive_joints(body, [indices[j.name] for j in self.chain.joints])
        self._protective = set()
        self._reduced = set()
        self.q = self._power_on_q()
        self._reset_state()
        self.arm.position = [float(v) for v in self.q]
        self.arm.settle()
        self._world = world
        self._tcp_position = self._tcp_in_world()
        self.own("links", moving=[body])

    # -- kinematics helpers ------------------------------------------------------------------

    def flange_pose(self, q: np.ndarray | None = None) -> np.ndarray:
        """World transform of the flange for joint values ``q`` (default: now). Do not modify.

        The last result is kept: between two updates every caller (the TCP speed, a
        gripper's mount pose each substep while the arm stands) asks for the same joints.
        """
        q = self.q if q is None else q
        key = q.tobytes()
        found = self._fk_cache.get(key)
        if found is None:
            if len(self._fk_cache) >= 4:  # this tick's and the last tick's poses
                self._fk_cache.clear()
            found = self._fk_cache[key] = self.chain.fk(q, self.base_T)
        self._fk_key, self._fk = key, found
        return found

    def tcp_pose(self, q: np.ndarray | None = None) -> np.ndarray:
        """World transform of the tool centre point for ``q`` (default: now). Do not modify."""
        flange = self.flange_pose(q)
        if self._tcp_key != self._fk_key:
            self._tcp_key = self._fk_key
            self._tcp_T = flange if self._no_tip else flange @ self.tip_T
        return self._tcp_T

    def _tcp_fk(self) -> tuple[float, float, float]:
        x, y, z = self.tcp_pose(self.q)[:3, 3].tolist()
        return (x, y, z)

    @property
    def joint_positions(self) -> np.ndarray:
        """Joint values now (rad / m), axis order."""
        return self.q.copy()

    # -- capabilities: Mount, SafetyStoppable -------------------------------------------------

    def mount_frame(self) -> tuple[int, int]:
        return self.body, self.flange_link

    def mount_pose(self) -> tuple[tuple[float, float, float], tuple[float, float, float, float]]:
        # Built: pybullet's own FK of the arm as it stands in the world (during a physics
        # step, where it was put for that step), in C++ and exactly where the links are.
        if self._world is not None and self.flange_link >= 0:
            position, orientation = self._world.link_pose(self.body, self.flange_link)
            return tuple(position), tuple(orientation)  # type: ignore[return-value]
        t = self.flange_pose(self.q)
        return (float(t[0, 3]), float(t[1, 3]), float(t[2, 3])), matrix_quaternion(t[:3, :3])

    def _tcp_in_world(self) -> tuple[float, float, float]:
        """The TCP's position as the arm stands in the world now (after a tick)."""
        (px, py, pz), (x, y, z, w) = self.mount_pose()
        vx, vy, vz = self.params.tcp
        # Rotate the TCP offset by the flange quaternion: v + 2w (u x v) + 2 u x (u x v).
        tx, ty, tz = 2 * (y * vz - z * vy), 2 * (z * vx - x * vz), 2 * (x * vy - y * vx)
        return (
            px + vx + w * tx + (y * tz - z * ty),
            py + vy + w * ty + (z * tx - x * tz),
            pz + vz + w * tz + (x * ty - y * tx),
        )

    def protective_stop(self, source: str, active: bool) -> None:
        if active:
            self._protective.add(source)
        else:
            self._protective.discard(source)

    def reduced_speed(self, source: str, active: bool) -> None:
        if active:
            self._reduced.add(source)
        else:
            self._reduced.discard(source)

    # -- per tick -----------------------------------------------------------------------------

    def _edge(self, values: list, port_name: str) -> bool:
        now = bool(values[self.ports[port_name].index])
        rising = now and not self._prev[port_name]
        self._prev[port_name] = now
        return rising

    def _raise_fault(self, code: FaultCode) -> None:
        self.fault = code
        self.job = None
        self.interrupted = False
        self.follower = PathFollower()

    def update(self, ctx: TickContext) -> None:
        values = ctx.values
        drives = bool(values[self.drives_on.index])
        ext_edge = self._edge(values, "ext_start")
        pgno_edge = self._edge(values, "pgno_valid")
        conf_edge = self._edge(values, "conf_mess")
        if conf_edge and self.fault:
            self.fault = FaultCode.NONE
        job = self.job
        if job is not None and not self.interrupted and (not drives or self._protective):
            self.interrupted = True
            self._stop_decel = None
            self._interrupted_ns = ctx.now_ns
        if not drives:
            self.follower.v = 0.0  # drives off: the brakes hold the arm where it is
        ready = drives and not self.fault and not self._protective
        if pgno_edge and ready and (job is None or self.interrupted):
            self.job = job = None
            self.interrupted = False
            pgno = int(values[self.pgno.index])
            if pgno in self.params.jobs:
                self.latched = pgno
            else:
                self.latched = None
                self._raise_fault(FaultCode.UNKNOWN_PROGRAM)
        if ext_edge and ready:
            if job is not None and self.interrupted:
                self.interrupted = False
                # A wait or a timeout does not count the time the job stood interrupted.
                job.started_ns += ctx.now_ns - self._interrupted_ns
            elif job is None and self.latched is not None:
                self.job = job = _Job(
                    self.latched, list(self.params.jobs[self.latched].steps), 0, ctx.now_ns
                )
                self.latched = None
        q0 = self.q
        if job is not None and drives:
            self._run(ctx, job, values)
        q1 = self.q
        arm = self.arm
        dt = ctx.dt
        moved = q1 is not q0 and bool((q1 != q0).any())
        if arm is not None and (moved or self._moved):
            arm.position = q0.tolist()
            arm.velocity = ((q1 - q0) / dt).tolist() if moved else [0.0] * len(q0)
        self._moved = moved

    def _run(self, ctx: TickContext, job: _Job, values: list) -> None:
        enable = bool(values[self.move_enable.index])
        for _ in range(_STEPS_PER_TICK):
            if self.job is not job:
                return
            if job.index >= len(job.steps):
                self.done_pgno = job.pgno
                self.job = None
                return
            step = job.steps[job.index]
            kind = step.kind
            if kind in (StepKind.PTP, StepKind.LIN):
                self._move(ctx, job, step, enable, values)
                return  # a motion ends the tick (the rest of a tick is not carried over)
            if self.interrupted or not enable:
                return
            if kind is StepKind.WAIT:
                assert step.wait is not None
                if ctx.now_ns + ctx.dt_ns - job.started_ns < round(step.wait * 1e9):
                    return
            elif kind is StepKind.GRIP:
                self.tool.actuate(self.name, bool(step.grip))
            elif kind is StepKind.WAIT_FOR:
                if not self._condition(step, values):
                    if step.timeout is not None and (
                        ctx.now_ns + ctx.dt_ns - job.started_ns >= round(step.timeout * 1e9)
                    ):
                        self._raise_fault(FaultCode.WAIT_TIMEOUT)
                    return
            elif kind is StepKind.SET:
                assert step.set_ is not None
                self._user_values[step.set_] = step.value
            self._next(ctx, job)

    def _next(self, ctx: TickContext, job: _Job) -> None:
        job.index += 1
        job.segment = None
        job.started_ns = ctx.now_ns
        self.follower = PathFollower()

    def _condition(self, step: StepSpec, values: list) -> bool:
        name = step.wait_for
        if name == "gripped":
            return bool(self.tool.gripping())
        if name == "released":
            return not self.tool.gripping()
        return bool(values[self.user_inputs[str(name)].index]) == step.value

    def _target(self, job: _Job, step: StepSpec, values: list) -> _Target | FaultCode:
        name = step.target
        assert name is not None
        offset = self._offset_targets.get((job.pgno, job.index))
        pallet = self.params.pallets.get(name)
        if pallet is None:
            return offset[0] if offset is not None else self.targets[name]
        n = int(values[self.pallet_inputs[name].index])
        if not 1 <= n <= pallet.size:
            return FaultCode.PALLET_INDEX
        places = offset if offset is not None else self.pallet_targets[name]
        return places[n - 1]

    def _move(
        self, ctx: TickContext, job: _Job, step: StepSpec, enable: bool, values: list
    ) -> None:
        if job.segment is None:
            if self.interrupted or not enable:
                return
            target = self._target(job, step, values)
            if isinstance(target, FaultCode):
                self._raise_fault(target)
                return
            planned = (
                self._ptp(target, step.speed)
                if step.kind is StepKind.PTP
                else self._lin(target, step.speed)
            )
            if isinstance(planned, FaultCode):
                self._raise_fault(planned)
                return
            job.segment = planned
            self.follower = PathFollower()
        segment = job.segment
        follower = self.follower
        dt = ctx.dt
        if self.interrupted:
            if self._stop_decel is None:
                # Brake so that the arm is at rest within stop_time (one tick of margin:
                # the request may arrive just after this tick's update).
                budget = max(self.params.stop_time - dt, dt)
                self._stop_decel = max(segment.a, follower.v / budget)
            follower.advance(dt, 0.0, segment.a, stop_decel=self._stop_decel)
        else:
            override = min(max(int(values[self.override.index]), 0), 100)
            cap = segment.v * override / 100.0
            harder = None
            if self._reduced and segment.k_tcp > 0:
                # 4 % under the limit: the TCP path is only known at its samples.
                cap = min(cap, 0.96 * self.params.reduced_speed / segment.k_tcp)
                harder = follower.v / max(self.params.stop_time, dt)
            follower.advance(dt, cap if enable else 0.0, segment.a, over_cap_decel=harder)
        self.q = segment.q_at(follower.s)
        if follower.done:
            self.q = np.array(segment.samples[-1])
            self._next(ctx, job)
            if job.index >= len(job.steps):
                self.done_pgno = job.pgno
                self.job = None

    def _k_tcp(self, samples: list[np.ndarray]) -> float:
        points = np.array([self.tcp_pose(q)[:3, 3] for q in samples])
        steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
        return float(steps.max()) * (len(points) - 1) if len(steps) else 0.0

    def _ptp(self, target: _Target, speed: float) -> _Segment:
        q0, q1 = self.q, target.q
        dq = np.abs(q1 - q0)
        moving = dq > 1e-12
        if not moving.any():
            return _Segment([list(q0), list(q1)], 1.0, 1.0, 0.0)
        v = float(np.min(self.vmax[moving] / dq[moving])) * speed / 100.0
        a = float(np.min(self.amax[moving] / dq[moving]))
        probe = [q0 + (q1 - q0) * f for f in np.linspace(0.0, 1.0, _PTP_PROBES)]
        return _Segment([list(q0), list(q1)], v, a, self._k_tcp(probe))

    def _lin(self, target: _Target, speed: float) -> _Segment | FaultCode:
        p = self.params
        start, end = self.tcp_pose(self.q), target.pose
        samples = self._lin_samples(self.q, start, end)
        if isinstance(samples, FaultCode):
            return samples
        n = len(samples) - 1
        distance = float(np.linalg.norm(end[:3, 3] - start[:3, 3]))
        angle = float(np.linalg.norm(rotation_error(end[:3, :3], start[:3, :3])))
        if distance < 1e-9 and angle < 1e-9:
            return _Segment([list(q) for q in samples], 1.0, 1.0, 0.0)
        scale = speed / 100.0
        v_limits, a_limits = [], []
        if distance > 1e-9:
            v_limits.append(p.lin_speed * scale / distance)
            a_limits.append(p.lin_acceleration / distance)
        if angle > 1e-9:
            rot = math.radians(p.lin_rotation_speed)
            v_limits.append(rot * scale / angle)
            a_limits.append(2.0 * rot / angle)
        # Joint limits along the path: the steepest dq/ds of each joint over the samples.
        slopes = np.max(np.abs(np.diff(np.array(samples), axis=0)), axis=0) * n
        steep = slopes > 1e-12
        if steep.any():
            v_limits.append(float(np.min(self.vmax[steep] / slopes[steep])))
            a_limits.append(float(np.min(self.amax[steep] / slopes[steep])))
        # The TCP's speed between samples is not uniform (joints move linearly between
        # them): measure it on half-spacing chords for the reduced-speed limit.
        halves = [samples[0]]
        for a, b in itertools.pairwise(samples):
            halves += [(a + b) / 2, b]
        k_tcp = max(distance, self._k_tcp(halves))
        return _Segment([list(q) for q in samples], min(v_limits), min(a_limits), k_tcp)

    def _lin_samples(
        self, q: np.ndarray, start: np.ndarray, end: np.ndarray
    ) -> list[np.ndarray] | FaultCode:
        """Joint values along the TCP line from ``start`` to ``end``, solved from ``q`` on.

        Returns the fault when a pose on the line is out of reach, needs a joint beyond its
        limits, or only a jump of the configuration (a flip through a singularity) reaches it.
        """
        # A cell repeats the same lines every cycle: solve each (start, end) once.
        key = q.tobytes() + start.tobytes() + end.tobytes()
        found = self._lin_cache.get(key)
        if found is None:
            if len(self._lin_cache) >= 256:
                self._lin_cache.clear()
            found = self._lin_cache[key] = (self._solve_line(q, start, end), self._lin_failed_at)
        self._lin_failed_at = found[1]
        return found[0]

    def _solve_line(
        self, q: np.ndarray, start: np.ndarray, end: np.ndarray
    ) -> list[np.ndarray] | FaultCode:
        distance = float(np.linalg.norm(end[:3, 3] - start[:3, 3]))
        angle = float(np.linalg.norm(rotation_error(end[:3, :3], start[:3, :3])))
        n = max(1, math.ceil(distance / _LIN_STEP_M), math.ceil(angle / _LIN_STEP_RAD))
        n = min(n, _LIN_MAX_SAMPLES)
        base_inv = np.linalg.inv(self.base_T)
        samples = [q.copy()]
        for k in range(1, n + 1):
            f = k / n
            pose = pose_matrix(
                start[:3, 3] + (end[:3, 3] - start[:3, 3]) * f,
                slerp_matrix(start[:3, :3], end[:3, :3], f),
            )
            local = base_inv @ pose
            result = self.chain.ik(
                local, [samples[-1]], tip=self.tip_T, lower=self.lower, upper=self.upper
            )
            if not result.ok or float(np.max(np.abs(result.q - samples[-1]))) > 0.5:
                free = self.chain.ik(
                    local,
                    [samples[-1]],
                    tip=self.tip_T,
                    lower=self.lower - 10.0,
                    upper=self.upper + 10.0,
                )
                self._lin_failed_at = pose[:3, 3]
                return FaultCode.JOINT_LIMIT if free.ok else FaultCode.UNREACHABLE
            samples.append(result.q)
        return samples

    def sense(self, ctx: TickContext) -> None:
        values = ctx.values
        if self._moved:
            # Measured where the arm now is (pybullet's FK after the physics steps).
            tcp = self._tcp_in_world() if self._world is not None else self._tcp_fk()
            self._speed_mm_s = math.dist(tcp, self._tcp_position) / ctx.dt * 1e3
            self._tcp_position = tcp
        else:
            self._speed_mm_s = 0.0
        drives = bool(values[self.drives_on.index])
        job = self.job
        ready = (
            drives and not self.fault and not self._protective and (job is None or self.interrupted)
        )
        values[self.peri_rdy.index] = drives
        values[self.rob_rdy.index] = ready
        values[self.pgno_req.index] = ready and job is None and self.latched is None
        values[self.appl_run.index] = job is not None
        values[self.in_home.index] = self._at_home()
        values[self.job_done.index] = self.done_pgno
        values[self.stopmess.index] = bool(self.fault)
        values[self.fault_code.index] = int(self.fault)
        values[self.moving.index] = self._moved
        values[self.tcp_speed.index] = self._speed_mm_s
        values[self.safety_stop.index] = bool(self._protective)
        values[self.reduced.index] = bool(self._reduced)
        for name, port in self.user_outputs.items():
            values[port.index] = self._user_values[name]

    def _at_home(self) -> bool:
        if self.home_q is None:
            return False
        q = self.q
        if q is not self._home_q_seen:  # q is replaced when the arm moves, never modified
            self._home_q_seen = q
            self._home = bool((np.abs(q - self.home_q) <= self._home_tolerance).all())
        return self._home


def component_frame(component: Component) -> np.ndarray | None:
    """A component's frame for teach points: its position (and yaw) from its parameters.

    A kind may define ``frame_pose() -> ((x, y, z), yaw_rad)``; otherwise the first of the
    parameters ``position`` (sink: the floor's top centre; obstacle: the box centre),
    ``origin`` (cylinder), ``start`` (conveyor: infeed end, top surface) or ``base`` (robot)
    with ``yaw_deg`` or ``yaw`` (degrees) when the kind has one.
    """
    frame_pose = getattr(component, "frame_pose", None)
    if callable(frame_pose):
        xyz, yaw = frame_pose()
        return pose_matrix(np.array(xyz, dtype=float), rpy_matrix(0.0, 0.0, yaw))
    params = component.params
    for attr in ("position", "origin", "start", "base"):
        xyz = getattr(params, attr, None)
        if isinstance(xyz, tuple | list) and len(xyz) == 3:
            yaw_deg = getattr(params, "yaw_deg", None)
            if yaw_deg is None:
                yaw_deg = getattr(params, "yaw", 0.0)
            yaw = math.radians(float(yaw_deg or 0.0))
            return pose_matrix(np.array(xyz, dtype=float), rpy_matrix(0.0, 0.0, yaw))
    return None
