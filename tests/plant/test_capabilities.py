"""Capabilities: components report their bodies, plants answer capability queries, the world
answers geometric ones, and scenario code accepts any kind with the capability it needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcommission.config.model import load_model
from vcommission.plant import registry
from vcommission.plant.capabilities import PartSink, PartSource, Slippable, Slowable
from vcommission.plant.component import Component
from vcommission.plant.parts import Arrival
from vcommission.plant.physics import CollisionGroup
from vcommission.plant.plant import Plant
from vcommission.plant.world import World
from vcommission.scenario.faults import validate_fault
from vcommission.scenario.schema import FaultKind, FaultSpec

SORTING_LINE = Path(__file__).resolve().parents[2] / "plant_models" / "sorting_line"


@pytest.fixture(scope="module")
def line():
    with Plant(load_model(SORTING_LINE)) as plant:
        yield plant


def test_every_body_of_the_sorting_line_is_reported_by_its_component(line):
    owners: dict[int, str] = {}
    for component in line.components:
        for group_name, group in component.bodies().items():
            for body in group.all:
                assert body not in owners, f"{body} reported by {owners[body]} and {component}"
                owners[body] = f"{component.name}.{group_name}"
    assert set(owners) == set(line.world.bodies())
    assert {k.body for k in line.world.kinematic} == {
        body for c in line.components for g in c.bodies().values() for body in g.moving
    }


def test_a_reset_reports_the_new_bodies(line):
    before = {c.name: dict(c.bodies()) for c in line.components}
    line.reset()
    after = {c.name: dict(c.bodies()) for c in line.components}
    assert {n: sorted(g) for n, g in before.items()} == {n: sorted(g) for n, g in after.items()}
    assert set(line.world.bodies()) == {
        body for c in line.components for g in c.bodies().values() for body in g.all
    }


def test_plant_finds_components_by_capability(line):
    assert [c.name for c in line.having(PartSink)] == ["bin_tall", "bin_small"]
    assert [c.name for c in line.having(PartSource)] == ["infeed"]
    assert [c.name for c in line.having(Slippable)] == ["belt"]
    assert [c.name for c in line.having(Slowable)] == ["pusher"]
    assert line.find("bin_tall", PartSink) is line.component("bin_tall")
    assert line.find("belt", PartSink) is None
    assert line.find("no_such_thing", PartSink) is None


def test_model_names_components_by_capability():
    model = load_model(SORTING_LINE)
    assert model.having(PartSource) == ["infeed"]
    assert model.having(Slowable) == ["pusher"]


# ---- a third-party kind takes part through the capability alone --------------------------------


class Roller(Component):
    """A driven roller section: slips like a belt without being a BeltConveyor."""

    kind = "test_roller"

    def slip(self, factor: float) -> None:
        self.slipped = factor


class Chute(Component):
    """Holds parts like a sink without being a Sink."""

    kind = "test_chute"

    def __init__(self, name: str, params: object = None, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.arrivals: list[Arrival] = []


@pytest.fixture
def isolated_registry(monkeypatch):
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    registry.register("test_roller", Roller)
    registry.register("test_chute", Chute)


def test_faults_ask_for_capabilities_not_classes(isolated_registry, load):
    model = load("components:\n  rollers: {kind: test_roller}\n  chute: {kind: test_chute}\n")
    slip = FaultSpec(FaultKind.BELT_SLIP, component="rollers", factor=0.5)
    assert validate_fault(slip, model) == []
    slow = FaultSpec(FaultKind.ACTUATOR_SLOW, component="rollers", factor=2.0)
    (problem,) = validate_fault(slow, model)
    assert problem == (
        "actuator_slow needs an actuator with stroke times (a cylinder): 'rollers' is a test_roller"
    )
    with Plant(model) as plant:
        assert plant.having(PartSink) == [plant.component("chute")]


# ---- geometric queries ----------------------------------------------------------------------


def test_world_closest_distance_and_contacts():
    with World() as world:
        a = world.add_box((0.1, 0.1, 0.1), (0.0, 0.0, 0.1))
        b = world.add_box((0.1, 0.1, 0.1), (0.5, 0.0, 0.1))
        assert world.closest_distance(a, b, 0.5) == pytest.approx(0.3, abs=1e-4)
        assert world.closest_distance(a, b, 0.1) is None
        part = world.add_box((0.1, 0.1, 0.1), (0.0, 0.0, 0.25), mass=1.0, group=CollisionGroup.PART)
        # Interpenetrating: negative distance, by the overlap.
        assert world.closest_distance(a, part, 0.1) == pytest.approx(-0.05, abs=1e-3)
        world.step()
        contacts = world.contacts(part)
        assert contacts and {c.body_a for c in contacts} == {part}
        assert {c.body_b for c in contacts} == {a}
        assert all(c.distance < 0.01 for c in contacts)
        assert world.contacts(part, b) == []
        assert {c.body_a for c in world.contacts(body_b=part)} == {part}


# ---- pybullet stays inside the plant ------------------------------------------------------------

PACKAGE = Path(__file__).resolve().parents[2] / "vcommission"
#: Attributes that mean "talking to pybullet" when read outside the plant package.
_ENGINE_ATTRIBUTES = {"client", "cid", "getClosestPoints", "getContactPoints", "rayTestBatch"}


def test_no_pybullet_import_or_call_outside_the_plant_package():
    import ast

    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(PACKAGE / "plant"):
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            modules: list[str] = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            if any(m.split(".")[0] in ("pybullet", "pybullet_utils") for m in modules):
                offences.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: imports pybullet")
            if any(m in ("vcommission.plant.bullet", "vcommission.plant.world") for m in modules):
                names = [a.name for a in getattr(node, "names", [])]
                if names != ["World"]:  # World for type hints only
                    offences.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {modules[0]}")
            if isinstance(node, ast.Attribute) and node.attr in _ENGINE_ATTRIBUTES:
                offences.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: .{node.attr}")
    assert offences == []
