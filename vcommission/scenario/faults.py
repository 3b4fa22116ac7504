"""The fault library: timed, seeded faults a scenario injects into a running plant and PLC link.

Faults are policies that wrap; no component's code knows about them. Each one attaches on
:meth:`Fault.inject` and detaches on :meth:`Fault.clear`:

``sensor_stuck`` (tag, value)
    The sensor's output reads ``value`` whatever happens: the owning component's ``sense``
    runs as usual (a photo-eye still records parts passing it in their journeys) and the
    port is overwritten afterwards.
``sensor_chatter`` (tag, period, probability = 0.5)
    Every ``period`` seconds from the injection a draw decides whether the (BOOL) output is
    inverted for that period; otherwise it reads the true value. The draws come from a numpy
    generator seeded from the plant seed and the fault's name: the same scenario chatters the
    same way on every run, and another fault never shifts its draws.
``wire_break`` (tag)
    The signal reads its de-energised value (FALSE, 0). On a sensor output, like stuck at 0.
    On a PLC output, every component reading it sees 0 during its phases whatever the PLC
    commands; the process image (and so the trace) keeps the commanded value, as a PLC's
    output card would show it.
``actuator_stuck`` (tag, value)
    Every component reading the command behaves as if commanded ``value`` (same technique).
``actuator_slow`` (factor; tag or component)
    The actuator's stroke times are multiplied by ``factor`` through its ``time_factor``
    (the cylinder integrates ``stroke / (time * time_factor)`` per tick), set around its
    ``update`` only, so the plate's commanded velocity and its stroke position stay
    consistent. Scaling the tick instead would desynchronise the two.
``belt_slip`` (factor; tag or component)
    The belt surface moves at ``factor`` times the drive's speed. The drive (and its ramp)
    is untouched, so ``speed_actual``, the drive's own feedback, keeps reporting the
    commanded speed: the slip shows only in how parts move, as with a belt slipping on its
    drive pulley.
``jam`` (position, size = 0.05 x 0.5 x 0.3 m)
    A static, axis-aligned box with its bottom face centred on ``position``: parts collide
    with it and queue behind it; light beams do not see the box itself (like the frame),
    only the parts it holds. Removed on clear.
``part_dropped`` (component, or tag of a gripper's port)
    The gripper loses its grip (a vacuum gripper's supply fails, a parallel gripper's air
    pressure drops) through its :class:`~vcommission.plant.capabilities.GripLosable`
    capability: the part it holds falls at its next update and it cannot grip again until
    the fault clears (``for`` or ``clear``). It acts once a held part was dropped.
``lost_connection``
    The in-process PLC reads the inputs frozen as they were at the injection and its writes
    are dropped. On clear it reads live inputs again and resends all its current outputs.
``latency`` (delay)
    The PLC's writes reach the plant ``delay`` seconds late, in order. The link is only
    called at scans, so a write is released at the first scan at or after its due time
    (the delay is rounded up to the scan period, 10 ms for ``sorting.st``); it then takes
    effect at the next tick, like any PLC write. On clear, writes still in flight are
    superseded: the PLC resends all its current outputs at its next scan.

A model's communication watchdog may apply its safe state while the link is down; that is
what a real coupler would do. Auto-clearing after ``for`` is the run context's job
(``RunContext.inject``).

**Shown to act.** Each fault records in :attr:`Fault.acted_ns` the first tick it changed what
the plant or the PLC saw (``acts`` says what that means for it, in words): a stuck sensor
or broken wire whose forced value differed from the true reading or the PLC's command, a
chatter period that inverted the reading, a slow actuator while it moved, a slipping belt
while it ran, a jam once a part touched the obstacle, a lost connection that dropped a
write or gave the PLC a stale input, a latency that held back a write (at the proxy: a
connection cut or refused, a chunk held back). The runner reports each injected fault as a
result of kind ``fault``; the condition ``{fault_acted: NAME}`` waits for it.
"""

from __future__ import annotations

