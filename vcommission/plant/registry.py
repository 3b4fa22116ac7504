"""Registry of component kinds: ``kind -> "module:Class"``, imported on first use.

Third parties add kinds without touching vcommission, through the ``vcommission.components``
entry-point group (``my_gripper = "my_pkg.grippers:VacuumGripper"``) or by calling
:func:`register` before loading a model.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from typing import Any

from vcommission.errors import RegistryError
from vcommission.plant.component import Component

__all__ = ["ENTRY_POINT_GROUP", "kinds", "load", "make", "register"]

ENTRY_POINT_GROUP = "vcommission.components"

_BUILTIN = {
    "belt_conveyor": "vcommission.plant.conveyor:BeltConveyor",
    "fixture": "vcommission.plant.fixture:Fixture",
    "photo_eye": "vcommission.plant.sensors:PhotoEye",
    "presence_sensor": "vcommission.plant.sensors:PresenceSensor",
    "cylinder": "vcommission.plant.cylinder:Cylinder",
    "spawner": "vcommission.plant.spawner:PartSpawner",
    "sink": "vcommission.plant.sink:Sink",
    "robot": "vcommission.plant.robot.arm:Robot",
    "push_button": "vcommission.plant.panel:PushButton",
    "emergency_stop": "vcommission.plant.panel:EmergencyStop",
    "stack_light": "vcommission.plant.panel:StackLight",
    "door_switch": "vcommission.plant.safety:DoorSwitch",
    "light_curtain": "vcommission.plant.safety:LightCurtain",
    "safety_fence": "vcommission.plant.safety:SafetyFence",
    "mode_selector": "vcommission.plant.safety:ModeSelector",
    "safety_relay": "vcommission.plant.safety:SafetyRelay",
    "vacuum_gripper": "vcommission.plant.gripper:VacuumGripper",
    "parallel_gripper": "vcommission.plant.gripper:ParallelGripper",
    "obstacle": "vcommission.plant.obstacle:Obstacle",
    "camera": "vcommission.plant.camera:Camera",
}
_registry: dict[str, str | type[Component]] = dict(_BUILTIN)
_entry_points_loaded = False


def register(kind: str, target: str | type[Component], *, override: bool = False) -> None:
    """Register a component kind by ``"module:Class"`` string (imported lazily) or class."""
    if kind in _registry and not override:
        raise RegistryError(f"component kind {kind!r} is already registered")
    _registry[kind] = target


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        _registry.setdefault(entry.name, entry.value)


def kinds() -> list[str]:
    """Every registered kind name, sorted."""
    _load_entry_points()
    return sorted(_registry)


def load(kind: str) -> type[Component]:
    """Return the class registered for ``kind``, importing it if needed."""
    _load_entry_points()
    try:
        target = _registry[kind]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(kind, _registry, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RegistryError(f"unknown component kind {kind!r}{hint}") from None
    if isinstance(target, str):
        module_name, _, attr = target.partition(":")
        try:
            target = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise RegistryError(f"component kind {kind!r}: cannot import {target}: {exc}") from exc
        if not (isinstance(target, type) and issubclass(target, Component)):
            raise RegistryError(f"component kind {kind!r}: {target!r} is not a Component")
        _registry[kind] = target
    return target


def make(kind: str, name: str, params: Any = None, **kwargs: Any) -> Component:
    """Instantiate a component of ``kind`` named ``name``."""
    return load(kind)(name, params, **kwargs)
