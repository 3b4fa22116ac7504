"""Where what moves was: poses sampled for a trace, and put back to picture a moment later.

A :class:`PoseSampler` follows a plant during a run: every ``period_ns`` of virtual time (and
at once when a part appears) it reads the pose of every part and every moving machine body
(a cylinder's plate, a robot's links as base pose plus joint angles, a gripper's tool) and
keeps a record for each one whose pose changed since its last record, rounded to
:data:`SCALE` (0.1 mm, 1e-4 of a quaternion component or a radian). Values are integers in
units of :data:`SCALE`, so a trace stores them exactly and two runs give the same bytes.

Each thing is named by a key that stays valid across plants built from the same model:
``part:<id>`` (the run's part id, not pybullet's body id, which is reused), and
``<component>/<group>/<n>`` for the n-th moving body of a component's group. Static bodies
are not recorded: they stand where the model puts them.

When a thing that stood still starts moving, its unchanged pose is recorded once more at
the previous sample, so that between two consecutive records a pose may be interpolated
linearly (:func:`interpolate`) without smearing a start over the time it stood still.

:func:`place` puts recorded poses back into a plant built from the same model, creating the
parts that were there (``vcommission render --at T --trace FILE``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vcommission.errors import VcommissionError

if TYPE_CHECKING:
    from vcommission.plant.plant import Plant
    from vcommission.plant.world import World

__all__ = [
    "DEFAULT_PERIOD_NS",
    "SCALE",
    "PoseRecord",
    "PoseSampler",
    "interpolate",
    "machine_bodies",
    "place",
]

#: The unit of a recorded value: 0.1 mm for positions, 1e-4 for quaternion components and
#: joint angles (radians) or travels (metres).
SCALE = 1e-4
#: How often poses are sampled, virtual time: 10 pictures per second of run (interpolated
#: between; a finer period costs every run more, for pictures nobody may draw).
DEFAULT_PERIOD_NS = 100_000_000

#: One record: (time ns, key, values in units of SCALE).
PoseRecord = tuple[int, str, tuple[int, ...]]


def machine_bodies(plant: Plant) -> list[tuple[str, int]]:
    """Every moving machine body as (key, pybullet body id), in component order."""
    found = []
    for component in plant.components:
        for group_name, group in component.bodies().items():
            for n, body in enumerate(group.moving):
                found.append((f"{component.name}/{group_name}/{n}", body))
    return found


def _reader(world: World) -> Callable[[int, int], tuple[int, ...]]:
    """A function reading one body's pose (with ``joints`` joint positions), rounded."""
    from vcommission.plant.bullet import pybullet

    cid = world.cid
    base = pybullet.getBasePositionAndOrientation
    joint_states = pybullet.getJointStates
    scale = 1 / SCALE

    def read(body: int, joints: int) -> tuple[int, ...]:
        position, orientation = base(body, physicsClientId=cid)
        values = [*position, *orientation]
        if joints:
            states = joint_states(body, list(range(joints)), physicsClientId=cid)
            values += [state[0] for state in states]
        return tuple([round(v * scale) for v in values])

    return read