import difflib
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from vcommission.adapters.inprocess import InProcessLink
from vcommission.clock import s_to_ns
from vcommission.errors import ConfigError, SignalError
from vcommission.plant.capabilities import GripLosable, PartHolder, Slippable, Slowable
from vcommission.plant.component import Component, Port, PortKind, TickContext
from vcommission.plant.physics import CollisionGroup
from vcommission.scenario.registry import FAULTS, fault_type
from vcommission.scenario.schema import FaultKind, FaultSpec, fault_kind_name
from vcommission.signals import Direction, Signal, SignalTable, Value

if TYPE_CHECKING:
    from vcommission.adapters.proxy import LinkProxy
    from vcommission.config.model import Model
    from vcommission.plant.plant import PhaseWrapper, Plant
    from vcommission.plant.world import World

__all__ = ["DEFAULT_JAM_SIZE", "Fault", "FaultHost", "make_fault", "validate_fault"]


class FaultHost(Protocol):
    """What a fault acts on: a scenario's ``RunContext``, or (later) an instructor's session.

    A protocol, so the fault library does not depend on the scenario runner above it.
    """

    def watch(self, watcher: Callable[[int, Any, Any], None]) -> Callable[[], None]:
        """Call ``watcher(now_ns, values, previous)`` after every tick; returns an undo."""
        ...

    @property
    def plant(self) -> Plant: ...

    @property
    def now_ns(self) -> int: ...

    @property
    def link(self) -> InProcessLink | None:
        """The in-process PLC's link (None for an external PLC or none)."""
        ...

    @property
    def proxy(self) -> LinkProxy | None:
        """The proxy an external PLC connects through (None in-process)."""
        ...


#: Size of a jam obstacle when the fault gives none (x, y, z), metres: a thin wall across a
#: belt, tall enough to hold any part.
DEFAULT_JAM_SIZE = (0.05, 0.5, 0.3)
DEFAULT_CHATTER_PROBABILITY = 0.5


class Fault(Protocol):
    """An injected fault: attaches on :meth:`inject`, detaches on :meth:`clear`."""

    name: str
    #: Virtual time of the first tick the fault changed what the plant or PLC saw (None:
    #: not yet). A kind without it cannot show that it acted (its result is vacuous).
    acted_ns: int | None
    #: What acting means for this fault, in words (the fault result's criterion).
    acts: str

    def inject(self, run: FaultHost) -> None: ...

    def clear(self, run: FaultHost) -> None:
        """Undo the fault; calling it again (or before inject) does nothing."""


# ---- finding what a fault acts on ---------------------------------------------------------


def _overrides(component: Component, phase: str) -> bool:
    return getattr(type(component), phase) is not getattr(Component, phase)


@dataclass(frozen=True)
class _Tag:
    """A fault's tag and the component ports wired to it."""

    signal: Signal
    index: int
    #: The component output port that writes it (a sensor), if any.
    writer: tuple[Component, Port] | None
    #: Component input ports that read it (actuators), if any.
    readers: list[tuple[Component, Port]]

    def describe(self) -> str:
        return f"{self.signal.name!r} ({self.signal.direction.value})"


def _tag(name: str, table: SignalTable, components: Sequence[Component]) -> _Tag:
    try:
        index = table.index(name)
    except SignalError as exc:
        raise ConfigError(str(exc)) from None
    writer = None
    readers = []
    for component in components:
        for port in component.ports.values():
            if port.index != index:
                continue
            if port.kind is PortKind.OUTPUT:
                writer = (component, port)
            elif port.kind is PortKind.INPUT:
                readers.append((component, port))
    return _Tag(table.signals[index], index, writer, readers)


def _sensor(spec: FaultSpec, table: SignalTable, components: Sequence[Component]) -> _Tag:
    """The tag of a sensor fault: it must be a component's output."""
    assert spec.tag is not None
    tag = _tag(spec.tag, table, components)
    if tag.writer is None:
        hint = {
            Direction.TO_PLANT: "a PLC output; use actuator_stuck or wire_break",
            Direction.OPERATOR: "what a person does; use set or pulse",
        }.get(tag.signal.direction, "not written by a component")
        kind = fault_kind_name(spec.kind)
        raise ConfigError(f"{kind} needs a sensor output: {tag.describe()} is {hint}")
    if spec.kind is FaultKind.SENSOR_CHATTER and not tag.signal.type.is_bool:
        raise ConfigError(
            f"sensor_chatter needs a BOOL output: {tag.describe()} is {tag.signal.type.value}"
        )
    return tag


