"""Safety devices: an interlocked guard door switch with optional guard locking."""

from __future__ import annotations

from vcommission.plant.component import Component, TickContext
from vcommission.signals import SignalType

__all__ = ["DoorSwitch"]


class DoorSwitch(Component):
    """Guard door with an interlock switch and a guard-locking solenoid.

    While ``lock`` is TRUE and the door is closed, opening is refused: the door stays closed
    until the lock is released, then opens if the person still pulls it.

    Ports:
        open (operator BOOL): a person opens (TRUE) or closes (FALSE) the door.
        lock (input BOOL): guard locking requested by the PLC.
        closed (output BOOL): door closed (the interlock contact).
        locked (output BOOL): door closed and locked.
    """

    kind = "door_switch"

    def __init__(self, name: str, params: object = None, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.open = self.declare_operator("open", SignalType.BOOL, description="door pulled open")
        self.lock = self.declare_input("lock", SignalType.BOOL, description="guard locking")
        self.closed = self.declare_output(
            "closed", SignalType.BOOL, default=True, description="door closed"
        )
        self.locked = self.declare_output("locked", SignalType.BOOL, description="door locked")
        self._closed = True

    def build(self, world: object) -> None:
        super().build(world)  # type: ignore[arg-type]
        self._closed = True

    def sense(self, ctx: TickContext) -> None:
        values = ctx.values
        locked = bool(values[self.lock.index]) and self._closed
        if not locked:
            self._closed = not values[self.open.index]
        values[self.closed.index] = self._closed
        values[self.locked.index] = locked and self._closed
