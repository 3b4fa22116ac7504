"""A picture of a plant: pybullet's software renderer, components labelled, beams drawn.

``vcommission render`` and the README's model picture use it to show that the geometry is
what the model file says: every body as the physics engine has it (pybullet's TinyRenderer,
a CPU rasteriser: no display, no GPU, the same pixels on every machine), coloured by the
component that owns it, parts by variant, with each component's name at its bodies, each
photo-eye beam drawn from emitter to receiver (red while blocked) and components without
bodies (buttons, lamps) listed beside the scene.

This module only computes: the image, and where labels and beams fall on it
(:class:`Rendering`); drawing the overlay and writing a PNG is :func:`write_png`'s job,
with matplotlib (the ``plot`` extra).

:func:`snapshot` pictures the *live* scene during a run (a ``no_collision`` check calls it at
its first contact, while the world still exists): from a model's ``camera`` or a view framing
the bodies it is about, every machine body in a pale shade of its owner's colour and the
bodies (or links) in question in :data:`HIGHLIGHT`, the world's colours restored afterwards.
Rendering changes no physics state, so a run with snapshots gives the same trace as one
without. :func:`write_snapshot_png` labels it with matplotlib when installed, and otherwise
writes the bare pixels (no overlay) with a small built-in encoder, so a run never needs
the ``plot`` extra.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vcommission.fileio import write_atomic
from vcommission.plant.bullet import pybullet
from vcommission.plant.camera import Viewpoint
from vcommission.plant.palette import component_colour

if TYPE_CHECKING:
    from collections.abc import Sequence

    from vcommission.plant.plant import Plant
    from vcommission.plant.world import World

__all__ = [
    "HIGHLIGHT",
    "Highlight",
    "Poses",
    "Rendering",
    "Snapshot",
    "View",
    "capture",
    "encode_png",
    "posed",
    "render",
    "snapshot",
    "write_png",
    "write_snapshot_png",
]

Vec3 = tuple[float, float, float]

#: Component colours, in component order (matplotlib's tab10, as RGB 0..1).
#: Part colours by variant, in the model's variant order.
_PART_COLOURS = [(0.95, 0.77, 0.06), (0.80, 0.10, 0.10), (0.10, 0.60, 0.90), (0.30, 0.80, 0.30)]
_FIELD_OF_VIEW_DEG = 40.0


class View(str, Enum):
    """Where the camera looks from."""

    ISO = "iso"
    TOP = "top"
    FRONT = "front"


#: Camera direction from the scene's centre, and the camera's up vector, per view.
_CAMERAS = {
    View.ISO: ((0.9, -1.4, 1.0), (0.0, 0.0, 1.0)),
    View.TOP: ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    View.FRONT: ((0.0, -1.0, 0.15), (0.0, 0.0, 1.0)),
}


@dataclass
class Rendering:
    """A rendered plant: pixels, and where its labels and beams are on them."""

    model: str
    view: View
    #: Height x width x 3, uint8.
    rgb: np.ndarray
    #: (component name, kind, pixel x, pixel y) at the top centre of its bodies.
    labels: list[tuple[str, str, float, float]] = field(default_factory=list)
    #: (x0, y0, x1, y1, blocked) per photo-eye beam, in pixels.
    beams: list[tuple[float, float, float, float, bool]] = field(default_factory=list)
    #: (component name, kind) of components with no body in the scene.
    unplaced: list[tuple[str, str]] = field(default_factory=list)
    #: The model's camera it was taken from, if any (else :attr:`view`).
    camera: str | None = None
    #: What moment it shows, for the title ("t=12.300 s of R3 ..."); empty: power-on.
    moment: str = ""


def _scene_bounds(plant: Plant) -> tuple[np.ndarray, np.ndarray]:
    world = plant.world
    assert world is not None
    low, high = np.full(3, np.inf), np.full(3, -np.inf)
    for body in world.bodies():
        a, b = world.aabb(body)
        low, high = np.minimum(low, a), np.maximum(high, b)
    for start, end in world.rays():
        low = np.minimum(low, np.minimum(start, end))
        high = np.maximum(high, np.maximum(start, end))
    if not np.isfinite(low).all():
        return np.zeros(3), np.ones(3)
    return low, high


def _project(matrix: np.ndarray, point: np.ndarray, width: int, height: int) -> tuple[float, float]:
    clip = matrix @ np.append(point, 1.0)
    x, y = clip[0] / clip[3], clip[1] / clip[3]
    return (x + 1) / 2 * width, (1 - y) / 2 * height


def _colour(plant: Plant) -> None:
    """Colour every body by owner (moving bodies darker) and every part by variant."""
    world = plant.world
    assert world is not None
    cid = world.cid
    for index, component in enumerate(plant.components):
        for group in component.bodies().values():
            for body, moving in [(b, False) for b in group.static] + [
                (b, True) for b in group.moving
            ]:
                rgba = [*component_colour(index, moving), 1.0]
                pybullet.changeVisualShape(body, -1, rgbaColor=rgba, physicsClientId=cid)
    variants = list(plant.model.variants)
    for part in plant.parts.alive:
        colour = _PART_COLOURS[variants.index(part.variant) % len(_PART_COLOURS)]
        pybullet.changeVisualShape(part.body, -1, rgbaColor=[*colour, 1.0], physicsClientId=cid)
    # A plain floor instead of pybullet's checkerboard, so the machine stands out.
    pybullet.changeVisualShape(
        world.ground, -1, rgbaColor=[0.93, 0.93, 0.93, 1], textureUniqueId=-1, physicsClientId=cid
    )


def render(
    plant: Plant,
    view: View = View.ISO,
    width: int = 1280,
    height: int = 800,
    *,
    viewpoint: Viewpoint | None = None,
    camera: str | None = None,
) -> Rendering:
    """Render ``plant`` as it stands now (after :meth:`Plant.reset`: at power-on).

    From ``viewpoint`` (a model's ``camera``, named ``camera``) when given, at ``width`` x
    ``height``; else from ``view``, framing the whole scene. Deterministic: the same plant
    state, viewpoint and size give the same pixels.
    """
    world = plant.world
    assert world is not None
    cid = world.cid
    _colour(plant)
    if viewpoint is not None:
        viewpoint = dataclasses.replace(viewpoint, width=width, height=height)
        rgb, matrix = _shoot(cid, viewpoint)
    else:
        low, high = _scene_bounds(plant)
        centre = (low + high) / 2
        radius = max(float(np.linalg.norm(high - low)) / 2, 0.1)
        direction, up = _CAMERAS[View(view)]
        direction = np.array(direction) / np.linalg.norm(direction)
        # The bounding sphere is generous for a long, low line: come closer than it says.
        distance = radius / math.tan(math.radians(_FIELD_OF_VIEW_DEG) / 2) * 0.8
        eye = centre + direction * distance
        view_matrix = pybullet.computeViewMatrix(
            eye.tolist(), centre.tolist(), list(up), physicsClientId=cid
        )
        projection = pybullet.computeProjectionMatrixFOV(
            _FIELD_OF_VIEW_DEG, width / height, distance / 100, distance * 4, physicsClientId=cid
        )
        rgb, matrix = _pixels(cid, width, height, view_matrix, projection)
    rendering = Rendering(plant.model.name, View(view), rgb, camera=camera)
    rays = world.rays()
    for component in plant.components:
        kind = component.kind or type(component).__name__
        position = getattr(component.params, "position", None)
        bodies = [b for group in component.bodies().values() for b in group.all]
        ray = getattr(component, "ray", None)
        if bodies:
            boxes = [world.aabb(b) for b in bodies]
            top = np.array(
                [
                    (min(a[0] for a, _ in boxes) + max(b[0] for _, b in boxes)) / 2,
                    (min(a[1] for a, _ in boxes) + max(b[1] for _, b in boxes)) / 2,
                    max(b[2] for _, b in boxes),
                ]
            )
            rendering.labels.append((component.name, kind, *_project(matrix, top, width, height)))
        elif isinstance(ray, int) and 0 <= ray < len(rays):
            start, end = (np.array(p) for p in rays[ray])
            x0, y0 = _project(matrix, start, width, height)
            x1, y1 = _project(matrix, end, width, height)
            rendering.beams.append((x0, y0, x1, y1, world.ray_hits[ray] >= 0))
            rendering.labels.append((component.name, kind, x1, y1))
        elif position is not None and len(position) == 3:
            point = np.array(position, dtype=float)
            rendering.labels.append((component.name, kind, *_project(matrix, point, width, height)))
        else:
            rendering.unplaced.append((component.name, kind))
    return rendering


def _label_offsets(labels: list[tuple[str, str, float, float]]) -> list[float]:
    """Upward offsets (points) that keep labels that would overlap apart, one row each."""
    placed: list[tuple[float, float]] = []
    offsets = []
    for name, _kind, x, y in labels:
        offset = 14.0
        half_width = 3.5 * len(name) + 6
        while any(
            abs(x - px) < half_width + 30 and abs((y - offset) - py) < 19 for px, py in placed
        ):
            offset += 15.0
        placed.append((x, y - offset))
        offsets.append(offset)
    return offsets


def write_png(rendering: Rendering, path: str | Path) -> None:
    """The rendering with its labels, beams and legend, as a PNG (deterministic bytes)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    height, width = rendering.rgb.shape[:2]
    dpi = 100
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.imshow(rendering.rgb, interpolation="nearest")
    axes.set_axis_off()
    for x0, y0, x1, y1, blocked in rendering.beams:
        colour = "#d62728" if blocked else "#2ca02c"
        axes.plot([x0, x1], [y0, y1], color=colour, linewidth=2)
        axes.plot([x0], [y0], marker="o", color=colour, markersize=4)
    for (name, _kind, x, y), offset in zip(
        rendering.labels, _label_offsets(rendering.labels), strict=True
    ):
        axes.annotate(
            name,
            (x, y),
            xytext=(0, offset),
            textcoords="offset points",
            ha="center",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.85, "lw": 0.5},
            arrowprops={"arrowstyle": "-", "lw": 0.6, "color": "black"},
        )
    seen = f"camera {rendering.camera}" if rendering.camera else f"{rendering.view.value} view"
    title = f"{rendering.model} ({seen})"
    if rendering.moment:
        title += f" at {rendering.moment}"
    axes.text(8, 18, title, fontsize=11, weight="bold", va="top")
    if rendering.unplaced:
        listed = "\n".join(f"{name} ({kind})" for name, kind in rendering.unplaced)
        axes.text(
            8, height - 8, "no body in the scene:\n" + listed, fontsize=7, va="bottom",
            bbox={"facecolor": "white", "alpha": 0.85, "lw": 0.5},
        )  # fmt: skip
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    # No software/date metadata: the same rendering gives the same bytes.
    _save(figure, dpi, path)


