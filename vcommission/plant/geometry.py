"""Small geometry helpers shared by components (yaw rotations of boxes laid out on a plan)."""

from __future__ import annotations

import math

__all__ = ["Vec3", "add", "scale", "unit_xy", "yaw_quaternion"]

Vec3 = tuple[float, float, float]


def yaw_quaternion(yaw_rad: float) -> tuple[float, float, float, float]:
    """Quaternion (x, y, z, w) of a rotation by ``yaw_rad`` about +z."""
    return (0.0, 0.0, math.sin(yaw_rad / 2), math.cos(yaw_rad / 2))


def unit_xy(yaw_rad: float) -> Vec3:
    """Horizontal unit vector at ``yaw_rad`` from +x."""
    return (math.cos(yaw_rad), math.sin(yaw_rad), 0.0)


def add(a: Vec3, b: Vec3) -> Vec3:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def scale(a: Vec3, k: float) -> Vec3:
    return (a[0] * k, a[1] * k, a[2] * k)
