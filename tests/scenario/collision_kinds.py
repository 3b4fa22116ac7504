"""Small component kinds for the ``no_collision`` tests: a URDF arm, fixtures, a part holder.

Until the robot and gripper kinds land, these stand in for them with the same contracts: the
arm is a real multi-link URDF body (loaded with ``world.client.loadURDF``) reporting a
``links`` group, whose first joint turns at a constant rate; a fixture is static boxes in one
or two groups; the holder is a :class:`~vcommission.plant.capabilities.PartHolder` whose cup
carries a part (overlapping it, as a suction cup does) towards a fixture.

:func:`write_cell` writes a model using all of them (plus a camera) into a folder.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.plant import registry
from vcommission.plant.component import Component, TickContext
from vcommission.plant.parts import Part
from vcommission.plant.physics import MASKS, CollisionGroup
from vcommission.signals import SignalType

if TYPE_CHECKING:
    import pytest

    from vcommission.plant.world import World

__all__ = ["ARM_URDF", "Arm", "Fixture", "Holder", "register_kinds", "write_cell"]

Vec3 = tuple[float, float, float]

#: A two-link arm: a pedestal, a shoulder turning about z at 0.45 m, and a 0.8 m forearm on
#: a fixed joint (so the forearm is its own link, as a URDF arm's links are).
ARM_URDF = """\
<?xml version="1.0"?>
<robot name="test_arm">
  <link name="arm_base">
    <inertial><mass value="0"/><inertia ixx="0" ixy="0" ixz="0" iyy="0" iyz="0" izz="0"/></inertial>
    <visual><origin xyz="0 0 0.2"/><geometry><box size="0.2 0.2 0.4"/></geometry></visual>
    <collision><origin xyz="0 0 0.2"/><geometry><box size="0.2 0.2 0.4"/></geometry></collision>
  </link>
  <link name="shoulder">
    <inertial>
      <mass value="1"/><inertia ixx="0.01" ixy="0" ixz="0" iyy="0.01" iyz="0" izz="0.01"/>
    </inertial>
    <visual><geometry><box size="0.1 0.1 0.1"/></geometry></visual>
    <collision><geometry><box size="0.1 0.1 0.1"/></geometry></collision>
  </link>
  <link name="forearm">
    <inertial>
      <mass value="1"/><inertia ixx="0.01" ixy="0" ixz="0" iyy="0.01" iyz="0" izz="0.01"/>
    </inertial>
    <visual><origin xyz="0.4 0 0"/><geometry><box size="0.8 0.06 0.06"/></geometry></visual>
    <collision><origin xyz="0.4 0 0"/><geometry><box size="0.8 0.06 0.06"/></geometry></collision>
  </link>
  <joint name="j1" type="revolute">
    <parent link="arm_base"/><child link="shoulder"/>
    <origin xyz="0 0 0.45"/><axis xyz="0 0 1"/>
    <limit lower="-3.1" upper="3.1" effort="100" velocity="5"/>
  </joint>
  <joint name="j2" type="fixed">
    <parent link="shoulder"/><child link="forearm"/><origin xyz="0.05 0 0"/>
  </joint>