# ---- snapshots of the live scene --------------------------------------------------------------

#: The colour of the bodies a snapshot is about (RGB 0..1): magenta, which no owner colour
#: and no part colour comes near, so it reads at once (and a test can find its pixels).
HIGHLIGHT = (1.0, 0.0, 1.0)
#: How far a snapshot fades the other bodies towards white, so the highlight stands out.
_FADE = 0.55
#: Most bodies in front of each other a snapshot looks through (hit depth of its rays).
_MAX_OCCLUDERS = 8
#: An automatic view keeps this much of the scene around the bodies it frames, metres.
_MIN_FRAME_RADIUS_M = 0.5


@dataclass(frozen=True)
class Highlight:
    """A body (or one link of it) a snapshot is about, with the name to label it by."""

    body: int
    #: The link to highlight (-1: the base; a box has only a base); ``None``: every link.
    link: int | None
    label: str


@dataclass
class Snapshot:
    """A picture of the live scene, with where its labels fall."""

    #: Height x width x 3, uint8.
    rgb: np.ndarray
    title: str
    #: (label, pixel x, pixel y) per highlighted body: at the middle of its bounding box.
    labels: list[tuple[str, float, float]] = field(default_factory=list)
    #: Pixel positions of points to mark (the contact), if in view.
    marks: list[tuple[float, float]] = field(default_factory=list)
    #: Where it was taken from: the camera's name, or ``"auto"``.
    camera: str = "auto"
    #: What was left out of the view because it stood in front of the bodies.
    hidden: list[str] = field(default_factory=list)


