"""Modbus and IEC 61131-3 addressing of a model's PLC-facing signals.

Tables follow the signal's direction (see ../shared/DESIGN.md): sensors are discrete inputs
(BOOL) and input registers (numbers); actuators are coils and holding registers. 32-bit
values take two registers, LREAL four. IEC located variables map as OpenPLC does:
``%IX0.0..%IX0.7`` are discrete inputs 0..7, ``%QX0.0`` is coil 0, ``%IW0`` input register 0,
``%QW0`` holding register 0, and a 32-bit value at register n is ``%ID n`` / ``%QD n``.
This module only computes addresses; it never imports a protocol library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from vcommission.signals import Direction, SignalType

__all__ = [
    "ModbusAddress",
    "ModbusTable",
    "Scaling",
    "WordOrder",
    "opcua_endpoint",
    "opcua_namespace",
    "opcua_node_id",
    "register_count",
]


def opcua_namespace(model_name: str) -> str:
    """Namespace URI of a model's OPC UA nodes."""
    return f"urn:vcommission:{model_name}"


def opcua_endpoint(host: str, port: int, model_name: str) -> str:
    """``opc.tcp://host:port/vcommission/<model>``, an IPv6 host in brackets."""
    host = f"[{host}]" if ":" in host else host
    return f"opc.tcp://{host}:{port}/vcommission/{model_name}"


def opcua_node_id(model_name: str, tag: str) -> str:
    """Node id of a tag's OPC UA variable, namespace by URI so it survives index changes.

    Clients that need an index resolve the URI in the server's NamespaceArray; with the
    server's own namespaces first it is ``ns=2``.
    """
    return f"nsu={opcua_namespace(model_name)};s={tag}"


class ModbusTable(str, Enum):
    """The four Modbus data tables."""

    DISCRETE_INPUT = "discrete_input"
    COIL = "coil"
    INPUT_REGISTER = "input_register"
    HOLDING_REGISTER = "holding_register"

    @property
    def short(self) -> str:
        """Abbreviation used in I/O lists: DI, coil, IR, HR."""
        return _SHORT[self]

    @property
    def is_bit(self) -> bool:
        return self in (ModbusTable.DISCRETE_INPUT, ModbusTable.COIL)

    @property
    def direction(self) -> Direction:
        """Signal direction a table serves."""
        if self in (ModbusTable.DISCRETE_INPUT, ModbusTable.INPUT_REGISTER):
            return Direction.FROM_PLANT
        return Direction.TO_PLANT

    @staticmethod
    def for_signal(type_: SignalType, direction: Direction) -> ModbusTable:
        """The table a signal of this type and direction belongs in."""
        if direction is Direction.FROM_PLANT:
            return ModbusTable.DISCRETE_INPUT if type_.is_bool else ModbusTable.INPUT_REGISTER
        if direction is Direction.TO_PLANT:
            return ModbusTable.COIL if type_.is_bool else ModbusTable.HOLDING_REGISTER
        raise ValueError(f"{direction.value} signals have no Modbus address")


_SHORT = {
    ModbusTable.DISCRETE_INPUT: "DI",
    ModbusTable.COIL: "coil",
    ModbusTable.INPUT_REGISTER: "IR",
    ModbusTable.HOLDING_REGISTER: "HR",
}
_ALIASES = {
    "di": ModbusTable.DISCRETE_INPUT,
    "discrete_input": ModbusTable.DISCRETE_INPUT,
    "coil": ModbusTable.COIL,
    "co": ModbusTable.COIL,
    "ir": ModbusTable.INPUT_REGISTER,
    "input_register": ModbusTable.INPUT_REGISTER,
    "hr": ModbusTable.HOLDING_REGISTER,
    "holding_register": ModbusTable.HOLDING_REGISTER,
}
_PATTERN = re.compile(r"^\s*([A-Za-z_]+)\s*[: ]?\s*(\d+)\s*$")


class WordOrder(str, Enum):
    """Order of the 16-bit words of a 32/64-bit value."""

    #: Most significant word first (Modicon convention; the default).
    BIG = "big"
    #: Least significant word first ("word swapped").
    LITTLE = "little"


@dataclass(frozen=True)
class Scaling:
    """Integer scaling of a number on the wire: ``raw = value * scale + offset``.

    Lets a REAL (or a finer INT) travel as an integer register, as many PLCs expect
    (e.g. a temperature in 0.1 degC steps: ``scale: 10``).
    """

    scale: float
    offset: float = 0.0
    #: Integer type of the raw value on the wire.
    raw: SignalType = SignalType.INT

    def __post_init__(self) -> None:
        if self.scale == 0:
            raise ValueError("scale must not be 0")
        if not self.raw.is_integer:
            raise ValueError(f"raw type {self.raw.value} must be an integer type")

    def to_raw(self, value: float) -> int:
        """Raw register value, saturated at the raw type's limits (a sensor past its span)."""
        low, high = self.raw.limits  # type: ignore[misc]
        return max(low, min(high, round(value * self.scale + self.offset)))

    def from_raw(self, raw: int) -> float:
        return (raw - self.offset) / self.scale


def register_count(type_: SignalType) -> int:
    """How many table entries a signal of ``type_`` occupies (bits or 16-bit registers)."""
    return 1 if type_.is_bool else max(1, type_.bits // 16)


@dataclass(frozen=True, order=True)
class ModbusAddress:
    """A table and a 0-based protocol address, written in YAML as ``DI 0`` or ``HR 12``."""

    table: ModbusTable
    address: int

    def __post_init__(self) -> None:
        if not 0 <= self.address <= 65535:
            raise ValueError(f"address {self.address} outside 0..65535")

    @classmethod
    def from_yaml_scalar(cls, text: object) -> ModbusAddress:
        """Parse ``"DI 0"``, ``"coil 5"``, ``"IR 0"``, ``"HR 0"`` (0-based protocol addresses)."""
        match = _PATTERN.match(str(text))
        table = _ALIASES.get(match.group(1).lower()) if match else None
        if match is None or table is None:
            raise ValueError(
                f"bad Modbus address {text!r}: write a table and a 0-based address, "
                "e.g. 'DI 0', 'coil 1', 'IR 0' or 'HR 0'"
            )
        return cls(table, int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.table.short} {self.address}"

    def span(self, type_: SignalType) -> range:
        """Addresses occupied by a signal of ``type_`` placed here."""
        return range(self.address, self.address + register_count(type_))

    def iec(self, type_: SignalType) -> str:
        """IEC 61131-3 located address of this entry, OpenPLC convention."""
        n = self.address
        if self.table is ModbusTable.DISCRETE_INPUT:
            return f"%IX{n // 8}.{n % 8}"
        if self.table is ModbusTable.COIL:
            return f"%QX{n // 8}.{n % 8}"
        prefix = "%I" if self.table is ModbusTable.INPUT_REGISTER else "%Q"
        size = {1: "W", 2: "D", 4: "L"}[register_count(type_)]
        return f"{prefix}{size}{n}"