def _actuator(spec: FaultSpec, table: SignalTable, components: Sequence[Component]) -> _Tag:
    """The tag of an actuator fault: it must be read by a component."""
    assert spec.tag is not None
    tag = _tag(spec.tag, table, components)
    if not tag.readers:
        hint = "a sensor output; use sensor_stuck" if tag.writer else "not read by a component"
        raise ConfigError(
            f"{fault_kind_name(spec.kind)} needs an actuator command: {tag.describe()} is {hint}"
        )
    return tag


def _wired(spec: FaultSpec, table: SignalTable, components: Sequence[Component]) -> _Tag:
    """The tag of a wire break: a PLC-facing signal with a component at the plant end."""
    assert spec.tag is not None
    tag = _tag(spec.tag, table, components)
    if tag.signal.direction not in (Direction.TO_PLANT, Direction.FROM_PLANT):
        raise ConfigError(
            f"wire_break needs a PLC input or output (a wire): {tag.describe()} is not PLC I/O"
        )
    if tag.writer is None and not tag.readers:
        raise ConfigError(f"wire_break: no component is wired to {tag.describe()}")
    return tag


def _value(spec: FaultSpec, tag: _Tag) -> Value:
    try:
        return tag.signal.coerce(spec.value)
    except SignalError as exc:
        raise ConfigError(f"value: {exc}") from None


@runtime_checkable
class _DroppingTool(PartHolder, GripLosable, Protocol):
    """A tool that holds parts and can lose its grip: what ``part_dropped`` acts on."""


#: Fault kinds acting on whole components: (the capability they need, what it is in words).
_CAPABLE: dict[FaultKind, tuple[type, str]] = {
    FaultKind.ACTUATOR_SLOW: (Slowable, "an actuator with stroke times (a cylinder)"),
    FaultKind.BELT_SLIP: (Slippable, "a belt_conveyor"),
    FaultKind.PART_DROPPED: (_DroppingTool, "a gripper (a tool that holds parts)"),
}


def _components(
    spec: FaultSpec, table: SignalTable, components: Sequence[Component]
) -> list[Component]:
    """Components a component fault acts on: ``component``, else those wired to ``tag``."""
    capability, needs = _CAPABLE[spec.kind]

    def capable(component: Component) -> bool:
        return isinstance(component, capability)

    what = fault_kind_name(spec.kind)
    if spec.component is not None:
        by_name = {c.name: c for c in components}
        component = by_name.get(spec.component)
        if component is None:
            close = difflib.get_close_matches(spec.component, by_name, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"component: no component {spec.component!r}{hint}")
        if not capable(component):
            raise ConfigError(
                f"{what} needs {needs}: {component.name!r} is a {component.kind or 'component'}"
            )
        found = [component]
    else:
        assert spec.tag is not None
        tag = _tag(spec.tag, table, components)
        wired = [c for c, _ in tag.readers] + ([tag.writer[0]] if tag.writer else [])
        found = list({c.name: c for c in wired if capable(c)}.values())
        if not found:
            raise ConfigError(f"{what} needs {needs}: none is wired to {tag.describe()}")
    if spec.tag is not None and spec.component is not None:
        # Both given: they must agree, or the file says two different things.
        tag = _tag(spec.tag, table, components)
        wired_names = {c.name for c, _ in tag.readers} | (
            {tag.writer[0].name} if tag.writer else set()
        )
        if spec.component not in wired_names:
            raise ConfigError(f"tag {spec.tag!r} is not wired to component {spec.component!r}")
    return found


def _jam_size(spec: FaultSpec) -> tuple[float, float, float]:
    size = tuple(spec.size) if spec.size is not None else DEFAULT_JAM_SIZE
    if len(size) != 3 or not all(s > 0 for s in size):
        raise ConfigError(f"size={list(size)} must be three lengths > 0 (x, y, z), metres")
    if spec.position is not None and len(spec.position) != 3:
        raise ConfigError(f"position={list(spec.position)} must be (x, y, z), metres")
    return size  # type: ignore[return-value]


