"""The wire: MBAP framing and request checks, one :class:`asyncio.Protocol` per client.

See :mod:`vcommission.adapters.modbus` for why this is not pymodbus's own server and how it
answers what the spec orders.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
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

from vcommission.adapters.limits import enable_keepalive
from vcommission.addressing import ModbusTable

if TYPE_CHECKING:
    from vcommission.adapters.modbus.server import ModbusServer
    from vcommission.adapters.modbus.store import ProcessImageStore

__all__: list[str] = []

log = logging.getLogger(__name__)

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


def _read_write_addresses_ok(store: ProcessImageStore, pdu: bytes) -> bool:
    """FC23's address check, both ranges before either is touched.

    pymodbus's request writes first and reads second, so an unmapped read range would answer
    02 after the write had been staged; the spec checks both ranges (02) before it executes
    anything, and an exception must mean nothing happened.
    """
    holding = ModbusTable.HOLDING_REGISTER
    return store.mapped(holding, _word(pdu, 1), _word(pdu, 3)) and store.mapped(
        holding, _word(pdu, 5), _word(pdu, 7)
    )


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
        #: Loop time of the last data received, and the timer that closes an idle client.
        self._last_request = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None

    # -- asyncio callbacks -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        server = self.server
        limits = server.limits
        if limits.full(len(server._connections)):
            # Accepted only to be closed (a FIN, not a reset): the descriptor is free again
            # at once, and the master sees a closed connection it may retry later.
            server.refused += 1
            server.events.event(
                "refused",
                "Modbus server at its limit of %d connections: refused a client",
                limits.max_connections,
            )
            transport.close()
            return
        self.transport = transport
        server._connections.add(self)
        enable_keepalive(transport.get_extra_info("socket"), limits.keepalive_s)
        if limits.idle_timeout_s > 0:
            loop = asyncio.get_running_loop()
            self._last_request = loop.time()
            self._idle_timer = loop.call_later(limits.idle_timeout_s, self._idle_check)
        if server.on_connect is not None:
            server.on_connect(True)

    def _idle_check(self) -> None:
        """Close the connection if it sent nothing for the idle timeout, else look again."""
        self._idle_timer = None
        if self.transport is None:
            return
        loop = asyncio.get_running_loop()
        timeout = self.server.limits.idle_timeout_s
        quiet_for = loop.time() - self._last_request
        if quiet_for < timeout:
            self._idle_timer = loop.call_later(timeout - quiet_for, self._idle_check)
            return
        self.server.timed_out += 1
        self.server.events.event(
            "idle", "Modbus client sent nothing for %g s: closing its connection", timeout
        )
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._turn_pending is not None:
            self._turn_pending.cancel()
            self._turn_pending = None
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
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
        if self._idle_timer is not None:
            self._last_request = asyncio.get_running_loop().time()
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
                self.server.events.event(
                    "length", "Modbus client sent an MBAP length of %d: closing", length
                )
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
        if function_code == 23 and not _read_write_addresses_ok(store, pdu):
            return _exception(tid, unit, function_code, ExcCodes.ILLEGAL_ADDRESS)
        try:
            request = request_class()
            request.decode(pdu[1:])
            response = _run_now(request.datastore_update(store, unit))  # type: ignore[arg-type]
            payload = bytes((response.function_code,)) + response.encode()
        except NoSuchIdException:
            return _exception(tid, unit, function_code, ExcCodes.GATEWAY_NO_RESPONSE)
        except Exception:
            # A harness fault, not the client's: report it and keep serving.
            self.server.events.event(
                "failed", "Modbus request %s failed", pdu.hex(), level=logging.ERROR, exc_info=True
            )
            return _exception(tid, unit, function_code, ExcCodes.DEVICE_FAILURE)
        return _MBAP.pack(tid, 0, len(payload) + 1, unit) + payload
