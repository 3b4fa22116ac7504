"""The component checker: every built-in kind keeps the rules, and each rule can fail."""

from __future__ import annotations

import random

import pytest

from vcommission.plant import registry
from vcommission.plant.capabilities import BodyGroup, PartSink, PartSource, Slippable, Slowable
from vcommission.plant.checker import DEFAULT_VARIANTS, ComponentCheckError, check_component
from vcommission.plant.component import Component, TickContext
from vcommission.plant.fixture import FixtureBox
from vcommission.plant.physics import CollisionGroup
from vcommission.signals import SignalType

#: Per built-in kind: parameters, and parts placed where the kind has something to do.
BUILTIN = {
    "belt_conveyor": (
        {"start": (0.0, 0.0, 0.5), "length": 2.0, "width": 0.5},
        [("box", (0.3, 0.0, 0.5))],
    ),
    "fixture": ({"boxes": {"table": FixtureBox((0.6, 0.6, 0.4), (0.0, 0.0, 0.2))}}, []),
    "photo_eye": (
        {"emitter": (0.0, -0.5, 0.05), "receiver": (0.0, 0.5, 0.05)},
        [("box", (0, 0, 0))],
    ),
    "presence_sensor": (
        {"center": (0.0, 0.0, 0.05), "size": (0.4, 0.4, 0.1)},
        [("tall", (0, 0, 0))],
    ),
    "cylinder": (
        {
            "origin": (0.0, 0.0, 0.1),
            "direction": (0.0, 1.0, 0.0),
            "stroke": 0.3,
            "extend_time": 0.2,
            "retract_time": 0.2,
        },
        [("box", (0.0, 0.2, 0.0))],
    ),
    "spawner": ({"position": (0.0, 0.0, 0.0), "interval": 0.2, "mix": {"box": 1, "tall": 2}}, []),
    "sink": (
        {"position": (0.0, 0.0, 0.0), "size": (0.6, 0.6, 0.3), "remove_after": 0.3},
        [("box", (0.0, 0.0, 0.4)), ("tall", (0.0, 0.0, 0.8))],
    ),
    "robot": ({"urdf": "gantry.urdf"}, [("box", (0.0, 0.0, 0.0))]),
    "push_button": (None, []),
    "emergency_stop": (None, []),
    "stack_light": (None, []),
    "light_curtain": (
        {"start": (0.0, -0.5, 0.0), "end": (0.0, 0.5, 0.0), "low": 0.05, "high": 0.5},
        [("box", (0.0, 0.0, 0.0))],
    ),
    "safety_fence": ({"points": [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]}, [("box", (0.5, 0.5, 0))]),
    "mode_selector": (None, []),
    # Without peers (the checker runs a kind alone): ports and determinism only.
    "safety_relay": (None, []),
    "vacuum_gripper": ({"mount": "robot"}, []),
    "parallel_gripper": ({"mount": "robot"}, []),
    "door_switch": (None, []),
    "obstacle": ({"position": (0.0, 0.0, 0.15), "size": (0.04, 0.6, 0.3)}, [("box", (0.1, 0, 0))]),
    "camera": ({"eye": (1.5, -1.5, 1.2), "target": (0.0, 0.0, 0.3)}, []),
}


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch):
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))


def test_every_builtin_kind_is_covered():
    assert set(BUILTIN) == set(registry._BUILTIN)


#: Per kind with outputs: (output, what its values during the check's run must show).
EXERCISED = {
    "belt_conveyor": ("speed_actual", lambda values: any(v != 0 for v in values)),
    "photo_eye": ("detected", lambda values: True in values),
    "presence_sensor": ("detected", lambda values: True in values),
    "cylinder": ("extended", lambda values: True in values),
    "spawner": ("count", lambda values: values[-1] == 1),  # then its drop zone stays full
    "sink": ("count", lambda values: values[-1] == 2),
    "robot": ("peri_rdy", lambda values: True in values),
    "push_button": ("contact", lambda values: True in values),
    "emergency_stop": ("healthy", lambda values: False in values),
    "door_switch": ("locked", lambda values: True in values),
    "light_curtain": ("ossd", lambda values: False in values),
    "mode_selector": ("manual", lambda values: True in values),
}


