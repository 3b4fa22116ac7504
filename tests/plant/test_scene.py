"""The 3D view's scene (vcommission.plant.scene): describe() and the PoseStream.

The strongest check replays a real run: the sorting line driven by the scripted actuators,
a frame after every few ticks, applied to the first describe() the way view3d.js applies
them (removed, then added, then poses, links and beams), must end where a fresh describe()
of the final world is: the same bodies, at the same rounded poses, the same beams blocked.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from tests.helpers import PLANT_MODELS
from tests.sorting_script import SortingScript
from vcommission.config.model import load_model
from vcommission.plant.plant import Plant
from vcommission.plant.scene import PoseStream, describe
from vcommission.simulator import Simulator

SORTING = PLANT_MODELS / "sorting_line" / "model.yaml"
CELL = PLANT_MODELS / "pick_and_place" / "model.yaml"


def apply(scene: dict, message: dict) -> None:
    """Apply a ``poses`` message to a describe() dict, as the browser does."""
    bodies = {b["id"]: b for b in scene["bodies"]}
    for body in message["removed"]:
        del bodies[body]
    for body in message["added"]:
        bodies[body["id"]] = body
    for key, pose in message["bodies"].items():
        bodies[int(key)]["pose"] = pose
    for key, links in message["links"].items():
        bodies[int(key)]["links"] = links
    scene["bodies"] = [bodies[b] for b in sorted(bodies)]
    for beam in scene["beams"]:
        beam["blocked"] = message["beams"].get(beam["name"], beam["blocked"])


@pytest.fixture(scope="module")
def sorting_run():
    """The sorting line's first describe(), its frames over 40 s, and the final describe()."""
    with Plant(load_model(SORTING)) as plant:
        sim = Simulator(plant)
        sim.add_controller(SortingScript())
        first = describe(plant)
        stream = PoseStream(plant)
        frames = []
        for _ in range(40 * 30):  # ~30 frames per virtual second, 3 ticks apart
            for _ in range(3):
                sim.step()
            message = stream.frame(sim.now_ns * 1e-9)
            if message is not None:
                frames.append(json.loads(json.dumps(message)))  # what the wire carries
        yield first, frames, describe(plant), plant.parts


def test_describe_is_json_and_deterministic():
    with Plant(load_model(SORTING)) as one, Plant(load_model(SORTING)) as two:
        assert json.dumps(describe(one), sort_keys=True) == json.dumps(
            describe(two), sort_keys=True
        )
        scene = describe(one)
    assert scene["version"] == 1 and scene["model"] == "sorting_line"
    assert [b["id"] for b in scene["bodies"]] == sorted(b["id"] for b in scene["bodies"])
    assert json.loads(json.dumps(scene)) == scene


def test_sorting_line_shows_its_machine(sorting_run):
    scene, _, _, _ = sorting_run
    groups = {(b["component"], b["group"], b["kind"]) for b in scene["bodies"]}
    assert {
        ("belt", "surface", "moving"),
        ("belt", "guides", "static"),
        ("pusher", "plate", "moving"),
        ("bin_tall", "bin", "static"),
        ("bin_small", "bin", "static"),
    } <= groups
    belt = next(b for b in scene["bodies"] if b["group"] == "surface")
    assert belt["shapes"][0]["type"] == "box"
    assert belt["shapes"][0]["size"][:2] == [4.0, 0.5]  # the model's length and width
    assert {b["name"]: (b["from"], b["to"]) for b in scene["beams"]}["pe_tall"] == (
        [1.0, -0.35, 0.97],
        [1.0, 0.35, 0.97],
    )
    (low, high) = scene["bounds"]
    assert low[0] <= 0.0 and high[0] >= 4.0 and high[2] >= 0.97
    assert scene["meshes"] == {}


