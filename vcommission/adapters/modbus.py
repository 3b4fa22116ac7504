"""Modbus TCP server over a plant's process image (the only module that imports pymodbus).

Tables follow the model's addresses (see :mod:`vcommission.addressing`): sensors are discrete
inputs and input registers, actuators coils and holding registers. The data behind the
tables is :class:`ProcessImageStore`, which answers from per-table cells kept in step with
the image:

* reads of discrete inputs and input registers serve the last committed values;
* writes to coils and holding registers are checked (address mapped, value valid for the
  signal) and *staged* into the process image, taking effect at the next tick; reads of
  those tables serve the last value written or committed, so a master reading back what it
  wrote (FC6's echo, read-after-write) sees its write;
* an unmapped address answers exception 02 (illegal data address) and a value the signal
  refuses (out of range, not 0/1) exception 03 (illegal data value).

The wire side is :class:`ModbusServer`: one :class:`asyncio.Protocol` per connection splits
the byte stream into MBAP frames, checks each request's structure in the order of the Modbus
application protocol spec (function code served, else 01; quantity, byte count and implied
length, else 03; then the store: address mapped, else 02; value accepted, else 03), has
pymodbus's request classes decode it and run it against the store, and sends pymodbus's
encoded response. Requests are answered in order, pipelined ones too, at most
``_FRAMES_PER_TURN`` of one client before the others and the simulator get the loop.

Why not pymodbus's own ``ModbusTcpServer`` (3.16), which this module used at first. It
answers each request three loop iterations and a self-pipe write after it arrived
(``call_soon``, then ``run_coroutine_threadsafe``): ``tools/bench/protocols.py`` measures it
at two to four times our latency. And it deviates from the spec where a plant simulator
must not: unknown function codes and bad quantities are answered with function code 0x80
and exception 01 (not the request's code with 01 or 03), requests with an exception
function code (0x81 and up) with 04 or not at all; FC5 values other than 0x0000/0xFF00
are taken as ON; diagnostics, report server id and FIFO reads get canned answers; a frame
with a non-zero protocol id or an impossible length wedges the connection until 264 bytes
have piled up; and sending an answer drops any request already received behind it.

Here: 01 or 03 with the request's function code; FC5's other values refused with 03; 01 for
every function code outside the four data tables; a frame of another protocol (protocol id
!= 0) is skipped; an impossible length (< 2 or > 254) closes that connection, since the
stream cannot be resynchronised (a master reconnects after any error); pipelined requests
are all answered.

A client that does not read its answers cannot make the server buffer without bound: once
its transport's write buffer passes the high-water mark the server stops reading its
requests until the buffer drains, and serves the other clients meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import ModbusException, NoSuchIdException
from pymodbus.pdu import ModbusPDU
from pymodbus.pdu.bit_message import (
    ReadCoilsRequest,
    ReadDiscreteInputsRequest,
    WriteMultipleCoilsRequest,
    WriteSingleCoilRequest,
)
from pymodbus.pdu.register_message import (
    MaskWriteRegisterRequest,
    ReadHoldingRegistersRequest,
    ReadInputRegistersRequest,
    ReadWriteMultipleRegistersRequest,
    WriteMultipleRegistersRequest,
    WriteSingleRegisterRequest,
)

from vcommission.addressing import (
    ModbusAddress,
    ModbusTable,
    Scaling,
    WordOrder,
    register_count,
)
from vcommission.config.yamlload import build, load_document
from vcommission.errors import ConfigError, SignalError, VcommissionError
from vcommission.signals import Direction, ProcessImage, SignalType, Value

if TYPE_CHECKING:
    from vcommission.config.model import Model

__all__ = [
    "ClientBlock",
    "ClientMap",
    "ModbusClientLink",
    "ModbusPlcIo",
    "ModbusServer",
    "ProcessImageStore",
    "decode_registers",
    "encode_registers",
    "load_client_map",
]

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

    def _mapped(self, table: ModbusTable, address: int, count: int) -> bool:
        until = self._mapped_until[table]
        return count >= 1 and 0 <= address < len(until) and address + count <= until[address]

    def _refresh(self, signals, values: Sequence[Value]) -> None:
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
        if not self._mapped(table, address, count):
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
        if not self._mapped(table, address, count):
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
        self.store = ProcessImageStore(
            image, model.addresses, model.word_order, unit_id, model.scaling
        )
        self.host = host
        self.port = port
        #: Called with True when a client connects and False when it goes.
        self.on_connect = on_connect
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()

    @property
    def connections(self) -> int:
        """Clients connected now."""
        return len(self._connections)

    def write_backlog(self) -> int:
        """Largest number of answer bytes queued in the server for one client.

        Bounded by the transport's high-water mark plus one read's answers: past the mark the
        server stops reading that client's requests (see the module docstring).
        """
        return max((c.buffered() for c in self._connections), default=0)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: _Connection(self), self.host, self.port, reuse_address=True
            )
        except OSError as exc:
            raise VcommissionError(
                f"Modbus server cannot listen on {self.host}:{self.port}: {exc}"
            ) from exc
        if self._server.sockets:
            self.port = self._server.sockets[0].getsockname()[1]
        log.info("Modbus TCP server on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for connection in list(self._connections):
            connection.close()
        await server.wait_closed()

    async def __aenter__(self) -> ModbusServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


# -- the wire ------------------------------------------------------------------------------

#: MBAP header: transaction id, protocol id, length (unit id + PDU), unit id.
_MBAP = struct.Struct(">HHHB")
#: A PDU is at most 253 bytes, so the MBAP length (unit id + PDU) is 2..254.
_MAX_LENGTH = 254
#: Requests answered for one client before the others get the loop (about 0.3 ms of work):
#: a client that pipelines thousands must not stall the rest for a read's worth (256 KiB).
_FRAMES_PER_TURN = 32

#: The function codes served, each with pymodbus's request class; every other code is 01.
_REQUESTS: dict[int, type[ModbusPDU]] = {
    1: ReadCoilsRequest,
    2: ReadDiscreteInputsRequest,
    3: ReadHoldingRegistersRequest,
    4: ReadInputRegistersRequest,
    5: WriteSingleCoilRequest,
    6: WriteSingleRegisterRequest,
    15: WriteMultipleCoilsRequest,
    16: WriteMultipleRegistersRequest,
    22: MaskWriteRegisterRequest,
    23: ReadWriteMultipleRegistersRequest,
}


def _word(pdu: bytes, at: int) -> int:
    return (pdu[at] << 8) | pdu[at + 1]


def _read_ok(most: int) -> Callable[[bytes], bool]:
    def check(pdu: bytes) -> bool:
        return len(pdu) == 5 and 1 <= _word(pdu, 3) <= most

    return check


def _write_multiple_ok(most: int, bytes_for: Callable[[int], int]) -> Callable[[bytes], bool]:
    def check(pdu: bytes) -> bool:
        if len(pdu) < 6:
            return False
        count, byte_count = _word(pdu, 3), pdu[5]
        return 1 <= count <= most and byte_count == bytes_for(count) == len(pdu) - 6

    return check


def _read_write_ok(pdu: bytes) -> bool:
    if len(pdu) < 10:
        return False
    reads, writes, byte_count = _word(pdu, 3), _word(pdu, 7), pdu[9]
    return 1 <= reads <= 125 and 1 <= writes <= 121 and byte_count == 2 * writes == len(pdu) - 10


#: Structure of each served request (function code first), as the spec's state diagrams
#: check it before touching data: quantity range, byte count, implied length, and FC5's two
#: legal values. False answers exception 03.
_WELL_FORMED: dict[int, Callable[[bytes], bool]] = {
    1: _read_ok(2000),
    2: _read_ok(2000),
    3: _read_ok(125),
    4: _read_ok(125),
    5: lambda pdu: len(pdu) == 5 and _word(pdu, 3) in (0x0000, 0xFF00),
    6: lambda pdu: len(pdu) == 5,
    15: _write_multiple_ok(0x7B0, lambda count: (count + 7) // 8),
    16: _write_multiple_ok(0x7B, lambda count: 2 * count),
    22: lambda pdu: len(pdu) == 7,
    23: _read_write_ok,
}


def _run_now(step: Coroutine[Any, Any, ModbusPDU]) -> ModbusPDU:
    """Run a request's ``datastore_update`` to completion without the event loop.

    The store answers at once (it never awaits), so the coroutine finishes on its first
    step; a task per request would cost more than the request itself.
    """
    try:
        step.send(None)
    except StopIteration as done:
        return done.value
    step.close()
    raise RuntimeError("the datastore suspended a request; it must answer at once")


def _exception(tid: int, unit: int, function_code: int, code: int) -> bytes:
    return _MBAP.pack(tid, 0, 3, unit) + bytes((function_code | 0x80, code))


class _Connection(asyncio.Protocol):
    """One client: MBAP framing, request checks, answers in order, a fair share of the loop."""

    def __init__(self, server: ModbusServer) -> None:
        self.server = server
        self.store = server.store
        self.transport: asyncio.Transport | None = None
        #: Received bytes not yet answered start at ``_at`` (an offset: no copy per frame).
        self._buffer = b""
        self._at = 0
        #: Reading stops while the client leaves its answers unread, or while it has more
        #: requests queued than one turn answers.
        self._write_paused = False
        self._turn_pending: asyncio.Handle | None = None
        self._reading = True

    # -- asyncio callbacks -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server._connections.add(self)
        if self.server.on_connect is not None:
            self.server.on_connect(True)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._turn_pending is not None:
            self._turn_pending.cancel()
            self._turn_pending = None
        if self in self.server._connections:
            self.server._connections.discard(self)
            if self.server.on_connect is not None:
                self.server.on_connect(False)
        self.transport = None

    def pause_writing(self) -> None:
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._serve()

    def data_received(self, data: bytes) -> None:
        if self._at < len(self._buffer):
            self._buffer = self._buffer[self._at :] + data
        else:
            self._buffer = data
        self._at = 0
        self._serve()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def buffered(self) -> int:
        return self.transport.get_write_buffer_size() if self.transport is not None else 0

    # -- framing ---------------------------------------------------------------------------

    def _serve(self) -> None:
        """Answer the complete frames received, at most one turn's worth."""
        self._turn_pending = None
        transport = self.transport
        if transport is None or self._write_paused:
            return
        buffer, at, size = self._buffer, self._at, len(self._buffer)
        answers: list[bytes] = []
        broken = False
        budget = _FRAMES_PER_TURN
        while size - at >= 7 and budget:
            tid, protocol, length, unit = _MBAP.unpack_from(buffer, at)
            if not 2 <= length <= _MAX_LENGTH:
                log.info("Modbus client sent an MBAP length of %d: closing", length)
                broken = True
                break
            end = at + 6 + length
            if end > size:
                break  # the rest of the frame is still on its way
            if protocol == 0:
                answers.append(self._answer(tid, unit, buffer[at + 7 : end]))
            else:
                log.debug("skipped a frame with protocol id %d (not Modbus)", protocol)
            at = end
            budget -= 1
        self._at = at
        if answers:
            transport.write(answers[0] if len(answers) == 1 else b"".join(answers))
        if broken:
            transport.close()  # after the answers already due
            return
        if not budget and self.transport is not None and not self._write_paused:
            # More queued: let other clients and the simulator have the loop first.
            self._turn_pending = asyncio.get_running_loop().call_soon(self._serve)
        self._update_reading()

    def _update_reading(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        reading = not self._write_paused and self._turn_pending is None
        if reading != self._reading:
            self._reading = reading
            if reading:
                transport.resume_reading()
            else:
                transport.pause_reading()

    # -- one request -----------------------------------------------------------------------

    def _answer(self, tid: int, unit: int, pdu: bytes) -> bytes:
        function_code = pdu[0]
        store = self.store
        if store.unit_id is not None and unit != store.unit_id:
            # Not this device, whatever it asks: as a gateway answers for a missing one.
            return _exception(tid, unit, function_code, ExcCodes.GATEWAY_NO_RESPONSE)
        request_class = _REQUESTS.get(function_code)
        if request_class is None:
            return _exception(tid, unit, function_code, ExcCodes.ILLEGAL_FUNCTION)
        if not _WELL_FORMED[function_code](pdu):
            return _exception(tid, unit, function_code, ExcCodes.ILLEGAL_VALUE)
        try:
            request = request_class()
            request.decode(pdu[1:])
            response = _run_now(request.datastore_update(store, unit))  # type: ignore[arg-type]
            payload = bytes((response.function_code,)) + response.encode()
        except NoSuchIdException:
            return _exception(tid, unit, function_code, ExcCodes.GATEWAY_NO_RESPONSE)
        except Exception:
            # A harness fault, not the client's: report it and keep serving.
            log.exception("Modbus request %s failed", pdu.hex())
            return _exception(tid, unit, function_code, ExcCodes.DEVICE_FAILURE)
        return _MBAP.pack(tid, 0, len(payload) + 1, unit) + payload


# -- client mode: the plant polls a PLC's own Modbus server ----------------------------------


@dataclass(frozen=True)
class ClientBlock:
    """Consecutive tags at consecutive addresses of the PLC's server (``DI``/``IR`` read only)."""

    #: Tags in address order; each takes its wire size (1 bit or 1, 2, 4 registers).
    tags: list[str]
    #: Address of the first tag on the PLC's server, e.g. ``coil 100`` or ``HR 0``.
    at: ModbusAddress


@dataclass(frozen=True)
class ClientMap:
    """How the plant's tags meet a PLC's Modbus server (a ``--client-map`` file)."""

    #: Poll period in seconds: every period, all ``read`` blocks, then all ``write`` blocks.
    poll: float = 0.02
    #: Unit id the PLC answers to.
    unit_id: int = 1
    #: PLC outputs the plant reads (``to_plant`` tags).
    read: list[ClientBlock] = field(default_factory=list)
    #: Plant sensors written into the PLC (``from_plant`` tags; coils or holding registers).
    write: list[ClientBlock] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 0.001 <= self.poll <= 60:
            raise ConfigError(f"poll={self.poll} must be between 0.001 and 60 s")
        if not 0 <= self.unit_id <= 255:
            raise ConfigError(f"unit_id={self.unit_id} must be 0..255")

    @classmethod
    def default(cls, model: Model, sensor_offset: int = 100) -> ClientMap:
        """The default map, mirroring the I/O list on the PLC's server.

        The PLC's outputs are read at the I/O list's coil and HR addresses; sensors are written
        ``sensor_offset`` above their DI/IR addresses into coils and HRs (a master cannot write
        a server's discrete inputs or input registers).
        """
        sensor_table = {
            ModbusTable.DISCRETE_INPUT: ModbusTable.COIL,
            ModbusTable.INPUT_REGISTER: ModbusTable.HOLDING_REGISTER,
        }
        read, write = [], []
        for name, address in sorted(model.addresses.items(), key=lambda item: item[1]):
            if address.table in sensor_table:
                target = ModbusAddress(sensor_table[address.table], address.address + sensor_offset)
                write.append(ClientBlock([name], target))
            else:
                read.append(ClientBlock([name], address))
        return cls(read=read, write=write)


def load_client_map(path: str | Path, model: Model) -> ClientMap:
    """Load a client map strictly; tags, directions and tables are checked against ``model``."""
    doc = load_document(path)
    mapping = build(doc, ClientMap)
    if mapping is not None:
        for kind, blocks, direction in (
            ("read", mapping.read, Direction.TO_PLANT),
            ("write", mapping.write, Direction.FROM_PLANT),
        ):
            for i, block in enumerate(blocks):
                where = (kind, i)
                if kind == "write" and block.at.table not in (
                    ModbusTable.COIL,
                    ModbusTable.HOLDING_REGISTER,
                ):
                    doc.issue(
                        (*where, "at"), f"{block.at.table.value} cannot be written by a master"
                    )
                for j, tag in enumerate(block.tags):
                    if tag not in model.table:
                        doc.issue((*where, "tags", j), f"unknown tag {tag!r}")
                    elif model.table[tag].direction is not direction:
                        doc.issue((*where, "tags", j), f"{tag} is not a {direction.value} signal")
                    elif model.table[tag].type.is_bool != block.at.table.is_bit:
                        doc.issue((*where, "tags", j), f"{tag} does not fit {block.at.table.value}")
    doc.raise_if_issues()
    assert mapping is not None
    return mapping


class ModbusClientLink:
    """Client mode: the plant polls a PLC's Modbus server (Factory I/O's "Modbus client").

    Every ``poll`` seconds of wall time: read the PLC's outputs and stage them, then write the
    committed sensor values into the PLC. A lost connection is retried every poll; errors are
    counted, logged once per outage, and never stop the plant.
    """

    def __init__(self, model: Model, image: ProcessImage, host: str, port: int, mapping: ClientMap):
        self.model = model
        self.image = image
        self.host = host
        self.port = port
        self.mapping = mapping
        self.polls = 0
        self.errors = 0
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._client: AsyncModbusTcpClient | None = None

    def _wire(self, tag: str) -> tuple[SignalType, Scaling | None]:
        return self.model.wire_type(self.model.table[tag]), self.model.scaling.get(tag)

    async def _read(self, client: AsyncModbusTcpClient, block: ClientBlock) -> None:
        sizes = [register_count(self._wire(tag)[0]) for tag in block.tags]
        count, unit, at = sum(sizes), self.mapping.unit_id, block.at
        reader = {
            ModbusTable.COIL: client.read_coils,
            ModbusTable.DISCRETE_INPUT: client.read_discrete_inputs,
            ModbusTable.HOLDING_REGISTER: client.read_holding_registers,
            ModbusTable.INPUT_REGISTER: client.read_input_registers,
        }[at.table]
        response = await reader(at.address, count=count, device_id=unit)
        if response.isError():
            raise ConnectionError(f"{at}: {response}")
        words = response.bits if at.table.is_bit else response.registers
        offset = 0
        for tag, size in zip(block.tags, sizes, strict=True):
            type_, scaling = self._wire(tag)
            chunk = words[offset : offset + size]
            offset += size
            order, signal_type = self.model.word_order, self.model.table[tag].type
            value = from_wire(type_, scaling, chunk, order, signal_type)
            try:
                self.image.stage(tag, value)
            except SignalError as exc:
                log.warning("PLC value refused: %s", exc)

    async def _write(self, client: AsyncModbusTcpClient, block: ClientBlock) -> None:
        values: list[Any] = []
        for tag in block.tags:
            type_, scaling = self._wire(tag)
            values.extend(to_wire(type_, scaling, self.image[tag], self.model.word_order))
        unit, at = self.mapping.unit_id, block.at
        if at.table is ModbusTable.COIL:
            response = await client.write_coils(at.address, values, device_id=unit)
        else:
            response = await client.write_registers(at.address, values, device_id=unit)
        if response.isError():
            raise ConnectionError(f"{at}: {response}")

    async def _run(self) -> None:
        period = self.mapping.poll
        failing = False
        while not self._stopping:
            started = asyncio.get_running_loop().time()
            try:
                if self._client is None or not self._client.connected:
                    self._client = AsyncModbusTcpClient(
                        self.host, port=self.port, timeout=max(period, 0.5), retries=0
                    )
                    if not await self._client.connect():
                        raise ConnectionError(f"cannot connect to {self.host}:{self.port}")
                for block in self.mapping.read:
                    await self._read(self._client, block)
                for block in self.mapping.write:
                    await self._write(self._client, block)
                self.polls += 1
                if failing:
                    log.warning("Modbus client: PLC at %s:%d answering again", self.host, self.port)
                failing = False
            except (TimeoutError, ConnectionError, ModbusException, OSError) as exc:
                self.errors += 1
                if not failing:
                    log.warning("Modbus client: PLC at %s:%d: %s", self.host, self.port, exc)
                failing = True
                if self._client is not None:
                    self._client.close()
                    self._client = None
            elapsed = asyncio.get_running_loop().time() - started
            await asyncio.sleep(max(0.0, period - elapsed))

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            # pymodbus may swallow a cancellation that lands inside connect() or a request
            # (the poll loop would then go on forever): the flag ends the loop regardless.
            self._stopping = True
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=0.5)
            with contextlib.suppress(asyncio.CancelledError):
                task.result()
        if self._client is not None:
            self._client.close()
            self._client = None

    async def __aenter__(self) -> ModbusClientLink:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