def validate_fault(spec: FaultSpec, model: Model) -> list[str]:
    """Problems of ``spec`` found without running: unknown tag or component, wrong kind.

    Link faults are not checked here (whether the PLC is in-process is the scenario's
    business); :func:`make_fault` refuses them without a link.
    """
    try:
        FAULTS.load(fault_kind_name(spec.kind)).validate(spec, model.table, model.instantiate())
    except ConfigError as exc:
        return [issue.message for issue in exc.issues]
    return []


# ---- the faults ----------------------------------------------------------------------------------


class _Acting:
    """Records the first time a fault acted."""

    acts = ""

    def __init__(self, name: str) -> None:
        self.name = name
        self.acted_ns: int | None = None

    def _acted(self, now_ns: int) -> None:
        if self.acted_ns is None:
            self.acted_ns = now_ns


def _tick_end(ctx: TickContext) -> int:
    """The time a phase's effect is seen at: the tick's end, as watchers see it."""
    return ctx.now_ns + ctx.dt_ns


class _Wrapping(_Acting):
    """A fault made of phase wrappers: installed on inject, undone on clear."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._undo: list[Callable[[], None]] = []

    def wrappers(self, run: FaultHost) -> Iterable[tuple[str, str, PhaseWrapper]]:
        """(component, phase, wrapper) to install, built against the current plant."""
        raise NotImplementedError

    def inject(self, run: FaultHost) -> None:
        self.clear(run)  # injecting twice must not stack the fault on itself
        self._undo = [run.plant.wrap(c, phase, w) for c, phase, w in self.wrappers(run)]

    def clear(self, run: FaultHost) -> None:
        undo, self._undo = self._undo, []
        for step in reversed(undo):
            step()


class _SensorOverride(_Wrapping):
    """Stuck sensor or broken sensor wire: the output reads a fixed value."""

    def __init__(self, name: str, component: str, index: int, value: Value, tag: str) -> None:
        super().__init__(name)
        self.component, self.index, self.value = component, index, value
        self.acts = f"{tag} forced to {_shown(value)} while the sensor reads otherwise"

    def wrappers(self, run: FaultHost) -> Iterable[tuple[str, str, PhaseWrapper]]:
        index, value = self.index, self.value

        def sense(original: Callable[[TickContext], None], ctx: TickContext) -> None:
            original(ctx)  # the component keeps its own state (journeys, edges) right
            if ctx.values[index] != value:
                self._acted(_tick_end(ctx))
            ctx.values[index] = value

        yield self.component, "sense", sense


class _Chatter(_Wrapping):
    """A BOOL output inverted for whole periods, each with ``probability``, seeded."""

    def __init__(
        self, name: str, component: str, index: int, period_ns: int, probability: float
    ) -> None:
        super().__init__(name)
        self.component, self.index = component, index
        self.period_ns, self.probability = period_ns, probability
        self.acts = "a chatter period inverts the reading"

    def wrappers(self, run: FaultHost) -> Iterable[tuple[str, str, PhaseWrapper]]:
        # A fresh stream per injection: the chatter depends only on seed, name and time.
        rng = np.random.default_rng([run.plant.seed, zlib.crc32(self.name.encode())])
        index, period_ns, probability = self.index, self.period_ns, self.probability
        state = {"next_ns": run.now_ns, "invert": False}

        def sense(original: Callable[[TickContext], None], ctx: TickContext) -> None:
            original(ctx)
            now = ctx.now_ns + ctx.dt_ns  # the reading is for the tick's end
            # One draw per period boundary passed, so the stream does not depend on the tick.
            while now >= state["next_ns"]:
                state["invert"] = bool(rng.random() < probability)
                state["next_ns"] += period_ns
            if state["invert"]:
                ctx.values[index] = not ctx.values[index]
                self._acted(now)

        yield self.component, "sense", sense


class _InputOverride(_Wrapping):
    """Actuator stuck or broken output wire: readers see ``value`` instead of the command.

    The value is swapped into the working buffer only while each reader runs and the
    command put back afterwards, so the process image keeps what the PLC commanded.
    """

    def __init__(self, name: str, readers: list[str], index: int, value: Value, tag: str) -> None:
        super().__init__(name)
        self.readers, self.index, self.value = readers, index, value
        self.acts = f"{tag} seen as {_shown(value)} by the plant while the PLC commands otherwise"

    def wrappers(self, run: FaultHost) -> Iterable[tuple[str, str, PhaseWrapper]]:
        index, value = self.index, self.value

        def swapped(original: Callable[[TickContext], None], ctx: TickContext) -> None:
            values = ctx.values
            commanded = values[index]
            if commanded != value:
                self._acted(_tick_end(ctx))
            values[index] = value
            try:
                original(ctx)
            finally:
                values[index] = commanded

        for name in self.readers:
            component = run.plant.component(name)
            # Some kinds read inputs while sensing (a door lock); swap wherever they read.
            for phase in ("update", "sense"):
                if _overrides(component, phase):
                    yield name, phase, swapped


class _Scaling(_Wrapping):
    """A fault that scales something of each of ``components`` by ``factor``."""

    def __init__(self, name: str, components: list[str], factor: float) -> None:
        super().__init__(name)
        self.components, self.factor = components, factor


class _Slow(_Scaling):
    """Stroke times times ``factor``, through the actuator's ``time_factor``.

    It acts while the actuator moves (``in_motion`` after its update; an actuator that does
    not say so is never shown to be slowed).
    """

    acts = "the actuator moves while slowed"

    def wrappers(self, run: FaultHost) -> Iterable[tuple[str, str, PhaseWrapper]]:
        factor = self.factor
        for name in self.components:
            component = run.plant.find(name, Slowable)
            assert component is not None

            def update(
                original: Callable[[TickContext], None],
                ctx: TickContext,
                component: Slowable = component,
            ) -> None:
                # Set only around update (where the stroke is integrated) and restored, so
                # nested faults multiply and a cleared fault leaves no trace.
                normal = component.time_factor
                component.time_factor = normal * factor
                try:
                    original(ctx)
                finally:
                    component.time_factor = normal
                if getattr(component, "in_motion", False):
                    self._acted(_tick_end(ctx))

            yield name, "update", update


class _Slip(_Scaling):
    """The belt surface at ``factor`` times the drive's speed; the drive reports its own."""

    acts = "the belt runs while slipping"

    def wrappers(self, run: FaultHost) -> Iterable[tuple[str, str, PhaseWrapper]]:
        factor = self.factor
        for name in self.components:
            belt = run.plant.find(name, Slippable)
            assert belt is not None

            def update(
                original: Callable[[TickContext], None],
                ctx: TickContext,
                belt: Slippable = belt,
            ) -> None:
                original(ctx)
                belt.slip(factor)
                if getattr(belt, "speed", 0.0) != 0.0:
                    self._acted(_tick_end(ctx))

            yield name, "update", update


