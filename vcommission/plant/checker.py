"""A Gymnasium-style checker for component kinds: does a kind keep the component rules?

:func:`check_component` builds one kind in small worlds of its own, drives its inputs with a
seeded pattern for some ticks, and asserts the rules the simulator, the faults and the checks
rely on (see :mod:`vcommission.plant.component`):

``ports fixed at construction``
    Ports are declared in ``__init__``; ``build`` adds or removes none (the model's signal
    table is made from an unbuilt instance).
``bodies reported``
    :meth:`~vcommission.plant.component.Component.bodies` names every body the component
    built and nothing else, moving bodies being the driven ones; parts are not its own.
``update writes no port``
    ``update`` only reads inputs and commands actuators; outputs come from ``sense``.
``sense writes only outputs``
    ``sense`` leaves input and operator ports, and every slot of the process image that is
    not one of its ports, as they were.
``outputs have their declared types``
    A BOOL output holds a ``bool``, an integer output an ``int`` within its type's range, a
    REAL output a ``float``.
``seeded determinism``
    Two instances with the same seed, driven alike, give the same outputs, parts and body
    poses tick by tick (no unseeded randomness, no wall clock, no state shared between
    instances).
``building twice gives the same state``
    Building an instance again (as a plant reset does) gives what a fresh instance gives:
    ``build`` resets all per-run state.

A kind that breaks a rule raises :class:`ComponentCheckError` naming the kind and the rule.
Third parties run it in their own tests::

    from vcommission.plant.checker import check_component

    def test_my_gripper_keeps_the_rules():
        check_component("vacuum_gripper", {"position": (0.0, 0.0, 1.0)})
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from vcommission.errors import PlantError
from vcommission.plant import registry
from vcommission.plant.component import Component, PortKind, TickContext
from vcommission.plant.parts import PartTracker, PartVariant
from vcommission.plant.physics import PhysicsConfig
from vcommission.signals import SignalType, Value

if TYPE_CHECKING:
    from vcommission.plant.world import World

__all__ = ["DEFAULT_VARIANTS", "CheckedKind", "ComponentCheckError", "check_component"]

Vec3 = tuple[float, float, float]

#: Part catalogue of the checker's worlds when the caller gives none: a low box and a tall one.
DEFAULT_VARIANTS: Mapping[str, PartVariant] = {
    "box": PartVariant((0.2, 0.2, 0.1), mass=1.0),
    "tall": PartVariant((0.2, 0.2, 0.25), mass=1.5),
}
#: Image slots on either side of the component's ports, to catch writes outside them.
_PAD = 4
#: Ticks a drawn input value is held before the next draw.
_HOLD_TICKS = 10


class ComponentCheckError(PlantError):
    """Raised when a component kind breaks a rule of :func:`check_component`."""

    def __init__(self, kind: str, rule: str, detail: str) -> None:
        super().__init__(f"component kind {kind!r} fails {rule!r}: {detail}")
        #: The kind checked.
        self.kind = kind
        #: The rule it broke, e.g. ``"seeded determinism"``.
        self.rule = rule
        #: What was seen.
        self.detail = detail


class _Unset:
    """A process-image slot no port owns: any write there replaces this object."""

    def __repr__(self) -> str:
        return "<no port>"


_UNSET = _Unset()


@dataclass(frozen=True)
class CheckedKind:
    """What :func:`check_component` saw of a kind that kept every rule (one run of it)."""

    kind: str
    #: Output port -> its value at power-on and after each tick.
    outputs: dict[str, tuple[Value, ...]]
    #: Parts in the world during the run: placed by the checker or made by the component.
    parts: int
    #: Group name -> (static bodies, moving bodies) reported after build.
    bodies: dict[str, tuple[int, int]]


@dataclass
class _Record:
    """What one run of a component showed: the facts the determinism rules compare."""

    #: Power-on outputs, then the outputs after each tick.
    outputs: list[tuple[Value, ...]]
    #: Per group: (static, moving) shapes and poses of the reported bodies after build.
    built: list[tuple[Any, ...]]
    #: Beams registered at build.
    rays: list[tuple[Vec3, Vec3]]
    #: Every part's variant and journey at the end.
    parts: list[tuple[Any, ...]]
    #: Pose of every body in the world at the end, in creation order.
    poses: list[tuple[Any, ...]]
    #: Output port names, in the order of each tuple of :attr:`outputs`.
    names: tuple[str, ...] = ()


def check_component(
    kind: str,
    params: Any = None,
    *,
    variants: Mapping[str, PartVariant] | None = None,
    seed: int = 0,
    ticks: int = 100,
    parts: Sequence[tuple[str, Vec3]] = (),
    inputs: Callable[[int], Mapping[str, Value]] | None = None,
    physics: PhysicsConfig | None = None,
    name: str = "checked",
) -> CheckedKind:
    """Check that component ``kind`` keeps the component rules (module docstring).

    Args:
        kind: a registered kind name.
        params: the kind's ``Params`` instance, or a mapping of its fields (given as the
            dataclass takes them, not as YAML text); None for the defaults.
        variants: the part catalogue (default :data:`DEFAULT_VARIANTS`).
        seed: the plant seed both instances are made with.
        ticks: ticks each run lasts.
        parts: parts placed right after build, as (variant, bottom centre), e.g. in a
            sensor's beam or above a bin, so that sensing has something to see.
        inputs: ``inputs(tick) -> {port: value}`` for input and operator ports; default: a
            seeded pattern of random BOOLs, numbers at their defaults.
        physics: solver settings of the checker's worlds.
        name: the component's name (it also seeds its random stream).

    Returns:
        What the first run showed (outputs per tick, parts, body groups), for tests that
        want to see the kind did something.

    Raises:
        ComponentCheckError: the kind breaks a rule; the message names kind and rule.
        RegistryError: ``kind`` is not registered.
        ConfigError: ``params`` are invalid for the kind.
    """
    cls = registry.load(kind)
    if params is not None and not isinstance(params, cls.Params):
        params = cls.Params(**dict(params))
    variants = dict(DEFAULT_VARIANTS if variants is None else variants)
    physics = physics or PhysicsConfig()
    unknown = sorted({variant for variant, _ in parts} - set(variants))
    if unknown:
        raise PlantError(f"check_component: parts name unknown variants {unknown}")

    def make() -> Component:
        return registry.make(kind, name, params, variants=variants, seed=seed)

    first = make()
    schedule = _schedule(first, ticks, seed, inputs)
    run = _Runner(kind, variants, physics, ticks, parts, schedule)
    record = run(first)
    again = run(make())
    _same(kind, "seeded determinism", "two instances with the same seed", record, again)
    rebuilt = run(first)
    _same(kind, "building twice gives the same state", "the instance built again", record, rebuilt)
    return CheckedKind(
        kind,
        {port: tuple(tick[i] for tick in record.outputs) for i, port in enumerate(record.names)},
        len(record.parts),
        {group: (len(static), len(moving)) for group, static, moving in record.built},
    )


def _schedule(
    component: Component,
    ticks: int,
    seed: int,
    inputs: Callable[[int], Mapping[str, Value]] | None,
) -> list[dict[str, Value]]:
    """Input and operator values per tick, the same for every run."""
    driven = [p for p in component.ports.values() if p.kind is not PortKind.OUTPUT]
    if inputs is not None:
        schedule = [dict(inputs(tick)) for tick in range(ticks)]
        names = {p.name for p in driven}
        for tick, values in enumerate(schedule):
            wrong = sorted(set(values) - names)
            if wrong:
                raise PlantError(
                    f"check_component: inputs({tick}) names {wrong}, "
                    f"not input or operator ports of {component.kind!r}"
                )
        return schedule
    rng = np.random.default_rng(seed)
    schedule = []
    current: dict[str, Value] = {p.name: p.default for p in driven}
    for tick in range(ticks):
        if tick % _HOLD_TICKS == 0 and tick > 0:
            for port in driven:
                if port.type is SignalType.BOOL:
                    current[port.name] = bool(rng.random() < 0.5)
        schedule.append(dict(current))
    return schedule


class _Runner:
    """Runs one instance in a fresh world and checks the per-tick rules as it goes."""

    def __init__(
        self,
        kind: str,
        variants: Mapping[str, PartVariant],
        physics: PhysicsConfig,
        ticks: int,
        parts: Sequence[tuple[str, Vec3]],
        schedule: list[dict[str, Value]],
    ) -> None:
        self.kind = kind
        self.variants = variants
        self.physics = physics
        self.ticks = ticks
        self.parts = parts
        self.schedule = schedule

    def fail(self, rule: str, detail: str) -> ComponentCheckError:
        return ComponentCheckError(self.kind, rule, detail)

    def __call__(self, component: Component) -> _Record:
        from vcommission.plant.world import World  # pybullet: only when a check runs

        world = World(self.physics)
        try:
            return self._run(component, world)
        finally:
            world.close()

    def _run(self, component: Component, world: World) -> _Record:
        ports = _port_signature(component)
        component.build(world)
        if _port_signature(component) != ports:
            raise self.fail(
                "ports fixed at construction",
                f"build changed the ports from {sorted(ports)} to "
                f"{sorted(_port_signature(component))}",
            )
        built = self._check_bodies(component, world, set())
        tracker = PartTracker()
        for variant, bottom in self.parts:
            body = world.add_part(self.variants[variant], tuple(bottom))
            tracker.add(variant, body, 0, "checker")

        values: list[Value] = [_UNSET] * _PAD  # type: ignore[list-item]
        for port in component.ports.values():
            port.index = len(values)
            values.append(port.default)
        values.extend([_UNSET] * _PAD)  # type: ignore[list-item]
        outputs = [p for p in component.ports.values() if p.kind is PortKind.OUTPUT]
        ctx = TickContext(0, self.physics.tick_ns, values, world, tracker)

        world.cast_rays()
        self._sense(component, ctx, -1)
        recorded = [tuple(values[p.index] for p in outputs)]
        for tick in range(self.ticks):
            ctx.now_ns = tick * self.physics.tick_ns
            for port_name, value in self.schedule[tick].items():
                values[component.ports[port_name].index] = value
            before = list(values)
            component.update(ctx)
            changed = _changed(before, values)
            if changed:
                raise self.fail(
                    "update writes no port",
                    f"update at tick {tick} wrote {self._slots(component, changed)}",
                )
            world.step()
            world.cast_rays()
            self._sense(component, ctx, tick)
            recorded.append(tuple(values[p.index] for p in outputs))
        alive = {p.body for p in tracker.parts if p.alive}
        self._check_bodies(component, world, alive)
        return _Record(
            outputs=recorded,
            built=built,
            rays=world.rays(),
            parts=[
                (p.variant, p.alive, p.destination, [astuple(e) for e in p.journey])
                for p in tracker.parts
            ],
            poses=[(body, world.pose(body)) for body in world.bodies()],
            names=tuple(p.name for p in outputs),
        )

    def _sense(self, component: Component, ctx: TickContext, tick: int) -> None:
        values = ctx.values
        before = list(values)
        component.sense(ctx)
        when = "at power-on" if tick < 0 else f"at tick {tick}"
        allowed = {p.index for p in component.ports.values() if p.kind is PortKind.OUTPUT}
        wrong = [i for i in _changed(before, values) if i not in allowed]
        if wrong:
            raise self.fail(
                "sense writes only outputs",
                f"sense {when} wrote {self._slots(component, wrong)}",
            )
        for port in component.ports.values():
            if port.kind is PortKind.OUTPUT and not _has_type(values[port.index], port.type):
                raise self.fail(
                    "outputs have their declared types",
                    f"sense {when} wrote {values[port.index]!r} "
                    f"({type(values[port.index]).__name__}) to {port.type.value} "
                    f"output {port.name!r}",
                )

    def _slots(self, component: Component, indices: list[int]) -> str:
        by_index = {p.index: p for p in component.ports.values()}
        names = []
        for index in indices:
            port = by_index.get(index)
            names.append(
                f"{port.kind.value} {port.name!r}" if port else f"slot {index} (no port of its)"
            )
        return ", ".join(names)

    def _check_bodies(self, component: Component, world: World, parts: set[int]) -> list[Any]:
        """Reported bodies against the world's; returns their shapes and poses per group."""
        groups = component.bodies()
        reported: dict[int, str] = {}
        for group_name, group in groups.items():
            for body in group.all:
                if body in reported:
                    raise self.fail(
                        "bodies reported",
                        f"body {body} is reported twice ({reported[body]!r}, {group_name!r})",
                    )
                reported[body] = group_name
        present = set(world.bodies())
        own = present - parts
        missing = sorted(own - set(reported))
        if missing:
            raise self.fail(
                "bodies reported",
                f"bodies() misses {len(missing)} of the bodies it built "
                f"(reported {len(reported)}, built {len(own)})",
            )
        stray = sorted(set(reported) - own)
        if stray:
            raise self.fail(
                "bodies reported",
                f"bodies() reports {len(stray)} bodies that are not its own in the world "
                f"(groups {sorted({reported[b] for b in stray})})",
            )
        driven = {k.body for k in world.kinematic} | {a.body for a in world.articulated}
        for group_name, group in groups.items():
            if any(b in driven for b in group.static):
                raise self.fail(
                    "bodies reported", f"group {group_name!r} lists a driven body as static"
                )
            if any(b not in driven for b in group.moving):
                raise self.fail(
                    "bodies reported", f"group {group_name!r} lists a body it does not drive"
                )
        return [
            (
                group_name,
                [(world.boxes.get(b, world.urdfs.get(b)), world.pose(b)) for b in group.static],
                [(world.boxes.get(b, world.urdfs.get(b)), world.pose(b)) for b in group.moving],
            )
            for group_name, group in groups.items()
        ]