def test_stream_replayed_gives_the_final_scene(sorting_run):
    first, frames, final, _ = sorting_run
    replayed = copy.deepcopy(first)
    for message in frames:
        apply(replayed, message)
    assert [b["id"] for b in replayed["bodies"]] == [b["id"] for b in final["bodies"]]
    for got, want in zip(replayed["bodies"], final["bodies"], strict=True):
        assert got["pose"] == want["pose"], got["id"]
        assert got["variant"] == want["variant"]
    assert [b["blocked"] for b in replayed["beams"]] == [b["blocked"] for b in final["beams"]]


def test_stream_carries_parts_plate_and_beams(sorting_run):
    first, frames, _, parts = sorting_run
    model = load_model(SORTING)
    added = [b for m in frames for b in m["added"]]
    assert {b["variant"] for b in added} == {"small", "tall"}
    for body in added:  # coloured by variant, as the model file says
        assert body["kind"] == "part"
        assert body["shapes"][0]["rgba"] == [
            round(c, 4) for c in model.variants[body["variant"]].color
        ]
        assert body["shapes"][0]["size"] == list(model.variants[body["variant"]].size)
    assert len(added) == parts.total  # each part announced once
    assert sum(len(m["removed"]) for m in frames) == sum(not p.alive for p in parts.parts)
    plate = next(str(b["id"]) for b in first["bodies"] if b["group"] == "plate")
    assert sum(plate in m["bodies"] for m in frames) > 10  # the pusher stroked
    toggles = [name for m in frames for name in m["beams"]]
    assert {"pe_entry", "pe_tall", "pe_pusher", "pe_exit"} <= set(toggles)
    for message in frames:  # only what changed: a body at rest is never re-sent
        assert message["type"] == "poses"
        for pose in message["bodies"].values():
            assert len(pose) == 7 and all(round(v, 4) == v for v in pose)
    assert len(frames) < 40 * 30 + 1


def test_nothing_changed_is_none():
    with Plant(load_model(SORTING)) as plant:
        stream = PoseStream(plant)
        assert stream.frame(0.0) is None
        Simulator(plant).step()  # belt off, no parts: nothing moves
        assert stream.frame(0.01) is None


def test_reset_is_everything_removed_and_added():
    with Plant(load_model(SORTING)) as plant:
        stream = PoseStream(plant)
        before = describe(plant)
        plant.reset()
        message = stream.frame(0.0)
        assert message is not None
        assert message["removed"] == [b["id"] for b in before["bodies"]]
        assert [b["id"] for b in message["added"]] == [b["id"] for b in describe(plant)["bodies"]]
        assert set(message["beams"]) == {b["name"] for b in before["beams"]}
        assert stream.frame(0.0) is None


def test_robot_cell_has_its_arm_and_gripper():
    with Plant(load_model(CELL)) as plant:
        scene = describe(plant)
        robot = next(b for b in scene["bodies"] if b["kind"] == "robot")
        assert robot["component"] == "robot"
        assert len(robot["links"]) == plant.world.link_count(robot["id"])
        meshes = [s for s in robot["shapes"] if s["type"] == "mesh"]
        assert len(meshes) == 7  # xArm 6: base and six links, STL meshes from pybullet_data
        for shape in meshes:
            path = scene["meshes"][shape["mesh"]]
            assert os.path.isabs(path) and os.path.isfile(path) and path.endswith(".stl")
            assert -1 <= shape["link"] < len(robot["links"])
        assert any(b["component"] == "gripper" and b["kind"] == "moving" for b in scene["bodies"])
        assert [b["name"] for b in scene["beams"]] == [
            "pe_pick", "curtain.0", "curtain.1", "curtain.2", "curtain.3",
        ]  # fmt: skip
        # Drive the joints: the next frame carries the links (and the gripper that rides on
        # the flange), nothing else.
        stream = PoseStream(plant)
        arm = plant.world.articulated[0]
        arm.velocity = [0.5] * len(arm.joints)
        sim = Simulator(plant)
        for _ in range(10):
            sim.step()
        message = stream.frame(0.1)
        assert message is not None
        assert set(message["links"]) == {str(robot["id"])}
        assert message["links"][str(robot["id"])] != robot["links"]
        gripper = next(b["id"] for b in scene["bodies"] if b["component"] == "gripper")
        assert str(gripper) in message["bodies"]