class _Dropped(_Wrapping):
    """The tools lose their grip while injected; it acts once a held part was dropped.

    Asked through the capability (``lose_grip``), never by class: any tool kind that holds
    parts and can lose its grip takes part. The update wrapper only watches.
    """

    acts = "a held part was dropped"

    def __init__(self, name: str, components: list[str]) -> None:
        super().__init__(name)
        self.components = components
        self._tools: list[GripLosable] = []

    def wrappers(self, run: FaultHost) -> Iterable[tuple[str, str, PhaseWrapper]]:
        for name in self.components:
            tool = run.plant.find(name, _DroppingTool)
            assert tool is not None

            def update(
                original: Callable[[TickContext], None],
                ctx: TickContext,
                tool: _DroppingTool = tool,
            ) -> None:
                held = set(tool.held_parts())
                original(ctx)
                if held - set(tool.held_parts()):
                    self._acted(_tick_end(ctx))

            yield name, "update", update

    def inject(self, run: FaultHost) -> None:
        super().inject(run)
        self._tools = [run.plant.find(name, _DroppingTool) for name in self.components]
        for tool in self._tools:
            tool.lose_grip(self.name, True)

    def clear(self, run: FaultHost) -> None:
        tools, self._tools = self._tools, []
        for tool in tools:
            tool.lose_grip(self.name, False)
        super().clear(run)


