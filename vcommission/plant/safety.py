"""Safety devices and the model's safety rule, which runs in the plant, not in the PLC.

* ``door_switch``: an interlocked guard door with optional guard locking.
* ``light_curtain``: a set of beams between two posts with OSSD outputs (TRUE while clear),
  optionally muted.
* ``safety_fence``: static panels along a polyline, with a gap for a door.
* ``mode_selector``: the operating-mode key switch, ``auto`` or ``manual``.
* ``safety_relay``: the safety rule of the cell, as a safety relay (or safety PLC) wired to
  the devices above would run it, independent of the user's ST program: a guard opened or
  a curtain broken in auto, or an e-stop, protective-stops the named robots (components
  that are :class:`~vcommission.plant.capabilities.SafetyStoppable`); manual mode limits
  them to reduced speed. A trip latches until the cause is gone and ``reset`` is pressed,
  and resetting never restarts a robot by itself (the PLC starts it again).
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vcommission.errors import ConfigError
from vcommission.plant.capabilities import SafetyStoppable
from vcommission.plant.component import Component, PortKind, TickContext
from vcommission.plant.geometry import yaw_quaternion
from vcommission.signals import SignalType

if TYPE_CHECKING:
    from vcommission.plant.world import World

__all__ = [
    "DoorGap",
    "DoorSwitch",
    "LightCurtain",
    "LightCurtainParams",
    "ModeSelector",
    "SafetyFence",
    "SafetyFenceParams",
    "SafetyRelay",
    "SafetyRelayParams",
]


class DoorSwitch(Component):
    """Guard door with an interlock switch and a guard-locking solenoid.

    While ``lock`` is TRUE and the door is closed, opening is refused: the door stays closed
    until the lock is released, then opens if the person still pulls it.

    Ports:
        open (operator BOOL): a person opens (TRUE) or closes (FALSE) the door.
        lock (input BOOL): guard locking requested by the PLC.
        closed (output BOOL): door closed (the interlock contact).
        locked (output BOOL): door closed and locked.
    """

    kind = "door_switch"

    def __init__(self, name: str, params: object = None, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.open = self.declare_operator("open", SignalType.BOOL, description="door pulled open")
        self.lock = self.declare_input("lock", SignalType.BOOL, description="guard locking")
        self.closed = self.declare_output(
            "closed", SignalType.BOOL, default=True, description="door closed"
        )
        self.locked = self.declare_output("locked", SignalType.BOOL, description="door locked")
        self._closed = True

    def build(self, world: object) -> None:
        super().build(world)  # type: ignore[arg-type]
        self._closed = True

    def sense(self, ctx: TickContext) -> None:
        values = ctx.values
        locked = bool(values[self.lock.index]) and self._closed
        if not locked:
            self._closed = not values[self.open.index]
        values[self.closed.index] = self._closed
        values[self.locked.index] = locked and self._closed


# ---- light curtain ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LightCurtainParams:
    """Parameters of a ``light_curtain`` (a type 4 safety light curtain)."""

    #: Foot of the emitter post (x, y, z), metres.
    start: tuple[float, float, float]
    #: Foot of the receiver post (x, y, z), metres; the beams run from post to post.
    end: tuple[float, float, float]
    #: Number of beams, evenly spaced from ``low`` to ``high``.
    beams: int = 8
    #: Heights of the lowest and highest beam above the post feet, metres.
    low: float = 0.1
    high: float = 1.2
    #: OSSD channels: 1 (``ossd``) or 2 (``ossd`` and ``ossd2``, always equal here: a real
    #: curtain's cross-monitoring finds a channel fault, this model has none).
    channels: int = 1
    #: Declare a ``muting`` input: while TRUE the OSSDs stay on with beams broken (a part
    #: passing through on a conveyor, as muting sensors would allow).
    muting: bool = False
    #: Build the two posts as static bodies (beams do not see them).
    posts: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.beams <= 256:
            raise ConfigError(f"beams={self.beams} must be 1..256", path=("beams",))
        if not 0 <= self.low <= self.high:
            raise ConfigError(f"low={self.low} and high={self.high} need 0 <= low <= high")
        if self.channels not in (1, 2):
            raise ConfigError(f"channels={self.channels} must be 1 or 2", path=("channels",))
        if math.dist(self.start[:2], self.end[:2]) == 0:
            raise ConfigError("start and end must be apart horizontally", path=("end",))


class LightCurtain(Component):
    """Beams between two posts; the OSSDs switch off while any beam is interrupted.

    The beams are the world's rays: they see parts and moving machine bodies (robot links,
    grippers, pusher plates), not the frame. A person reaching through is the operator port
    ``interrupted``.

    Ports:
        interrupted (operator BOOL): a person reaches through the protective field.
        muting (input BOOL, with ``muting: true``): mute the curtain.
        ossd (output BOOL): output signal switching device: TRUE while the field is clear.
        ossd2 (output BOOL, with ``channels: 2``): the second channel.
        beams_broken (output INT): beams interrupted now (the person counts as all).
        muted (output BOOL, with ``muting: true``): muting active.

    Bodies: ``posts`` (static).
    """

    kind = "light_curtain"
    Params = LightCurtainParams

    def __init__(self, name: str, params: LightCurtainParams, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        p = self.params
        self.interrupted = self.declare_operator(
            "interrupted", SignalType.BOOL, description="a person in the protective field"
        )
        self.muting = (
            self.declare_input("muting", SignalType.BOOL, description="mute the curtain")
            if p.muting
            else None
        )
        self.ossd = [
            self.declare_output(
                "ossd" if i == 0 else f"ossd{i + 1}",
                SignalType.BOOL,
                default=True,
                description=f"OSSD {i + 1}: field clear",
            )
            for i in range(p.channels)
        ]
        self.beams_broken = self.declare_output(
            "beams_broken", SignalType.INT, description="beams interrupted"
        )
        self.muted = (
            self.declare_output("muted", SignalType.BOOL, description="muting active")
            if p.muting
            else None
        )

    def beam_heights(self) -> list[float]:
        p = self.params
        if p.beams == 1:
            return [p.low]
        return [p.low + (p.high - p.low) * i / (p.beams - 1) for i in range(p.beams)]

    def build(self, world: World) -> None:
        super().build(world)
        p = self.params
        (x0, y0, z0), (x1, y1, z1) = p.start, p.end
        self._rays = [
            world.add_ray((x0, y0, z0 + h), (x1, y1, z1 + h)) for h in self.beam_heights()
        ]
        if p.posts:
            top = p.high + 0.1
            self.own(
                "posts",
                static=[
                    world.add_box((0.02, 0.02, top / 2), (x, y, z + top / 2))
                    for x, y, z in (p.start, p.end)
                ],
            )

    def sense(self, ctx: TickContext) -> None:
        values = ctx.values
        hits = ctx.world.ray_hits
        broken = sum(1 for i in self._rays if hits[i] >= 0)
        if values[self.interrupted.index]:
            broken = len(self._rays)
        muted = self.muting is not None and bool(values[self.muting.index])
        clear = broken == 0 or muted
        for port in self.ossd:
            values[port.index] = clear
        values[self.beams_broken.index] = broken
        if self.muted is not None:
            values[self.muted.index] = muted


# ---- safety fence ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DoorGap:
    """An opening in one segment of a fence (where the guard door is)."""

    #: Index of the segment (0 = from the first point to the second).
    segment: int
    #: Distance from the segment's start to the opening, metres.
    offset: float
    #: Width of the opening, metres.
    width: float


@dataclass(frozen=True)
class SafetyFenceParams:
    """Parameters of a ``safety_fence``."""

    #: Corners of the fence on the floor plan (x, y), metres; panels join them in order.
    points: list[tuple[float, float]]
    #: Panel height and thickness, metres.
    height: float = 2.0
    thickness: float = 0.04
    #: Height of the panels' lower edge above the floor, metres.
    z: float = 0.0
    #: Close the polyline (a panel from the last point back to the first).
    closed: bool = False
    #: The door opening, if any.
    door: DoorGap | None = None

    def __post_init__(self) -> None:
        if len(self.points) < 2:
            raise ConfigError("points: a fence needs at least two points", path=("points",))
        if not (self.height > 0 and self.thickness > 0):
            raise ConfigError(f"height={self.height}, thickness={self.thickness} must be > 0")
        segments = self.segments()
        for i, (a, b) in enumerate(segments):
            if math.dist(a, b) == 0:
                raise ConfigError(f"segment {i} has zero length", path=("points", i))
        if self.door is not None:
            d = self.door
            if not 0 <= d.segment < len(segments):
                raise ConfigError(
                    f"segment={d.segment}: the fence has segments 0..{len(segments) - 1}",
                    path=("door", "segment"),
                )
            length = math.dist(*segments[d.segment])
            if not (d.width > 0 and d.offset >= 0 and d.offset + d.width <= length):
                raise ConfigError(
                    f"the opening ({d.offset} + {d.width} m) must lie within segment "
                    f"{d.segment} ({length:g} m)",
                    path=("door",),
                )

    def segments(self) -> list[tuple[tuple[float, float], tuple[float, float]]]:
        points = [tuple(p) for p in self.points]
        if self.closed:
            points.append(points[0])
        return list(itertools.pairwise(points))


class SafetyFence(Component):
    """Static fence panels along a polyline, with an opening for the guard door.

    Bodies: ``panels`` (static). The door itself is a ``door_switch`` (its state has no
    geometry): the opening is where a person enters.
    """

    kind = "safety_fence"
    Params = SafetyFenceParams

    def build(self, world: World) -> None:
        super().build(world)
        p = self.params
        panels = []
        for i, (a, b) in enumerate(p.segments()):
            length = math.dist(a, b)
            pieces = [(0.0, length)]
            if p.door is not None and p.door.segment == i:
                pieces = [(0.0, p.door.offset), (p.door.offset + p.door.width, length)]
            ux, uy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
            orientation = yaw_quaternion(math.atan2(uy, ux))
            for s0, s1 in pieces:
                if s1 - s0 <= 1e-6:
                    continue
                mid = (s0 + s1) / 2
                panels.append(
                    world.add_box(
                        ((s1 - s0) / 2, p.thickness / 2, p.height / 2),
                        (a[0] + ux * mid, a[1] + uy * mid, p.z + p.height / 2),
                        orientation=orientation,
                    )
                )
        self.own("panels", static=panels)


# ---- mode selector ---------------------------------------------------------------------------


class ModeSelector(Component):
    """The operating-mode key switch: automatic, or manual (reduced speed, guards may open).

    Ports:
        select_manual (operator BOOL): the key turned to manual (stays where it is left).
        auto (output BOOL): automatic mode selected.
        manual (output BOOL): manual mode selected.
    """

    kind = "mode_selector"

    def __init__(self, name: str, params: object = None, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.select_manual = self.declare_operator(
            "select_manual", SignalType.BOOL, description="key at manual"
        )
        self.auto = self.declare_output(
            "auto", SignalType.BOOL, default=True, description="automatic mode"
        )
        self.manual = self.declare_output("manual", SignalType.BOOL, description="manual mode")

    def sense(self, ctx: TickContext) -> None:
        values = ctx.values
        manual = bool(values[self.select_manual.index])
        values[self.auto.index] = not manual
        values[self.manual.index] = manual


# ---- safety relay ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyRelayParams:
    """Parameters of a ``safety_relay``: the devices it monitors and the robots it stops.

    Devices are named ``component`` (its usual safety contact) or ``component.port`` (a BOOL
    output that is TRUE while safe).
    """

    #: Robots (SafetyStoppable components) the relay stops.
    robots: list[str] = field(default_factory=list)
    #: Light curtains: their ``ossd`` outputs (and ``ossd2`` when it exists).
    curtains: list[str] = field(default_factory=list)
    #: Guard doors: their ``closed`` contacts.
    doors: list[str] = field(default_factory=list)
    #: Emergency stops: their ``healthy`` circuits (stop in every mode).
    estops: list[str] = field(default_factory=list)
    #: The mode selector (its ``manual`` output); none: always automatic.
    mode: str | None = None
    #: Reset by itself once the cause is gone (no restart interlock). Off by default: a
    #: person must confirm the cell is clear, as ISO 13849-1's manual reset asks.
    auto_reset: bool = False
    #: Come up tripped at power-on, needing a reset (a start-up interlock).
    startup_reset: bool = False


class _Device:
    """A monitored contact: the port indices that must all read TRUE."""

    __slots__ = ("indices", "name")

    def __init__(self, name: str, indices: list[int]) -> None:
        self.name, self.indices = name, indices


#: Bits of the relay's ``cause`` output.
CAUSE_ESTOP = 1
CAUSE_DOOR = 2
CAUSE_CURTAIN = 4


class SafetyRelay(Component):
    """The cell's safety rule, running in the plant independent of the PLC program.

    Every tick, from the devices' outputs of the tick before (a relay's response time):

    * an e-stop not healthy trips the relay in every mode;
    * in **auto**, a door open or a curtain broken trips it;
    * in **manual**, doors and curtains may open: the robots run at reduced speed
      (``reduced_speed(name, True)`` on each) for as long as manual is selected;
    * a trip protective-stops every robot (``protective_stop(name, True)``): the robot
      decelerates along its path within its stop time. The e-stop uses the same stop (a
      category 1 stop: the PLC sees ``safety_stop`` and the e-stop's own contact, and is
      expected to switch the drives off);
    * a trip **latches**: it clears only once every cause is gone *and* ``reset`` rises
      (a reset pressed while a door is still open does nothing, and holding it pressed
      does not arm it: only the edge counts). Then ``protective_stop(name, False)``: the
      robot stays stopped until the PLC starts it again (no automatic restart).
      ``auto_reset: true`` drops the reset (for cells without a restart interlock).

    Ports:
        reset (input BOOL): reset (rising edge).
        ok (output BOOL): enabling circuit closed: no stop requested.
        tripped (output BOOL): a stop is latched.
        reset_required (output BOOL): tripped, causes gone: a reset would clear (the lamp).
        reduced (output BOOL): manual mode: reduced speed requested.
        cause (output DINT): causes present now: 1 e-stop, 2 door open, 4 curtain broken
            (doors and curtains only count in auto).
    """

    kind = "safety_relay"
    Params = SafetyRelayParams

    def __init__(self, name: str, params: SafetyRelayParams, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.reset = self.declare_input("reset", SignalType.BOOL, description="reset (edge)")
        self.ok = self.declare_output(
            "ok", SignalType.BOOL, default=not self.params.startup_reset, description="no stop"
        )
        self.tripped = self.declare_output(
            "tripped",
            SignalType.BOOL,
            default=self.params.startup_reset,
            description="stop latched",
        )
        self.reset_required = self.declare_output(
            "reset_required", SignalType.BOOL, description="a reset would clear the stop"
        )
        self.reduced = self.declare_output(
            "reduced", SignalType.BOOL, description="reduced speed (manual)"
        )
        self.cause = self.declare_output("cause", SignalType.DINT, description="stop causes")
        self.robots: list[SafetyStoppable] = []
        self._curtains: list[_Device] = []
        self._doors: list[_Device] = []
        self._estops: list[_Device] = []
        self._mode: int | None = None

    # -- connect ------------------------------------------------------------------------------

    @staticmethod
    def _lookup(name: str, peers: Mapping[str, Component], path: tuple) -> Component:
        component = peers.get(name)
        if component is None:
            close = difflib.get_close_matches(name, list(peers), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"no component {name!r}{hint}", path=path)
        return component

    def _device(
        self, text: str, peers: Mapping[str, Component], path: tuple, defaults: tuple[str, ...]
    ) -> _Device:
        name, dot, port_name = text.partition(".")
        component = self._lookup(name, peers, path)
        wanted = [port_name] if dot else [d for d in defaults if d in component.ports]
        if not wanted:
            raise ConfigError(
                f"{name!r} ({component.kind or 'component'}) has no {defaults[0]!r} output: "
                f"name the contact as '{name}.<port>'",
                path=path,
            )
        indices = []
        for port_name in wanted:
            port = component.ports.get(port_name)
            if port is None or port.kind is not PortKind.OUTPUT or port.type is not SignalType.BOOL:
                raise ConfigError(f"{name}.{port_name} is not a BOOL output of {name!r}", path=path)
            indices.append(port.index)
        return _Device(text, indices)

    def connect(self, peers: Mapping[str, Component]) -> None:
        p = self.params
        robots = []
        for i, name in enumerate(p.robots):
            robot = self._lookup(name, peers, ("robots", i))
            if not isinstance(robot, SafetyStoppable):
                raise ConfigError(
                    f"{name!r} is a {robot.kind or 'component'}: a safety relay stops robots "
                    "(components with protective_stop and reduced_speed)",
                    path=("robots", i),
                )
            robots.append(robot)
        self.robots = robots
        self._curtains = [
            self._device(t, peers, ("curtains", i), ("ossd", "ossd2"))
            for i, t in enumerate(p.curtains)
        ]
        self._doors = [
            self._device(t, peers, ("doors", i), ("closed",)) for i, t in enumerate(p.doors)
        ]
        self._estops = [
            self._device(t, peers, ("estops", i), ("healthy",)) for i, t in enumerate(p.estops)
        ]
        self._mode = None
        if p.mode is not None:
            (index,) = self._device(p.mode, peers, ("mode",), ("manual",)).indices
            self._mode = index

    # -- run ----------------------------------------------------------------------------------

    def build(self, world: World) -> None:
        super().build(world)
        self._tripped = self.params.startup_reset
        self._reset_before = False
        self._manual = False
        self._cause = 0
        #: What each robot was last told: (stopped, reduced).
        self._told = (False, False)

    @staticmethod
    def _unsafe(devices: list[_Device], values: list) -> bool:
        return any(not values[i] for device in devices for i in device.indices)

    def update(self, ctx: TickContext) -> None:
        values = ctx.values
        manual = self._mode is not None and bool(values[self._mode])
        cause = CAUSE_ESTOP if self._unsafe(self._estops, values) else 0
        if not manual:
            if self._unsafe(self._doors, values):
                cause |= CAUSE_DOOR
            if self._unsafe(self._curtains, values):
                cause |= CAUSE_CURTAIN
        reset = bool(values[self.reset.index])
        if cause:
            self._tripped = True
        elif self._tripped and (self.params.auto_reset or (reset and not self._reset_before)):
            self._tripped = False
        self._reset_before = reset
        self._manual, self._cause = manual, cause
        told = (self._tripped, manual)
        if told != self._told:
            for robot in self.robots:
                if told[0] != self._told[0]:
                    robot.protective_stop(self.name, told[0])
                if told[1] != self._told[1]:
                    robot.reduced_speed(self.name, told[1])
            self._told = told

    def sense(self, ctx: TickContext) -> None:
        values = ctx.values
        values[self.ok.index] = not self._tripped
        values[self.tripped.index] = self._tripped
        values[self.reset_required.index] = self._tripped and not self._cause
        values[self.reduced.index] = self._manual
        values[self.cause.index] = self._cause
