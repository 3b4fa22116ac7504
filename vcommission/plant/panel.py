"""Operator panel devices: push buttons (NO/NC), emergency stop, stack light.

These have no bodies. A person (scenario, HMI, trainer) operates them through their
*operator* port; the PLC sees the contact signal the device derives from it, exactly as on a
real panel where the PLC reads the contact, not the finger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from vcommission.errors import ConfigError
from vcommission.plant.component import Component, TickContext
from vcommission.signals import SignalType, is_identifier

__all__ = [
    "Contact",
    "EmergencyStop",
    "PushButton",
    "PushButtonParams",
    "StackLight",
    "StackLightParams",
]


class Contact(str, Enum):
    """Contact type of a push button."""

    #: Normally open: contact closed (TRUE) while pressed.
    NO = "NO"
    #: Normally closed: contact open (FALSE) while pressed; a broken wire reads as pressed.
    NC = "NC"


@dataclass(frozen=True)
class PushButtonParams:
    """Parameters of a ``push_button``."""

    #: Contact type.
    contact: Contact = Contact.NO


class PushButton(Component):
    """Momentary push button.

    Ports:
        pressed (operator BOOL): a person holds the button down.
        contact (output BOOL): the contact the PLC reads.
    """

    kind = "push_button"
    Params = PushButtonParams
    momentary = True

    def __init__(self, name: str, params: PushButtonParams | None = None, **kwargs: object):
        super().__init__(name, params, **kwargs)
        self._normally_open = self.params.contact is Contact.NO
        self.pressed = self.declare_operator("pressed", SignalType.BOOL, description="held down")
        self.contact = self.declare_output(
            "contact",
            SignalType.BOOL,
            default=not self._normally_open,
            description=f"{self.params.contact.value} contact",
        )

    def sense(self, ctx: TickContext) -> None:
        values = ctx.values
        values[self.contact.index] = values[self.pressed.index] == self._normally_open


class EmergencyStop(Component):
    """Emergency stop as a healthy-circuit signal: TRUE while the circuit is healthy.

    Ports:
        pressed (operator BOOL): the mushroom is pressed (and stays so until released).
        healthy (output BOOL): the e-stop circuit is closed.
    """

    kind = "emergency_stop"

    def __init__(self, name: str, params: object = None, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.pressed = self.declare_operator("pressed", SignalType.BOOL, description="pressed")
        self.healthy = self.declare_output(
            "healthy", SignalType.BOOL, default=True, description="e-stop circuit healthy"
        )

    def sense(self, ctx: TickContext) -> None:
        values = ctx.values
        values[self.healthy.index] = not values[self.pressed.index]


@dataclass(frozen=True)
class StackLightParams:
    """Parameters of a ``stack_light``."""

    #: Lamp names, top to bottom; each becomes an input port.
    lamps: list[str] = field(default_factory=lambda: ["red", "amber", "green"])

    def __post_init__(self) -> None:
        if not self.lamps or len(set(self.lamps)) != len(self.lamps):
            raise ConfigError(f"lamps={list(self.lamps)} must be non-empty and unique")
        bad = [lamp for lamp in self.lamps if not is_identifier(lamp)]
        if bad:
            raise ConfigError(f"lamp names {bad} must be identifiers (they name ports)")


class StackLight(Component):
    """Signal tower; each lamp is an input. Checks and the HMI read the lamp signals.

    Ports:
        <lamp> (input BOOL): one per entry of ``lamps``.
    """

    kind = "stack_light"
    Params = StackLightParams

    def __init__(self, name: str, params: StackLightParams | None = None, **kwargs: object):
        super().__init__(name, params, **kwargs)
        self.lamps = {
            lamp: self.declare_input(lamp, SignalType.BOOL, description=f"{lamp} lamp")
            for lamp in self.params.lamps
        }
