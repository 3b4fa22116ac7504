"""Plant core: the physics world, the component base and registry, capabilities, and kinds.

Only :mod:`vcommission.plant.world` and :mod:`vcommission.plant.bullet` import pybullet, and
this package imports them lazily: ``from vcommission.plant import World`` works, but
importing the package (or the registry, or a component kind) does not load the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vcommission.plant.capabilities import BodyGroup, PartSink, PartSource, Slippable, Slowable
from vcommission.plant.component import Component, NoParams, Port, PortKind, TickContext
from vcommission.plant.parts import Arrival, Part, PartEvent, PartTracker, PartVariant
from vcommission.plant.physics import CollisionGroup, PhysicsConfig
from vcommission.plant.plant import Plant
from vcommission.plant.registry import kinds, load, make, register

if TYPE_CHECKING:
    from vcommission.plant.checker import ComponentCheckError, check_component
    from vcommission.plant.world import Contact, KinematicBody, World

__all__ = [
    "Arrival",
    "BodyGroup",
    "CollisionGroup",
    "Component",
    "ComponentCheckError",
    "Contact",
    "KinematicBody",
    "NoParams",
    "Part",
    "PartEvent",
    "PartSink",
    "PartSource",
    "PartTracker",
    "PartVariant",
    "PhysicsConfig",
    "Plant",
    "Port",
    "PortKind",
    "Slippable",
    "Slowable",
    "TickContext",
    "World",
    "check_component",
    "kinds",
    "load",
    "make",
    "register",
]

#: Names imported on first use, because their modules import pybullet.
_LAZY = {
    "Contact": "vcommission.plant.world",
    "KinematicBody": "vcommission.plant.world",
    "World": "vcommission.plant.world",
    "ComponentCheckError": "vcommission.plant.checker",
    "check_component": "vcommission.plant.checker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this hook
    return value
