"""In-process link: a PLC, an HMI or a test in the same process as the plant.

Reads return committed values, writes are staged for the next tick, exactly as over Modbus or
OPC UA but without a socket: what the built-in PLC and the unit tests use.
"""

from __future__ import annotations

from vcommission.signals import Direction, ProcessImage, Value

__all__ = ["MemoryLink"]


class MemoryLink:
    """Reads and writes a process image by tag name, with a PLC's or an operator's rights."""

    def __init__(self, image: ProcessImage) -> None:
        self.image = image

    def read(self, tag: str) -> Value:
        """Committed value of ``tag``."""
        return self.image[tag]

    def write(self, tag: str, value: Value) -> None:
        """Write an actuator (``to_plant``) as the PLC does; effective at the next tick."""
        self.image.stage(tag, value)

    def operate(self, tag: str, value: Value) -> None:
        """Operate a panel device (``operator`` signal) as a person does."""
        self.image.stage(tag, value, allowed=(Direction.OPERATOR,))
