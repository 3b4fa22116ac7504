"""Modbus addresses and IEC located addresses."""

from __future__ import annotations

import pytest

from vcommission.addressing import ModbusAddress, ModbusTable, register_count
from vcommission.signals import Direction, SignalType


@pytest.mark.parametrize(
    ("text", "table", "address"),
    [
        ("DI 0", ModbusTable.DISCRETE_INPUT, 0),
        ("coil 5", ModbusTable.COIL, 5),
        ("IR 12", ModbusTable.INPUT_REGISTER, 12),
        ("hr:3", ModbusTable.HOLDING_REGISTER, 3),
        ("holding_register 7", ModbusTable.HOLDING_REGISTER, 7),
    ],
)
def test_parse(text, table, address):
    parsed = ModbusAddress.from_yaml_scalar(text)
    assert (parsed.table, parsed.address) == (table, address)


@pytest.mark.parametrize("text", ["DX 0", "coil", "HR -1", "IR 70000", ""])
def test_parse_rejects(text):
    with pytest.raises(ValueError):
        ModbusAddress.from_yaml_scalar(text)


@pytest.mark.parametrize(
    ("text", "type_", "iec"),
    [
        ("DI 0", SignalType.BOOL, "%IX0.0"),
        ("DI 7", SignalType.BOOL, "%IX0.7"),
        ("DI 8", SignalType.BOOL, "%IX1.0"),
        ("DI 17", SignalType.BOOL, "%IX2.1"),
        ("coil 9", SignalType.BOOL, "%QX1.1"),
        ("IR 0", SignalType.INT, "%IW0"),
        ("HR 4", SignalType.INT, "%QW4"),
        ("IR 2", SignalType.DINT, "%ID2"),
        ("HR 6", SignalType.REAL, "%QD6"),
        ("HR 8", SignalType.LREAL, "%QL8"),
    ],
)
def test_iec_follows_openplc(text, type_, iec):
    assert ModbusAddress.from_yaml_scalar(text).iec(type_) == iec


def test_spans_and_tables_by_signal():
    assert register_count(SignalType.BOOL) == 1
    assert register_count(SignalType.DINT) == 2
    assert register_count(SignalType.LREAL) == 4
    assert list(ModbusAddress(ModbusTable.HOLDING_REGISTER, 3).span(SignalType.REAL)) == [3, 4]
    assert (
        ModbusTable.for_signal(SignalType.BOOL, Direction.FROM_PLANT) is ModbusTable.DISCRETE_INPUT
    )
    assert (
        ModbusTable.for_signal(SignalType.INT, Direction.TO_PLANT) is ModbusTable.HOLDING_REGISTER
    )
    with pytest.raises(ValueError):
        ModbusTable.for_signal(SignalType.BOOL, Direction.INTERNAL)