@pytest.mark.parametrize("kind", sorted(BUILTIN))
def test_builtin_kind_keeps_the_rules(kind):
    params, parts = BUILTIN[kind]
    seen = check_component(kind, params, parts=parts, ticks=120)
    assert seen.kind == kind
    if kind in EXERCISED:
        # The run exercised the kind: the checker's rules were checked on real work.
        port, shows = EXERCISED[kind]
        assert shows(seen.outputs[port]), seen.outputs[port]


@pytest.mark.parametrize("seed", [0, 7])
def test_spawner_keeps_the_rules_for_other_seeds(seed):
    params, _ = BUILTIN["spawner"]
    check_component("spawner", params, seed=seed, inputs=lambda tick: {"enable": True})


def test_params_may_be_the_kinds_dataclass():
    cls = registry.load("obstacle")
    check_component("obstacle", cls.Params(position=(0.0, 0.0, 0.15), size=(0.1, 0.1, 0.3)))


# ---- what kinds report -------------------------------------------------------------------------


@pytest.fixture
def built():
    """Factory: ``built(kind)`` -> an instance of ``kind`` built into a world of its own."""
    from vcommission.plant.world import World

    worlds = []

    def build(kind: str) -> Component:
        params, _ = BUILTIN[kind]
        cls = registry.load(kind)
        component = cls("c", None if params is None else cls.Params(**params), **_KWARGS)
        worlds.append(World())
        component.build(worlds[-1])
        return component

    yield build
    for world in worlds:
        world.close()


_KWARGS = {"variants": DEFAULT_VARIANTS}


def _shape(groups) -> dict[str, tuple[int, int]]:
    return {name: (len(g.static), len(g.moving)) for name, g in groups.items()}


@pytest.mark.parametrize(
    ("kind", "groups"),
    [
        ("belt_conveyor", {"surface": (0, 1), "guides": (2, 0)}),
        ("cylinder", {"plate": (0, 1)}),
        ("obstacle", {"stopper": (0, 1)}),
        ("sink", {"bin": (5, 0)}),
        ("spawner", {}),
        ("photo_eye", {}),
        ("door_switch", {}),
    ],
)
def test_kinds_report_their_bodies_in_named_groups(built, kind, groups):
    assert _shape(built(kind).bodies()) == groups


def test_guide_gaps_split_the_rails_and_every_rail_is_reported():
    from vcommission.plant.conveyor import GuideGap, Side
    from vcommission.plant.world import World

    cls = registry.load("belt_conveyor")
    params = cls.Params(
        start=(0.0, 0.0, 0.5),
        length=2.0,
        width=0.5,
        guide_gaps=[GuideGap(Side.LEFT, 0.5, 0.8), GuideGap(Side.BOTH, 1.2, 1.4)],
    )
    with World() as world:
        belt = cls("belt", params)
        belt.build(world)
        assert _shape(belt.bodies()) == {"surface": (0, 1), "guides": (5, 0)}
        reported = {b for g in belt.bodies().values() for b in g.all}
        assert reported == set(world.bodies())


def test_capabilities_of_the_builtin_kinds(built):
    sink, spawner, belt, cylinder = (
        built(k) for k in ("sink", "spawner", "belt_conveyor", "cylinder")
    )
    assert isinstance(sink, PartSink) and not isinstance(spawner, PartSink)
    assert isinstance(spawner, PartSource) and not isinstance(sink, PartSource)
    assert isinstance(belt, Slippable) and not isinstance(cylinder, Slippable)
    assert isinstance(cylinder, Slowable) and not isinstance(belt, Slowable)


def test_body_group_lists_static_then_moving():
    group = BodyGroup(static=(3, 4), moving=(7,))
    assert group.all == (3, 4, 7)
    assert len(group) == 3


# ---- each rule can fail ------------------------------------------------------------------------