def _links(world: World, body: int) -> list[int]:
    return [-1, *range(world.link_count(body))]


def _box_of(world: World, body: int, link: int | None) -> tuple[np.ndarray, np.ndarray]:
    if link is None:
        low, high = world.extent(body)
    else:
        low, high = pybullet.getAABB(body, link, physicsClientId=world.cid)
    return np.array(low, dtype=float), np.array(high, dtype=float)


def _auto_viewpoint(
    boxes: list[tuple[np.ndarray, np.ndarray]], point: Sequence[float] | None
) -> Viewpoint:
    """An iso view of the bodies' joint bounding box (or of ``point``), with room around."""
    low = np.min([b[0] for b in boxes], axis=0) if boxes else np.zeros(3)
    high = np.max([b[1] for b in boxes], axis=0) if boxes else np.ones(3)
    centre = np.array(point, dtype=float) if point is not None else (low + high) / 2
    radius = max(float(np.linalg.norm(high - low)), _MIN_FRAME_RADIUS_M)
    direction, up = _CAMERAS[View.ISO]
    unit = np.array(direction) / np.linalg.norm(direction)
    fov = 45.0
    eye = centre + unit * (radius / math.tan(math.radians(fov) / 2))
    return Viewpoint(
        tuple(eye.tolist()),  # type: ignore[arg-type]
        tuple(centre.tolist()),  # type: ignore[arg-type]
        up,
        fov,
    )


