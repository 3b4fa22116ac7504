"""The plant's geometry for a live 3D view: the static scene once, then only what moved.

:func:`describe` walks the world as the physics engine has it and says what to draw: every
body of every component (belt surfaces, guide rails, bins, fixtures, fence panels, curtain
posts, pusher plates, stoppers, gripper bodies) as boxes in its owner's colour (fence panels
see-through), every part in its variant's colour (``parts:`` in the model), every robot as
the visual shapes of its URDF links (meshes named by URL, served from the ``meshes`` table,
or primitives), and every light beam from emitter to receiver. The result is plain JSON (z
up, metres, quaternions ``x, y, z, w``), the same for the same plant state: bodies sorted by
id, meshes numbered in the order they are met (bodies by id, a URDF's shapes in its order);
a mesh URL ends in the file's format (``/mesh/0.stl``), which tells the browser which loader
to use.

:class:`PoseStream` follows the live world: each :meth:`PoseStream.frame` returns what
changed since the previous call (moved bodies, robot links, parts added and removed, beams
blocked or cleared), or ``None`` when nothing did. One pass over the moving bodies and
the beam hits, static bodies never looked at again; poses are rounded to 0.1 mm and
1e-4 (quaternion components) so a body at rest sends nothing. The browser side is
``vcommission/web/static/view3d.js``.

Body ids are pybullet's, which the engine reuses: a part removed and another created in
the same tick may share an id, so a consumer applies ``removed`` before ``added`` (which
view3d.js does). A plant :meth:`~vcommission.plant.plant.Plant.reset` (a new world) shows
as every old body removed and every new one added.

Shape sizes by type: ``box`` full extents ``[x, y, z]``; ``cylinder`` and ``capsule``
``[radius, length]`` along the shape's z axis; ``sphere`` ``[radius]``; ``mesh`` the scale
``[sx, sy, sz]`` of the file at ``mesh``. A mesh file three.js cannot load (only STL and
OBJ are served) is drawn as its link's bounding box instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vcommission.plant.bullet import pybullet
from vcommission.plant.palette import component_colour

if TYPE_CHECKING:
    from vcommission.plant.plant import Plant
    from vcommission.plant.world import World

__all__ = ["MESH_FORMATS", "PoseStream", "describe"]

#: Scene format version (the ``version`` key).
VERSION = 1
#: Mesh file formats the browser loads (three.js's STLLoader and OBJLoader).
MESH_FORMATS = (".stl", ".obj")
#: Kinds drawn see-through (alpha), so that what they enclose stays in view: a fence's
#: panels are mesh, the cell behind them is what a trainee watches.
_TRANSLUCENT = {"safety_fence": 0.3}
#: Bodies no component owns and that are no part (none in the bundled models).
_UNOWNED = (0.6, 0.6, 0.6)
_IDENTITY = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
_GEOMETRY = {
    pybullet.GEOM_BOX: "box",
    pybullet.GEOM_CYLINDER: "cylinder",
    pybullet.GEOM_SPHERE: "sphere",
    pybullet.GEOM_CAPSULE: "capsule",
    pybullet.GEOM_MESH: "mesh",
}

Pose = tuple[float, ...]


def _round(position: Any, orientation: Any) -> Pose:
    """A pose as 7 floats: position to 0.1 mm, quaternion components to 1e-4."""
    x, y, z = position
    a, b, c, d = orientation
    # rint(v * 1e4) / 1e4, as numpy's round (PoseStream rounds whole arrays at once).
    return (
        round(x * 1e4) / 1e4, round(y * 1e4) / 1e4, round(z * 1e4) / 1e4,
        round(a * 1e4) / 1e4, round(b * 1e4) / 1e4, round(c * 1e4) / 1e4, round(d * 1e4) / 1e4,
    )  # fmt: skip


def _rgba(rgb: Any, alpha: float = 1.0) -> list[float]:
    return [round(float(v), 4) for v in rgb[:3]] + [round(float(alpha), 4)]


@dataclass
class _Owner:
    component: str
    group: str
    kind: str
    rgba: list[float]
    variant: str | None = None


@dataclass
class _Robot:
    """What the stream needs of a URDF body: how many links, and its base frame correction."""

    links: int
    #: Inverse of the base's local inertial frame: pybullet reports the base's centre of
    #: mass pose, the visual shapes are relative to the URDF base frame. None: identity.
    base_correction: tuple[Any, Any] | None


def _owners(plant: Plant) -> dict[int, _Owner]:
    """Every machine body and live part, with who owns it and its colour."""
    found: dict[int, _Owner] = {}
    for index, component in enumerate(plant.components):
        alpha = _TRANSLUCENT.get(component.kind, 1.0)
        for group_name, group in sorted(component.bodies().items()):
            light = _rgba(component_colour(index), alpha)
            for body in group.static:
                found.setdefault(body, _Owner(component.name, group_name, "static", light))
            dark = _rgba(component_colour(index, moving=True), alpha)
            for body in group.moving:
                found.setdefault(body, _Owner(component.name, group_name, "moving", dark))
    variants = getattr(plant.model, "variants", {}) or {}
    for part in plant.parts.alive:
        found[part.body] = _part_owner(part.variant, variants)
    return found


def _part_owner(variant: str, variants: Any) -> _Owner:
    spec = variants.get(variant)
    colour = tuple(spec.color) if spec is not None else (0.8, 0.6, 0.3, 1.0)
    return _Owner("", "part", "part", _rgba(colour, colour[3] if len(colour) > 3 else 1.0), variant)


class _Describer:
    """Builds body dicts; keeps the mesh table so that ids stay stable across calls."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.meshes: dict[str, str] = {}  # absolute path -> URL

    def mesh_url(self, path: str) -> str:
        url = self.meshes.get(path)
        if url is None:
            url = f"/mesh/{len(self.meshes)}{os.path.splitext(path)[1].lower()}"
            self.meshes[path] = url
        return url

    def box_body(self, body: int, owner: _Owner) -> dict[str, Any]:
        half, _mass = self.world.boxes[body]
        position, orientation = pybullet.getBasePositionAndOrientation(
            body, physicsClientId=self.world.cid
        )
        shape = {
            "type": "box",
            "size": [round(2 * h, 5) for h in half],
            "link": -1,
            "offset": list(_IDENTITY),
            "rgba": owner.rgba,
        }
        return {
            "id": body,
            "component": owner.component,
            "group": owner.group,
            "kind": owner.kind,
            "variant": owner.variant,
            "shapes": [shape],
            "pose": list(_round(position, orientation)),
        }

    def urdf_body(self, body: int, owner: _Owner, robot: _Robot) -> dict[str, Any]:
        cid = self.world.cid
        base, links = _robot_poses(self.world, body, robot)
        shapes = []
        for data in pybullet.getVisualShapeData(body, physicsClientId=cid):
            link, geometry, dims, filename = data[1], data[2], data[3], data[4]
            offset = list(_round(data[5], data[6]))
            rgba = _rgba(data[7], data[7][3])
            kind = _GEOMETRY.get(geometry)
            shape: dict[str, Any]
            if kind == "mesh":
                path = os.path.abspath(filename.decode(errors="replace"))
                if path.lower().endswith(MESH_FORMATS) and os.path.isfile(path):
                    shape = {"type": "mesh", "size": [round(float(s), 5) for s in dims[:3]]}
                    shape["mesh"] = self.mesh_url(path)
                else:
                    shape, offset = self._link_box(body, link, base if link < 0 else links[link])
            elif kind == "box":
                shape = {"type": "box", "size": [round(float(s), 5) for s in dims[:3]]}
            elif kind in ("cylinder", "capsule"):
                shape = {"type": kind, "size": [round(float(dims[1]), 5), round(float(dims[0]), 5)]}
            elif kind == "sphere":
                shape = {"type": "sphere", "size": [round(float(dims[0]), 5)]}
            else:  # a plane or heightfield on a robot: nothing a viewer needs
                continue
            shape.update(link=int(link), offset=offset, rgba=rgba)
            shapes.append(shape)
        return {
            "id": body,
            "component": owner.component,
            "group": owner.group,
            "kind": "robot",
            "variant": None,
            "shapes": shapes,
            "pose": list(base),
            "links": [list(p) for p in links],
        }

    def _link_box(self, body: int, link: int, frame: Pose) -> tuple[dict[str, Any], list[float]]:
        """A link's bounding box now, relative to the link's URDF ``frame`` (world pose).

        The box is the link's collision bounds, axis-aligned in the world at this moment: an
        approximation, for a visual three.js cannot load.
        """
        low, high = pybullet.getAABB(body, link, physicsClientId=self.world.cid)
        centre = [(a + b) / 2 for a, b in zip(low, high, strict=True)]
        inv_position, inv_orientation = pybullet.invertTransform(frame[:3], frame[3:])
        local, _ = pybullet.multiplyTransforms(
            inv_position, inv_orientation, centre, (0.0, 0.0, 0.0, 1.0)
        )
        size = [round(b - a, 5) for a, b in zip(low, high, strict=True)]
        return {"type": "box", "size": size}, list(_round(local, inv_orientation))


