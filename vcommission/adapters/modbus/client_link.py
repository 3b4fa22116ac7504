"""Client mode: the plant polls a PLC's own Modbus server (Factory I/O's "Modbus client")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from vcommission.adapters.modbus.codec import from_wire, to_wire
from vcommission.addressing import ModbusAddress, ModbusTable, Scaling, register_count
from vcommission.config.yamlload import build, load_document
from vcommission.errors import ConfigError, SignalError
from vcommission.signals import Direction, ProcessImage, SignalType

if TYPE_CHECKING:
    from vcommission.config.model import Model

__all__ = ["ClientBlock", "ClientMap", "ModbusClientLink", "load_client_map"]

log = logging.getLogger(__name__)


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