class _Base(Component):
    """A well-behaved kind: one input, one output copied from it in sense."""

    def __init__(self, name: str, params: object = None, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.inp = self.declare_input("inp", SignalType.BOOL)
        self.out = self.declare_output("out", SignalType.BOOL)

    def sense(self, ctx: TickContext) -> None:
        ctx.values[self.out.index] = bool(ctx.values[self.inp.index])


class WritesInput(_Base):
    def sense(self, ctx: TickContext) -> None:
        super().sense(ctx)
        ctx.values[self.inp.index] = False


class WritesUndeclared(_Base):
    def sense(self, ctx: TickContext) -> None:
        super().sense(ctx)
        ctx.values[self.out.index + 1] = True


class WritesInUpdate(_Base):
    def update(self, ctx: TickContext) -> None:
        ctx.values[self.out.index] = True


class Unseeded(_Base):
    def sense(self, ctx: TickContext) -> None:
        ctx.values[self.out.index] = random.random() < 0.5


class Seeded(_Base):
    """Randomness from the component's own stream is fine."""

    def sense(self, ctx: TickContext) -> None:
        ctx.values[self.out.index] = bool(self.rng.random() < 0.5)


class SharedState(_Base):
    """State shared between instances through the class: instances interfere."""

    total = 0

    def sense(self, ctx: TickContext) -> None:
        type(self).total += 1
        ctx.values[self.out.index] = type(self).total % 3 == 0


class NotReset(_Base):
    def __init__(self, name: str, params: object = None, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.ticks = 0  # set once here, never in build: a reset keeps counting

    def sense(self, ctx: TickContext) -> None:
        self.ticks += 1
        ctx.values[self.out.index] = self.ticks % 2 == 0


class WrongType(_Base):
    def sense(self, ctx: TickContext) -> None:
        ctx.values[self.out.index] = 1


class PortInBuild(_Base):
    def build(self, world) -> None:
        super().build(world)
        if "late" not in self.ports:
            self.declare_output("late", SignalType.BOOL)


class HiddenBody(_Base):
    def build(self, world) -> None:
        super().build(world)
        world.add_box((0.1, 0.1, 0.1), (0.0, 0.0, 0.1))


class DrivenAsStatic(_Base):
    def build(self, world) -> None:
        super().build(world)
        plate = world.add_kinematic_box((0.1, 0.1, 0.1), (0, 0, 0.5), group=CollisionGroup.MOVER)
        self.own("plate", static=[plate.body])


class StrayBody(_Base):
    def build(self, world) -> None:
        super().build(world)
        self.own("ghost", static=[99])


@pytest.mark.parametrize(
    ("cls", "rule", "words"),
    [
        (WritesInput, "sense writes only outputs", "input 'inp'"),
        (WritesUndeclared, "sense writes only outputs", "no port of its"),
        (WritesInUpdate, "update writes no port", "output 'out'"),
        (Unseeded, "seeded determinism", "different outputs"),
        (SharedState, "seeded determinism", "different outputs"),
        (NotReset, "building twice gives the same state", "different outputs"),
        (WrongType, "outputs have their declared types", "1 (int) to BOOL output 'out'"),
        (PortInBuild, "ports fixed at construction", "late"),
        (HiddenBody, "bodies reported", "misses 1"),
        (DrivenAsStatic, "bodies reported", "driven body as static"),
        (StrayBody, "bodies reported", "not its own"),
    ],
)
def test_each_rule_can_fail(cls, rule, words):
    kind = f"bad_{cls.__name__.lower()}"
    registry.register(kind, cls)
    with pytest.raises(ComponentCheckError) as exc:
        check_component(kind)
    assert exc.value.kind == kind
    assert exc.value.rule == rule
    assert str(exc.value).startswith(f"component kind {kind!r} fails {rule!r}: ")
    assert words in str(exc.value)


def test_good_kinds_pass_including_seeded_randomness():
    for cls in (_Base, Seeded):
        kind = f"good_{cls.__name__.lower()}"
        registry.register(kind, cls)
        check_component(kind)