@dataclass(frozen=True)
class _Run:
    """Contiguous addresses of one table that one request reads or writes."""

    table: ModbusTable
    address: int
    #: (point, offset of its first cell in the run, cell count)
    points: tuple[tuple[Any, int, int], ...]

    @property
    def count(self) -> int:
        return sum(size for _, _, size in self.points)


def _runs(points: Sequence[Any], output: bool) -> list[_Run]:
    """Group I/O points into runs of adjacent cells: one request each, no cell it doesn't own."""
    chosen = sorted(
        (p for p in points if p.output is output and p.address >= 0),
        key=lambda p: (p.table.value, p.address),
    )
    runs: list[_Run] = []
    current: list[tuple[Any, int, int]] = []
    for point in chosen:
        size = 1 if point.table.is_bit else point.registers
        if current:
            first, last = current[0][0], current[-1]
            adjacent = (
                first.table is point.table
                and last[0].address + last[2] == point.address
                and sum(s for *_, s in current) + size <= (1968 if point.table.is_bit else 123)
            )
            if not adjacent:
                runs.append(_Run(first.table, first.address, tuple(current)))
                current = []
        offset = sum(s for *_, s in current)
        current.append((point, offset, size))
    if current:
        runs.append(_Run(current[0][0].table, current[0][0].address, tuple(current)))
    return runs


