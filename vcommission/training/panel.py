"""The operator panel of a model, found from its components: what a trainee may touch and see.

Nothing here knows the sorting line's tag names. Every component's *operator* ports are the
controls (a person writes them: a push button held down, an e-stop pressed, a door pulled
open, a key switch turned); the component says whether it is momentary. How a control is
drawn is its kind's business (:data:`CONTROL_STYLES`: a mushroom for an e-stop, a door, a key
switch), with a plain switch for any other kind. Lamps are the inputs of lamp towers
(:data:`LAMP_KINDS`), displays the numeric outputs of the kinds listed in :data:`DISPLAYS`
(the belt's speed), alarms the states of :data:`ALARMS` (an e-stop pressed, a red lamp, a
door open), and beams every component with an ``emitter`` and a ``receiver`` whose BOOL
output a trainee can watch (and clear: a box taken off the line where it blocks one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from vcommission.plant.component import PortKind
from vcommission.signals import SignalType, Value

if TYPE_CHECKING:
    from vcommission.plant.component import Component, Port
    from vcommission.plant.plant import Plant

__all__ = ["ALARMS", "CONTROL_STYLES", "DISPLAYS", "LAMP_KINDS", "AlarmSource", "Panel", "panel_of"]

#: Component kind -> how its operator ports are drawn (default: ``switch``).
CONTROL_STYLES: dict[str, str] = {
    "push_button": "button",
    "emergency_stop": "estop",
    "door_switch": "door",
    "mode_selector": "selector",
    "light_curtain": "curtain",
}

#: Kinds whose BOOL inputs are lamps.
LAMP_KINDS: frozenset[str] = frozenset({"stack_light"})

#: Kind -> output ports shown as numeric displays.
DISPLAYS: dict[str, tuple[str, ...]] = {
    "belt_conveyor": ("speed_actual",),
    "robot": ("tcp_speed",),
}

#: Kind -> (port, the value that means trouble, the alarm text with ``{name}``).
ALARMS: dict[str, tuple[tuple[str, Value, str], ...]] = {
    "emergency_stop": (("pressed", True, "{name}: emergency stop pressed"),),
    "door_switch": (("closed", False, "{name}: door open"),),
    "light_curtain": (("ossd", False, "{name}: light curtain interrupted"),),
    "safety_relay": (("tripped", True, "{name}: safety relay tripped"),),
}

#: Lamp names that raise an alarm while lit.
ALARM_LAMPS: frozenset[str] = frozenset({"red"})


@dataclass(frozen=True)
class Control:
    """One operator input: a signal a person writes."""

    component: str
    kind: str
    #: ``button``, ``estop``, ``door``, ``selector``, ``curtain`` or ``switch``.
    style: str
    #: The operator signal (``start_pb.pressed``).
    tag: str
    port: str
    #: Released when let go (push buttons); the others stay where they are left.
    momentary: bool
    #: For NC buttons: the contact reads FALSE while pressed (drawn as a stop button).
    contact: str | None = None


@dataclass(frozen=True)
class Lamp:
    component: str
    name: str
    tag: str


@dataclass(frozen=True)
class Display:
    component: str
    port: str
    tag: str
    unit: str


@dataclass(frozen=True)
class Beam:
    component: str
    tag: str
    emitter: tuple[float, float, float]
    receiver: tuple[float, float, float]


@dataclass(frozen=True)
class AlarmSource:
    """A signal value that is an alarm while it holds."""

    #: Stable id of the alarm (``component.port``).
    id: str
    index: int
    value: Value
    text: str


@dataclass(frozen=True)
class Panel:
    """The model's panel: controls, lamps, displays, beams and the alarm sources."""

    controls: list[Control] = field(default_factory=list)
    lamps: list[Lamp] = field(default_factory=list)
    displays: list[Display] = field(default_factory=list)
    beams: list[Beam] = field(default_factory=list)
    alarms: list[AlarmSource] = field(default_factory=list)

    def control(self, tag: str) -> Control | None:
        """The control writing ``tag``, if the panel has one."""
        return next((c for c in self.controls if c.tag == tag), None)

    def beam(self, component: str) -> Beam | None:
        return next((b for b in self.beams if b.component == component), None)

    def to_json(self) -> dict[str, Any]:
        """What the trainee page draws (the alarm sources stay on the server)."""
        return {
            "controls": [asdict(c) for c in self.controls],
            "lamps": [asdict(lamp) for lamp in self.lamps],
            "displays": [asdict(d) for d in self.displays],
            "beams": [asdict(b) for b in self.beams],
        }


def panel_of(plant: Plant) -> Panel:
    """The panel of ``plant``'s components, in the model's order."""
    table = plant.image.table
    panel = Panel()

    def tag(port: Port) -> str:
        return table.signals[port.index].name

    for component in plant.components:
        kind = type(component).kind
        ports = component.ports
        for port in ports.values():
            if port.kind is PortKind.OPERATOR and port.type is SignalType.BOOL:
                contact = getattr(getattr(component, "params", None), "contact", None)
                panel.controls.append(
                    Control(
                        component.name,
                        kind,
                        CONTROL_STYLES.get(kind, "switch"),
                        tag(port),
                        port.name,
                        bool(component.momentary),
                        getattr(contact, "value", None),
                    )
                )
        if kind in LAMP_KINDS:
            for port in ports.values():
                if port.kind is PortKind.INPUT and port.type is SignalType.BOOL:
                    panel.lamps.append(Lamp(component.name, port.name, tag(port)))
                    if port.name in ALARM_LAMPS:
                        text = f"{component.name}: {port.name} lamp on"
                        panel.alarms.append(AlarmSource(port.path, port.index, True, text))
        for name in DISPLAYS.get(kind, ()):
            port = ports.get(name)
            if port is not None:
                panel.displays.append(Display(component.name, name, tag(port), port.unit))
        for name, value, text in ALARMS.get(kind, ()):
            port = ports.get(name)
            if port is not None:
                alarm = AlarmSource(port.path, port.index, value, text.format(name=component.name))
                panel.alarms.append(alarm)
        beam = _beam(component, tag)
        if beam is not None:
            panel.beams.append(beam)
    return panel


def _beam(component: Component, tag: Callable[[Port], str]) -> Beam | None:
    params = getattr(component, "params", None)
    emitter = getattr(params, "emitter", None)
    receiver = getattr(params, "receiver", None)
    if emitter is None or receiver is None:
        return None
    outputs = [
        p
        for p in component.ports.values()
        if p.kind is PortKind.OUTPUT and p.type is SignalType.BOOL
    ]
    if not outputs:
        return None
    return Beam(component.name, tag(outputs[0]), tuple(emitter), tuple(receiver))