#: A part this close to a jam's obstacle (metres) touches it: the jam holds it.
_JAM_CONTACT_M = 0.002


class _Jam(_Acting):
    """A static box that holds parts, created on inject and removed on clear.

    It acts once a part touches the obstacle (within 2 mm): a jam with no part held changed
    nothing on the line.
    """

    acts = "a part is held by the obstacle"

    def __init__(
        self, name: str, position: tuple[float, float, float], size: tuple[float, float, float]
    ) -> None:
        super().__init__(name)
        self.position, self.size = position, size
        self._body: tuple[World, int] | None = None
        self._unwatch: Callable[[], None] | None = None

    def inject(self, run: FaultHost) -> None:
        self.clear(run)
        world = run.plant.world
        assert world is not None
        x, y, z = self.position
        sx, sy, sz = self.size
        # FRAME: collides with parts only (not belts, guides or plates) and is not seen by
        # beams, like the machine frame; the parts it holds are.
        body = world.add_box(
            (sx / 2, sy / 2, sz / 2), (x, y, z + sz / 2), group=CollisionGroup.FRAME, friction=0.5
        )
        self._body = (world, body)
        if self.acted_ns is None:
            plant = run.plant

            def touched(now: int, values: Any, previous: Any) -> None:
                for part in plant.parts.alive:
                    distance = world.closest_distance(body, part.body, _JAM_CONTACT_M)
                    if distance is not None and distance <= _JAM_CONTACT_M:
                        self._acted(now)
                        self._stop_watching()
                        return

            self._unwatch = run.watch(touched)

    def _stop_watching(self) -> None:
        unwatch, self._unwatch = self._unwatch, None
        if unwatch is not None:
            unwatch()

    def clear(self, run: FaultHost) -> None:
        self._stop_watching()
        placed, self._body = self._body, None
        # After a plant reset the body went with the old world; nothing to remove.
        if placed is not None and placed[0] is run.plant.world:
            placed[0].remove_body(placed[1])


def _link(spec: FaultSpec, run: FaultHost) -> InProcessLink:
    if run.link is None:
        kind = fault_kind_name(spec.kind)
        raise ConfigError(f"{kind} needs a PLC link (in-process, or external)")
    return run.link


class _LostConnection(_Acting):
    """The PLC reads frozen inputs and its writes are lost; on clear it resends them all.

    It acts at the first scan that lost a write or read an input that no longer was true.
    """

    acts = "a PLC write is lost, or the PLC reads a stale input"

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._link: InProcessLink | None = None

    def inject(self, run: FaultHost) -> None:
        self.clear(run)
        link = run.link
        assert link is not None
        table = run.plant.image.table
        inputs = [i for i, s in enumerate(table.signals) if s.direction is Direction.FROM_PLANT]

        def cut(now_ns: int, writes: Any, seen: Any, live: Any) -> None:
            if writes or any(seen[i] != live[i] for i in inputs):
                self._acted(now_ns)

        link.up = False
        link.on_cut = cut
        self._link = link

    def clear(self, run: FaultHost) -> None:
        link, self._link = self._link, None
        if link is None:
            return
        link.on_cut = None
        link.up = True
        link.resend()


class _Latency(_Acting):
    """The PLC's writes are held back ``delay_ns`` and released in order at later scans.

    It acts at the first write it holds back (the soft PLC writes only changes, so every
    write held back is a change the plant sees late).
    """

    acts = "a PLC write reaches the plant late"

    def __init__(self, name: str, delay_ns: int) -> None:
        super().__init__(name)
        self.delay_ns = delay_ns
        self._filter: tuple[InProcessLink, Callable] | None = None

    def inject(self, run: FaultHost) -> None:
        self.clear(run)
        link = run.link
        assert link is not None
        delay_ns = self.delay_ns
        #: (due ns, writes) in scan order; the due times only grow.
        in_flight: deque[tuple[int, dict[str, Value]]] = deque()

        def outbound(now_ns: int, writes: dict[str, Value]) -> dict[str, Value]:
            if writes:
                in_flight.append((now_ns + delay_ns, dict(writes)))
                if delay_ns > 0:
                    self._acted(now_ns)
            arrived: dict[str, Value] = {}
            while in_flight and in_flight[0][0] <= now_ns:
                arrived.update(in_flight.popleft()[1])  # later writes of a tag win
            return arrived

        link.outbound.append(outbound)
        self._filter = (link, outbound)

    def clear(self, run: FaultHost) -> None:
        installed, self._filter = self._filter, None
        if installed is None:
            return
        link, outbound = installed
        link.outbound.remove(outbound)
        # Writes in flight are superseded by the PLC's current outputs, sent at its next scan.
        link.resend()