def _looks_now(cid: int, body: int) -> list[tuple[int, int, list[float], int]]:
    """(link, shape index within the link, RGBA, texture) of every visual shape of ``body``."""
    found = []
    count: dict[int, int] = {}
    shapes = pybullet.getVisualShapeData(
        body, flags=pybullet.VISUAL_SHAPE_DATA_TEXTURE_UNIQUE_IDS, physicsClientId=cid
    )
    for shape in shapes:
        link = shape[1]
        index = count.get(link, 0)
        count[link] = index + 1
        found.append((link, index, list(shape[7]), int(shape[8])))
    return found


@dataclass(frozen=True)
class Poses:
    """Where every body of a world was at one moment: to picture that moment later."""

    #: body -> (base position, base orientation, [(joint position, joint velocity), ...]).
    bodies: dict[int, tuple[Vec3, tuple[float, ...], list[tuple[float, float]]]]


def capture(plant: Plant) -> Poses:
    """The pose of every body now (bases and joints): cheap, unlike a render."""
    world = plant.world
    assert world is not None
    cid = world.cid
    found = {}
    for index in range(pybullet.getNumBodies(physicsClientId=cid)):
        body = pybullet.getBodyUniqueId(index, physicsClientId=cid)
        if body == world.ground:
            continue
        position, orientation = pybullet.getBasePositionAndOrientation(body, physicsClientId=cid)
        joints = world.link_count(body)
        states = (
            pybullet.getJointStates(body, list(range(joints)), physicsClientId=cid)
            if joints
            else []
        )
        found[body] = (position, orientation, [(state[0], state[1]) for state in states])
    return Poses(found)


def _place(cid: int, poses: Poses) -> None:
    for body, (position, orientation, joints) in poses.bodies.items():
        pybullet.resetBasePositionAndOrientation(body, position, orientation, physicsClientId=cid)
        for joint, (angle, speed) in enumerate(joints):
            pybullet.resetJointState(body, joint, angle, targetVelocity=speed, physicsClientId=cid)


@contextlib.contextmanager
def posed(plant: Plant, poses: Poses) -> Iterator[list[int]]:
    """Every body still there put back where ``poses`` had it, meanwhile; then returned.

    Yields the bodies made since (not in ``poses``), for :func:`snapshot` to leave out.
    Velocities are untouched, so the world steps on as if nothing happened.
    """
    world = plant.world
    assert world is not None
    now = capture(plant)
    then = Poses({b: pose for b, pose in poses.bodies.items() if b in now.bodies})
    try:
        _place(world.cid, then)
        yield sorted(set(now.bodies) - set(poses.bodies))
    finally:
        _place(world.cid, now)


