"""Modbus TCP over a plant's process image (the only package that imports pymodbus).

Layers, one module each: :mod:`~vcommission.adapters.modbus.codec` (register encoding, word
order, scaling; no pymodbus), :mod:`~vcommission.adapters.modbus.store` (the four tables over
the process image), :mod:`~vcommission.adapters.modbus.framing` (MBAP framing and request
checks, one protocol per connection), :mod:`~vcommission.adapters.modbus.server`
(:class:`ModbusServer`), :mod:`~vcommission.adapters.modbus.client_link` (client mode: the
plant polls a PLC) and :mod:`~vcommission.adapters.modbus.plc_io` (the soft PLC as a master).

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
length, else 03; then the store: address mapped, else 02, for FC23 both its ranges before its
write is staged, so that an exception means nothing happened; value accepted, else 03), has
pymodbus's request classes decode it and run it against the store, and sends pymodbus's
encoded response. Requests are answered in order, pipelined ones too, at most
``_FRAMES_PER_TURN`` of one client before the others and the simulator get the loop.

Why not pymodbus's own ``ModbusTcpServer`` (3.16), which this package used at first. It
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

from vcommission.adapters.modbus.client_link import (
    ClientBlock,
    ClientMap,
    ModbusClientLink,
    load_client_map,
)
from vcommission.adapters.modbus.codec import decode_registers, encode_registers, from_wire, to_wire
from vcommission.adapters.modbus.plc_io import ModbusPlcIo
from vcommission.adapters.modbus.server import ModbusServer
from vcommission.adapters.modbus.store import ProcessImageStore

__all__ = [
    "ClientBlock",
    "ClientMap",
    "ModbusClientLink",
    "ModbusPlcIo",
    "ModbusServer",
    "ProcessImageStore",
    "decode_registers",
    "encode_registers",
    "from_wire",
    "load_client_map",
    "to_wire",
]