def _make_sensor_stuck(spec: FaultSpec, run: FaultHost) -> Fault:
    tag = _sensor(spec, run.plant.image.table, run.plant.components)
    assert tag.writer is not None
    value = _value(spec, tag)
    return _SensorOverride(spec.name, tag.writer[0].name, tag.index, value, tag.signal.name)


def _make_sensor_chatter(spec: FaultSpec, run: FaultHost) -> Fault:
    tag = _sensor(spec, run.plant.image.table, run.plant.components)
    assert tag.writer is not None and spec.period is not None
    probability = DEFAULT_CHATTER_PROBABILITY if spec.probability is None else spec.probability
    period_ns = max(1, s_to_ns(spec.period))
    return _Chatter(spec.name, tag.writer[0].name, tag.index, period_ns, probability)


def _make_wire_break(spec: FaultSpec, run: FaultHost) -> Fault:
    tag = _wired(spec, run.plant.image.table, run.plant.components)
    zero = tag.signal.type.zero
    name = tag.signal.name
    if tag.writer is not None:
        return _SensorOverride(spec.name, tag.writer[0].name, tag.index, zero, name)
    return _InputOverride(spec.name, _names(c for c, _ in tag.readers), tag.index, zero, name)


def _make_actuator_stuck(spec: FaultSpec, run: FaultHost) -> Fault:
    tag = _actuator(spec, run.plant.image.table, run.plant.components)
    readers = _names(c for c, _ in tag.readers)
    return _InputOverride(spec.name, readers, tag.index, _value(spec, tag), tag.signal.name)


def _make_actuator_slow(spec: FaultSpec, run: FaultHost) -> Fault:
    found = _components(spec, run.plant.image.table, run.plant.components)
    assert spec.factor is not None
    return _Slow(spec.name, _names(found), spec.factor)


def _make_belt_slip(spec: FaultSpec, run: FaultHost) -> Fault:
    found = _components(spec, run.plant.image.table, run.plant.components)
    assert spec.factor is not None
    return _Slip(spec.name, _names(found), spec.factor)


def _make_part_dropped(spec: FaultSpec, run: FaultHost) -> Fault:
    found = _components(spec, run.plant.image.table, run.plant.components)
    return _Dropped(spec.name, _names(found))


def _make_jam(spec: FaultSpec, run: FaultHost) -> Fault:
    size = _jam_size(spec)
    assert spec.position is not None
    x, y, z = spec.position
    return _Jam(spec.name, (float(x), float(y), float(z)), size)


class _ProxyFault(_Acting):
    """A fault at an external PLC's proxy: it acted once the proxy's ``counter`` grew.

    The proxy runs on the wall clock; the counter is read after every tick, so the time
    recorded is the first tick after the proxy acted.
    """

    counter = ""

    def __init__(self, name: str, proxy: Any) -> None:
        super().__init__(name)
        self.proxy = proxy
        self._unwatch: Callable[[], None] | None = None

    def _watch(self, run: FaultHost) -> None:
        self._unwatch_now()
        counter = self.counter
        before = getattr(self.proxy, counter)

        def grew(now: int, values: Any, previous: Any) -> None:
            if getattr(self.proxy, counter) > before:
                self._acted(now)
                self._unwatch_now()

        self._unwatch = run.watch(grew)

    def _unwatch_now(self) -> None:
        unwatch, self._unwatch = self._unwatch, None
        if unwatch is not None:
            unwatch()


