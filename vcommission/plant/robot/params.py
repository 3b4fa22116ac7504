"""Parameters of a ``robot`` as written in the model YAML: teach points, pallets, jobs, limits.

Plain frozen dataclasses, loaded strictly by :mod:`vcommission.config.yamlload`; each checks
its own shape in ``__post_init__``. What needs the URDF or other components (reachability,
joint names, frames) is checked by the robot component itself.

Units as a robot programmer writes them: angles in degrees (joint values of revolute axes,
``rpy``, ``yaw``), lengths in metres (positions, prismatic axes), times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from vcommission.errors import ConfigError

__all__ = [
    "JobSpec",
    "JointLimitSpec",
    "PalletSpec",
    "PointSpec",
    "RobotParams",
    "StepKind",
    "StepSpec",
]

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class JointLimitSpec:
    """Overrides of one joint's limits (``limits: {<joint>: {...}}``); omitted ones stay.

    Degrees (deg/s, deg/s^2) for revolute joints, metres (m/s, m/s^2) for prismatic ones.
    """

    #: Lower position limit.
    lower: float | None = None
    #: Upper position limit.
    upper: float | None = None
    #: Velocity limit (URDF ``<limit velocity>`` by default).
    velocity: float | None = None
    #: Acceleration limit. URDF has none: the default is 2 x the velocity limit per second
    #: (full speed in 0.5 s).
    acceleration: float | None = None

    def __post_init__(self) -> None:
        for name in ("velocity", "acceleration"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigError(f"{name}={value} must be > 0")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ConfigError(f"lower={self.lower} must be <= upper={self.upper}")


@dataclass(frozen=True)
class PointSpec:
    """A teach point: joint values, or a Cartesian TCP pose in a frame."""

    #: Joint values, one per axis (degrees / metres).
    joints: list[float] | None = None
    #: TCP position (x, y, z) in ``frame``, metres.
    xyz: Vec3 | None = None
    #: TCP orientation (roll, pitch, yaw) in ``frame``, degrees; default [180, 0, 0]: the
    #: tool pointing straight down.
    rpy: Vec3 | None = None
    #: ``base`` (the robot's base), ``world``, or the name of a component.
    frame: str = "base"
    #: Joint values IK starts from (chooses the arm configuration: elbow up/down).
    seed: list[float] | None = None

    def __post_init__(self) -> None:
        if (self.joints is None) == (self.xyz is None):
            raise ConfigError("give either 'joints' or 'xyz'")
        if self.joints is not None and (
            self.rpy is not None or self.frame != "base" or self.seed is not None
        ):
            raise ConfigError("'rpy', 'frame' and 'seed' go with 'xyz', not 'joints'")


@dataclass(frozen=True)
class PalletSpec:
    """A pallet (tray) pattern: a grid of place points, one chosen by a PLC INT input.

    Place ``n`` (1-based) is column ``(n-1) % columns``, row ``(n-1) // columns % rows``,
    layer ``(n-1) // (columns * rows)``: filled along x first, then y, then up.
    """

    #: TCP position of place 1 in ``frame``, metres.
    first: Vec3
    #: Grid size: [columns (along x), rows (along y)] or with layers [columns, rows, layers].
    count: list[int]
    #: Distance between neighbouring places (dx, dy), metres; with layers (dx, dy, dz).
    pitch: list[float]
    #: Name of the robot's INT input port that selects the place (created by the robot).
    index: str
    #: TCP orientation in ``frame``, degrees (default: tool pointing down).
    rpy: Vec3 | None = None
    #: ``base``, ``world`` or a component name.
    frame: str = "base"

    def __post_init__(self) -> None:
        if len(self.count) not in (2, 3) or any(n < 1 for n in self.count):
            raise ConfigError(f"count={self.count} must be [columns, rows(, layers)], each >= 1")
        if len(self.pitch) != len(self.count):
            raise ConfigError(
                f"pitch={self.pitch} needs one distance per count ({len(self.count)})"
            )

    @property
    def size(self) -> int:
        n = 1
        for c in self.count:
            n *= c
        return n

    def place(self, n: int) -> Vec3:
        """Position of place ``n`` (1-based) in the pallet's frame."""
        columns, rows = self.count[0], self.count[1]
        i = n - 1
        col, row, layer = i % columns, (i // columns) % rows, i // (columns * rows)
        dz = self.pitch[2] if len(self.pitch) == 3 else 0.0
        x, y, z = self.first
        return (x + col * self.pitch[0], y + row * self.pitch[1], z + layer * dz)


class StepKind(str, Enum):
    """What one job step does (the key the step is written with)."""

    PTP = "ptp"
    LIN = "lin"
    WAIT = "wait"
    GRIP = "grip"
    WAIT_FOR = "wait_for"
    SET = "set"


@dataclass(frozen=True)
class StepSpec:
    """One job step: exactly one of ``ptp``, ``lin``, ``wait``, ``grip``, ``wait_for``, ``set``."""

    #: Joint-space move to a teach point or pallet.
    ptp: str | None = None
    #: Straight-line TCP move to a teach point or pallet.
    lin: str | None = None
    #: Dwell, seconds.
    wait: float | None = None
    #: Tool on (TRUE: suction on / jaws closed) or off, through the tool's ``actuate``.
    grip: bool | None = None
    #: Wait until ``gripped`` (the tool reports a part), ``released``, or a user input is
    #: ``value``.
    wait_for: str | None = None
    #: Set a user output to ``value``.
    set_: str | None = field(default=None, metadata={"yaml": "set"})
    #: Value for ``set`` and ``wait_for`` (an input).
    value: bool = True
    #: Offset added to the target position, in the target's frame, metres (an approach
    #: point above a place: [0, 0, 0.1]).
    offset: Vec3 | None = None
    #: Speed of this move, % of the robot's maximum (PTP: joint speeds; LIN: ``lin_speed``).
    speed: float = 100.0
    #: ``wait_for`` gives up after this many seconds with fault 5 (null: waits for ever).
    timeout: float | None = None
    #: Which action the step has (derived; the sequencer asks every tick).
    kind: StepKind = field(default=StepKind.WAIT, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        given = [kind for kind in StepKind if self.action(kind) is not None]
        if len(given) != 1:
            names = ", ".join(kind.value for kind in StepKind)
            found = f" (found {', '.join(k.value for k in given)})" if given else ""
            raise ConfigError(f"a step needs exactly one of: {names}{found}")
        object.__setattr__(self, "kind", given[0])
        if self.wait is not None and self.wait < 0:
            raise ConfigError(f"wait={self.wait} must be >= 0")
        if not 0 < self.speed <= 100:
            raise ConfigError(f"speed={self.speed} must be in (0, 100] %")
        if self.offset is not None and self.kind not in (StepKind.PTP, StepKind.LIN):
            raise ConfigError("'offset' goes with ptp or lin")
        if self.timeout is not None and (self.kind is not StepKind.WAIT_FOR or self.timeout <= 0):
            raise ConfigError("'timeout' (> 0 s) goes with wait_for")

    def action(self, kind: StepKind) -> object:
        return self.set_ if kind is StepKind.SET else getattr(self, kind.value)

    @property
    def target(self) -> str | None:
        return self.ptp if self.ptp is not None else self.lin


@dataclass(frozen=True)
class JobSpec:
    """A job: what one program number runs."""

    #: Steps, run in order.
    steps: list[StepSpec]
    #: A name for people (reports, traces).
    name: str = ""


@dataclass(frozen=True)
class RobotParams:
    """Parameters of a ``robot``."""

    #: URDF file: relative to the model file, else bundled (vcommission/plant/robot/urdf/),
    #: else in pybullet_data (``kuka_iiwa/model.urdf``).
    urdf: str
    #: Position of the robot's base (root link frame), metres.
    base: Vec3 = (0.0, 0.0, 0.0)
    #: Rotation of the base about +z, degrees.
    yaw: float = 0.0
    #: Flange link (tool mounting); default: the end of the unbranched chain from the root.
    flange: str | None = None
    #: Name of the tool component mounted on the flange (a gripper): grip steps command it.
    tool: str | None = None
    #: Tool centre point offset from the flange, in the flange frame, metres.
    tcp: Vec3 = (0.0, 0.0, 0.0)
    #: Per-joint limit overrides by joint name.
    limits: dict[str, JointLimitSpec] = field(default_factory=dict)
    #: Protective stop: the robot is at rest within this time, seconds.
    stop_time: float = 0.5
    #: LIN: TCP speed at 100 %, m/s.
    lin_speed: float = 1.0
    #: LIN: TCP acceleration, m/s^2.
    lin_acceleration: float = 2.0
    #: LIN: orientation speed at 100 %, degrees/s.
    lin_rotation_speed: float = 180.0
    #: Speed limit of the tool centre point while reduced speed is active, m/s.
    reduced_speed: float = 0.25
    #: Teach points by name.
    points: dict[str, PointSpec] = field(default_factory=dict)
    #: Pallet patterns by name (jobs move to them like to teach points).
    pallets: dict[str, PalletSpec] = field(default_factory=dict)
    #: The home teach point (``in_home`` output; the power-on pose); default: the point
    #: named ``home`` if there is one.
    home: str | None = None
    #: ``in_home`` when every joint is this close to home, degrees (metres / 1000: mm for
    #: prismatic axes).
    home_tolerance: float = 0.5
    #: Jobs by program number (1..32767).
    jobs: dict[int, JobSpec] = field(default_factory=dict)
    #: User BOOL inputs (PLC -> robot) that ``wait_for`` steps read.
    inputs: list[str] = field(default_factory=list)
    #: User BOOL outputs (robot -> PLC) that ``set`` steps write.
    outputs: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in (
            "stop_time",
            "lin_speed",
            "lin_acceleration",
            "lin_rotation_speed",
            "reduced_speed",
            "home_tolerance",
        ):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be > 0")
        bad = [n for n in self.jobs if not 1 <= n <= 32767]
        if bad:
            raise ConfigError(f"program numbers {bad} must be 1..32767 (pgno is an INT; 0 = none)")
        clash = set(self.points) & set(self.pallets)
        if clash:
            raise ConfigError(f"{sorted(clash)} name both a teach point and a pallet")