def snapshot(
    plant: Plant,
    highlights: Sequence[Highlight],
    *,
    viewpoint: Viewpoint | None = None,
    camera: str = "auto",
    point: Sequence[float] | None = None,
    title: str = "",
    hide: Sequence[int] = (),
) -> Snapshot:
    """Render the scene as it stands now, ``highlights`` in :data:`HIGHLIGHT`.

    Without a ``viewpoint`` (a model's camera), an iso view frames the highlighted bodies,
    centred on ``point`` (the contact) when given. ``hide`` leaves bodies out (those made
    after the moment a :func:`posed` scene shows). Every body's colours are restored
    afterwards. Deterministic: the same scene gives the same pixels.
    """
    world = plant.world
    assert world is not None
    cid = world.cid
    shades: dict[tuple[int, int], list[float]] = {}
    for index, component in enumerate(plant.components):
        for group in component.bodies().values():
            for body, moving in [(b, False) for b in group.static] + [
                (b, True) for b in group.moving
            ]:
                rgb = np.array(component_colour(index, moving)) * (1 - _FADE) + _FADE
                for link in _links(world, body):
                    shades.setdefault((body, link), [*rgb.tolist(), 1.0])
    variants = list(plant.model.variants)
    for part in plant.parts.alive:
        colour = np.array(_PART_COLOURS[variants.index(part.variant) % len(_PART_COLOURS)])
        shades[(part.body, -1)] = [*(colour * (1 - _FADE) + _FADE).tolist(), 1.0]
    for mark in highlights:
        links = _links(world, mark.body) if mark.link is None else [mark.link]
        for link in links:
            shades[(mark.body, link)] = [*HIGHLIGHT, 1.0]
    boxes = [_box_of(world, mark.body, mark.link) for mark in highlights]
    if viewpoint is None:
        viewpoint = _auto_viewpoint(boxes, point)
        camera = "auto"
    # What stands between the camera and the bodies (a fence panel) is left out of the view.
    targets = [((low + high) / 2).tolist() for low, high in boxes]
    if point is not None:
        targets.append([float(c) for c in point])
    keep = {mark.body for mark in highlights} | {world.ground}
    hidden = _occluders(cid, viewpoint.eye, targets, keep)
    for body in (*hidden, *hide):
        for link in _links(world, body):
            shades[(body, link)] = [1.0, 1.0, 1.0, 0.0]  # alpha 0: TinyRenderer skips it
    bodies = sorted({body for body, _ in shades} | {world.ground})
    saved = {body: _looks_now(cid, body) for body in bodies}
    try:
        for (body, link), rgba in shades.items():
            pybullet.changeVisualShape(body, link, rgbaColor=rgba, physicsClientId=cid)
        # A plain floor, as in render(): the machine stands out.
        pybullet.changeVisualShape(
            world.ground, -1, rgbaColor=[0.93, 0.93, 0.93, 1], textureUniqueId=-1,
            physicsClientId=cid,
        )  # fmt: skip
        rgb, matrix = _shoot(cid, viewpoint)
    finally:
        for body, shapes in saved.items():
            for link, index, rgba, texture in shapes:
                pybullet.changeVisualShape(
                    body, link, shapeIndex=index, rgbaColor=rgba, textureUniqueId=texture,
                    physicsClientId=cid,
                )  # fmt: skip
    width, height = viewpoint.width, viewpoint.height
    result = Snapshot(rgb, title, camera=camera, hidden=_names(plant, hidden))
    for mark, (low, high) in zip(highlights, boxes, strict=True):
        x, y = _project(matrix, (low + high) / 2, width, height)
        result.labels.append((mark.label, x, y))
    if point is not None:
        x, y = _project(matrix, np.array(point, dtype=float), width, height)
        if 0 <= x <= width and 0 <= y <= height:
            result.marks.append((x, y))
    return result


def _occluders(
    cid: int, eye: Sequence[float], targets: list[list[float]], keep: set[int]
) -> list[int]:
    """Bodies a ray from ``eye`` to a target passes through first (not those in ``keep``)."""
    found: set[int] = set()
    if not targets:
        return []
    for hit in range(_MAX_OCCLUDERS):
        results = pybullet.rayTestBatch(
            [list(eye)] * len(targets), targets, reportHitNumber=hit, physicsClientId=cid
        )
        hits = [body for body, _link, fraction, *_ in results if body >= 0 and fraction < 0.999]
        if not hits:
            break
        found.update(body for body in hits if body not in keep)
    return sorted(found)


def _names(plant: Plant, bodies: Sequence[int]) -> list[str]:
    """What ``bodies`` are, by owner: ``component[.group]``, ``part 3``."""
    wanted = set(bodies)
    names: list[str] = []
    for component in plant.components:
        groups = component.bodies()
        for group_name, group in groups.items():
            if wanted & set(group.all):
                # As no_collision names them: the group only when there are several.
                many = len(groups) > 1
                names.append(f"{component.name}.{group_name}" if many else component.name)
    for part in plant.parts.alive:
        if part.body in wanted:
            names.append(f"part {part.id}")
    return names