class _ProxyDown(_ProxyFault):
    """An external PLC's link is cut at the proxy: connections closed, new ones refused."""

    acts = "a connection of the PLC is cut or refused"
    counter = "cut"

    def inject(self, run: FaultHost) -> None:
        self._watch(run)
        self.proxy.down = True

    def clear(self, run: FaultHost) -> None:
        self._unwatch_now()
        self.proxy.down = False  # the PLC reconnects on its own, as a real one does


class _ProxyDelay(_ProxyFault):
    """What an external PLC sends reaches the plant ``delay`` seconds late (at the proxy)."""

    acts = "bytes from the PLC are held back"
    counter = "delayed"

    def __init__(self, name: str, proxy: Any, delay_s: float) -> None:
        super().__init__(name, proxy)
        self.delay_s = delay_s

    def inject(self, run: FaultHost) -> None:
        self._watch(run)
        self.proxy.delay_s = self.delay_s

    def clear(self, run: FaultHost) -> None:
        self._unwatch_now()
        self.proxy.delay_s = 0.0


def _make_lost_connection(spec: FaultSpec, run: FaultHost) -> Fault:
    if run.proxy is not None:
        return _ProxyDown(spec.name, run.proxy)
    _link(spec, run)
    return _LostConnection(spec.name)


def _make_latency(spec: FaultSpec, run: FaultHost) -> Fault:
    assert spec.delay is not None
    if run.proxy is not None:
        return _ProxyDelay(spec.name, run.proxy, spec.delay)
    _link(spec, run)
    return _Latency(spec.name, s_to_ns(spec.delay))


def _shown(value: Value) -> str:
    return str(value).upper() if isinstance(value, bool) else f"{value:g}"


def _names(components: Iterable[Component]) -> list[str]:
    return list(dict.fromkeys(c.name for c in components))


def _tag_or_component(spec: FaultSpec) -> None:
    if not (spec.tag or spec.component):
        raise ConfigError(f"fault {fault_kind_name(spec.kind)} needs a tag or a component")


# One line per kind: its name, the keys it needs, its static check against the model and
# its factory. A kind from elsewhere registers the same way, with @fault_type on its factory.
for _kind, _needs, _validate, _make, _check in (
    (
        FaultKind.SENSOR_STUCK,
        ("tag", "value"),
        lambda spec, t, c: _value(spec, _sensor(spec, t, c)),
        _make_sensor_stuck,
        None,
    ),
    (FaultKind.SENSOR_CHATTER, ("tag", "period"), _sensor, _make_sensor_chatter, None),
    (FaultKind.WIRE_BREAK, ("tag",), _wired, _make_wire_break, None),
    (
        FaultKind.ACTUATOR_STUCK,
        ("tag", "value"),
        lambda spec, t, c: _value(spec, _actuator(spec, t, c)),
        _make_actuator_stuck,
        None,
    ),
    (FaultKind.ACTUATOR_SLOW, ("factor",), _components, _make_actuator_slow, _tag_or_component),
    (FaultKind.BELT_SLIP, ("factor",), _components, _make_belt_slip, _tag_or_component),
    (FaultKind.JAM, ("position",), lambda spec, t, c: _jam_size(spec), _make_jam, None),
    (FaultKind.PART_DROPPED, (), _components, _make_part_dropped, _tag_or_component),
    (FaultKind.LOST_CONNECTION, (), None, _make_lost_connection, None),
    (FaultKind.LATENCY, ("delay",), None, _make_latency, None),
):
    fault_type(_kind.value, needs=_needs, validate=_validate, check=_check)(_make)


def make_fault(spec: FaultSpec, run: FaultHost) -> Fault:
    """Build the fault ``spec`` describes against this run (not injected yet).

    Raises:
        ConfigError: unknown tag or component, a tag or component of the wrong kind, or a
            link fault without the in-process PLC.
    """
    try:
        return FAULTS.load(fault_kind_name(spec.kind)).make(spec, run)
    except ConfigError as exc:
        raise ConfigError(
            [replace(issue, message=f"fault {spec.name}: {issue.message}") for issue in exc.issues]
        ) from None
