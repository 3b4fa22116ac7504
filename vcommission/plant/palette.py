"""The colours pictures of a plant give its components: one palette for every view of it.

``vcommission render``, collision snapshots and the browser's 3D view colour a component's
bodies by its place in the model (the palette repeats after ten), moving bodies darker than
static ones, so the same machine looks the same in each.
"""

from __future__ import annotations

__all__ = ["COMPONENT_COLOURS", "MOVING_SHADE", "component_colour"]

#: One colour per component, in model order (matplotlib's tab10).
COMPONENT_COLOURS = [
    (0.12, 0.47, 0.71), (1.00, 0.50, 0.05), (0.17, 0.63, 0.17), (0.58, 0.40, 0.74),
    (0.55, 0.34, 0.29), (0.89, 0.47, 0.76), (0.50, 0.50, 0.50), (0.74, 0.74, 0.13),
    (0.09, 0.75, 0.81), (0.84, 0.15, 0.16),
]  # fmt: skip
#: Moving bodies (plates, carriages, arms) are this much darker than their owner's static ones.
MOVING_SHADE = 0.7


def component_colour(index: int, moving: bool = False) -> tuple[float, float, float]:
    """RGB (0..1) of the ``index``-th component's bodies, darker for its moving ones."""
    shade = MOVING_SHADE if moving else 1.0
    red, green, blue = COMPONENT_COLOURS[index % len(COMPONENT_COLOURS)]
    return (red * shade, green * shade, blue * shade)