@dataclass
class PoseSampler:
    """Samples the poses of a plant's parts and moving bodies while it runs."""

    plant: Plant
    period_ns: int = DEFAULT_PERIOD_NS
    #: Every record so far, in time order.
    records: list[PoseRecord] = field(default_factory=list)
    _last: dict[str, tuple[int, tuple[int, ...]]] = field(default_factory=dict)
    _previous_ns: int = 0
    _next_ns: int = 0
    _parts_seen: int = -1
    _world: object = None
    #: (key, body, joints) of the machine's moving bodies: fixed for one build of the plant.
    _machine: list[tuple[str, int, int]] = field(default_factory=list)
    _read: Callable[[int, int], tuple[int, ...]] | None = None

    def __post_init__(self) -> None:
        if self.period_ns <= 0:
            raise ValueError(f"period_ns={self.period_ns} must be > 0")
        world = self.plant.world
        self._world = world
        if world is not None:
            self._read = _reader(world)
            self._machine = [
                (key, body, world.link_count(body)) for key, body in machine_bodies(self.plant)
            ]

    def __call__(self, now_ns: int) -> None:
        """After a tick: sample if one is due, or if a part appeared since the last sample."""
        if now_ns >= self._next_ns or self.plant.parts.total != self._parts_seen:
            self.sample(now_ns)

    def sample(self, now_ns: int) -> None:
        """Record every pose that changed since its last record (the first sample: all)."""
        world, read = self.plant.world, self._read
        if world is None or world is not self._world or read is None:
            return  # the plant was reset (a new world): this run is over
        if now_ns < self._previous_ns or (self.records and now_ns == self._previous_ns):
            return
        parts = self.plant.parts
        self._parts_seen = parts.total
        things = [*self._machine, *((f"part:{p.id}", p.body, 0) for p in parts.alive)]
        previous, last_of, records = self._previous_ns, self._last, self.records
        for key, body, joints in things:
            values = read(body, joints)
            last = last_of.get(key)
            if last is not None and last[1] == values:
                continue
            if last is not None and last[0] < previous:
                # It stood still until the last sample: say so, so interpolation holds.
                records.append((previous, key, last[1]))
            records.append((now_ns, key, values))
            last_of[key] = (now_ns, values)
        self._previous_ns = now_ns
        self._next_ns = now_ns - now_ns % self.period_ns + self.period_ns


def interpolate(
    before: tuple[int, Sequence[float]], after: tuple[int, Sequence[float]] | None, time_ns: int
) -> list[float]:
    """The pose at ``time_ns`` between two records (time, values in metres/radians).

    Positions and joints linearly, the orientation by normalised linear interpolation of
    the quaternion (the shorter way round). Without ``after``, ``before`` holds.
    """
    t0, a = before
    if after is None or after[0] <= t0 or time_ns <= t0:
        return list(a)
    t1, b = after
    if time_ns >= t1:
        return list(b)
    s = (time_ns - t0) / (t1 - t0)
    qa, qb = a[3:7], b[3:7]
    sign = -1.0 if sum(x * y for x, y in zip(qa, qb, strict=True)) < 0 else 1.0
    q = [x + (sign * y - x) * s for x, y in zip(qa, qb, strict=True)]
    norm = math.sqrt(sum(c * c for c in q)) or 1.0
    rest = [x + (y - x) * s for x, y in zip(a[7:], b[7:], strict=True)]
    position = [x + (y - x) * s for x, y in zip(a[:3], b[:3], strict=True)]
    return [*position, *(c / norm for c in q), *rest]


def place(plant: Plant, poses: Mapping[str, Sequence[float]], parts: Mapping[int, str]) -> None:
    """Put ``poses`` (key -> position, quaternion, joints) into ``plant``; create ``parts``.

    ``parts`` maps the part ids present at the moment to their variants; each is created
    (registered in the plant's tracker, so pictures colour it by variant) and posed.
    Beams are cast again, so a picture shows which were blocked.

    Raises:
        VcommissionError: a key names a body the model does not have (another model).
    """
    from vcommission.plant.bullet import pybullet

    world = plant.world
    assert world is not None
    cid = world.cid
    bodies = dict(machine_bodies(plant))
    for part_id, variant in sorted(parts.items()):
        if variant not in plant.model.variants:
            raise VcommissionError(f"part {part_id}: the model has no part variant {variant!r}")
        body = world.add_part(plant.model.variants[variant], (0.0, 0.0, -10.0 - part_id))
        plant.parts.add(variant, body, 0, "trace")
        bodies[f"part:{part_id}"] = body
    for key, values in poses.items():
        if key.startswith("part:") and int(key[5:]) not in parts:
            continue  # not there at that moment
        body = bodies.get(key)
        if body is None:
            raise VcommissionError(f"the trace has a pose of {key}, which this model does not have")
        pybullet.resetBasePositionAndOrientation(
            body, list(values[:3]), list(values[3:7]), physicsClientId=cid
        )
        for joint, angle in enumerate(values[7:]):
            pybullet.resetJointState(body, joint, angle, physicsClientId=cid)
    world.cast_rays()