</robot>
"""


@dataclass(frozen=True)
class ArmParams:
    #: URDF file, relative to the model's folder.
    urdf: str
    base: tuple[float, float, float]
    #: Shoulder rate, rad/s, while ``go`` is TRUE.
    speed: float = 1.0
    #: Shoulder angle at power-on, rad.
    start: float = 0.0


class Arm(Component):
    """A URDF arm turning its shoulder at ``speed`` while ``go``; bodies: ``links`` (moving)."""

    kind = "test_arm"
    Params = ArmParams
    params: ArmParams

    def __init__(self, name: str, params: ArmParams, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.go = self.declare_input("go", SignalType.BOOL, default=True)

    def build(self, world: World) -> None:
        super().build(world)
        assert self.base_dir is not None
        client = world.client
        self.body = client.loadURDF(
            str(Path(self.base_dir) / self.params.urdf), list(self.params.base), useFixedBase=True
        )
        # A machine body: it touches parts, never the frame it stands in (as robots will).
        mover = int(CollisionGroup.MOVER)
        for link in range(-1, client.getNumJoints(self.body)):
            client.setCollisionFilterGroupMask(self.body, link, mover, int(MASKS[mover]))
        self.angle = self.params.start
        client.resetJointState(self.body, 0, self.angle)
        self.own("links", moving=[self.body])

    def update(self, ctx: TickContext) -> None:
        if ctx.values[self.go.index]:
            self.angle += self.params.speed * ctx.dt
        ctx.world.client.resetJointState(self.body, 0, self.angle)


@dataclass(frozen=True)
class FixtureParams:
    position: tuple[float, float, float]
    size: tuple[float, float, float]
    #: Size of a plate on top of the stand (group ``top``), if any.
    top: tuple[float, float, float] | None = None


class Fixture(Component):
    """Static boxes: ``stand``, and ``top`` on it when given."""

    kind = "test_fixture"
    Params = FixtureParams
    params: FixtureParams

    def build(self, world: World) -> None:
        super().build(world)
        x, y, z = self.params.position
        sx, sy, sz = self.params.size
        stand = world.add_box((sx / 2, sy / 2, sz / 2), (x, y, z))
        self.own("stand", static=[stand])
        if self.params.top is not None:
            tx, ty, tz = self.params.top
            top = world.add_box((tx / 2, ty / 2, tz / 2), (x, y, z + sz / 2 + tz / 2))
            self.own("top", static=[top])


@dataclass(frozen=True)
class HolderParams:
    #: Cup centre at power-on, metres; it travels +x at ``speed`` up to ``stop_x``.
    start: tuple[float, float, float]
    stop_x: float
    speed: float = 0.5
    variant: str = "box"
    #: False: the cup carries the part without saying it holds it (not a PartHolder grip).
    grip: bool = True
    #: How far the part's top is pushed into the cup, metres.
    overlap: float = 0.005


class Holder(Component):
    """A cup carrying one part below it, overlapping it; ``held_parts`` says so (``grip``).

    Bodies: ``cup`` (moving). The part is made at the first tick (parts are not the
    component's own bodies).
    """

    kind = "test_holder"
    Params = HolderParams
    params: HolderParams
    _CUP = 0.05  # half size

    def build(self, world: World) -> None:
        super().build(world)
        self.cup = world.add_kinematic_box(
            (self._CUP,) * 3, self.params.start, group=CollisionGroup.MOVER
        )
        self.own("cup", moving=[self.cup.body])
        self.part: Part | None = None

    def _part_pose(self, x: float) -> Vec3:
        _, y, z = self.params.start
        half = self.variants[self.params.variant].size[2] / 2
        return (x, y, z - self._CUP + self.params.overlap - half)

    def update(self, ctx: TickContext) -> None:
        client = ctx.world.client
        x = min(self.params.start[0] + self.params.speed * ctx.now_ns * 1e-9, self.params.stop_x)
        _, y, z = self.params.start
        self.cup.position = (x, y, z)
        if self.part is None:
            body = ctx.world.add_part(self.variants[self.params.variant], (x, y, 0.0))
            self.part = ctx.parts.add(self.params.variant, body, ctx.now_ns, self.name)
            # The grip holds it: no solver contact between cup and part (a constraint would).
            client.setCollisionFilterPair(self.cup.body, body, -1, -1, 0)
        client.resetBasePositionAndOrientation(self.part.body, self._part_pose(x), (0, 0, 0, 1))
        client.resetBaseVelocity(self.part.body, (0, 0, 0), (0, 0, 0))

    # -- PartHolder

    def held_parts(self) -> list[int]:
        return [self.part.body] if self.part is not None and self.params.grip else []

    def holding_bodies(self) -> list[int]:
        return [self.cup.body]


def register_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the test kinds in a copy of the registry (undone after the test)."""
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    for cls in (Arm, Fixture, Holder):
        registry.register(cls.kind, cls)


#: The cell: the arm at (0, -1) sweeping its forearm into ``post`` (at 45 degrees, 0.71 m
#: out); the holder carrying a box along y = 0 into ``fixture``'s stand (face at x = 0.9),
#: its cup stopping 30 mm short of it; the fixture's top plate above the box's path.
CELL = """\
name: collision_cell
parts:
  box: {size: [0.2, 0.2, 0.1], mass: 1.0}
  tall: {size: [0.2, 0.2, 0.25], mass: 1.5}
components:
  arm: {kind: test_arm, urdf: arm.urdf, base: [0.0, -1.0, 0.0], speed: $arm_speed}
  post: {kind: test_fixture, position: [0.5, -0.5, 0.4], size: [0.1, 0.1, 0.8]}
  fixture:
    kind: test_fixture
    position: [1.0, 0.0, 0.25]
    size: [0.2, 0.6, 0.5]
    top: [0.2, 0.6, 0.1]
  holder:
    kind: test_holder
    start: [0.0, 0.0, 0.4]
    stop_x: 0.82
    grip: $grip
$extra"""


def write_cell(folder: Path, *, arm_speed: float = 1.0, grip: bool = True, extra: str = "") -> Path:
    """Write the cell's model (and the arm's URDF) into ``folder``; the model file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "arm.urdf").write_text(ARM_URDF)
    text = (
        CELL.replace("$arm_speed", repr(arm_speed))
        .replace("$grip", "true" if grip else "false")
        .replace("$extra", textwrap.indent(textwrap.dedent(extra), "  "))
    )
    path = folder / "model.yaml"
    path.write_text(text)
    return path