def _port_signature(component: Component) -> set[tuple[str, str, str]]:
    return {(p.name, p.kind.value, p.type.value) for p in component.ports.values()}


def _changed(before: list[Value], after: list[Value]) -> list[int]:
    return [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a is not b]


def _has_type(value: Value, type_: SignalType) -> bool:
    if type_.is_bool:
        return type(value) is bool
    if type_.is_integer:
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        low, high = type_.limits  # type: ignore[misc]
        return low <= value <= high
    return isinstance(value, float)


def _same(kind: str, rule: str, what: str, expected: _Record, actual: _Record) -> None:
    """Raise for the first fact in which two runs differ."""
    facts = (
        ("the bodies built", expected.built, actual.built),
        ("the beams registered", expected.rays, actual.rays),
    )
    for fact, a, b in facts:
        if a != b:
            raise ComponentCheckError(kind, rule, f"{what} differ in {fact}")
    for tick, (a, b) in enumerate(zip(expected.outputs, actual.outputs, strict=True)):
        if a != b:
            when = "at power-on" if tick == 0 else f"after tick {tick - 1}"
            raise ComponentCheckError(
                kind, rule, f"{what} give different outputs {when}: {a!r} then {b!r}"
            )
    if expected.parts != actual.parts:
        raise ComponentCheckError(kind, rule, f"{what} differ in the parts they made or saw")
    if expected.poses != actual.poses:
        raise ComponentCheckError(kind, rule, f"{what} leave bodies at different poses")