def _robot_info(world: World, body: int) -> _Robot:
    cid = world.cid
    info = pybullet.getDynamicsInfo(body, -1, physicsClientId=cid)
    position, orientation = info[3], info[4]
    correction = None
    if any(abs(v) > 1e-9 for v in position) or abs(abs(orientation[3]) - 1) > 1e-9:
        correction = pybullet.invertTransform(position, orientation)
    return _Robot(pybullet.getNumJoints(body, physicsClientId=cid), correction)


def _robot_poses(world: World, body: int, robot: _Robot) -> tuple[Pose, list[Pose]]:
    """The URDF base frame and every link frame of ``body``, rounded."""
    cid = world.cid
    position, orientation = pybullet.getBasePositionAndOrientation(body, physicsClientId=cid)
    if robot.base_correction is not None:
        position, orientation = pybullet.multiplyTransforms(
            position, orientation, *robot.base_correction
        )
    links: list[Pose] = []
    if robot.links:
        states = pybullet.getLinkStates(
            body, list(range(robot.links)), computeForwardKinematics=True, physicsClientId=cid
        )
        links = [_round(state[4], state[5]) for state in states]
    return _round(position, orientation), links


def _beam_names(plant: Plant, count: int) -> list[str]:
    """A name per world ray: a photo-eye's name, ``curtain.0``... for a curtain's beams."""
    names = [f"beam{i}" for i in range(count)]
    for component in plant.components:
        ray = getattr(component, "ray", None)
        if isinstance(ray, int) and 0 <= ray < count:
            names[ray] = component.name
        rays = getattr(component, "_rays", None)  # a light curtain's beams, lowest first
        if isinstance(rays, list):
            for position, index in enumerate(rays):
                if isinstance(index, int) and 0 <= index < count:
                    names[index] = f"{component.name}.{position}"
    return names


