"""The four Modbus tables of a model, kept in step with its process image.

:class:`ProcessImageStore` answers reads of discrete inputs and input registers from the last
committed values, and checks and *stages* writes to coils and holding registers into the
image (they take effect at the next tick); reads of those tables serve the last value
written or committed. An unmapped address answers exception 02 and a value the signal
refuses exception 03. It speaks pymodbus's datastore interface (``async_getValues``,
``async_setValues``), which pymodbus's request classes call.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException

from vcommission.adapters.modbus.codec import from_wire, to_wire
from vcommission.addressing import ModbusAddress, ModbusTable, Scaling, WordOrder, register_count
from vcommission.errors import SignalError
from vcommission.signals import ProcessImage, SignalType, Value

__all__ = ["ProcessImageStore"]

log = logging.getLogger(__name__)

# Function code -> table. Reads and writes of one table share a code family.
_TABLE_OF_FC = {
    1: ModbusTable.COIL,
    5: ModbusTable.COIL,
    15: ModbusTable.COIL,
    2: ModbusTable.DISCRETE_INPUT,
    3: ModbusTable.HOLDING_REGISTER,
    6: ModbusTable.HOLDING_REGISTER,
    16: ModbusTable.HOLDING_REGISTER,
    22: ModbusTable.HOLDING_REGISTER,
    23: ModbusTable.HOLDING_REGISTER,
    4: ModbusTable.INPUT_REGISTER,
}


@dataclass(frozen=True)
class _Slot:
    """Where one signal sits in a table."""

    signal: int
    #: Type on the wire: the signal's own, or its scaling's raw integer type.
    type: SignalType
    start: int
    size: int
    scaling: Scaling | None = None


class ProcessImageStore:
    """The four Modbus tables of a model, answering from and staging into a process image."""

    def __init__(
        self,
        image: ProcessImage,
        addresses: dict[str, ModbusAddress],
        word_order: WordOrder = WordOrder.BIG,
        unit_id: int | None = None,
        scaling: dict[str, Scaling] | None = None,
    ) -> None:
        self.image = image
        scaling = scaling or {}

        def wire_type(name: str) -> SignalType:
            return scaling[name].raw if name in scaling else image.table[name].type

        self.word_order = word_order
        #: Answer only this unit id; None answers any (a plant is one device).
        self.unit_id = unit_id
        self._cells: dict[ModbusTable, list[int | bool]] = {}
        self._slots: dict[ModbusTable, list[_Slot | None]] = {}
        self._by_signal: dict[int, tuple[ModbusTable, _Slot]] = {}
        for table in ModbusTable:
            entries = [(a, name) for name, a in addresses.items() if a.table is table]
            end = max((a.address + register_count(wire_type(n)) for a, n in entries), default=0)
            self._cells[table] = [False if table.is_bit else 0] * end
            self._slots[table] = [None] * end
            for address, name in entries:
                signal = image.table.index(name)
                type_ = wire_type(name)
                slot = _Slot(
                    signal, type_, address.address, register_count(type_), scaling.get(name)
                )
                for offset in range(slot.size):
                    self._slots[table][address.address + offset] = slot
                self._by_signal[signal] = (table, slot)
        # mapped_until[a]: the end of the run of mapped addresses from a (a itself if a is
        # unmapped), so that a request's whole range is checked in one comparison.
        self._mapped_until: dict[ModbusTable, list[int]] = {}
        for table, slots in self._slots.items():
            until = [0] * len(slots)
            end = len(slots)
            for address in range(len(slots) - 1, -1, -1):
                if slots[address] is None:
                    end = address
                until[address] = end
            self._mapped_until[table] = until
        self._refresh(self._by_signal, image.committed)

    def mapped(self, table: ModbusTable, address: int, count: int) -> bool:
        """Whether ``count`` addresses from ``address`` of ``table`` are all mapped."""
        until = self._mapped_until[table]
        return count >= 1 and 0 <= address < len(until) and address + count <= until[address]

    def _refresh(self, signals: Iterable[int], values: Sequence[Value]) -> None:
        for signal in signals:
            entry = self._by_signal.get(signal)
            if entry is None:
                continue
            table, slot = entry
            self._cells[table][slot.start : slot.start + slot.size] = to_wire(
                slot.type, slot.scaling, values[signal], self.word_order
            )

    def on_commit(self, now_ns: int, changed: list[int]) -> None:
        """Simulator listener: re-encode the signals that changed in this tick."""
        self._refresh(changed, self.image.committed)

    # -- pymodbus datastore interface ------------------------------------------------------

    def device_ids(self) -> list[int]:
        return [0 if self.unit_id is None else self.unit_id]

    def _check_unit(self, device_id: int) -> None:
        if self.unit_id is not None and device_id != self.unit_id:
            raise NoSuchIdException(f"unit id {device_id} is not served (only {self.unit_id})")

    async def async_getValues(
        self, device_id: int, func_code: int, address: int, count: int = 1
    ) -> list[int] | list[bool] | ExcCodes:
        self._check_unit(device_id)
        table = _TABLE_OF_FC.get(func_code)
        if table is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if not self.mapped(table, address, count):
            return ExcCodes.ILLEGAL_ADDRESS
        return self._cells[table][address : address + count]  # type: ignore[return-value]

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: list[int] | list[bool]
    ) -> ExcCodes | None:
        self._check_unit(device_id)
        table = _TABLE_OF_FC.get(func_code)
        if table not in (ModbusTable.COIL, ModbusTable.HOLDING_REGISTER):
            return ExcCodes.ILLEGAL_FUNCTION
        count = len(values)
        if not self.mapped(table, address, count):
            return ExcCodes.ILLEGAL_ADDRESS
        slots = self._slots[table]
        # Merge the write into a copy of the cells: a write may cover part of a 32-bit value.
        cells = list(self._cells[table])
        cells[address : address + count] = [bool(v) if table.is_bit else int(v) for v in values]
        staged: dict[int, Value] = {}
        touched = {id(s): s for s in slots[address : address + count] if s is not None}
        try:
            for slot in touched.values():
                signal = self.image.table.signals[slot.signal]
                words = cells[slot.start : slot.start + slot.size]
                value = from_wire(slot.type, slot.scaling, words, self.word_order, signal.type)
                staged[slot.signal] = signal.coerce(value)
        except (SignalError, struct.error) as exc:
            log.info("refused Modbus write at %s %d: %s", table.short, address, exc)
            return ExcCodes.ILLEGAL_VALUE
        for signal, value in staged.items():
            self.image.stage(signal, value)
        self._cells[table] = cells
        return None
