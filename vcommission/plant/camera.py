"""Camera: a named viewpoint in the model, for pictures of the scene (collision snapshots).

A ``camera`` has no ports and no bodies: it says where a picture is taken from (``eye``),
what it looks at (``target``), which way is up, the vertical field of view and the picture's
size in pixels. A ``no_collision`` check renders the scene from one at its first contact
(its ``camera:`` option, else the model's first camera, else a view framing the two bodies);
see :func:`vcommission.plant.render.snapshot`. This module does not import pybullet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from vcommission.errors import ConfigError
from vcommission.plant.component import Component

__all__ = ["Camera", "CameraParams", "Viewpoint", "ViewpointSource"]

Vec3 = tuple[float, float, float]

#: Smallest and largest picture side, pixels.
_MIN_PX, _MAX_PX = 16, 4096


@dataclass(frozen=True)
class Viewpoint:
    """Where a picture is taken from: a pinhole camera in world coordinates (metres)."""

    #: Camera position.
    eye: Vec3
    #: The point in the middle of the picture.
    target: Vec3
    #: The direction that is up in the picture.
    up: Vec3 = (0.0, 0.0, 1.0)
    #: Vertical field of view, degrees.
    fov: float = 45.0
    #: Picture width and height, pixels.
    width: int = 640
    height: int = 480


@runtime_checkable
class ViewpointSource(Protocol):
    """Something a picture can be taken from (a ``camera``)."""

    name: str

    def viewpoint(self) -> Viewpoint:
        """The camera's viewpoint."""


@dataclass(frozen=True)
class CameraParams:
    """Parameters of a ``camera``."""

    #: Camera position (x, y, z), metres.
    eye: tuple[float, float, float]
    #: The point it looks at (x, y, z), metres: the middle of the picture.
    target: tuple[float, float, float]
    #: The direction that is up in the picture; must not be along the line of sight.
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    #: Vertical field of view, degrees.
    fov: float = 45.0
    #: Picture width and height, pixels.
    size: tuple[int, int] = (640, 480)

    def __post_init__(self) -> None:
        sight = [t - e for t, e in zip(self.target, self.eye, strict=True)]
        length = math.sqrt(sum(c * c for c in sight))
        if not length > 1e-6:
            raise ConfigError(
                f"target={list(self.target)} must differ from eye={list(self.eye)}",
            )
        up_length = math.sqrt(sum(c * c for c in self.up))
        if not up_length > 0:
            raise ConfigError(f"up={list(self.up)} must not be zero")
        cosine = sum(a * b for a, b in zip(sight, self.up, strict=True)) / (length * up_length)
        if abs(cosine) > 0.999:
            raise ConfigError(
                f"up={list(self.up)} is along the line of sight from eye to target: "
                "the picture would have no up",
            )
        if not 1.0 <= self.fov <= 170.0:
            raise ConfigError(f"fov={self.fov} must be 1..170 degrees")
        if any(not _MIN_PX <= side <= _MAX_PX for side in self.size):
            raise ConfigError(
                f"size={list(self.size)} must be {_MIN_PX}..{_MAX_PX} pixels per side",
            )


class Camera(Component):
    """A named viewpoint for pictures of the scene.

    Ports: none. Bodies: none (a camera is not in the scene it shows).
    """

    kind = "camera"
    Params = CameraParams
    params: CameraParams

    def viewpoint(self) -> Viewpoint:
        p = self.params
        return Viewpoint(
            tuple(float(c) for c in p.eye),  # type: ignore[arg-type]
            tuple(float(c) for c in p.target),  # type: ignore[arg-type]
            tuple(float(c) for c in p.up),  # type: ignore[arg-type]
            float(p.fov),
            int(p.size[0]),
            int(p.size[1]),
        )
