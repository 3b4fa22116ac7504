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
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vcommission.plant.bullet import pybullet

if TYPE_CHECKING:
    from vcommission.plant.plant import Plant

__all__ = ["Rendering", "View", "render", "write_png"]

#: Component colours, in component order (matplotlib's tab10, as RGB 0..1).
_PALETTE = [
    (0.12, 0.47, 0.71), (1.00, 0.50, 0.05), (0.17, 0.63, 0.17), (0.58, 0.40, 0.74),
    (0.55, 0.34, 0.29), (0.89, 0.47, 0.76), (0.50, 0.50, 0.50), (0.74, 0.74, 0.13),
    (0.09, 0.75, 0.81), (0.84, 0.15, 0.16),
]  # fmt: skip
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
        base = np.array(_PALETTE[index % len(_PALETTE)])
        for group in component.bodies().values():
            for body, shade in [(b, 1.0) for b in group.static] + [(b, 0.7) for b in group.moving]:
                rgba = [*(base * shade).tolist(), 1.0]
                pybullet.changeVisualShape(body, -1, rgbaColor=rgba, physicsClientId=cid)
    variants = list(plant.model.variants)
    for part in plant.parts.alive:
        colour = _PART_COLOURS[variants.index(part.variant) % len(_PART_COLOURS)]
        pybullet.changeVisualShape(part.body, -1, rgbaColor=[*colour, 1.0], physicsClientId=cid)
    # A plain floor instead of pybullet's checkerboard, so the machine stands out.
    pybullet.changeVisualShape(
        world.ground, -1, rgbaColor=[0.93, 0.93, 0.93, 1], textureUniqueId=-1, physicsClientId=cid
    )


def render(plant: Plant, view: View = View.ISO, width: int = 1280, height: int = 800) -> Rendering:
    """Render ``plant`` as it stands now (after :meth:`Plant.reset`: at power-on).

    Deterministic: the same plant state and size give the same pixels.
    """
    world = plant.world
    assert world is not None
    cid = world.cid
    _colour(plant)
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
    rendering = Rendering(plant.model.name, View(view), rgb)
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
    title = f"{rendering.model} ({rendering.view.value} view)"
    axes.text(8, 18, title, fontsize=11, weight="bold", va="top")
    if rendering.unplaced:
        listed = "\n".join(f"{name} ({kind})" for name, kind in rendering.unplaced)
        axes.text(
            8, height - 8, "no body in the scene:\n" + listed, fontsize=7, va="bottom",
            bbox={"facecolor": "white", "alpha": 0.85, "lw": 0.5},
        )  # fmt: skip
    axes.set_xlim(0, width)
    axes.set_ylim(height, 0)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # No software/date metadata: the same rendering gives the same bytes.
    figure.savefig(path, dpi=dpi, metadata={"Software": None})
