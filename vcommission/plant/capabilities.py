"""Capabilities: what scenario code may ask of a component, without knowing its class.

Code outside the plant asks for a capability, never for a concrete kind: "the bodies of this
component" (:meth:`~vcommission.plant.component.Component.bodies`, groups of
:class:`BodyGroup`), "something that drops parts on request" (:class:`PartSource`),
"something that holds parts" (:class:`PartSink`), "an actuator whose stroke can be slowed"
(:class:`Slowable`), "a transport surface that can slip" (:class:`Slippable`), "a flange a
tool can be mounted on" (:class:`Mount`), "something that holds parts" (:class:`PartHolder`),
"a machine a safety relay can stop" (:class:`SafetyStoppable`), "a tool a carrier
commands" (:class:`Tool`), "a tool that can lose its grip" (:class:`GripLosable`). A robot, a
gripper or a third-party kind takes part in spawn steps, throughput checks or faults by
implementing the protocol; no scenario code changes. Ask with
:meth:`Plant.find(name, PartSink) <vcommission.plant.plant.Plant.find>` or
:meth:`Plant.having(PartSource) <vcommission.plant.plant.Plant.having>`.

The protocols are :func:`typing.runtime_checkable`: ``isinstance(component, PartSink)``
checks that the members exist, which is all a duck-typed kind promises.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from vcommission.plant.parts import Arrival

__all__ = [
    "BodyGroup",
    "GripLosable",
    "Mount",
    "PartHolder",
    "PartSink",
    "PartSource",
    "SafetyStoppable",
    "Slippable",
    "Slowable",
    "Tool",
]

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]


@dataclass(frozen=True)
class BodyGroup:
    """A named set of a component's own bodies (pybullet body ids), static and moving.

    Static bodies never move (a bin's walls, a belt's guide rails); moving bodies are driven
    by the component every tick (a pusher plate, a stopper, a belt's transport surface).
    Parts a component creates (a spawner's boxes) are not its own: they are workpieces.
    """

    #: Bodies that stay where they were built.
    static: tuple[int, ...] = ()
    #: Bodies the component drives.
    moving: tuple[int, ...] = ()

    @property
    def all(self) -> tuple[int, ...]:
        """Static bodies, then moving ones."""
        return self.static + self.moving

    def __len__(self) -> int:
        return len(self.static) + len(self.moving)


@runtime_checkable
class PartSource(Protocol):
    """Drops workpieces into the world, on its own schedule and when a scenario asks."""

    name: str

    def request(self, variant: str, count: int, interval_ns: int, now_ns: int) -> None:
        """Drop ``count`` parts of ``variant`` ``interval_ns`` apart, from ``now_ns`` on.

        Raises:
            PlantError: the source cannot make ``variant``.
        """


@runtime_checkable
class PartSink(Protocol):
    """Receives workpieces and records each arrival once (bins, outfeeds, robot places)."""

    name: str
    #: Every part that arrived, in arrival order.
    arrivals: Sequence[Arrival]


@runtime_checkable
class Slowable(Protocol):
    """An actuator whose motion takes ``time_factor`` times its nominal time.

    Faults multiply it around the component's ``update`` (where the motion is integrated)
    and restore it afterwards, so nested faults multiply and a cleared one leaves no trace.
    """

    #: Multiplies the actuator's stroke (motion) times; 1.0 is nominal.
    time_factor: float


@runtime_checkable
class Slippable(Protocol):
    """A transport surface that can move slower (or faster) than its drive reports."""

    def slip(self, factor: float) -> None:
        """Move the surface at ``factor`` times the drive's speed until the next ``update``.

        Called after ``update``; the drive's own state and reported speed are untouched.
        """


@runtime_checkable
class Mount(Protocol):
    """A place a tool (a gripper) is mounted on: a robot's flange, a cylinder's plate.

    Valid once the component is built; the tool reads it in its ``attach`` and every tick.
    """

    name: str

    def mount_frame(self) -> tuple[int, int]:
        """The body and link the tool is fixed to: (pybullet body id, link index; -1 = base)."""

    def mount_pose(self) -> tuple[Vec3, Quat]:
        """The mount point's pose in the world now: position (m) and quaternion (x, y, z, w)."""


@runtime_checkable
class PartHolder(Protocol):
    """Holds workpieces (a gripper): contacts of a held part with the holder are not collisions."""

    name: str

    def held_parts(self) -> Sequence[int]:
        """Body ids of the parts held now."""

    def holding_bodies(self) -> Sequence[int]:
        """Bodies whose contacts with a held part are the grip itself.

        The fingers or suction cup, and the body of the link they are mounted on.
        """


@runtime_checkable
class SafetyStoppable(Protocol):
    """A machine a safety function stops (a robot): independent of the PLC's own commands.

    Each request is named by its ``source`` (the relay or device asking); the machine stays
    stopped while any source asks, and a cleared request does not restart it by itself
    (the PLC must start it again, as after a real protective stop).
    """

    name: str

    def protective_stop(self, source: str, active: bool) -> None:
        """Stop along the path within the machine's stop time (category 1/2) while ``active``."""

    def reduced_speed(self, source: str, active: bool) -> None:
        """Limit the tool centre point to the safely reduced speed (250 mm/s) while ``active``."""


@runtime_checkable
class Tool(Protocol):
    """A tool on a mount (a gripper) that its carrier commands: a robot job's grip/release.

    The carrier's command is OR'd with the tool's own PLC input port (``suction``,
    ``close``): the tool acts while either asks, so a PLC can drive a gripper on a cylinder
    and a robot job can drive the same kind on its flange.
    """

    name: str

    def actuate(self, source: str, on: bool) -> None:
        """Command the tool on (grip) or off (release) on behalf of ``source`` (the carrier).

        The command holds until the same source sends the opposite one; it takes effect in
        the tool's next ``update``.
        """

    def gripping(self) -> bool:
        """True while the tool holds a part, as of its last ``sense``.

        A vacuum gripper's ``vacuum_ok``, a parallel gripper's ``part_gripped``.
        """


@runtime_checkable
class GripLosable(Protocol):
    """A tool that can lose its grip (vacuum supply or air pressure lost): faults drop parts.

    While any ``source`` asks, the tool holds nothing: held parts fall at its next
    ``update`` and it cannot grip again until every source has cleared.
    """

    name: str

    def lose_grip(self, source: str, active: bool) -> None:
        """Lose the grip on behalf of ``source`` while ``active``."""
