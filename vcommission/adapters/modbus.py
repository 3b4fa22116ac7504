"""Modbus TCP server over a plant's process image (the only module that imports pymodbus).

Tables follow the model's addresses (see :mod:`vcommission.addressing`): sensors are discrete
inputs and input registers, actuators coils and holding registers. pymodbus parses frames,
checks function codes and lengths and answers protocol errors; the data behind it is
:class:`ProcessImageStore`, which answers from per-table cells kept in step with the image:

* reads of discrete inputs and input registers serve the last committed values;
* writes to coils and holding registers are checked (address mapped, value valid for the
  signal) and *staged* into the process image, taking effect at the next tick; reads of
  those tables serve the last value written or committed, so a master reading back what it
  wrote (FC6's echo, read-after-write) sees its write;
* an unmapped address answers exception 02 (illegal data address) and a value the signal
  refuses (out of range, not 0/1) exception 03 (illegal data value). The server keeps
  serving whatever a client sends.

``ProcessImageStore`` duck-types pymodbus's datastore (``async_getValues``,
``async_setValues``, ``device_ids``) and is put in place of the server's context after
construction: pymodbus 3.16's own ``SimDevice`` store packs bits into 16-bit registers and
re-converts them on every request, which costs latency for nothing here.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import SimData, SimDevice

from vcommission.addressing import ModbusAddress, ModbusTable, WordOrder, register_count
from vcommission.errors import SignalError, VcommissionError
from vcommission.signals import ProcessImage, SignalType, Value

if TYPE_CHECKING:
    from vcommission.config.model import Model

__all__ = ["ModbusServer", "ProcessImageStore", "decode_registers", "encode_registers"]

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


@dataclass(frozen=True)
class _Slot:
    """Where one signal sits in a table."""

    signal: int
    type: SignalType
    start: int
    size: int


class ProcessImageStore:
    """The four Modbus tables of a model, answering from and staging into a process image."""

    def __init__(
        self,
        image: ProcessImage,
        addresses: dict[str, ModbusAddress],
        word_order: WordOrder = WordOrder.BIG,
        unit_id: int | None = None,
    ) -> None:
        self.image = image
        self.word_order = word_order
        #: Answer only this unit id; None answers any (a plant is one device).
        self.unit_id = unit_id
        self._cells: dict[ModbusTable, list[int | bool]] = {}
        self._slots: dict[ModbusTable, list[_Slot | None]] = {}
        self._by_signal: dict[int, tuple[ModbusTable, _Slot]] = {}
        for table in ModbusTable:
            entries = [(a, name) for name, a in addresses.items() if a.table is table]
            end = max(
                (a.address + register_count(image.table[n].type) for a, n in entries), default=0
            )
            self._cells[table] = [False if table.is_bit else 0] * end
            self._slots[table] = [None] * end
            for address, name in entries:
                signal = image.table.index(name)
                type_ = image.table[name].type
                slot = _Slot(signal, type_, address.address, register_count(type_))
                for offset in range(slot.size):
                    self._slots[table][address.address + offset] = slot
                self._by_signal[signal] = (table, slot)
        self._refresh(self._by_signal, image.committed)

    def _refresh(self, signals, values: Sequence[Value]) -> None:
        for signal in signals:
            entry = self._by_signal.get(signal)
            if entry is None:
                continue
            table, slot = entry
            value = values[signal]
            cells = self._cells[table]
            if slot.type is SignalType.BOOL:
                cells[slot.start] = bool(value)
            else:
                cells[slot.start : slot.start + slot.size] = encode_registers(
                    slot.type, value, self.word_order
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
        slots = self._slots[table]
        if count < 1 or address + count > len(slots) or None in slots[address : address + count]:
            return ExcCodes.ILLEGAL_ADDRESS
        return self._cells[table][address : address + count]  # type: ignore[return-value]

    async def async_setValues(
        self, device_id: int, func_code: int, address: int, values: list[int] | list[bool]
    ) -> ExcCodes | None:
        self._check_unit(device_id)
        table = _TABLE_OF_FC.get(func_code)
        if table not in (ModbusTable.COIL, ModbusTable.HOLDING_REGISTER):
            return ExcCodes.ILLEGAL_FUNCTION
        slots = self._slots[table]
        count = len(values)
        if count < 1 or address + count > len(slots) or None in slots[address : address + count]:
            return ExcCodes.ILLEGAL_ADDRESS
        # Merge the write into a copy of the cells: a write may cover part of a 32-bit value.
        cells = list(self._cells[table])
        cells[address : address + count] = [bool(v) if table.is_bit else int(v) for v in values]
        staged: dict[int, Value] = {}
        touched = {id(s): s for s in slots[address : address + count] if s is not None}
        try:
            for slot in touched.values():
                words = cells[slot.start : slot.start + slot.size]
                value = (
                    bool(words[0])
                    if slot.type is SignalType.BOOL
                    else decode_registers(slot.type, words, self.word_order)
                )
                staged[slot.signal] = self.image.table.signals[slot.signal].coerce(value)
        except (SignalError, struct.error) as exc:
            log.info("refused Modbus write at %s %d: %s", table.short, address, exc)
            return ExcCodes.ILLEGAL_VALUE
        for signal, value in staged.items():
            self.image.stage(signal, value)
        self._cells[table] = cells
        return None


class ModbusServer:
    """Modbus TCP server for a model's process image; an async context manager.

    ``port=0`` binds a free port; :attr:`port` tells which after :meth:`start`.
    """

    def __init__(
        self,
        model: Model,
        image: ProcessImage,
        host: str = "127.0.0.1",
        port: int = 502,
        unit_id: int | None = None,
        on_connect: Callable[[bool], None] | None = None,
    ) -> None:
        self.store = ProcessImageStore(image, model.addresses, model.word_order, unit_id)
        self.host = host
        self.port = port
        #: Called with True when a client connects and False when it goes.
        self.on_connect = on_connect
        self._server: ModbusTcpServer | None = None

    async def start(self) -> None:
        # The placeholder device only satisfies the constructor; the store replaces it.
        server = ModbusTcpServer(
            SimDevice(0, simdata=SimData(0)),
            address=(self.host, self.port),
            trace_connect=self.on_connect,
        )
        server.context = self.store  # type: ignore[assignment]
        try:
            await server.serve_forever(background=True)
        except (OSError, RuntimeError) as exc:
            await server.shutdown()
            raise VcommissionError(
                f"Modbus server cannot listen on {self.host}:{self.port}: {exc}"
            ) from exc
        self._server = server
        sockets = server.transport.sockets if server.transport else []  # type: ignore[union-attr]
        if sockets:
            self.port = sockets[0].getsockname()[1]
        log.info("Modbus TCP server on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()
            self._server = None

    async def __aenter__(self) -> ModbusServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
