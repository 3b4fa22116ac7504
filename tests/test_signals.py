"""Signals, the signal table and the double-buffered process image."""

from __future__ import annotations

import pytest

from vcommission.errors import SignalError
from vcommission.signals import Direction, ProcessImage, Signal, SignalTable, SignalType


def _table() -> SignalTable:
    return SignalTable(
        (
            Signal("run", SignalType.BOOL, Direction.TO_PLANT),
            Signal("speed_sp", SignalType.INT, Direction.TO_PLANT, "mm/s", 400, (0, 1000)),
            Signal("pe", SignalType.BOOL, Direction.FROM_PLANT),
            Signal("level", SignalType.REAL, Direction.FROM_PLANT, default=1.5),
            Signal("btn.pressed", SignalType.BOOL, Direction.OPERATOR),
        )
    )


@pytest.mark.parametrize(
    ("type_", "good", "bad"),
    [
        (SignalType.BOOL, [True, 0, 1], [2, 0.5, "x"]),
        (SignalType.INT, [-32768, 32767, 3.0], [32768, -32769, 1.5, True]),
        (SignalType.UINT, [0, 65535], [-1, 65536]),
        (SignalType.DINT, [-(2**31), 2**31 - 1], [2**31]),
        (SignalType.WORD, [0, 0xFFFF], [0x10000]),
        (SignalType.REAL, [1, 2.5, -3.0], [float("nan"), float("inf"), "1", False]),
    ],
)
def test_coerce_accepts_the_type_and_refuses_the_rest(type_, good, bad):
    signal = Signal("s", type_, Direction.TO_PLANT, default=0 if not type_.is_bool else False)
    for value in good:
        coerced = signal.coerce(value)
        assert type(coerced) is (bool if type_.is_bool else float if type_.is_float else int)
    for value in bad:
        with pytest.raises(SignalError, match="s: "):
            signal.coerce(value)


def test_range_is_enforced_and_bad_defaults_fail_at_definition():
    signal = Signal("sp", SignalType.INT, Direction.TO_PLANT, default=400, range=(0, 1000))
    assert signal.coerce(1000) == 1000
    with pytest.raises(SignalError, match=r"outside range 0\.\.1000"):
        signal.coerce(1001)
    with pytest.raises(SignalError):
        Signal("sp", SignalType.INT, Direction.TO_PLANT, default=2000, range=(0, 1000))


def test_table_is_indexed_and_rejects_duplicates_and_suggests_names():
    table = _table()
    assert table.index("pe") == 2
    assert table["speed_sp"].unit == "mm/s"
    assert table.names(Direction.TO_PLANT) == ["run", "speed_sp"]
    with pytest.raises(SignalError, match="did you mean speed_sp"):
        table.index("speed_spp")
    with pytest.raises(SignalError, match="duplicate"):
        SignalTable((table.signals[0], table.signals[0]))


def test_staged_writes_take_effect_only_at_latch_and_are_visible_only_after_commit():
    image = ProcessImage(_table())
    assert image["speed_sp"] == 400 and image["level"] == 1.5
    image.stage("run", True)
    assert image.values[0] is False  # staged, not latched
    image.latch()
    assert image.values[0] is True
    assert image["run"] is False  # readers see committed values only
    assert image.commit() == [0]
    assert image["run"] is True
    assert image.commit() == []  # nothing changed since


def test_stage_enforces_direction_and_value():
    image = ProcessImage(_table())
    with pytest.raises(SignalError, match="not writable"):
        image.stage("pe", True)  # a PLC cannot write a sensor
    with pytest.raises(SignalError, match="not writable"):
        image.stage("btn.pressed", True)  # nor press a button
    image.stage("btn.pressed", True, allowed=(Direction.OPERATOR,))
    with pytest.raises(SignalError, match="outside range"):
        image.stage("speed_sp", 5000)
    with pytest.raises(SignalError, match="unknown signal"):
        image.stage("nope", 1)


def test_last_staged_write_wins_and_reset_restores_defaults():
    image = ProcessImage(_table())
    image.stage("speed_sp", 100)
    image.stage("speed_sp", 200)
    image.latch()
    image.commit()
    assert image["speed_sp"] == 200
    image.stage("run", True)
    image.reset()
    image.latch()
    assert image["speed_sp"] == 400 and image.values[0] is False