def _bounds(world: World, robots: dict[int, _Robot]) -> list[list[float]]:
    low = [float("inf")] * 3
    high = [float("-inf")] * 3
    points = []
    for body in world.bodies():
        points.extend(
            world.extent(body, robots[body].links) if body in robots else world.aabb(body)
        )
    for start, end in world.rays():
        points.extend((start, end))
    for point in points:
        for axis in range(3):
            low[axis] = min(low[axis], point[axis])
            high[axis] = max(high[axis], point[axis])
    if not points:
        return [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
    return [[round(v, 4) for v in low], [round(v, 4) for v in high]]


def _body(describer: _Describer, body: int, owner: _Owner, robots: dict[int, _Robot]) -> dict:
    if body in robots:
        return describer.urdf_body(body, owner, robots[body])
    return describer.box_body(body, owner)


def _robots(world: World) -> dict[int, _Robot]:
    return {body: _robot_info(world, body) for body in sorted(world.urdfs)}


def _unowned(owners: dict[int, _Owner], body: int) -> _Owner:
    return owners.get(body) or _Owner("", "", "static", _rgba(_UNOWNED))


def describe(plant: Plant) -> dict[str, Any]:
    """The static scene of ``plant`` as it stands now (see the module docstring).

    ``{"version", "model", "bounds", "bodies", "beams", "meshes", "variants"}``: ``meshes``
    maps each mesh URL to the file's absolute path on this machine (for the server, never
    for the browser); ``variants`` maps each part variant to its colour.
    """
    world = plant.world
    assert world is not None, "describe() needs a built plant"
    return _describe(plant, world, _Describer(world), _robots(world))


def _describe(
    plant: Plant, world: World, describer: _Describer, robots: dict[int, _Robot]
) -> dict[str, Any]:
    owners = _owners(plant)
    bodies = [_body(describer, b, _unowned(owners, b), robots) for b in sorted(world.bodies())]
    rays = world.rays()
    names = _beam_names(plant, len(rays))
    beams = [
        {"name": names[i], "from": [round(v, 4) for v in start], "to": [round(v, 4) for v in end],
         "blocked": world.ray_hits[i] >= 0}
        for i, (start, end) in enumerate(rays)
    ]  # fmt: skip
    variants = getattr(plant.model, "variants", {}) or {}
    return {
        "version": VERSION,
        "model": getattr(plant.model, "name", ""),
        "bounds": _bounds(world, robots),
        "bodies": bodies,
        "beams": beams,
        "meshes": {url: path for path, url in sorted(describer.meshes.items(), key=_by_url)},
        "variants": {
            name: _rgba(v.color, v.color[3] if len(v.color) > 3 else 1.0)
            for name, v in sorted(variants.items())
        },
    }


def _by_url(item: tuple[str, str]) -> tuple[int, str]:
    number = item[1].rsplit("/", 1)[-1].split(".", 1)[0]
    return (int(number) if number.isdigit() else 0, item[1])


@dataclass
class _TrackedRobot:
    """A robot the stream follows, and what it last sent for it."""

    body: int
    robot: _Robot
    pose: Pose = ()
    links: list[Pose] = field(default_factory=list)


class PoseStream:
    """What changed in ``plant``'s world since the previous :meth:`frame`.

    The first frame compares against the world as it stood when the stream was made (what
    :func:`describe` gave then). Web streams these at up to 30 frames a second; each frame
    is one pass over the moving bodies (machine bodies that move, robots, parts) and the
    beams: one pybullet call per box (rounded and compared all at once with numpy), one per
    robot. Static bodies are read once, by :func:`describe`, never again.
    """

    def __init__(self, plant: Plant) -> None:
        self.plant = plant
        self._world: World | None = None
        self._start()

    def _start(self) -> None:
        """Take the world as it stands as the baseline (at creation and after a reset)."""
        plant = self.plant
        world = plant.world
        assert world is not None, "PoseStream needs a built plant"
        self._world = world
        self._describer = _Describer(world)
        self._robots = _robots(world)
        owners = _owners(plant)
        #: Every body the consumer knows: machine bodies and live parts, by id.
        self._known: set[int] = set(world.bodies())
        self._arms = [
            _TrackedRobot(body, robot, *_robot_poses(world, body, robot))
            for body, robot in self._robots.items()
        ]
        #: Moving boxes (pusher plates, stoppers, tools, belts, parts) in id order, with
        #: the rounded poses last sent, one row each.
        self._boxes = [
            body
            for body in sorted(self._known)
            if body in owners and owners[body].kind in ("moving", "part")
        ]
        self._sent = self._read(self._boxes)
        #: Live parts: body -> part id (ids are never reused, body ids are).
        self._parts = {p.body: p.id for p in plant.parts.alive}
        self._signature = (plant.parts.total, len(world.boxes))
        self._blocked = [hit >= 0 for hit in world.ray_hits]
        self._names = _beam_names(plant, len(self._blocked))

    def _read(self, boxes: list[int]) -> np.ndarray:
        """The rounded poses of ``boxes`` now, one row of 7 each."""
        world = self._world
        assert world is not None
        cid = world.cid
        get_pose = pybullet.getBasePositionAndOrientation
        flat: list[float] = []
        extend = flat.extend
        for body in boxes:
            position, orientation = get_pose(body, physicsClientId=cid)
            extend(position)
            extend(orientation)
        # np.round is rint(x * 1e4) / 1e4, exactly what _round does per value.
        return np.round(np.array(flat, dtype=float).reshape(len(boxes), 7), 4)

    def frame(self, time_s: float) -> dict[str, Any] | None:
        """The changes since the last call, as a ``poses`` message, or None if none."""
        plant = self.plant
        world = plant.world
        assert world is not None, "the plant was closed"
        beams: dict[str, bool] = {}
        if world is not self._world:  # reset: a new world, every body and beam new
            removed = sorted(self._known)
            self._start()
            added = _describe(plant, world, self._describer, self._robots)["bodies"]
            beams = dict(zip(self._names, self._blocked, strict=True))
        else:
            added, removed = self._parts_changed(world)
        bodies: dict[str, list[float]] = {}
        links: dict[str, list[list[float]]] = {}
        if self._boxes:
            now = self._read(self._boxes)
            changed = np.flatnonzero((now != self._sent).any(axis=1))
            if changed.size:
                boxes = self._boxes
                rows = now[changed].tolist()
                for index, row in zip(changed.tolist(), rows, strict=True):
                    bodies[str(boxes[index])] = row
                self._sent = now
        for arm in self._arms:
            pose, link_poses = _robot_poses(world, arm.body, arm.robot)
            if link_poses != arm.links:
                arm.links = link_poses
                links[str(arm.body)] = [list(p) for p in link_poses]
            if pose != arm.pose:
                arm.pose = pose
                bodies[str(arm.body)] = list(pose)
        hits = world.ray_hits
        blocked = self._blocked
        for index, hit in enumerate(hits):
            now_blocked = hit >= 0
            if now_blocked != blocked[index]:
                blocked[index] = now_blocked
                beams[self._names[index]] = now_blocked
        if not (bodies or links or added or removed or beams):
            return None
        return {
            "type": "poses",
            "t": round(float(time_s), 6),
            "bodies": bodies,
            "links": links,
            "added": added,
            "removed": removed,
            "beams": beams,
        }

    def _parts_changed(self, world: World) -> tuple[list[dict[str, Any]], list[int]]:
        """Parts created and removed since the last frame (a reused body id: both)."""
        # Parts are made (the count of parts ever made grows) or removed (the world loses a
        # box): a cheap signature says whether to look at the parts at all.
        signature = (self.plant.parts.total, len(world.boxes))
        if signature == self._signature:
            return [], []
        self._signature = signature
        alive = {p.body: p for p in self.plant.parts.alive}
        parts = self._parts
        gone = sorted(b for b, pid in parts.items() if b not in alive or alive[b].id != pid)
        new = sorted(b for b, part in alive.items() if parts.get(b) != part.id)
        self._parts = {b: p.id for b, p in alive.items()}
        if not (gone or new):
            return [], []
        variants = getattr(self.plant.model, "variants", {}) or {}
        added = []
        for body in new:
            owner = _part_owner(alive[body].variant, variants)
            added.append(self._describer.box_body(body, owner))
        # Rows of bodies that stay keep what was sent; new parts start from what ``added``
        # says (the same rounding), so neither is sent twice.
        kept = {b: row for b, row in zip(self._boxes, self._sent, strict=True)}
        for body in gone:
            kept.pop(body, None)
            self._known.discard(body)
        for body, described in zip(new, added, strict=True):
            kept[body] = np.array(described["pose"], dtype=float)
            self._known.add(body)
        self._boxes = sorted(kept)
        self._sent = np.array([kept[b] for b in self._boxes], dtype=float).reshape(
            len(self._boxes), 7
        )
        return added, gone