class ModbusPlcIo:
    """A soft PLC's I/O over Modbus TCP: it polls the plant as a master, as OpenPLC does.

    Inputs are read with FC2 (discrete inputs) and FC4 (input registers); outputs are
    written every cycle, changed or not, with FC15 (coils) and FC16 (holding registers).
    Each run of adjacent addresses is one request. Located variables travel as raw wire
    values (the PLC program sees register contents, as a hardware PLC would).

    Args:
        points: The program's I/O points (:class:`vcommission.plc.IoPoint`).
        word_order: Order of the words of 32- and 64-bit values.
    """

    def __init__(
        self,
        host: str,
        port: int,
        points: Sequence[Any],
        word_order: WordOrder = WordOrder.BIG,
        unit_id: int = 1,
        timeout: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.word_order = word_order
        self.unit_id = unit_id
        self.timeout = timeout
        self._reads = _runs(points, output=False)
        self._writes = _runs(points, output=True)
        self._client: AsyncModbusTcpClient | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def connect(self) -> None:
        """Connect (or reconnect); raises ConnectionError if the plant does not answer."""
        self.close()
        client = AsyncModbusTcpClient(self.host, port=self.port, timeout=self.timeout, retries=0)
        if not await client.connect():
            client.close()
            raise ConnectionError(f"cannot connect to {self.host}:{self.port}")
        self._client = client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def read_inputs(self) -> list[tuple[Any, Value]]:
        try:
            return await self._read_inputs()
        except ModbusException as exc:  # a dropped link or a timeout, as pymodbus says it
            raise ConnectionError(f"modbus: {exc}") from None

    async def write_outputs(self, values: Sequence[tuple[Any, Value]]) -> None:
        try:
            await self._write_outputs(values)
        except ModbusException as exc:
            raise ConnectionError(f"modbus: {exc}") from None

    async def _read_inputs(self) -> list[tuple[Any, Value]]:
        client = self._require()
        values: list[tuple[Any, Value]] = []
        for run in self._reads:
            reader = (
                client.read_discrete_inputs
                if run.table is ModbusTable.DISCRETE_INPUT
                else client.read_input_registers
            )
            response = await reader(run.address, count=run.count, device_id=self.unit_id)
            if response.isError():
                raise ConnectionError(f"{run.table.short} {run.address}: {response}")
            cells = response.bits if run.table.is_bit else response.registers
            for point, offset, size in run.points:
                chunk = cells[offset : offset + size]
                if run.table.is_bit:
                    values.append((point, bool(chunk[0])))
                else:
                    type_ = SignalType(point.st_type)
                    values.append((point, decode_registers(type_, chunk, self.word_order)))
        return values

    async def _write_outputs(self, values: Sequence[tuple[Any, Value]]) -> None:
        client = self._require()
        by_point = {id(point): value for point, value in values}
        for run in self._writes:
            cells: list[Any] = []
            for point, _, _ in run.points:
                value = by_point[id(point)]
                if run.table.is_bit:
                    cells.append(bool(value))
                else:
                    type_ = SignalType(point.st_type)
                    cells.extend(encode_registers(type_, value, self.word_order))
            if run.table is ModbusTable.COIL:
                response = await client.write_coils(run.address, cells, device_id=self.unit_id)
            else:
                response = await client.write_registers(run.address, cells, device_id=self.unit_id)
            if response.isError():
                raise ConnectionError(f"{run.table.short} {run.address}: {response}")

    def _require(self) -> AsyncModbusTcpClient:
        if self._client is None:
            raise ConnectionError("not connected")
        return self._client
