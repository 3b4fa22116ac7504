"""Register encoding: IEC values <-> Modbus table cells (word order, scaling).

Pure functions, no pymodbus: 16-bit registers in two's complement or IEEE 754, 32- and
64-bit values over two or four registers in the model's word order, scaled signals carried
as their raw integer.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from vcommission.addressing import Scaling, WordOrder
from vcommission.signals import SignalType, Value

__all__ = ["decode_registers", "encode_registers", "from_wire", "to_wire"]

_STRUCT = {
    SignalType.INT: "h",
    SignalType.UINT: "H",
    SignalType.WORD: "H",
    SignalType.DINT: "i",
    SignalType.UDINT: "I",
    SignalType.DWORD: "I",
    SignalType.REAL: "f",
    SignalType.LREAL: "d",
}


def encode_registers(type_: SignalType, value: Value, word_order: WordOrder) -> list[int]:
    """16-bit registers carrying ``value`` (two's complement, IEEE 754 for REAL/LREAL)."""
    raw = struct.pack(">" + _STRUCT[type_], value)
    words = [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    return words[::-1] if word_order is WordOrder.LITTLE else words


def decode_registers(type_: SignalType, words: Sequence[int], word_order: WordOrder) -> Value:
    """Inverse of :func:`encode_registers`."""
    ordered = list(words)[::-1] if word_order is WordOrder.LITTLE else list(words)
    raw = b"".join(w.to_bytes(2, "big") for w in ordered)
    return struct.unpack(">" + _STRUCT[type_], raw)[0]


def to_wire(
    type_: SignalType, scaling: Scaling | None, value: Value, word_order: WordOrder
) -> list[int | bool]:
    """Table cells carrying a signal's value: one bit, or registers after optional scaling."""
    if type_.is_bool:
        return [bool(value)]
    if scaling is not None:
        value = scaling.to_raw(value)
    return encode_registers(type_, value, word_order)  # type: ignore[return-value]


def from_wire(
    type_: SignalType,
    scaling: Scaling | None,
    cells: Sequence[int | bool],
    word_order: WordOrder,
    signal_type: SignalType,
) -> Value:
    """Inverse of :func:`to_wire`; a scaled value is rounded when the signal is an integer."""
    if type_.is_bool:
        return bool(cells[0])
    value = decode_registers(type_, [int(c) for c in cells], word_order)
    if scaling is not None:
        value = scaling.from_raw(value)
        if signal_type.is_integer:
            value = round(value)
    return value