URDF = """<robot name="probe">
 <link name="base">
  <inertial><origin xyz="0.5 0 0"/><mass value="0"/>
   <inertia ixx="1" ixy="0" ixz="0" iyy="1" iyz="0" izz="1"/></inertial>
  <visual><origin xyz="0 0 0.2"/><geometry><box size="0.1 0.1 0.1"/></geometry></visual>
  <collision><origin xyz="0 0 0.2"/><geometry><box size="0.1 0.1 0.1"/></geometry></collision>
  <visual><origin xyz="0.3 0.1 0.05"/><geometry><mesh filename="{dae}"/></geometry></visual>
 </link>
 <joint name="j" type="revolute"><parent link="base"/><child link="arm"/>
  <origin xyz="0 1 0" rpy="0 0 0.7"/><axis xyz="0 0 1"/>
  <limit lower="-3" upper="3" effort="1" velocity="1"/></joint>
 <link name="arm">
  <inertial><origin xyz="0 0 0.7"/><mass value="1"/>
   <inertia ixx="1" ixy="0" ixz="0" iyy="1" iyz="0" izz="1"/></inertial>
  <visual><origin xyz="0.3 0 0" rpy="0 1.5708 0"/>
   <geometry><cylinder radius="0.05" length="0.4"/></geometry></visual>
  <collision><origin xyz="0.3 0 0" rpy="0 1.5708 0"/>
   <geometry><cylinder radius="0.05" length="0.4"/></geometry></collision>
 </link>
</robot>
"""


def _transform(pose, point):
    import pybullet

    return pybullet.multiplyTransforms(pose[:3], pose[3:], point, (0, 0, 0, 1))[0]


def test_urdf_shapes_sit_where_pybullet_has_them(tmp_path):
    """Offsets are relative to URDF link frames (the base's too, not its centre of mass)."""
    import types

    import pybullet
    import pybullet_data

    from vcommission.plant.parts import PartTracker
    from vcommission.plant.world import World

    dae = next(Path(pybullet_data.getDataPath()).rglob("*.dae"))
    urdf = tmp_path / "probe.urdf"
    urdf.write_text(URDF.format(dae=dae))
    with World() as world:
        body = world.add_urdf(str(urdf), (1.0, 2.0, 0.5))
        pybullet.resetJointState(body, 0, 0.9, physicsClientId=world.cid)
        plant = types.SimpleNamespace(
            world=world,
            components=[],
            parts=PartTracker(),
            model=types.SimpleNamespace(name="probe", variants={}),
        )
        (robot,) = describe(plant)["bodies"]
        assert robot["kind"] == "robot"
        assert robot["pose"][:3] == [1.0, 2.0, 0.5]  # the URDF base frame, not the inertial
        box, fallback, cylinder = robot["shapes"]
        assert (box["type"], box["link"]) == ("box", -1)
        assert (cylinder["type"], cylinder["link"], cylinder["size"]) == (
            "cylinder",
            0,
            [0.05, 0.4],
        )
        for shape, link in ((box, -1), (fallback, -1), (cylinder, 0)):
            frame = robot["pose"] if link < 0 else robot["links"][link]
            centre = _transform(frame, shape["offset"][:3])
            low, high = pybullet.getAABB(body, link, physicsClientId=world.cid)
            want = [(a + b) / 2 for a, b in zip(low, high, strict=True)]
            assert centre == pytest.approx(want, abs=2e-4)
        # A COLLADA mesh three.js is not given: the link's bounding box instead, no mesh URL.
        assert fallback["type"] == "box" and "mesh" not in fallback
        assert describe(plant)["meshes"] == {}