def _shoot(cid: int, viewpoint: Viewpoint) -> tuple[np.ndarray, np.ndarray]:
    """The pixels from ``viewpoint``, and the matrix that projects world points onto them."""
    width, height = viewpoint.width, viewpoint.height
    distance = float(np.linalg.norm(np.subtract(viewpoint.target, viewpoint.eye)))
    view_matrix = pybullet.computeViewMatrix(
        list(viewpoint.eye), list(viewpoint.target), list(viewpoint.up), physicsClientId=cid
    )
    projection = pybullet.computeProjectionMatrixFOV(
        viewpoint.fov, width / height, max(distance / 100, 0.01), distance * 4 + 5,
        physicsClientId=cid,
    )  # fmt: skip
    return _pixels(cid, width, height, view_matrix, projection)


def write_snapshot_png(shot: Snapshot, path: str | Path) -> None:
    """The snapshot as a PNG: labelled with matplotlib if installed, else the bare pixels.

    Deterministic bytes either way (no date or software name in the file).
    """
    try:
        import matplotlib
    except ImportError:
        write_atomic(path, encode_png(shot.rgb))
        return
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    height, width = shot.rgb.shape[:2]
    dpi = 100
    figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    axes = figure.add_axes((0, 0, 1, 1))
    axes.imshow(shot.rgb, interpolation="nearest")
    axes.set_axis_off()
    for x, y in shot.marks:
        axes.plot([x], [y], marker="o", markersize=14, markerfacecolor="none",
                  markeredgecolor="black", markeredgewidth=1.5)  # fmt: skip
    for i, (label, x, y) in enumerate(shot.labels):
        axes.annotate(
            label,
            (x, y),
            xytext=(-40 if i % 2 == 0 else 40, 28 + 14 * (i // 2)),
            textcoords="offset points",
            ha="center",
            fontsize=8,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.9, "lw": 0.5},
            arrowprops={"arrowstyle": "-", "lw": 0.6, "color": "black"},
        )
    if shot.title:
        axes.text(
            8, 8, shot.title, fontsize=9, weight="bold", va="top",
            bbox={"facecolor": "white", "alpha": 0.85, "lw": 0.5},
        )  # fmt: skip
    axes.text(width - 8, height - 8, f"camera: {shot.camera}", fontsize=7, ha="right",
              va="bottom", color="#333333")  # fmt: skip
    if shot.hidden:
        axes.text(8, height - 8, "not drawn (in front): " + ", ".join(shot.hidden), fontsize=7,
                  va="bottom", color="#333333")  # fmt: skip
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    _save(figure, dpi, path)


def _save(figure: Any, dpi: int, path: str | Path) -> None:
    """The figure as a PNG at ``path``, written atomically, without date or software name."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    write_atomic(path, buffer.getvalue())


def encode_png(rgb: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of ``rgb`` (height x width x 3), with no metadata."""
    import struct
    import zlib

    height, width = rgb.shape[:2]
    rows = np.concatenate(
        [np.zeros((height, 1), dtype=np.uint8), np.ascontiguousarray(rgb, dtype=np.uint8)
         .reshape(height, width * 3)], axis=1,
    )  # fmt: skip

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
        + chunk(b"IEND", b"")
    )


def _pixels(
    cid: int, width: int, height: int, view_matrix: Sequence[float], projection: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """One TinyRenderer frame as RGB pixels, and the matrix from world to clip coordinates."""
    _, _, pixels, _, _ = pybullet.getCameraImage(
        width,
        height,
        view_matrix,
        projection,
        renderer=pybullet.ER_TINY_RENDERER,
        lightDirection=[0.4, -0.6, 1.0],
        shadow=0,
        physicsClientId=cid,
    )
    rgb = np.reshape(np.asarray(pixels, dtype=np.uint8), (height, width, 4))[:, :, :3].copy()
    # pybullet's matrices are column-major.
    matrix = np.array(projection).reshape(4, 4).T @ np.array(view_matrix).reshape(4, 4).T
    return rgb, matrix
