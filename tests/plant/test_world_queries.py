"""The world's geometric queries on a multi-link body: a real URDF arm loaded with pybullet.

Closest points carry the link of each body, links have their URDF names, the bounding box
and the link positions cover every link, not only the base (which for an arm is its
pedestal).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scenario.collision_kinds import ARM_URDF
from vcommission.plant.world import World


@pytest.fixture
def arm_world(tmp_path: Path):
    urdf = tmp_path / "arm.urdf"
    urdf.write_text(ARM_URDF)
    with World() as world:
        arm = world.client.loadURDF(str(urdf), [0.0, 0.0, 0.0], useFixedBase=True)
        # A box in the forearm's way, 0.6 m out along +x, at shoulder height.
        box = world.add_box((0.05, 0.05, 0.05), (0.6, 0.0, 0.45))
        yield world, arm, box


def test_links_are_named_as_the_urdf_names_them(arm_world):
    world, arm, box = arm_world
    assert world.link_count(arm) == 2 and world.link_count(box) == 0
    assert world.link_names(arm) == ["shoulder", "forearm"]
    assert world.link_name(arm, -1) == "arm_base"
    assert world.link_names(box) == []


def test_closest_points_say_which_link_is_nearest(arm_world):
    world, arm, box = arm_world
    # The forearm runs through the box: it is the deepest point, on link 1.
    deepest = world.nearest(arm, box, 0.1)
    assert deepest is not None
    assert (deepest.body_a, deepest.body_b, deepest.link_a, deepest.link_b) == (arm, box, 1, -1)
    assert deepest.distance == pytest.approx(-0.08, abs=1e-3)  # 0.03 + 0.05 overlap in y/z
    points = world.closest_points(arm, box, 0.1)
    assert {p.link_a for p in points} == {1}  # the pedestal and shoulder are farther
    assert min(p.distance for p in points) == deepest.distance
    # Turned away (90 degrees), the forearm clears the box: nothing within 0.1 m.
    world.client.resetJointState(arm, 0, 1.5708)
    assert world.nearest(arm, box, 0.1) is None
    # Nearest now: the pedestal's top edge (x 0.1, z 0.4) to the box's (x 0.55, z 0.4).
    nearest = world.nearest(arm, box, 1.0)
    assert nearest is not None and nearest.link_a == -1
    assert nearest.distance == pytest.approx(0.45, abs=1e-3)


def test_extent_and_link_positions_cover_every_link(arm_world):
    world, arm, _box = arm_world
    _, high = world.extent(arm)
    _, base_high = world.aabb(arm)
    assert high[0] == pytest.approx(0.05 + 0.8, abs=0.02)  # the forearm's tip
    assert base_high[0] < 0.15  # the base's box alone is the pedestal
    before = world.link_positions(arm)
    assert len(before) == 3  # base, shoulder, forearm
    world.client.resetJointState(arm, 0, 1.0)
    after = world.link_positions(arm)
    assert after[0] == before[0]  # the base stays
    assert after[2] != pytest.approx(before[2])  # the forearm's frame turned with the shoulder
